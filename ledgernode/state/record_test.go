package state

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
)

func TestRecordedEntriesAreKeptWhenTheTransactionIsRejected(t *testing.T) {
	f := newFixture(t)
	reg := NewRegistry()
	reg.MustRegister(Handler{Type: "test.audit", Summary: "test", Check: CheckAs[NotePut](),
		Apply: func(c *Context) (any, error) {
			p, _ := DecodeAndCheck[NotePut](c.Tx.Payload)
			c.Put("domain", p.Key, p.Value)
			c.Record("audit", p.Key, p.Value)
			if string(p.Value) == `"reject"` {
				return nil, Reject(CodeInvalid, "payload.value", "rejected on request")
			}
			return nil, nil
		}})
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "rec.db"), Genesis: f.g, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.store = s
	k := f.enrol("participant/acme")
	for _, c := range []struct {
		key, value string
		status     chain.Status
	}{{"a", `"reject"`, chain.Rejected}, {"b", `"accept"`, chain.Accepted}} {
		rc := f.one(f.sign(k, "test.audit", NotePut{Key: c.key, Value: json.RawMessage(c.value)}))
		if rc.Status != c.status {
			t.Fatalf("%s: status %s", c.key, rc.Status)
		}
	}
	err = f.store.View(func(v *View) error {
		if v.Get("domain", "a") != nil {
			t.Fatal("domain write of a rejected transaction kept")
		}
		if string(v.Get("domain", "b")) != `"accept"` {
			t.Fatal("domain write of an accepted transaction lost")
		}
		if string(v.Get("audit", "a")) != `"reject"` || string(v.Get("audit", "b")) != `"accept"` {
			t.Fatal("recorded entries lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
