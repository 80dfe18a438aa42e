package consensus

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Submit answers only once the block is committed and applied here: the
// receipt names the block, and the state already holds the write.
func TestSubmitAnswersWithTheReceiptOfTheAppliedBlock(t *testing.T) {
	tn := newTestNet(t, 1, 1)
	n := tn.start(tn.config("n0"))
	waitFor(t, "n0 to lead", n.IsLeader)
	st := tn.note("k", `"v"`)
	rc := submit(t, n, st)
	if rc.Status != chain.Accepted || rc.TxID != st.IDHex() || rc.Height == 0 {
		t.Fatalf("receipt %+v, want accepted, for %s, in a block", rc, st.IDHex())
	}
	if h := n.cfg.Store.Meta().Height; h < rc.Height {
		t.Fatalf("state height %d is below the receipt's block %d: answered before applying", h, rc.Height)
	}
	if note, ok := readNote(t, n.cfg.Store, "k"); !ok || note.TxID != st.IDHex() {
		t.Fatalf("note after the receipt: %+v %v, want written by %s", note, ok, st.IDHex())
	}
}

// The same envelope submitted again after it was committed is answered
// with the original receipt (submission is idempotent), and changes
// nothing.
func TestAResubmittedEnvelopeIsAnsweredWithTheOriginalReceipt(t *testing.T) {
	tn := newTestNet(t, 1, 1)
	n := tn.start(tn.config("n0"))
	waitFor(t, "n0 to lead", n.IsLeader)
	st := tn.note("k", `"v"`)
	first := submit(t, n, st)
	if first.Status != chain.Accepted {
		t.Fatalf("first submission: %+v", first)
	}
	again := submit(t, n, st)
	if again.Status != chain.Accepted || again.Height != first.Height || again.Index != first.Index {
		t.Fatalf("second submission: %+v, want the original receipt %+v", again, first)
	}
	if note, _ := readNote(t, n.cfg.Store, "k"); note.Version != 1 {
		t.Fatalf("note at version %d after a resubmission, want 1", note.Version)
	}
}

// A node that does not lead proposes nothing: a follower says so (the
// caller forwards), and a node that knows no leader at all says that.
func TestOnlyTheLeaderProposes(t *testing.T) {
	tn := newTestNet(t, 3, 2)
	n0, n1 := tn.start(tn.config("n0")), tn.start(tn.config("n1"))
	waitFor(t, "a leader", func() bool { return n0.IsLeader() || n1.IsLeader() })
	follower := n1
	if n1.IsLeader() {
		follower = n0
	}
	waitFor(t, "the follower to know the leader", func() bool { id, _ := follower.Leader(); return id != "" })
	if _, err := follower.Submit(context.Background(), tn.note("k", `1`)); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("submit on a follower: %v, want ErrNotLeader", err)
	}
	if err := follower.ReadBarrier(context.Background()); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("read barrier on a follower: %v, want ErrNotLeader", err)
	}
	if _, _, err := follower.RecordClusterOp(state.ClusterOp{TxID: "t1", Type: "cluster.addMember"}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("cluster op on a follower: %v, want ErrNotLeader", err)
	}
	if err := follower.LeaderCaughtUp(context.Background()); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("leader catch-up on a follower: %v, want ErrNotLeader", err)
	}
	// The leader's state has applied, after LeaderCaughtUp, everything
	// committed before the call (what earlier terms committed included).
	leader := n0
	if follower == n0 {
		leader = n1
	}
	committed := leader.CommitIndex()
	if err := leader.LeaderCaughtUp(context.Background()); err != nil {
		if !leader.IsLeader() {
			t.Skipf("leadership moved during the test: %v", err)
		}
		t.Fatalf("leader catch-up: %v", err)
	}
	if got := leader.RaftAppliedIndex(); got < committed {
		t.Fatalf("after LeaderCaughtUp the state applied %d, below the commit index %d before the call", got, committed)
	}

	// n2 is not in the bootstrap list and nobody added it: it has no
	// configuration, so it never elects and knows no leader.
	loner := tn.start(tn.config("n2"))
	if _, err := loner.Submit(context.Background(), tn.note("k", `1`)); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("submit on a node that knows no leader: %v, want ErrNoLeader", err)
	}
}

// An admin cluster operation is recorded through Raft: the first start of
// a transaction id says first, any later start of it does not (so the
// operation runs at most once), and the finish keeps the answer.
func TestAClusterOperationStartsOnceAndKeepsItsAnswer(t *testing.T) {
	tn := newTestNet(t, 1, 1)
	n := tn.start(tn.config("n0"))
	waitFor(t, "n0 to lead", n.IsLeader)
	op := state.ClusterOp{TxID: "op-1", Type: "cluster.promoteMember", Member: "n1"}
	if _, first, err := n.RecordClusterOp(op); err != nil || !first {
		t.Fatalf("first start: first=%v err=%v, want first", first, err)
	}
	if _, first, err := n.RecordClusterOp(op); err != nil || first {
		t.Fatalf("second start: first=%v err=%v, want not first", first, err)
	}
	done := op
	done.Done, done.Status, done.Answer = true, 200, json.RawMessage(`{"ok":true}`)
	if _, _, err := n.RecordClusterOp(done); err != nil {
		t.Fatal(err)
	}
	rec, first, err := n.RecordClusterOp(op)
	if err != nil || first || !rec.Done || rec.Status != 200 || string(rec.Answer) != `{"ok":true}` {
		t.Fatalf("start after the finish: %+v first=%v err=%v, want the recorded answer", rec, first, err)
	}
	if err := n.ReadBarrier(context.Background()); err != nil {
		t.Fatalf("read barrier on the leader: %v", err)
	}
}
