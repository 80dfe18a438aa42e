package state_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestRecordedEntriesAreKeptWhenTheTransactionIsRejected(t *testing.T) {
	f := newFixture(t)
	reg := state.NewRegistry()
	reg.MustRegister(state.Handler{Type: "test.audit", Summary: "test", Check: wire.CheckAs[wire.NotePut](),
		Apply: func(c *state.Context) (any, error) {
			p, _ := wire.DecodeAndCheck[wire.NotePut](c.Tx.Payload)
			c.Put("domain", p.Key, p.Value)
			c.Record("audit", p.Key, p.Value)
			if string(p.Value) == `"reject"` {
				return nil, wire.Reject(wire.CodeInvalid, "payload.value", "rejected on request")
			}
			return nil, nil
		}})
	f.Store = statetest.Open(t, filepath.Join(t.TempDir(), "rec.db"), f.Genesis, reg)
	k := f.Enrol("participant/acme")
	for _, c := range []struct {
		key, value string
		status     chain.Status
	}{{"a", `"reject"`, chain.Rejected}, {"b", `"accept"`, chain.Accepted}} {
		rc := f.One(f.Sign(k, "test.audit", wire.NotePut{Key: c.key, Value: json.RawMessage(c.value)}))
		if rc.Status != c.status {
			t.Fatalf("%s: status %s", c.key, rc.Status)
		}
	}
	err := f.Store.View(func(v *state.View) error {
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
