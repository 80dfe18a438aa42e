package consensus

import (
	"context"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// result is what a waiting submitter receives.
type result struct {
	receipt chain.Receipt
	err     error
}

// pending is one transaction waiting in the batcher, with everyone waiting
// for it (a retried envelope joins the first submission instead of being
// proposed twice).
type pending struct {
	st      *tx.Signed
	queued  time.Time
	waiters []chan result
}

// batcher packs transactions into blocks on the leader: a block is proposed
// when it holds maxTx transactions or its first transaction has waited
// maxDelay. Proposals are pipelined: up to maxInflight blocks may be in Raft
// at once, each fsync'd with whatever else Raft batches with it.
type batcher struct {
	maxTx, maxQueue, maxInflight int
	maxDelay                     time.Duration
	propose                      func(batch []*pending) // waits for commit, then answers waiters

	mu      sync.Mutex
	queue   []*pending
	byID    map[[32]byte]*pending
	wake    chan struct{}
	stop    chan struct{}
	stopped bool
	slots   chan struct{}
	wg      sync.WaitGroup
}

func newBatcher(maxTx int, maxDelay time.Duration, maxQueue, maxInflight int, propose func([]*pending)) *batcher {
	b := &batcher{maxTx: maxTx, maxDelay: maxDelay, maxQueue: maxQueue, maxInflight: maxInflight, propose: propose,
		byID: map[[32]byte]*pending{}, wake: make(chan struct{}, 1), stop: make(chan struct{}),
		slots: make(chan struct{}, maxInflight)}
	b.wg.Add(1)
	go b.run()
	return b
}

// submit queues st and returns a channel that receives its result.
func (b *batcher) submit(st *tx.Signed) (<-chan result, error) {
	ch := make(chan result, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil, ErrShutdown
	}
	if p, ok := b.byID[st.ID]; ok {
		p.waiters = append(p.waiters, ch)
		return ch, nil
	}
	if len(b.byID) >= b.maxQueue {
		return nil, ErrOverloaded
	}
	p := &pending{st: st, queued: time.Now(), waiters: []chan result{ch}}
	b.byID[st.ID] = p
	b.queue = append(b.queue, p)
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return ch, nil
}

// take removes up to maxTx queued transactions.
func (b *batcher) take() []*pending {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.queue)
	if n > b.maxTx {
		n = b.maxTx
	}
	batch := append([]*pending(nil), b.queue[:n]...)
	b.queue = append(b.queue[:0], b.queue[n:]...)
	return batch
}

func (b *batcher) queued() (int, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		return 0, time.Time{}
	}
	return len(b.queue), b.queue[0].queued
}

func (b *batcher) run() {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n, first := b.queued()
		if n == 0 {
			select {
			case <-b.wake:
				continue
			case <-b.stop:
				return
			}
		}
		if wait := b.maxDelay - time.Since(first); n < b.maxTx && wait > 0 {
			timer.Reset(wait)
			select {
			case <-b.wake:
				timer.Stop()
				continue
			case <-timer.C:
			case <-b.stop:
				return
			}
		}
		select {
		case b.slots <- struct{}{}:
		case <-b.stop:
			return
		}
		batch := b.take()
		if len(batch) == 0 {
			<-b.slots
			continue
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer func() { <-b.slots }()
			b.propose(batch)
		}()
	}
}

// finish answers every waiter of p and forgets it.
func (b *batcher) finish(p *pending, r result) {
	b.mu.Lock()
	delete(b.byID, p.st.ID)
	waiters := p.waiters
	p.waiters = nil
	b.mu.Unlock()
	for _, w := range waiters {
		w <- r
	}
}

// failQueued answers every queued (not yet proposed) transaction with err,
// e.g. when this node stops being the leader.
func (b *batcher) failQueued(err error) {
	for _, p := range b.take() {
		b.finish(p, result{err: err})
	}
	if n, _ := b.queued(); n > 0 {
		b.failQueued(err)
	}
}

func (b *batcher) close() {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return
	}
	b.stopped = true
	close(b.stop)
	b.mu.Unlock()
	b.wg.Wait()
	b.failQueued(ErrShutdown)
}

// wait blocks for a result or the context.
func wait(ctx context.Context, ch <-chan result) (chain.Receipt, error) {
	select {
	case r := <-ch:
		return r.receipt, r.err
	case <-ctx.Done():
		return chain.Receipt{}, ErrOutcomeUnknown
	}
}
