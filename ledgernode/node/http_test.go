package node_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestSubmitRejectionsOverHTTP(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	k, _ := c.Enrol(ctx, "participant/writer")
	stranger, _ := tx.GenerateKey()
	cl := c.Client(1) // a follower or the leader: the answers are the same

	ok, _ := c.Sign(k, "note.put", notePayload("a", 1))
	first, err := cl.Submit(ctx, ok, client.SubmitOptions{})
	if err != nil || first.Receipt.Status != "accepted" {
		t.Fatalf("first submission: %+v %v", first, err)
	}
	badSig := bytes.Replace(ok.Canonical, []byte(`"value":1`), []byte(`"value":2`), 1)
	nonCanonicalSig := bytes.Replace(ok.Canonical, []byte(`"sig":"`+ok.Sig+`"`), []byte(`"sig":"`+ok.Sig+`=="`), 1)
	unknown, _ := c.Sign(stranger, "note.put", notePayload("a", 3))
	huge, _ := c.Sign(k, "note.put", notePayload("a", strings.Repeat("x", 300<<10)))
	old, _ := tx.BuildSigned(c.Genesis.Network, "note.put", notePayload("a", 4), time.Now().Add(-time.Hour), k)
	adminOnly, _ := c.Sign(k, "key.register", wire.KeyRegister{Owner: "participant/x", PublicKey: tx.KeyID(stranger.Public().(ed25519.PublicKey))})

	cases := []struct {
		name   string
		body   []byte
		status int
		code   string
		field  string
	}{
		{"malformed JSON", []byte(`{"v":1,`), 400, "invalid", "envelope"},
		{"wrong type", bytes.Replace(ok.Canonical, []byte(`"v":1`), []byte(`"v":"1"`), 1), 400, "invalid", "v"},
		{"non-canonical signature bytes", nonCanonicalSig, 400, "invalid", "sig"},
		{"bad signature", badSig, 401, "bad_signature", "sig"},
		{"unknown key", unknown.Canonical, 403, "unknown_key", "signer"},
		{"expired", old.Canonical, 400, "expired", "created"},
		{"oversize", huge.Canonical, 413, "too_large", "envelope"},
		{"admin operation by a participant", adminOnly.Canonical, 403, "unauthorized", "signer"}, // the signer's kind decides: refused before consensus
	}
	for _, cse := range cases {
		t.Run(cse.name, func(t *testing.T) {
			resp, err := cl.SubmitRaw(ctx, cse.body)
			if cse.status == 200 {
				if err != nil || resp.Receipt.Status != "rejected" || resp.Receipt.Reasons[0].Code != wire.CodeUnauthorized {
					t.Fatalf("got %+v, %v; want a recorded rejection", resp, err)
				}
				return
			}
			var ae *client.Error
			if !errors.As(err, &ae) || ae.Status != cse.status || ae.Code != cse.code || ae.Field != cse.field {
				t.Fatalf("got %v, want %d %s on %s", err, cse.status, cse.code, cse.field)
			}
		})
	}
	// A replayed transaction id gets the original receipt, not a second entry.
	again, err := cl.SubmitRaw(ctx, ok.Canonical)
	if err != nil || !again.Existing || again.Receipt.Height != first.Receipt.Height || again.Receipt.LeafIndex != first.Receipt.LeafIndex {
		t.Fatalf("replay: %+v %v", again, err)
	}
	states, err := c.WaitConverged(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := cl.Block(ctx, 0, client.ReadOptions{Strong: true})
	if b.Header.Height != states[0].Height {
		t.Fatalf("latest block %d, height %d", b.Header.Height, states[0].Height)
	}
}

func TestAsyncSubmitThenLookUp(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	k, _ := c.Enrol(ctx, "participant/writer")
	st, _ := c.Sign(k, "note.put", notePayload("async", 1))
	resp, err := c.Client(2).Submit(ctx, st, client.SubmitOptions{Async: true})
	if err != nil || !resp.Pending || resp.TxID != st.IDHex() {
		t.Fatalf("async submit: %+v %v", resp, err)
	}
	for {
		ev, err := c.Client(0).Tx(ctx, st.IDHex(), false, client.ReadOptions{Strong: true})
		if err == nil {
			if ev.Receipt.Status != "accepted" {
				t.Fatalf("receipt %+v", ev.Receipt)
			}
			return
		}
		if !client.IsNotFound(err) {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("never committed")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestStrongReadOnAFollowerSeesTheLatestWrite(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	k, _ := c.Enrol(ctx, "participant/writer")
	leader := mustLeader(t, c)
	follower := (leader + 1) % 3
	for i := 1; i <= 20; i++ {
		st, _ := c.Sign(k, "note.put", notePayload("counter", i))
		if _, err := c.Client(leader).Submit(ctx, st, client.SubmitOptions{}); err != nil {
			t.Fatal(err)
		}
		n, err := c.Client(follower).Note(ctx, "counter", client.ReadOptions{Strong: true})
		if err != nil {
			t.Fatal(err)
		}
		if n.Version != uint64(i) {
			t.Fatalf("strong read on follower saw version %d after write %d", n.Version, i)
		}
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	k, _ := c.Enrol(ctx, "participant/writer")
	writeNotes(ctx, t, c, k, 20, 2, []int{0})
	cl := c.Client(0)
	for _, path := range []string{"/healthz", "/readyz"} {
		var r map[string]any
		if err := cl.Do(ctx, http.MethodGet, path, nil, &r); err != nil || r["ready"] != true {
			t.Fatalf("%s: %v %v", path, r, err)
		}
	}
	var raw json.RawMessage
	if err := cl.Do(ctx, http.MethodGet, "/metrics", nil, &raw); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"ledger_commit_latency_seconds_bucket", "ledger_transactions_total{status=\"accepted\"}", "ledger_block_transactions", "ledger_raft_state{state=\"Leader\"}", "ledger_height"} {
		if !strings.Contains(string(raw), m) {
			t.Fatalf("metrics lack %s", m)
		}
	}
	_ = io.Discard
}

func TestBatchSubmissionAnswersEachEnvelopeAsAloneWould(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	k, _ := c.Enrol(ctx, "participant/writer")
	stranger, _ := tx.GenerateKey()
	leader := mustLeader(t, c)
	first, _ := c.Sign(k, "note.put", notePayload("b", 0))
	if _, err := c.Client(leader).Submit(ctx, first, client.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	var batch []*tx.Signed
	for i := 1; i <= 40; i++ {
		st, _ := c.Sign(k, "note.put", notePayload("b", i))
		batch = append(batch, st)
	}
	expired, _ := tx.BuildSigned(c.Genesis.Network, "note.put", notePayload("b", -4), time.Now().Add(-time.Hour), k)
	bad, _ := c.Sign(k, "note.put", notePayload("b", -1))
	bad.Canonical = bytes.Replace(bad.Canonical, []byte(`"value":-1`), []byte(`"value":-2`), 1)
	unknown, _ := c.Sign(stranger, "note.put", notePayload("b", -3))
	wantVersion := uint64(1)
	for _, via := range []int{(leader + 1) % 3, leader} {
		// Who signed is checked first: a bad signature or an unknown signer
		// refuses the whole batch, naming the envelope; nothing is submitted.
		for _, tc := range []struct {
			odd    *tx.Signed
			status int
			code   string
			field  string
		}{{bad, 401, wire.CodeBadSignature, "body[41].sig"}, {unknown, 403, wire.CodeUnknownKey, "body[41].signer"}} {
			_, err := c.Client(via).SubmitBatch(ctx, append(append([]*tx.Signed{}, batch...), first, tc.odd))
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != tc.status || ce.Code != tc.code || ce.Field != tc.field {
				t.Fatalf("via node %d, a batch with %s: %v, want %d %s on %s", via, tc.code, err, tc.status, tc.code, tc.field)
			}
		}
		if n, err := c.Client(leader).Note(ctx, "b", client.ReadOptions{Strong: true}); err != nil || n.Version != wantVersion {
			t.Fatalf("a refused batch wrote: %+v %v", n, err)
		}
		resp, err := c.Client(via).SubmitBatch(ctx, append(append([]*tx.Signed{}, batch...), first, expired))
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Results
		for i := 0; i < 40; i++ {
			if r[i].Receipt == nil || r[i].Receipt.Status != "accepted" || r[i].TxID != batch[i].IDHex() {
				t.Fatalf("via node %d item %d: %+v", via, i, r[i])
			}
		}
		if !r[40].Existing || r[40].Receipt == nil {
			t.Fatalf("recorded transaction in a batch: %+v", r[40])
		}
		if r[41].Status != 400 || r[41].Error.Code != wire.CodeExpired {
			t.Fatalf("expired envelope in a batch: %+v", r[41])
		}
		wantVersion = 41
	}
	// The second round resent the same 40: each answered with its original receipt.
	n, err := c.Client(0).Note(ctx, "b", client.ReadOptions{Strong: true})
	if err != nil || n.Version != 41 {
		t.Fatalf("note after 41 distinct writes: %+v %v", n, err)
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
}
