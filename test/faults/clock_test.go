package faults

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The leader's clock jumps an hour ahead under write load and stays there:
// it stamps no block with it and hands leadership to a node whose clock
// agrees; writes go on; the status names it with its offset; and after
// its clock is set right, the usual checks hold: every acknowledged write
// is in the ledger exactly once, no block time is ahead of the real clock
// (Ledger.Scan), the nodes agree and the history is linearizable.
func TestLeaderClockAnHourAheadUnderLoadStampsNoFutureBlock(t *testing.T) {
	c := startCluster(t, 3, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	nodes := []int{0, 1, 2}
	w, err := NewWorkload(ctx, c, []string{"clock-a", "clock-b"}, nodes, 77)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopLoad := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx, nodes, 4, 2); close(done) }()
	stop := func() { stopLoad(); <-done }
	defer func() {
		if wctx.Err() == nil {
			stop()
		}
	}()
	time.Sleep(time.Second)

	skewed, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := c.Procs[skewed].ID
	if err := c.JumpClock(skewed, time.Hour); err != nil {
		t.Fatal(err)
	}
	jumped := time.Now()

	// It hands leadership over.
	next := -1
	for next < 0 || next == skewed {
		if time.Since(jumped) > 30*time.Second {
			t.Fatalf("%s still leads (or no leader is agreed) 30 s after its clock jumped an hour ahead", id)
		}
		time.Sleep(100 * time.Millisecond)
		next = c.Leader(ctx)
	}
	t.Logf("%s handed leadership to %s within %s", id, c.Procs[next].ID, time.Since(jumped).Round(100*time.Millisecond))

	// The new leader's status names it, with its offset.
	var st *wire.Status
	for {
		st, err = c.Client(5*time.Second, next).Status(ctx, false)
		if err == nil {
			if m := member(st, id); m.ClockSkewed && m.ClockOffsetSeconds != nil && math.Abs(*m.ClockOffsetSeconds-3600) < 60 {
				break
			}
		}
		if time.Since(jumped) > time.Minute {
			t.Fatalf("status never named %s skewed by about 3600 s: %+v (%v)", id, st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("status: %s", st.ClockSkew)

	// Writes go on under the new leader.
	acked := func() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.Acked) }
	before := acked()
	for acked() == before {
		if time.Since(jumped) > 90*time.Second {
			t.Fatalf("no write acknowledged after the handover")
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := c.JumpClock(skewed, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	stop()

	view, err := c.Converge(ctx, nodes)
	if err != nil {
		t.Fatal(err)
	}
	ledger := NewLedger()
	if err := ledger.Scan(ctx, c, 0, view.Height); err != nil {
		t.Fatal(err)
	}
	if err := ledger.SameChain(ctx, c, nodes, view.Height); err != nil {
		t.Fatal(err)
	}
	for _, txID := range w.Acked {
		if ledger.Accepted[txID] != 1 {
			t.Fatalf("acknowledged transaction %s accepted %d times in the ledger", txID, ledger.Accepted[txID])
		}
	}
	res, _, _, _, _ := linearizable(noteModel, w.History(), *linTimeout)
	if res != porcupine.Ok {
		t.Fatalf("history %s (writes: %d acked, %d unknown, %d refused; errors %v)", linResult(res), len(w.Acked), w.Unknown, w.Refused, w.Errors)
	}
	t.Logf("height %d: %d writes acknowledged, %d unknown, %d refused (%v), %d reads", view.Height, len(w.Acked), w.Unknown, w.Refused, w.Errors, w.Reads)
}

func member(st *wire.Status, id string) wire.Member {
	for _, m := range st.Members {
		if m.ID == id {
			return m
		}
	}
	return wire.Member{}
}
