package node_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// maxOffset is the node's default --max-clock-offset.
const maxOffset = 30 * time.Second

// A leader whose clock runs an hour ahead must never get a block with its
// time committed: made leader (by a transfer to it), it refuses to stamp
// blocks and hands leadership to a voter whose clock agrees; writes go on;
// the status names it with its offset; restarted with a true clock, it
// works (and leads) normally again.
func TestLeaderWithClockAheadHandsOverAndCommitsNoFutureBlock(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, 3*time.Minute)
	k, err := c.Enrol(ctx, "participant/clock")
	if err != nil {
		t.Fatal(err)
	}
	skewed, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := c.Members[skewed].ID
	if err := c.Stop(skewed); err != nil {
		t.Fatal(err)
	}
	c.Members[skewed].Clock = func() time.Time { return time.Now().Add(time.Hour) }
	if err := c.Restart(skewed); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	// It has measured its peers: its own status names its clock.
	waitStatus(ctx, t, c.Client(skewed), func(s *wire.Status) bool { return memberOf(s, id).ClockSkewed })

	// Writers keep writing through every node while leadership moves.
	var (
		mu       sync.Mutex
		acked    int
		failures []error
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := c.Client(w)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				st, err := c.Sign(k, "note.put", notePayload(fmt.Sprintf("w%d", w), i))
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
				mu.Lock()
				if err == nil && resp.Receipt.Status == chain.Accepted {
					acked++
				} else if err != nil {
					failures = append(failures, err)
				} else {
					failures = append(failures, fmt.Errorf("rejected: %+v", resp.Receipt.Reasons))
				}
				mu.Unlock()
			}
		}(w)
	}
	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopWriters()

	cur, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Unless it won the election after its restart, make it leader: a
	// transfer to it succeeds (Raft knows nothing of clocks); what it does
	// as leader is the point.
	if cur != skewed {
		if err := c.Node(cur).Consensus().TransferLeadership(ctx, id); err != nil {
			t.Fatalf("setup: transfer leadership to %s: %v", id, err)
		}
	}
	transferred := time.Now()

	// It hands leadership on to a node whose clock agrees.
	var newLeader int
	for {
		if newLeader, err = c.WaitLeader(ctx); err != nil {
			t.Fatal(err)
		}
		if newLeader != skewed {
			break
		}
		if time.Since(transferred) > time.Minute {
			t.Fatalf("%s still leads a minute after it was made leader with its clock an hour ahead", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%s led after the transfer; %s leads %s after it", id, c.Members[newLeader].ID, time.Since(transferred).Round(time.Millisecond))

	// Writes succeed again (the client retries 503s for up to 20 s).
	st, err := c.Sign(k, "note.put", notePayload("after", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Client(newLeader).Submit(ctx, st, client.SubmitOptions{})
	if err != nil || resp.Receipt.Status != chain.Accepted {
		t.Fatalf("write after the handover: %+v %v", resp, err)
	}

	// No committed block carries a time the bound ahead of the real clock.
	cl := c.Client(newLeader)
	head, err := cl.Head(ctx, client.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for h := uint64(1); h <= head.Height; h++ {
		b, err := cl.Block(ctx, h, client.ReadOptions{})
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		bt, err := tx.ParseTime(b.Header.Time)
		if err != nil {
			t.Fatalf("block %d time %q: %v", h, b.Header.Time, err)
		}
		if ahead := time.Until(bt); ahead > maxOffset {
			t.Fatalf("block %d (proposer %s) has time %s, %s ahead of the real clock", h, b.Header.Proposer, b.Header.Time, ahead.Round(time.Second))
		}
	}

	// The writers went on: what failed failed with a retryable 503 (the
	// skewed node refuses to judge times with its clock).
	stopWriters()
	mu.Lock()
	t.Logf("writers: %d acknowledged, %d failed", acked, len(failures))
	if acked == 0 {
		t.Errorf("the writers got no write acknowledged")
	}
	for _, err := range failures {
		var ae *client.Error
		if !errors.As(err, &ae) || ae.Status != 503 || (ae.Code != "clock_skew" && ae.Code != "no_leader" && ae.Code != "outcome_unknown") {
			t.Errorf("a write failed other than with a retryable 503: %v", err)
		}
	}
	mu.Unlock()

	// The leader's status names the skewed node and its offset.
	st2 := waitStatus(ctx, t, cl, func(s *wire.Status) bool { return memberOf(s, id).ClockSkewed })
	m := memberOf(st2, id)
	if m.ClockOffsetSeconds == nil || math.Abs(*m.ClockOffsetSeconds-3600) > 60 {
		t.Fatalf("status: %s's offset %v, want about 3600 s", id, m.ClockOffsetSeconds)
	}
	if st2.ClockSkew == "" {
		t.Fatalf("status names no clock skew: %+v", st2)
	}
	for _, o := range st2.Members {
		if o.ID != id && o.ClockSkewed {
			t.Fatalf("status calls %s skewed too: %+v", o.ID, o)
		}
	}
	t.Logf("status: %s", st2.ClockSkew)

	// Restarted with a true clock, it is no longer named and leads normally.
	if err := c.Stop(skewed); err != nil {
		t.Fatal(err)
	}
	c.Members[skewed].Clock = nil
	if err := c.Restart(skewed); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	waitStatus(ctx, t, cl, func(s *wire.Status) bool {
		m := memberOf(s, id)
		return s.ClockSkew == "" && m.ClockOffsetSeconds != nil && !m.ClockSkewed
	})
	cur, err = c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Node(cur).Consensus().TransferLeadership(ctx, id); err != nil {
		t.Fatalf("transfer leadership back to %s: %v", id, err)
	}
	st, err = c.Sign(k, "note.put", notePayload("fixed", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.Client(skewed).Submit(ctx, st, client.SubmitOptions{})
	if err != nil || resp.Receipt.Status != chain.Accepted {
		t.Fatalf("write with %s leading on a true clock: %+v %v", id, resp, err)
	}
	b, err := c.Client(skewed).Block(ctx, resp.Receipt.Height, client.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Header.Proposer != id {
		t.Fatalf("block %d was proposed by %s, not by %s: it did not keep leading on a true clock", b.Header.Height, b.Header.Proposer, id)
	}
}

func memberOf(s *wire.Status, id string) wire.Member {
	for _, m := range s.Members {
		if m.ID == id {
			return m
		}
	}
	return wire.Member{}
}

// waitStatus polls the cluster status until ok holds (or fails the test
// with the last status seen).
func waitStatus(ctx context.Context, t *testing.T, cl *client.Client, ok func(*wire.Status) bool) *wire.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var last *wire.Status
	for {
		s, err := cl.Status(ctx, false)
		if err == nil {
			last = s
			if ok(s) {
				return s
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("status never showed what was awaited; last: %+v (err %v)", last, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
