package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// These tests drive the coalescer's queue through its post function: the
// behaviour under test (what is sent, when, and what each caller hears) is
// a matter of ordering that a real leader cannot be made to hold still
// for. ledgernode/node's forward tests run it against real nodes.

type postCall struct {
	ctx  context.Context
	body []byte
	resp chan func() (int, []byte, error)
}

// blockingLeader answers each POST only when the test says so.
func blockingLeader() (func(ctx context.Context, body []byte) (int, []byte, error), chan postCall) {
	calls := make(chan postCall, 16)
	return func(ctx context.Context, body []byte) (int, []byte, error) {
		c := postCall{ctx: ctx, body: body, resp: make(chan func() (int, []byte, error), 1)}
		calls <- c
		select {
		case f := <-c.resp:
			return f()
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("%w: %v", errPeerUnreachable, ctx.Err())
		}
	}, calls
}

func envelopes(t *testing.T, n int) []*tx.Signed {
	t.Helper()
	k, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*tx.Signed, n)
	for i := range out {
		if out[i], err = tx.BuildSigned("testnet", "note.put", map[string]any{"key": "k", "value": i}, time.Now(), k); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// accept answers a batch body with an accepted receipt per envelope.
func accept(t *testing.T, body []byte) func() (int, []byte, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		t.Fatal(err)
	}
	var br wire.BatchResponse
	for i := range raws {
		br.Results = append(br.Results, wire.BatchResult{TxID: fmt.Sprint(i), Receipt: &chain.Receipt{TxID: fmt.Sprint(i), Status: chain.Accepted}})
	}
	out, _ := json.Marshal(br)
	return func() (int, []byte, error) { return http.StatusOK, out, nil }
}

func count(t *testing.T, body []byte) int {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		t.Fatal(err)
	}
	return len(raws)
}

func TestForwardedSubmissionsQueuedBehindABatchGoInTheNextOne(t *testing.T) {
	post, calls := blockingLeader()
	f := &forwardCoalescer{post: post, timeout: time.Minute, maxInflight: 1, maxBytes: maxBatchBytes}
	sts := envelopes(t, 4)
	errs := make(chan error, 4)
	submit := func(st *tx.Signed) {
		go func() { _, err := f.submit(context.Background(), st); errs <- err }()
	}
	submit(sts[0])
	first := <-calls
	if n := count(t, first.body); n != 1 {
		t.Fatalf("first batch holds %d envelopes, want 1: nothing waits when nothing is in flight", n)
	}
	for _, st := range sts[1:] {
		submit(st)
	}
	waitQueued(t, f, 3)
	first.resp <- accept(t, first.body)
	second := <-calls
	if n := count(t, second.body); n != 3 {
		t.Fatalf("second batch holds %d envelopes, want the 3 that queued", n)
	}
	second.resp <- accept(t, second.body)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestForwardedSubmissionWhoseCallerLeftIsNeverSent(t *testing.T) {
	post, calls := blockingLeader()
	f := &forwardCoalescer{post: post, timeout: time.Minute, maxInflight: 1, maxBytes: maxBatchBytes}
	sts := envelopes(t, 3)
	go func() { _, _ = f.submit(context.Background(), sts[0]) }()
	first := <-calls

	gone, leave := context.WithCancel(context.Background())
	goneErr := make(chan error, 1)
	go func() { _, err := f.submit(gone, sts[1]); goneErr <- err }()
	stays := make(chan error, 1)
	go func() { _, err := f.submit(context.Background(), sts[2]); stays <- err }()
	waitQueued(t, f, 2)
	leave()
	if err := <-goneErr; !errors.Is(err, consensus.ErrOutcomeUnknown) {
		t.Fatalf("caller that left got %v, want outcome unknown", err)
	}
	first.resp <- accept(t, first.body)
	second := <-calls
	if n := count(t, second.body); n != 1 || !json.Valid(second.body) || string(second.body) != "["+string(sts[2].Canonical)+"]" {
		t.Fatalf("second batch %s: want only the envelope whose caller still waits", second.body)
	}
	second.resp <- accept(t, second.body)
	if err := <-stays; err != nil {
		t.Fatal(err)
	}
}

func TestBatchInFlightIsCancelledWhenAllItsCallersLeave(t *testing.T) {
	post, calls := blockingLeader()
	f := &forwardCoalescer{post: post, timeout: time.Minute, maxInflight: 1, maxBytes: maxBatchBytes}
	sts := envelopes(t, 1)
	ctx, leave := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := f.submit(ctx, sts[0]); done <- err }()
	c := <-calls
	leave()
	select {
	case <-c.ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the forward goes on after its only caller left")
	}
	<-done
}

func TestBatchItemAnswersAreEachCallersOwn(t *testing.T) {
	post, calls := blockingLeader()
	f := &forwardCoalescer{post: post, timeout: time.Minute, maxInflight: 1, maxBytes: maxBatchBytes}
	sts := envelopes(t, 1)
	done := make(chan error, 1)
	go func() { _, err := f.submit(context.Background(), sts[0]); done <- err }()
	c := <-calls
	out, _ := json.Marshal(wire.BatchResponse{Results: []wire.BatchResult{{Status: http.StatusForbidden,
		Error: &wire.ErrorDetail{Code: "unauthorized", Message: "not yours"}}}})
	c.resp <- func() (int, []byte, error) { return http.StatusOK, out, nil }
	err := <-done
	if st, d := statusOf(err); st != http.StatusForbidden || d.Code != "unauthorized" {
		t.Fatalf("caller hears %d %s, want the leader's 403 unauthorized", st, d.Code)
	}
}

// waitQueued waits until n submissions are queued (they are sent by the
// test's goroutines).
func waitQueued(t *testing.T, f *forwardCoalescer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		q := len(f.queue)
		f.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}
