package consensus

// The write path: the batcher hands each block to propose, which sends it
// to Raft as one entry and answers every transaction in it with its
// receipt; Submit queues a transaction; ReadBarrier makes the next local
// read linearizable; RecordClusterOp records an admin operation through
// Raft so that it runs at most once.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Submit queues a checked transaction on the leader and waits for its
// receipt, which exists only once the block is committed and applied here.
func (n *Replica) Submit(ctx context.Context, st *tx.Signed) (chain.Receipt, error) {
	if n.raft.State() != raft.Leader {
		return chain.Receipt{}, n.notLeaderError()
	}
	ch, err := n.batcher.submit(st)
	if err != nil {
		return chain.Receipt{}, err
	}
	return wait(ctx, ch)
}

// propose sends one block to Raft and answers its transactions.
func (n *Replica) propose(batch []*pending) {
	at, err := n.blockTime()
	if err != nil {
		// Nothing proposed: the transactions may be sent again (to the
		// next leader).
		n.failBatch(batch, err)
		return
	}
	p := state.Proposal{Time: tx.FormatTime(at), Proposer: n.cfg.ID, Txs: make([]json.RawMessage, len(batch))}
	for i, b := range batch {
		p.Txs[i] = b.st.Canonical
	}
	data, err := encodeEntry(EntryBlock, p)
	if err != nil {
		n.failBatch(batch, err)
		return
	}
	f := n.raft.Apply(data, n.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		n.failBatch(batch, mapRaftError(err, true))
		return
	}
	receipts, err := receiptsOf(f.Response())
	if err != nil || len(receipts) != len(batch) {
		n.failBatch(batch, fmt.Errorf("block result: %v (%d receipts for %d transactions)", err, len(receipts), len(batch)))
		return
	}
	now := time.Now()
	for i, b := range batch {
		rc := receipts[i]
		if rc.Status == chain.Rejected && len(rc.Reasons) > 0 && rc.Reasons[0].Code == wire.CodeDuplicate {
			// Resubmitted while the original was in flight: answer with the
			// original's receipt, so that submission is idempotent.
			if orig := n.lookup(b.st.IDHex()); orig != nil {
				rc = *orig
			}
		}
		if n.metrics != nil {
			n.metrics.CommitLatency.Observe(now.Sub(b.queued).Seconds())
		}
		n.batcher.finish(b, result{receipt: rc})
	}
}

func (n *Replica) lookup(id string) *chain.Receipt {
	var rc *chain.Receipt
	_ = n.store.View(func(v *state.View) error {
		if rec, err := v.TxByID(id); err == nil {
			rc = &rec.Receipt
		}
		return nil
	})
	return rc
}

func (n *Replica) failBatch(batch []*pending, err error) {
	for _, b := range batch {
		n.batcher.finish(b, result{err: err})
	}
}

func (n *Replica) notLeaderError() error {
	if _, id := n.raft.LeaderWithID(); id == "" {
		return ErrNoLeader
	}
	return ErrNotLeader
}

// ReadBarrier makes the next local read linearizable: it waits until every
// entry committed before the call is applied here (a Raft barrier) and then
// confirms this node still leads (a heartbeat round to a quorum). Only the
// leader can do it; followers forward strong reads.
func (n *Replica) ReadBarrier(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return n.notLeaderError()
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := n.raft.Barrier(timeout).Error(); err != nil {
		return mapRaftError(err, false)
	}
	return mapRaftError(n.raft.VerifyLeader().Error(), false)
}

// LeaderCaughtUp waits, on the leader, until its state has applied every
// entry committed before this node was elected. A new leader's log holds
// all of them, but its state applies them a moment later: until then a
// key the previous leader enrolled and acknowledged is not yet known here,
// and a check against the state would refuse a signer the network knows.
// The first call in a term waits for a Raft barrier; once one has passed,
// later calls in the same term return at once (every entry of an earlier
// term is applied). Only the leader can do it.
func (n *Replica) LeaderCaughtUp(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return n.notLeaderError()
	}
	term := n.raft.CurrentTerm()
	if n.caughtUpTerm.Load() >= term {
		return nil
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := n.raft.Barrier(timeout).Error(); err != nil {
		return mapRaftError(err, false)
	}
	// The barrier was committed by a leader of term or later: every entry of
	// an earlier term is applied.
	for {
		cur := n.caughtUpTerm.Load()
		if cur >= term || n.caughtUpTerm.CompareAndSwap(cur, term) {
			return nil
		}
	}
}

// RecordClusterOp records, through Raft, that an admin cluster operation
// starts (op.Done false) or has finished with its answer (true). On a
// start, first says whether this is the first start of op.TxID anywhere:
// only then may the caller carry the operation out. Only the leader can
// record; a start whose outcome is unknown (leadership lost) is treated as
// started: at most once, never twice.
func (n *Replica) RecordClusterOp(op state.ClusterOp) (rec state.ClusterOp, first bool, err error) {
	if !n.IsLeader() {
		return rec, false, n.notLeaderError()
	}
	data, err := encodeEntry(EntryClusterOp, op)
	if err != nil {
		return rec, false, err
	}
	f := n.raft.Apply(data, n.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		return rec, false, mapRaftError(err, true)
	}
	r, ok := f.Response().(*clusterOpResult)
	if !ok {
		return rec, false, fmt.Errorf("cluster operation record: unexpected apply response %T", f.Response())
	}
	return r.rec, r.first, nil
}
