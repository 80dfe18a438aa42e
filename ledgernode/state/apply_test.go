package state

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

func TestEnrolledParticipantWritesNote(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	rc := f.one(f.sign(k, "note.put", note("greeting", "hello")))
	if rc.Status != chain.Accepted {
		t.Fatalf("note rejected: %+v", rc.Reasons)
	}
	if string(rc.Result) != `{"key":"greeting","version":1}` {
		t.Fatalf("result = %s", rc.Result)
	}
	err := f.store.View(func(v *View) error {
		n, ok, err := GetNote(v, "greeting")
		if err != nil || !ok || string(n.Value) != `"hello"` || n.Writer != "participant/acme" {
			t.Fatalf("note = %+v ok=%v err=%v", n, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := f.store.Meta(); m.Height != 2 || m.TreeSize != 2 {
		t.Fatalf("meta = %+v", m)
	}
}

func TestBlockRejections(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	stranger, _ := tx.GenerateKey()

	replayed := f.sign(k, "note.put", note("a", 1))
	if rc := f.one(replayed); rc.Status != chain.Accepted {
		t.Fatalf("first write rejected: %+v", rc.Reasons)
	}
	badSig := f.sign(k, "note.put", note("a", 2))
	tampered := bytes.Replace(badSig.Canonical, []byte(`"value":2`), []byte(`"value":3`), 1)
	wrongNet, _ := tx.BuildSigned("othernet", "note.put", note("a", 4), f.now, k)
	old, _ := tx.BuildSigned(f.g.Network, "note.put", note("a", 5), f.now.Add(-time.Hour), k)
	future, _ := tx.BuildSigned(f.g.Network, "note.put", note("a", 6), f.now.Add(time.Hour), k)
	otherPub := tx.KeyID(stranger.Public().(ed25519.PublicKey))

	cases := []struct {
		name, code, field string
		raw               []byte
	}{
		{"malformed JSON", CodeMalformed, "envelope", []byte(`{"v":1,`)},
		{"bad signature", CodeBadSignature, "sig", tampered},
		{"unknown key", CodeUnknownKey, "signer", f.sign(stranger, "note.put", note("a", 7)).Canonical},
		{"replayed id", CodeDuplicate, "", replayed.Canonical},
		{"wrong network", CodeWrongNetwork, "network", wrongNet.Canonical},
		{"expired", CodeExpired, "created", old.Canonical},
		{"created in the future", CodeFuture, "created", future.Canonical},
		{"unknown type", CodeUnknownType, "type", f.sign(k, "no.such", map[string]int{"a": 1}).Canonical},
		{"payload missing field", CodeInvalid, "payload.value", f.sign(k, "note.put", map[string]string{"key": "a"}).Canonical},
		{"payload unknown field", CodeInvalid, "payload.colour", f.sign(k, "note.put", map[string]any{"key": "a", "value": 1, "colour": "red"}).Canonical},
		{"admin operation by non-admin", CodeUnauthorized, "signer", f.sign(k, "key.register", KeyRegister{Owner: "participant/evil", PublicKey: otherPub}).Canonical},
		{"compare-and-set on wrong version", CodeConflict, "payload.expectVersion", f.sign(k, "note.put", NotePut{Key: "a", Value: json.RawMessage(`9`), ExpectVersion: new(uint64)}).Canonical},
	}
	before, _ := f.store.Digest()
	stateBefore := f.store.Meta().StateHash
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := f.block(c.raw).Receipts[0]
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
	err := f.store.View(func(v *View) error {
		n, _, _ := GetNote(v, "a")
		if n.Version != 1 || string(n.Value) != "1" {
			t.Fatalf("note changed by rejected transactions: %+v", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := f.store.Digest()
	if before == after {
		t.Fatal("digest unchanged: rejected transactions must still be recorded in blocks")
	}
	if got := f.store.Meta().StateHash; got != stateBefore {
		t.Fatalf("state hash changed by rejected transactions: %s -> %s", stateBefore, got)
	}
}

func TestDuplicateInsideOneBlockIsRejectedOnce(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	s := f.sign(k, "note.put", note("x", 1))
	res := f.block(s.Canonical, s.Canonical)
	if res.Receipts[0].Status != chain.Accepted || res.Receipts[1].Status != chain.Rejected || res.Receipts[1].Reasons[0].Code != CodeDuplicate {
		t.Fatalf("receipts = %+v", res.Receipts)
	}
	err := f.store.View(func(v *View) error {
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
	k := f.enrol("participant/acme")
	s := f.sign(k, "note.put", note("x", 1))
	f.one(s)
	h := f.store.Meta().Height
	res, err := f.store.ApplyBlock(&Proposal{Time: tx.FormatTime(f.now), Txs: []json.RawMessage{s.Canonical}}, f.applied, 1)
	if err != nil || !res.Skipped || f.store.Meta().Height != h {
		t.Fatalf("replayed entry applied: %+v %v", res, err)
	}
}

func TestBlockTimeStaysStrictlyIncreasingWhenLeaderClockJumpsBack(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	last := f.store.Meta().Time
	p := &Proposal{Time: tx.FormatTime(t0.Add(-24 * time.Hour)), Proposer: "n0",
		Txs: []json.RawMessage{f.sign(k, "note.put", note("x", 1)).Canonical}}
	f.applied++
	res, err := f.store.ApplyBlock(p, f.applied, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := f.store.Meta().Time
	if !(got > last) {
		t.Fatalf("block time %s not after %s", got, last)
	}
	if res.Receipts[0].Time != got {
		t.Fatalf("receipt time %s != block time %s", res.Receipts[0].Time, got)
	}
}

func TestReplayIntoFreshStoreGivesSameState(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	for i := 0; i < 20; i++ {
		raws := [][]byte{f.sign(k, "note.put", note("k"+string(rune('a'+i%5)), i)).Canonical, []byte(`garbage`)}
		f.block(raws...)
	}
	fresh := f.open(filepath.Join(t.TempDir(), "replay.db"))
	m := f.store.Meta()
	for h := uint64(1); h <= m.Height; h++ {
		var b *chain.Block
		if err := f.store.View(func(v *View) (err error) { b, err = v.Block(h); return err }); err != nil {
			t.Fatal(err)
		}
		res, err := fresh.ApplyBlock(&Proposal{Time: b.Header.Time, Proposer: b.Header.Proposer, Txs: b.Txs}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Hash != b.Hash {
			t.Fatalf("block %d hash %s, replay %s", h, b.Hash, res.Hash)
		}
	}
	d1, _ := f.store.Digest()
	d2, _ := fresh.Digest()
	if d1 != d2 {
		t.Fatalf("digest %s != replay %s", d1, d2)
	}
	if f.store.Meta().StateHash != fresh.Meta().StateHash {
		t.Fatal("state hash chain differs after replay")
	}
}

func TestRevokedKeyInThePastRejectsLaterSignaturesOnly(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	early := f.one(f.sign(k, "note.put", note("x", 1)))
	if early.Status != chain.Accepted {
		t.Fatal(early.Reasons)
	}
	revokeAt := f.now.Add(-500 * time.Millisecond) // before the next block, after the early write
	_ = revokeAt
	rc := f.one(f.sign(f.admin, "key.revoke", KeyRevoke{KeyID: tx.KeyID(k.Public().(ed25519.PublicKey)), Effective: tx.FormatTime(f.now.Add(500 * time.Millisecond)), Reason: "laptop stolen"}))
	if rc.Status != chain.Accepted {
		t.Fatal(rc.Reasons)
	}
	late := f.one(f.sign(k, "note.put", note("x", 2)))
	if late.Status != chain.Rejected || late.Reasons[0].Code != CodeKeyInvalid || !strings.Contains(late.Reasons[0].Message, "laptop stolen") {
		t.Fatalf("late write: %+v", late)
	}
	err := f.store.View(func(v *View) error {
		key, _, _ := LookupKey(v, tx.KeyID(k.Public().(ed25519.PublicKey)))
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
	k := f.enrol("participant/acme")
	for i := 0; i < 5; i++ {
		f.one(f.sign(k, "note.put", note("x", i)))
	}
	var buf bytes.Buffer
	sn, err := f.store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	other := f.open(filepath.Join(t.TempDir(), "other.db"))
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
	d1, _ := f.store.Digest()
	d2, _ := other.Digest()
	if d1 != d2 || other.Applied() != f.store.Applied() {
		t.Fatalf("restored state differs: %s vs %s, applied %+v vs %+v", d1, d2, other.Applied(), f.store.Applied())
	}
}

func TestAPanickingCheckIsARejectionNotACrash(t *testing.T) {
	f := newFixture(t)
	reg := NewRegistry()
	reg.MustRegister(Handler{Type: "test.panic", Summary: "test",
		Check: func(json.RawMessage) error { panic("index out of range") },
		Apply: func(*Context) (any, error) { return nil, nil }})
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "p.db"), Genesis: f.g, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.store = s
	k := f.enrol("participant/acme")
	rc := f.one(f.sign(k, "test.panic", map[string]int{"a": 1}))
	if rc.Status != chain.Rejected || rc.Reasons[0].Code != CodeInternal {
		t.Fatalf("receipt %+v", rc)
	}
	if _, err := s.Precheck(f.sign(k, "test.panic", map[string]int{"a": 2}), f.now); err == nil {
		t.Fatal("precheck accepted a payload whose check panics")
	}
}

func TestPayloadFieldNamesAreCaseSensitive(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	rc := f.one(f.sign(k, "note.put", map[string]any{"Key": "a", "value": 1}))
	if rc.Status != chain.Rejected || rc.Reasons[0].Field != "payload.Key" {
		t.Fatalf("receipt %+v", rc)
	}
}

func TestPrecheckJudgesAtTheLaterOfNowAndTheLastBlockTime(t *testing.T) {
	f := newFixture(t)
	f.now = f.now.Add(time.Hour) // blocks are stamped an hour ahead of the node's clock
	k := f.enrol("participant/acme")
	wall := f.now.Add(-time.Hour)
	s, _ := tx.BuildSigned(f.g.Network, "note.put", note("x", 1), f.now, k)
	if _, err := f.store.Precheck(s, wall); err != nil {
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
	k := f.enrol("participant/acme")
	f.one(f.sign(k, "note.put", note("x", 1)))
	// The leader's state, one block further.
	leader := f.open(filepath.Join(t.TempDir(), "leader.db"))
	sn, err := f.store.Snapshot()
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
	before := f.store.Meta().Height
	f.store, leader = leader, f.store
	f.one(f.sign(k, "note.put", note("x", 2)))
	f.store, leader = leader, f.store
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

	open, err := f.store.Snapshot() // the follower's own, still being persisted
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.store.Restore(bytes.NewReader(newer.Bytes())) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		open.Release()
		t.Fatal("Restore waited for a snapshot that was still open")
	}
	if got := f.store.Meta().Height; got != before+1 {
		t.Fatalf("after restore: height %d, want %d", got, before+1)
	}
	// The open snapshot still streams the state it began on, whole.
	var old bytes.Buffer
	if _, err := open.WriteTo(&old); err != nil {
		t.Fatalf("snapshot begun before the restore: %v", err)
	}
	open.Release()
	check := f.open(filepath.Join(t.TempDir(), "check.db"))
	if err := check.Restore(bytes.NewReader(old.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := check.Meta().Height; got != before {
		t.Fatalf("snapshot begun before the restore holds height %d, want %d", got, before)
	}
	// Reads and writes go on against the restored state.
	f.one(f.sign(k, "note.put", note("x", 3)))
	if got := f.store.Meta().Height; got != before+2 {
		t.Fatalf("after a block on the restored state: height %d, want %d", got, before+2)
	}
}
