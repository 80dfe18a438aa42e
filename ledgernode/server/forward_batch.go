package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// forwardCoalescer sends the single submissions a follower forwards to the
// leader as POST /v1/txs batches: whatever has queued while earlier
// batches were in flight goes in the next one, so there is no added delay
// when the load is light and one HTTP exchange for many transactions when
// it is heavy (the leader then decodes them in parallel). Each caller gets
// its own transaction's answer, mapped as the leader would have answered
// it alone, and keeps its own retry loop (submitOrForward).
type forwardCoalescer struct {
	// post sends a POST /v1/txs body to the leader.
	post        func(ctx context.Context, body []byte) (status int, out []byte, err error)
	observe     func(n int)   // batch sizes, for the metrics (may be nil)
	timeout     time.Duration // the longest a batch may take
	maxInflight int           // batches in flight at once
	maxBytes    int           // body bytes per batch

	mu       sync.Mutex
	queue    []*forwardItem
	inflight int
}

type forwardItem struct {
	ctx  context.Context // the caller's: once it ends, the item is not sent
	st   *tx.Signed
	done chan forwardResult // buffered: the sender never blocks
}

type forwardResult struct {
	resp *wire.SubmitResponse
	err  error
}

// submit forwards st and waits for the leader's answer or ctx. When ctx
// ends first the outcome is unknown: the batch may still commit it.
func (f *forwardCoalescer) submit(ctx context.Context, st *tx.Signed) (*wire.SubmitResponse, error) {
	it := &forwardItem{ctx: ctx, st: st, done: make(chan forwardResult, 1)}
	f.mu.Lock()
	f.queue = append(f.queue, it)
	start := f.inflight < f.maxInflight
	if start {
		f.inflight++
	}
	f.mu.Unlock()
	if start {
		go f.run()
	}
	select {
	case r := <-it.done:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, consensus.ErrOutcomeUnknown
	}
}

// run sends batches until the queue is empty.
func (f *forwardCoalescer) run() {
	for {
		batch := f.take()
		if batch == nil {
			return
		}
		f.send(batch)
	}
}

// take removes the next batch from the queue (at least one item, at most
// wire.MaxBatch and maxBytes), or ends this sender when the queue is empty.
// Items whose callers have gone are dropped unsent, as a single forward is
// cancelled with its request: a caller told "outcome unknown" must not
// have its transaction sent long after (it may have resubmitted, or be
// checking whether it committed).
func (f *forwardCoalescer) take() []*forwardItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	live := f.queue[:0]
	for _, it := range f.queue {
		if it.ctx.Err() == nil {
			live = append(live, it)
		}
	}
	clear(f.queue[len(live):])
	f.queue = live
	if len(f.queue) == 0 {
		f.inflight--
		return nil
	}
	n, size := 0, 2
	for n < len(f.queue) && n < wire.MaxBatch {
		size += len(f.queue[n].st.Canonical) + 1
		if n > 0 && size > f.maxBytes {
			break
		}
		n++
	}
	batch := make([]*forwardItem, n)
	copy(batch, f.queue)
	rest := copy(f.queue, f.queue[n:])
	clear(f.queue[rest:])
	f.queue = f.queue[:rest]
	return batch
}

// send forwards one batch and answers each of its callers.
func (f *forwardCoalescer) send(batch []*forwardItem) {
	if f.observe != nil {
		f.observe(len(batch))
	}
	sts := make([]*tx.Signed, len(batch))
	for k, it := range batch {
		sts[k] = it.st
	}
	body := wire.BatchBody(sts)
	ctx, cancel := batchContext(batch, f.timeout)
	defer cancel()
	status, out, err := f.post(ctx, body)
	var br wire.BatchResponse
	switch {
	case err != nil:
	case status != http.StatusOK:
		err = peerError(status, out)
	case json.Unmarshal(out, &br) != nil || len(br.Results) != len(batch):
		err = fmt.Errorf("leader's answer to a batch of %d unreadable", len(batch))
	}
	for k, it := range batch {
		if err != nil {
			it.done <- forwardResult{err: err}
			continue
		}
		it.done <- singleResult(br.Results[k])
	}
}

// batchContext lives while any caller of the batch waits (and at most
// timeout): when every caller has gone the forward is cancelled, as a
// single forward is with its request.
func batchContext(batch []*forwardItem, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	var waiting atomic.Int64
	waiting.Store(int64(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, it := range batch {
		stops[i] = context.AfterFunc(it.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// singleResult is a batch item's answer as POST /v1/tx gives it.
func singleResult(r wire.BatchResult) forwardResult {
	if r.Error != nil || r.Receipt == nil {
		body := wire.ErrorBody{}
		if r.Error != nil {
			body.Error = *r.Error
		} else {
			body.Error = wire.ErrorDetail{Code: "peer_error", Message: "leader answered without a receipt"}
		}
		status := r.Status
		if status == 0 {
			status = http.StatusBadGateway
		}
		return forwardResult{err: &errPeer{status: status, body: body}}
	}
	return forwardResult{resp: &wire.SubmitResponse{TxID: r.Receipt.TxID, Receipt: r.Receipt, Existing: r.Existing}}
}
