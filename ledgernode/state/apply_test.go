package state_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestEnrolledParticipantWritesNote(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	rc := f.One(f.Sign(k, "note.put", note("greeting", "hello")))
	if rc.Status != chain.Accepted {
		t.Fatalf("note rejected: %+v", rc.Reasons)
	}
	if string(rc.Result) != `{"key":"greeting","version":1}` {
		t.Fatalf("result = %s", rc.Result)
	}
	err := f.Store.View(func(v *state.View) error {
		n, ok, err := state.GetNote(v, "greeting")
		if err != nil || !ok || string(n.Value) != `"hello"` || n.Writer != "participant/acme" {
			t.Fatalf("note = %+v ok=%v err=%v", n, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := f.Store.Meta(); m.Height != 2 || m.TreeSize != 2 {
		t.Fatalf("meta = %+v", m)
	}
}

func TestBlockRejections(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	stranger, _ := tx.GenerateKey()

	replayed := f.Sign(k, "note.put", note("a", 1))
	if rc := f.One(replayed); rc.Status != chain.Accepted {
		t.Fatalf("first write rejected: %+v", rc.Reasons)
	}
	badSig := f.Sign(k, "note.put", note("a", 2))
	tampered := bytes.Replace(badSig.Canonical, []byte(`"value":2`), []byte(`"value":3`), 1)
	wrongNet, _ := tx.BuildSigned("othernet", "note.put", note("a", 4), f.Now, k)
	old, _ := tx.BuildSigned(f.Genesis.Network, "note.put", note("a", 5), f.Now.Add(-time.Hour), k)
	future, _ := tx.BuildSigned(f.Genesis.Network, "note.put", note("a", 6), f.Now.Add(time.Hour), k)
	otherPub := tx.KeyID(stranger.Public().(ed25519.PublicKey))

	cases := []struct {
		name, code, field string
		raw               []byte
	}{
		{"malformed JSON", wire.CodeMalformed, "envelope", []byte(`{"v":1,`)},
		{"bad signature", wire.CodeBadSignature, "sig", tampered},
		{"unknown key", wire.CodeUnknownKey, "signer", f.Sign(stranger, "note.put", note("a", 7)).Canonical},
		{"replayed id", wire.CodeDuplicate, "", replayed.Canonical},
		{"wrong network", wire.CodeWrongNetwork, "network", wrongNet.Canonical},
		{"expired", wire.CodeExpired, "created", old.Canonical},
		{"created in the future", wire.CodeFuture, "created", future.Canonical},
		{"unknown type", wire.CodeUnknownType, "type", f.Sign(k, "no.such", map[string]int{"a": 1}).Canonical},
		{"payload missing field", wire.CodeInvalid, "payload.value", f.Sign(k, "note.put", map[string]string{"key": "a"}).Canonical},
		{"payload unknown field", wire.CodeInvalid, "payload.colour", f.Sign(k, "note.put", map[string]any{"key": "a", "value": 1, "colour": "red"}).Canonical},
		{"admin operation by non-admin", wire.CodeUnauthorized, "signer", f.Sign(k, "key.register", wire.KeyRegister{Owner: "participant/evil", PublicKey: otherPub}).Canonical},
		{"compare-and-set on wrong version", wire.CodeConflict, "payload.expectVersion", f.Sign(k, "note.put", wire.NotePut{Key: "a", Value: json.RawMessage(`9`), ExpectVersion: new(uint64)}).Canonical},
	}
	before, _ := f.Store.Digest()
	stateBefore := f.Store.Meta().StateHash
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := f.Block(c.raw).Receipts[0]
			if rc.Status != chain.Rejected {
				t.Fatalf("accepted, want rejection %s", c.code)
			}
			if rc.Reasons[0].Code != c.code || rc.Reasons[0].Field != c.field {
				t.Fatalf("reason = %+v, want code %s field %s", rc.Reasons[0], c.code, c.field)
			}
			if rc.Reasons[0].Message == "" {
				t.Fatal("empty message")
			}
		})
	}
	// Rejections are recorded (receipts, blocks) but change no domain state.
	err := f.Store.View(func(v *state.View) error {
		n, _, _ := state.GetNote(v, "a")
		if n.Version != 1 || string(n.Value) != "1" {
			t.Fatalf("note changed by rejected transactions: %+v", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := f.Store.Digest()
	if before == after {
		t.Fatal("digest unchanged: rejected transactions must still be recorded in blocks")
	}
	if got := f.Store.Meta().StateHash; got != stateBefore {
		t.Fatalf("state hash changed by rejected transactions: %s -> %s", stateBefore, got)
	}
}

func TestDuplicateInsideOneBlockIsRejectedOnce(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	s := f.Sign(k, "note.put", note("x", 1))
	res := f.Block(s.Canonical, s.Canonical)
	if res.Receipts[0].Status != chain.Accepted || res.Receipts[1].Status != chain.Rejected || res.Receipts[1].Reasons[0].Code != wire.CodeDuplicate {
		t.Fatalf("receipts = %+v", res.Receipts)
	}
	err := f.Store.View(func(v *state.View) error {
		rec, err := v.TxByID(s.IDHex())
		if err != nil || rec.Receipt.Status != chain.Accepted {
			t.Fatalf("lookup by id finds %+v, %v; want the accepted first occurrence", rec, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestEntriesAtOrBelowAppliedIndexAreSkipped(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	s := f.Sign(k, "note.put", note("x", 1))
	f.One(s)
	h := f.Store.Meta().Height
	res, err := f.Store.ApplyBlock(&state.Proposal{Time: tx.FormatTime(f.Now), Txs: []json.RawMessage{s.Canonical}}, f.Applied, 1)
	if err != nil || !res.Skipped || f.Store.Meta().Height != h {
		t.Fatalf("replayed entry applied: %+v %v", res, err)
	}
}

func TestBlockTimeStaysStrictlyIncreasingWhenLeaderClockJumpsBack(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	last := f.Store.Meta().Time
	p := &state.Proposal{Time: tx.FormatTime(t0.Add(-24 * time.Hour)), Proposer: "n0",
		Txs: []json.RawMessage{f.Sign(k, "note.put", note("x", 1)).Canonical}}
	f.Applied++
	res, err := f.Store.ApplyBlock(p, f.Applied, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Store.Meta().Time
	if !(got > last) {
		t.Fatalf("block time %s not after %s", got, last)
	}
	if res.Receipts[0].Time != got {
		t.Fatalf("receipt time %s != block time %s", res.Receipts[0].Time, got)
	}
}

func TestReplayIntoFreshStoreGivesSameState(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	for i := 0; i < 20; i++ {
		raws := [][]byte{f.Sign(k, "note.put", note("k"+string(rune('a'+i%5)), i)).Canonical, []byte(`garbage`)}
		f.Block(raws...)
	}
	fresh := f.Open(filepath.Join(t.TempDir(), "replay.db"))
	m := f.Store.Meta()
	for h := uint64(1); h <= m.Height; h++ {
		var b *chain.Block
		if err := f.Store.View(func(v *state.View) (err error) { b, err = v.Block(h); return err }); err != nil {
			t.Fatal(err)
		}
		res, err := fresh.ApplyBlock(&state.Proposal{Time: b.Header.Time, Proposer: b.Header.Proposer, Txs: b.Txs}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Hash != b.Hash {
			t.Fatalf("block %d hash %s, replay %s", h, b.Hash, res.Hash)
		}
	}
	d1, _ := f.Store.Digest()
	d2, _ := fresh.Digest()
	if d1 != d2 {
		t.Fatalf("digest %s != replay %s", d1, d2)
	}
	if f.Store.Meta().StateHash != fresh.Meta().StateHash {
		t.Fatal("state hash chain differs after replay")
	}
}

func TestRevokedKeyInThePastRejectsLaterSignaturesOnly(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	early := f.One(f.Sign(k, "note.put", note("x", 1)))
	if early.Status != chain.Accepted {
		t.Fatal(early.Reasons)
	}
	revokeAt := f.Now.Add(-500 * time.Millisecond) // before the next block, after the early write
	_ = revokeAt
	rc := f.One(f.Sign(f.Admin, "key.revoke", wire.KeyRevoke{KeyID: tx.KeyID(k.Public().(ed25519.PublicKey)), Effective: tx.FormatTime(f.Now.Add(500 * time.Millisecond)), Reason: "laptop stolen"}))
	if rc.Status != chain.Accepted {
		t.Fatal(rc.Reasons)
	}
	late := f.One(f.Sign(k, "note.put", note("x", 2)))
	if late.Status != chain.Rejected || late.Reasons[0].Code != wire.CodeKeyInvalid || !strings.Contains(late.Reasons[0].Message, "laptop stolen") {
		t.Fatalf("late write: %+v", late)
	}
	err := f.Store.View(func(v *state.View) error {
		key, _, _ := state.LookupKey(v, tx.KeyID(k.Public().(ed25519.PublicKey)))
		earlyT, _ := tx.ParseTime(early.Time)
		if rej := key.ValidAt(earlyT); rej != nil {
			t.Fatalf("early signature no longer valid: %v", rej)
		}
		if len(key.History) != 2 || key.History[1].Event != "revoked" {
			t.Fatalf("history = %+v", key.History)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotRestoreRoundTripAndCorruptSnapshotRefused(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	for i := 0; i < 5; i++ {
		f.One(f.Sign(k, "note.put", note("x", i)))
	}
	var buf bytes.Buffer
	sn, err := f.Store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	other := f.Open(filepath.Join(t.TempDir(), "other.db"))
	corrupt := bytes.Clone(buf.Bytes())
	for i := 4096 * 2; i < len(corrupt) && i < 4096*4; i++ {
		corrupt[i] ^= 0xFF
	}
	if err := other.Restore(bytes.NewReader(corrupt)); err == nil {
		t.Fatal("corrupt snapshot accepted")
	}
	if err := other.Restore(bytes.NewReader(buf.Bytes()[:len(buf.Bytes())/2])); err == nil {
		t.Fatal("truncated snapshot accepted")
	}
	if err := other.Restore(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	d1, _ := f.Store.Digest()
	d2, _ := other.Digest()
	if d1 != d2 || other.Applied() != f.Store.Applied() {
		t.Fatalf("restored state differs: %s vs %s, applied %+v vs %+v", d1, d2, other.Applied(), f.Store.Applied())
	}
}

func TestAPanickingCheckIsARejectionNotACrash(t *testing.T) {
	f := newFixture(t)
	reg := state.NewRegistry()
	reg.MustRegister(state.Handler{Type: "test.panic", Summary: "test",
		Check: func(json.RawMessage) error { panic("index out of range") },
		Apply: func(*state.Context) (any, error) { return nil, nil }})
	s := statetest.Open(t, filepath.Join(t.TempDir(), "p.db"), f.Genesis, reg)
	f.Store = s
	k := f.Enrol("participant/acme")
	rc := f.One(f.Sign(k, "test.panic", map[string]int{"a": 1}))
	if rc.Status != chain.Rejected || rc.Reasons[0].Code != wire.CodeInternal {
		t.Fatalf("receipt %+v", rc)
	}
	if _, err := s.Precheck(f.Sign(k, "test.panic", map[string]int{"a": 2}), f.Now); err == nil {
		t.Fatal("precheck accepted a payload whose check panics")
	}
}

func TestPayloadFieldNamesAreCaseSensitive(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	rc := f.One(f.Sign(k, "note.put", map[string]any{"Key": "a", "value": 1}))
	if rc.Status != chain.Rejected || rc.Reasons[0].Field != "payload.Key" {
		t.Fatalf("receipt %+v", rc)
	}
}

func TestPrecheckJudgesAtTheLaterOfNowAndTheLastBlockTime(t *testing.T) {
	f := newFixture(t)
	f.Now = f.Now.Add(time.Hour) // blocks are stamped an hour ahead of the node's clock
	k := f.Enrol("participant/acme")
	wall := f.Now.Add(-time.Hour)
	s, _ := tx.BuildSigned(f.Genesis.Network, "note.put", note("x", 1), f.Now, k)
	if _, err := f.Store.Precheck(s, wall); err != nil {
		t.Fatalf("key registered at block time refused before consensus: %v", err)
	}
}

// A follower's Raft persists its own snapshot while it installs the
// leader's: Restore must not wait for an open snapshot (it once did, and
// with hashicorp/raft that wait was a deadlock: the snapshot's persist
// waits for Raft's main goroutine, which waits for the Restore). The open
// snapshot goes on reading the state it began on.
func TestRestoreDoesNotWaitForAnOpenSnapshot(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	f.One(f.Sign(k, "note.put", note("x", 1)))
	// The leader's state, one block further.
	leader := f.Open(filepath.Join(t.TempDir(), "leader.db"))
	sn, err := f.Store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if _, err := sn.WriteTo(&snap); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	if err := leader.Restore(bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	before := f.Store.Meta().Height
	f.Store, leader = leader, f.Store
	f.One(f.Sign(k, "note.put", note("x", 2)))
	f.Store, leader = leader, f.Store
	if leader.Meta().Height != before+1 {
		t.Fatalf("setup: leader at height %d, want %d", leader.Meta().Height, before+1)
	}
	lsn, err := leader.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var newer bytes.Buffer
	if _, err := lsn.WriteTo(&newer); err != nil {
		t.Fatal(err)
	}
	lsn.Release()

	open, err := f.Store.Snapshot() // the follower's own, still being persisted
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Store.Restore(bytes.NewReader(newer.Bytes())) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		open.Release()
		t.Fatal("Restore waited for a snapshot that was still open")
	}
	if got := f.Store.Meta().Height; got != before+1 {
		t.Fatalf("after restore: height %d, want %d", got, before+1)
	}
	// The open snapshot still streams the state it began on, whole.
	var old bytes.Buffer
	if _, err := open.WriteTo(&old); err != nil {
		t.Fatalf("snapshot begun before the restore: %v", err)
	}
	open.Release()
	check := f.Open(filepath.Join(t.TempDir(), "check.db"))
	if err := check.Restore(bytes.NewReader(old.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := check.Meta().Height; got != before {
		t.Fatalf("snapshot begun before the restore holds height %d, want %d", got, before)
	}
	// Reads and writes go on against the restored state.
	f.One(f.Sign(k, "note.put", note("x", 3)))
	if got := f.Store.Meta().Height; got != before+2 {
		t.Fatalf("after a block on the restored state: height %d, want %d", got, before+2)
	}
}
