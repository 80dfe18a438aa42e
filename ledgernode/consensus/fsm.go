package consensus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/metrics"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// fsm feeds committed Raft entries to the state machine. Apply reads only
// the entry, its index and term: everything non-deterministic (block time,
// proposer) was stamped into the entry by the leader.
type fsm struct {
	store    *state.Store
	log      *slog.Logger
	metrics  *metrics.Node
	dispatch map[string]func(payload json.RawMessage, l *raft.Log) any
	// clock is read for a metric only (how far ahead of this node's clock
	// the leader stamped the last block), never for state.
	clock func() time.Time
	// committed is the last Raft configuration this node applied (so
	// committed), since it started: hashicorp/raft tells only the latest
	// one, which may not be committed yet (Replica.CommittedVoters).
	committed atomic.Pointer[committedConfig]
	// maxGroupTxs bounds the transactions applied in one state commit
	// (maxGroupTxs by default; tests lower it).
	maxGroupTxs int
	// sinceSnapshot counts the entries (and their bytes) applied since the
	// last snapshot began (Replica.snapshotBySize reads it).
	sinceSnapshot struct{ entries, bytes atomic.Uint64 }
}

// maxGroupTxs is how many transactions consecutive blocks may hold
// together and still be applied in one state commit. A bbolt write
// transaction keeps every page it changes in memory until it commits, and
// Raft hands a catching-up node up to MaxAppendEntries (64) entries at
// once: 64 blocks of 2,000 certificates made one commit of 128,000
// certificates, and a node joining a 100,000-certificate ledger held
// 1.3 GB of anonymous memory. Groups of a few thousand transactions still
// spread the commit and its fsync pair over many blocks. Grouping is this
// node's own affair: contents, state hash and history are the same for
// any grouping (state DESIGN.md, "Group commit").
const maxGroupTxs = 4096

// blockEntryHead is how encodeEntry begins every block entry
// (encoding/json writes Entry's fields in order, and a block is never
// ignorable).
var blockEntryHead = []byte(`{"v":1,"type":"` + EntryBlock + `",`)

// isBlockEntry says whether data is a v1 block entry. An entry this node's
// code wrote is told by its first bytes: a restart replays hundreds of
// megabytes of blocks, and reading each as JSON to its end (to find two
// fields) took more CPU than Raft's own reading of the log. Any other
// spelling (field order, spaces) is read as JSON, head only (the payload
// is scanned, not decoded).
func isBlockEntry(data []byte) bool {
	if bytes.HasPrefix(data, blockEntryHead) {
		return true
	}
	var h struct {
		V    int    `json:"v"`
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &h) == nil && h.V == 1 && h.Type == EntryBlock
}

// committedConfig is a configuration entry applied here.
type committedConfig struct {
	index  uint64
	voters []string
}

func newFSM(store *state.Store, log *slog.Logger, m *metrics.Node, clock func() time.Time) *fsm {
	f := &fsm{store: store, log: log, metrics: m, clock: clock, maxGroupTxs: maxGroupTxs}
	f.dispatch = map[string]func(json.RawMessage, *raft.Log) any{
		EntryMember:    f.applyMember,
		EntryClusterOp: f.applyClusterOp,
	}
	return f
}

// noteConfiguration records a committed configuration entry. Raft wrote
// it, but raft.DecodeConfiguration panics on bytes it cannot read: such an
// entry is only logged (it is Raft's, and Raft read it already).
func (f *fsm) noteConfiguration(l *raft.Log) {
	defer func() {
		if r := recover(); r != nil {
			f.log.Warn("configuration entry not readable; the committed voters are not updated", "index", l.Index, "err", r)
		}
	}()
	f.setCommitted(raft.DecodeConfiguration(l.Data), l.Index)
}

// setCommitted records a committed configuration (an applied entry, or
// the newest snapshot's at start), never going back to an older one.
func (f *fsm) setCommitted(c raft.Configuration, index uint64) {
	var voters []string
	for _, sv := range c.Servers {
		if sv.Suffrage == raft.Voter {
			voters = append(voters, string(sv.ID))
		}
	}
	if old := f.committed.Load(); old != nil && old.index > index {
		return
	}
	f.committed.Store(&committedConfig{index: index, voters: voters})
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: Raft hands over every entry
// committed since the last call (up to MaxAppendEntries). Consecutive block
// entries holding up to maxGroupTxs transactions together are applied in
// one state commit (state.ApplyBlocks: one bbolt transaction and fsync pair
// for all of them; a larger block alone); any other entry is applied on
// its own, in order.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	var size uint64
	for _, l := range logs {
		size += uint64(len(l.Data))
	}
	f.sinceSnapshot.entries.Add(uint64(len(logs)))
	f.sinceSnapshot.bytes.Add(size)
	out := make([]any, len(logs))
	var blocks []state.BlockEntry
	var at []int    // positions in logs of the pending blocks
	var pending int // transactions in them
	flush := func() {
		if len(blocks) == 0 {
			return
		}
		for k, r := range f.applyBlocks(blocks) {
			out[at[k]] = r
		}
		blocks, at, pending = blocks[:0], at[:0], 0
	}
	for i, l := range logs {
		if l.Type == raft.LogConfiguration {
			f.noteConfiguration(l)
			continue
		}
		if l.Type != raft.LogCommand {
			continue
		}
		if len(blocks) == 0 && l.Index <= f.store.Applied().Index && isBlockEntry(l.Data) {
			// A replay (Raft hands a restarted node its log again from its
			// last snapshot): the state holds this block already and would
			// skip it. Decoding ~2 MB of block only to skip it is what a
			// restart spent its time and memory on.
			out[i] = &state.BlockResult{Skipped: true}
			continue
		}
		var e Entry
		if err := json.Unmarshal(l.Data, &e); err != nil || e.V != 1 {
			// The leader wrote it, so every node sees the same bytes: stopping
			// is the only way not to diverge silently.
			panic(fmt.Sprintf("raft entry %d is not a v1 tradeledger entry (%v); this node cannot apply it", l.Index, err))
		}
		if e.Type == EntryBlock {
			var p state.Proposal
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				panic(fmt.Sprintf("raft entry %d: block payload: %v", l.Index, err))
			}
			if pending > 0 && pending+len(p.Txs) > f.maxGroupTxs {
				flush() // the group is full: commit it before this block
			}
			blocks = append(blocks, state.BlockEntry{Proposal: &p, Index: l.Index, Term: l.Term})
			at = append(at, i)
			pending += len(p.Txs)
			continue
		}
		flush()
		h, ok := f.dispatch[e.Type]
		if !ok {
			if e.Ignorable {
				f.log.Warn("skipping ignorable raft entry of unknown type", "type", e.Type, "index", l.Index)
				continue
			}
			panic(fmt.Sprintf("raft entry %d has type %q unknown to this node: upgrade the node before it can continue", l.Index, e.Type))
		}
		out[i] = h(e.Payload, l)
	}
	flush()
	return out
}

