package node_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func wantRefusal(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != status || ce.Code != code {
		t.Fatalf("%s: %v, want %d %s", what, err, status, code)
	}
}

// Every node runs the same checks before consensus: an unknown or revoked
// signer is refused with 403 by followers as by the leader, with or without
// ?wait=false (a follower used to answer 202 and drop it), and nothing is
// written; a key registered a moment ago on the leader is known at once on
// every follower (it catches up with the leader before judging).
func TestEveryNodeRefusesUnknownAndRevokedSignersBeforeConsensus(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	stranger, _ := tx.GenerateKey()
	revoked, err := c.Enrol(ctx, "participant/revoked")
	if err != nil {
		t.Fatal(err)
	}
	revoke, _ := c.Sign(c.Admin, "key.revoke", wire.KeyRevoke{KeyID: tx.KeyID(revoked.Public().(ed25519.PublicKey)),
		Effective: tx.FormatTime(time.Now().Add(-time.Second)), Reason: "test"})
	if resp, err := c.Client().Submit(ctx, revoke, client.SubmitOptions{}); err != nil || resp.Receipt.Status != chain.Accepted {
		t.Fatalf("revoke: %v %+v", err, resp)
	}
	before, err := c.Client(mustLeader(t, c)).Head(ctx, client.ReadOptions{Strong: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for _, async := range []bool{false, true} {
			st, _ := c.Sign(stranger, "note.put", wire.NotePut{Key: "x", Value: []byte(`1`)})
			_, err := c.Client(i).Submit(ctx, st, client.SubmitOptions{Async: async})
			wantRefusal(t, "unknown signer", err, 403, wire.CodeUnknownKey)
			st, _ = c.Sign(revoked, "note.put", wire.NotePut{Key: "x", Value: []byte(`1`)})
			_, err = c.Client(i).Submit(ctx, st, client.SubmitOptions{Async: async})
			wantRefusal(t, "revoked signer", err, 403, wire.CodeKeyInvalid)
		}
		// A batch with an unknown signer is refused whole, naming it.
		good, _ := c.Sign(c.Admin, "note.put", wire.NotePut{Key: "y", Value: []byte(`1`)})
		bad, _ := c.Sign(stranger, "note.put", wire.NotePut{Key: "y", Value: []byte(`2`)})
		_, err := c.Client(i).SubmitBatch(ctx, []*tx.Signed{good, bad})
		wantRefusal(t, "batch with an unknown signer", err, 403, wire.CodeUnknownKey)
		var ce *client.Error
		if errors.As(err, &ce) && ce.Field != "body[1].signer" {
			t.Errorf("batch refusal names %q, want body[1].signer", ce.Field)
		}
	}
	after, err := c.Client(mustLeader(t, c)).Head(ctx, client.ReadOptions{Strong: true})
	if err != nil {
		t.Fatal(err)
	}
	if after.TreeSize != before.TreeSize {
		t.Fatalf("refused transactions were written: tree size %d -> %d", before.TreeSize, after.TreeSize)
	}
	// Registered through the leader, used at once on each follower.
	leader := mustLeader(t, c)
	for i := range 3 {
		if i == leader {
			continue
		}
		k, _ := tx.GenerateKey()
		reg, _ := c.Sign(c.Admin, "key.register", wire.KeyRegister{Owner: "participant/fresh-" + string(rune('a'+i)), PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))})
		if resp, err := c.Client(leader).Submit(ctx, reg, client.SubmitOptions{}); err != nil || resp.Receipt.Status != chain.Accepted {
			t.Fatalf("register: %v", err)
		}
		st, _ := c.Sign(k, "note.put", wire.NotePut{Key: "fresh", Value: []byte(`1`)})
		if resp, err := c.Client(i).Submit(ctx, st, client.SubmitOptions{Async: true}); err != nil || !resp.Pending {
			t.Fatalf("a key registered a moment ago, at follower %d: %v %+v", i, err, resp)
		}
	}
}

