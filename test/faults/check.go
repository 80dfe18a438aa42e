package faults

import (
	"context"
	"fmt"
	"github.com/anishathalye/porcupine"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/proccluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// maxClockOffset is the nodes' --max-clock-offset (the default).
const maxClockOffset = 30 * time.Second

// ErrDivergent is reported when two nodes at the same height disagree.
var ErrDivergent = proccluster.ErrDivergent

// Ledger accumulates what the checks know about the ledger's history.
type Ledger struct {
	Checked   uint64         // blocks checked so far
	LastTime  string         // block time of the last checked block
	Accepted  map[string]int // tx id -> accepted occurrences
	Leaves    uint64
	BlockHash map[uint64]string
}

// NewLedger starts with nothing checked.
func NewLedger() *Ledger {
	return &Ledger{Accepted: map[string]int{}, BlockHash: map[uint64]string{}}
}

// Scan reads the blocks not yet checked from node i and checks the chain:
// each block links to the previous, block times strictly increase and are
// not ahead of the real clock by more than the nodes' clock bound (a
// leader's clock that jumped ahead must not stamp blocks), leaf indexes
// are consecutive, and no transaction is accepted twice.
func (l *Ledger) Scan(ctx context.Context, c *Cluster, i int, upTo uint64) error {
	cl := c.Client(10*time.Second, i)
	for h := l.Checked + 1; h <= upTo; h++ {
		b, err := cl.Block(ctx, h, client.ReadOptions{})
		if err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
		if prev, ok := l.BlockHash[h-1]; ok && b.Header.Prev != prev {
			return fmt.Errorf("block %d does not link to block %d", h, h-1)
		}
		if l.LastTime != "" && !(b.Header.Time > l.LastTime) {
			return fmt.Errorf("block %d time %s is not after %s", h, b.Header.Time, l.LastTime)
		}
		if bt, err := tx.ParseTime(b.Header.Time); err != nil || time.Until(bt) > maxClockOffset {
			return fmt.Errorf("block %d (proposer %s) has time %s, more than %s ahead of the real clock (%v)", h, b.Header.Proposer, b.Header.Time, maxClockOffset, err)
		}
		for _, r := range b.Receipts {
			if r.LeafIndex != l.Leaves {
				return fmt.Errorf("block %d: leaf %d, expected %d", h, r.LeafIndex, l.Leaves)
			}
			l.Leaves++
			if r.Status == chain.Accepted {
				l.Accepted[r.TxID]++
				if l.Accepted[r.TxID] > 1 {
					return fmt.Errorf("transaction %s accepted twice (second time in block %d)", r.TxID, h)
				}
			}
		}
		l.BlockHash[h] = b.Hash
		l.LastTime = b.Header.Time
		l.Checked = h
	}
	return nil
}

// SameChain checks that every node has the same block hash at each of a few
// heights (the hash chain makes equal hashes mean equal histories).
func (l *Ledger) SameChain(ctx context.Context, c *Cluster, nodes []int, height uint64) error {
	for _, i := range nodes {
		b, err := c.Client(5*time.Second, i).Block(ctx, height, client.ReadOptions{})
		if err != nil {
			return err
		}
		if b.Hash != l.BlockHash[height] {
			return fmt.Errorf("%w: %s has block %d = %s, others %s", ErrDivergent, c.Procs[i].ID, height, b.Hash, l.BlockHash[height])
		}
	}
	return nil
}

// linearizable checks a workload history with porcupine, each attempt
// bounded by timeout. When porcupine cannot decide in time (Unknown), it
// checks ever shorter prefixes of the schedule, halving the window, until
// one is decided: a prefix keeps every operation called in it, a write
// still pending at its end as outcome unknown and drops a pending read,
// so a linearizable history has only linearizable prefixes. window is the
// span checked (of full); shrinks counts the halvings. Unknown is returned
// only when even the shortest window could not be decided.
func linearizable(model porcupine.Model, h []porcupine.Operation, timeout time.Duration) (res porcupine.CheckResult, info porcupine.LinearizationInfo, window, full time.Duration, shrinks int) {
	var end int64
	for _, op := range h {
		if op.Return < 1<<62 && op.Return > end {
			end = op.Return
		}
	}
	full = time.Duration(end)
	for t := end; ; t /= 2 {
		res, info = porcupine.CheckOperationsVerbose(model, prefix(h, t), timeout)
		if res != porcupine.Unknown || t < int64(50*time.Millisecond) {
			return res, info, time.Duration(t), full, shrinks
		}
		shrinks++
	}
}

// prefix is the history as it stood at t (see linearizable).
func prefix(h []porcupine.Operation, t int64) []porcupine.Operation {
	out := make([]porcupine.Operation, 0, len(h))
	for _, op := range h {
		switch in := op.Input.(noteInput); {
		case op.Call > t:
		case op.Return <= t:
			out = append(out, op)
		case in.Kind == "write":
			op.Output, op.Return = noteOutput{Unknown: true}, 1<<62
			out = append(out, op)
		}
	}
	return out
}