// applyBlocks applies consecutive block entries in one state commit.
func (f *fsm) applyBlocks(blocks []state.BlockEntry) []*state.BlockResult {
	start := time.Now()
	res, err := f.store.ApplyBlocks(blocks)
	if err != nil {
		// A storage failure here would leave this node behind the others
		// with no way to recover by itself: stop loudly.
		panic(fmt.Sprintf("raft entries %d-%d: %v", blocks[0].Index, blocks[len(blocks)-1].Index, err))
	}
	applied := 0
	for k, r := range res {
		if r.Skipped {
			continue
		}
		applied++
		if f.metrics != nil && f.clock != nil && k == len(res)-1 {
			// An observation for operators, after the state is written: how
			// far the leader's stamp is ahead of this node's clock.
			if t, err := tx.ParseTime(blocks[k].Proposal.Time); err == nil {
				f.metrics.BlockTimeAhead.Set(t.Sub(f.clock()).Seconds())
			}
		}
		if f.metrics != nil {
			f.metrics.BlockTxs.Observe(float64(len(r.Receipts)))
			f.metrics.Height.Set(float64(r.Height))
			for _, rc := range r.Receipts {
				f.metrics.Txs.WithLabelValues(string(rc.Status)).Inc()
			}
		}
		if f.log.Enabled(context.Background(), slog.LevelDebug) {
			f.log.Debug("block applied", "height", r.Height, "txs", len(r.Receipts))
		}
	}
	if applied > 0 && f.metrics != nil {
		f.metrics.ApplySeconds.Observe(time.Since(start).Seconds())
		f.metrics.StateCommitBlocks.Observe(float64(applied))
	}
	return res
}

func (f *fsm) applyMember(payload json.RawMessage, l *raft.Log) any {
	var mc MemberChange
	if err := json.Unmarshal(payload, &mc); err != nil {
		panic(fmt.Sprintf("raft entry %d: member payload: %v", l.Index, err))
	}
	if err := f.store.ApplyMember(mc.Member, mc.Remove, l.Index, l.Term); err != nil {
		panic(fmt.Sprintf("raft entry %d: %v", l.Index, err))
	}
	return nil
}

// clusterOpResult is what applying a cluster-operation record returns.
type clusterOpResult struct {
	rec   state.ClusterOp
	first bool
}

func (f *fsm) applyClusterOp(payload json.RawMessage, l *raft.Log) any {
	var op state.ClusterOp
	if err := json.Unmarshal(payload, &op); err != nil {
		panic(fmt.Sprintf("raft entry %d: cluster operation payload: %v", l.Index, err))
	}
	rec, first, err := f.store.ApplyClusterOp(op, l.Index, l.Term)
	if err != nil {
		panic(fmt.Sprintf("raft entry %d: %v", l.Index, err))
	}
	return &clusterOpResult{rec: rec, first: first}
}

// Snapshot implements raft.FSM: it opens a read transaction and returns at
// once; the copy streams in Persist while the FSM goes on applying.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	sn, err := f.store.Snapshot()
	if err != nil {
		return nil, err
	}
	// Raft asks between batches, on the goroutine that applies them: the
	// snapshot holds everything counted so far.
	f.sinceSnapshot.entries.Store(0)
	f.sinceSnapshot.bytes.Store(0)
	return &fsmSnapshot{sn: sn}, nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.store.Restore(rc); err != nil {
		return err
	}
	// The state is the snapshot's: nothing applied since it.
	f.sinceSnapshot.entries.Store(0)
	f.sinceSnapshot.bytes.Store(0)
	return nil
}

type fsmSnapshot struct{ sn *state.Snapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.sn.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() { s.sn.Release() }

// receiptsOf extracts the block result Raft returns from Apply.
func receiptsOf(resp any) ([]chain.Receipt, error) {
	switch r := resp.(type) {
	case *state.BlockResult:
		return r.Receipts, nil
	case error:
		return nil, r
	}
	return nil, fmt.Errorf("unexpected apply response %T", resp)
}