// One rule for refusals: what can be decided before consensus is refused
// before it with a 4xx and never written (here: a signer whose kind may
// not submit the type, a policy naming another agency), on every node;
// only what depends on the order is recorded as rejected.
func TestSignerOfTheWrongKindIsRefusedBeforeConsensusOnEveryNode(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	writer, err := c.Enrol(ctx, "participant/writer")
	if err != nil {
		t.Fatal(err)
	}
	cbp, err := c.EnrolIn(ctx, "agency/us-cbp", "US")
	if err != nil {
		t.Fatal(err)
	}
	k, _ := tx.GenerateKey()
	fda := policy.Policy{ID: "fda-fish", Agency: "us-fda", Enforcement: policy.Enforce,
		Scope: policy.Scope{HSPrefixes: []string{"03"}, DestinationCountries: []string{"US"}, DocumentTypes: []string{"certificate"}},
		Rules: []policy.Rule{{Name: "registered-facility", Expression: `has(doc.producer.fdaRegistration)`, Message: "no FDA registration"}}}
	before, err := c.Client(mustLeader(t, c)).Head(ctx, client.ReadOptions{Strong: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for _, tc := range []struct {
			name    string
			key     ed25519.PrivateKey
			typ     string
			payload any
		}{
			{"a participant registering an agency", writer, "agency.register", wire.AgencyRegister{ID: "xx-fake", Name: "Fake", Country: "US", Programs: []string{"USMCA"},
				PublicKeys: []string{tx.KeyID(k.Public().(ed25519.PublicKey))}}},
			{"a participant registering a key", writer, "key.register", wire.KeyRegister{Owner: "participant/other", PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}},
			{"a participant enrolling a participant", writer, "participant.enrol", wire.ParticipantEnrol{ID: "other", Name: "Other", Country: "US", Roles: []string{"importer"},
				PublicKeys: []string{tx.KeyID(k.Public().(ed25519.PublicKey))}}},
			{"an agency publishing another agency's policy", cbp, policystate.TypePublish, fda},
		} {
			for _, async := range []bool{false, true} {
				st, _ := c.Sign(tc.key, tc.typ, tc.payload)
				_, err := c.Client(i).Submit(ctx, st, client.SubmitOptions{Async: async})
				wantRefusal(t, fmt.Sprintf("node %d: %s", i, tc.name), err, 403, wire.CodeUnauthorized)
			}
		}
	}
	after, err := c.Client(mustLeader(t, c)).Head(ctx, client.ReadOptions{Strong: true})
	if err != nil {
		t.Fatal(err)
	}
	if after.TreeSize != before.TreeSize {
		t.Fatalf("refused transactions were written: tree size %d -> %d", before.TreeSize, after.TreeSize)
	}
}

// A follower that cannot judge a submission before consensus (it cannot
// catch up with the leader: here the leader and the other follower are
// down) does not answer ?wait=false with 202 "pending" for a transaction
// the leader would refuse and never record (it used to, and dropped it):
// it asks the leader at once and answers as the leader does, or 503 when
// no leader can be reached, so that the client retries.
func TestAnAsyncSubmissionAFollowerCannotJudgeIsNotAcceptedBlind(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	writer, err := c.Enrol(ctx, "participant/writer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	l := mustLeader(t, c)
	f := (l + 1) % 3
	for _, i := range []int{l, (l + 2) % 3} {
		if err := c.Stop(i); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := tx.GenerateKey()
	st, err := c.Sign(writer, "key.register", wire.KeyRegister{Owner: "participant/other", PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	// One attempt (no retry on 503): the answer of this node, as it is.
	cl := c.ClientWith(client.Config{CertFile: c.Layout.ClientCert, CertKeyFile: c.Layout.ClientKey, Timeout: 20 * time.Second, Retry: time.Nanosecond}, f)
	_, err = cl.Submit(ctx, st, client.SubmitOptions{Async: true})
	wantRefusal(t, "an async submission a lone follower cannot judge", err, 503, "no_leader")
}
