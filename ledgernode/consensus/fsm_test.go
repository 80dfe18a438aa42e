package consensus

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	dto "github.com/prometheus/client_model/go"

	"github.com/tradeledger/tradeledger/ledgernode/metrics"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// newTestFSM is the FSM over a real state file.
func newTestFSM(t *testing.T) (*fsm, *state.Store) {
	t.Helper()
	g, _, _ := statetest.Genesis(t, statetest.T0, nil)
	st := statetest.Open(t, filepath.Join(t.TempDir(), "state.db"), g, nil)
	return newFSM(st, slog.New(slog.DiscardHandler), nil, nil), st
}

func entry(t *testing.T, e Entry) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// applyPanics runs Apply and returns what it panicked with ("" if it did not).
func applyPanics(f *fsm, l *raft.Log) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = p.(string)
		}
	}()
	f.Apply(l)
	return ""
}

// An entry of a type this node does not know stops the node (it cannot
// apply what the others apply without diverging), unless the entry is
// flagged ignorable, which is skipped without touching the state; an entry
// that is not a v1 tradeledger entry stops it too.
func TestFSMStopsOnAnUnknownEntryTypeAndSkipsAnIgnorableOne(t *testing.T) {
	f, st := newTestFSM(t)
	before := st.Applied()

	msg := applyPanics(f, &raft.Log{Index: 7, Term: 1, Type: raft.LogCommand, Data: entry(t, Entry{V: 1, Type: "futureThing", Payload: json.RawMessage(`{}`)})})
	if !strings.Contains(msg, `type "futureThing" unknown to this node`) || !strings.Contains(msg, "upgrade the node") {
		t.Fatalf("unknown entry type: panic %q, want a hard stop naming the type and the fix", msg)
	}
	if msg := applyPanics(f, &raft.Log{Index: 8, Term: 1, Type: raft.LogCommand, Data: entry(t, Entry{V: 1, Type: "futureThing", Ignorable: true, Payload: json.RawMessage(`{}`)})}); msg != "" {
		t.Fatalf("ignorable entry of an unknown type: panic %q, want it skipped", msg)
	}
	if st.Applied() != before || st.Meta().Height != 0 {
		t.Fatalf("a skipped entry changed the state: applied %+v -> %+v, height %d", before, st.Applied(), st.Meta().Height)
	}
	for name, data := range map[string][]byte{
		"not JSON":  []byte("garbage"),
		"version 2": entry(t, Entry{V: 2, Type: EntryBlock, Payload: json.RawMessage(`{}`)}),
	} {
		if msg := applyPanics(f, &raft.Log{Index: 9, Term: 1, Type: raft.LogCommand, Data: data}); !strings.Contains(msg, "not a v1 tradeledger entry") {
			t.Fatalf("%s: panic %q, want a hard stop", name, msg)
		}
	}
	// A known type is dispatched: a member change is applied.
	data, err := encodeEntry(EntryMember, MemberChange{Member: state.Member{ID: "n9", RaftAddr: "127.0.0.1:9", APIAddr: "127.0.0.1:10"}})
	if err != nil {
		t.Fatal(err)
	}
	if msg := applyPanics(f, &raft.Log{Index: 10, Term: 1, Type: raft.LogCommand, Data: data}); msg != "" {
		t.Fatal(msg)
	}
	members, _ := st.Members()
	if len(members) == 0 || members[len(members)-1].ID != "n9" || st.Applied().Index != 10 {
		t.Fatalf("member entry not applied: %+v, applied %+v", members, st.Applied())
	}
	// Raft's own entries (configuration, no-op) are not the FSM's.
	if got := f.Apply(&raft.Log{Index: 11, Type: raft.LogConfiguration, Data: []byte("x")}); got != nil {
		t.Fatalf("non-command entry: %v", got)
	}
}

// Raft's errors map to the node's own, and the outcome of a proposal that
// lost leadership is unknown, not "not leader".
func TestRaftErrorsMapToTheNodesOwn(t *testing.T) {
	for _, tc := range []struct {
		err      error
		proposed bool
		want     error
	}{
		{raft.ErrNotLeader, true, ErrNotLeader},
		{raft.ErrLeadershipLost, true, ErrOutcomeUnknown},
		{raft.ErrLeadershipLost, false, ErrNotLeader},
		{raft.ErrLeadershipTransferInProgress, true, ErrOutcomeUnknown},
		{raft.ErrEnqueueTimeout, true, ErrOverloaded},
		{raft.ErrRaftShutdown, false, ErrShutdown},
		{nil, true, nil},
	} {
		if got := mapRaftError(tc.err, tc.proposed); got != tc.want {
			t.Errorf("mapRaftError(%v, proposed %v) = %v, want %v", tc.err, tc.proposed, got, tc.want)
		}
	}
}

// Consecutive blocks are applied in one state commit only while they hold
// at most maxGroupTxs transactions together (a bbolt write transaction
// holds every changed page in memory until it commits); a block larger
// than that is committed alone; every block is applied, in order, and a
// non-block entry still ends a group.
func TestFSMGroupsBlocksIntoCommitsOfBoundedTransactions(t *testing.T) {
	f, st := newTestFSM(t)
	f.metrics = metrics.New()
	f.maxGroupTxs = 4
	block := func(index uint64, txs int) *raft.Log {
		p := state.Proposal{Time: tx.FormatTime(time.Date(2026, 3, 1, 12, 0, int(index), 0, time.UTC)), Proposer: "n0"}
		for k := 0; k < txs; k++ {
			p.Txs = append(p.Txs, json.RawMessage(fmt.Sprintf(`"not an envelope %d-%d"`, index, k)))
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: entry(t, Entry{V: 1, Type: EntryBlock, Payload: raw})}
	}
	// 2+2 | 3 | 5 (alone: larger than the bound) | 1+3 | configuration | 4
	logs := []*raft.Log{block(10, 2), block(11, 2), block(12, 3), block(13, 5), block(14, 1), block(15, 3),
		{Index: 16, Term: 1, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(raft.Configuration{})}, block(17, 4)}
	out := f.ApplyBatch(logs)

	var m dto.Metric
	if err := f.metrics.StateCommitBlocks.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetHistogram().GetSampleCount(); got != 5 {
		t.Fatalf("%d state commits, want 5 (2+2 | 3 | 5 | 1+3 | 4 transactions)", got)
	}
	if got := m.GetHistogram().GetSampleSum(); got != 7 {
		t.Fatalf("%v blocks committed, want all 7", got)
	}
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		r, ok := out[i].(*state.BlockResult)
		if !ok {
			t.Fatalf("entry %d: result %T, want a block result", l.Index, out[i])
		}
		var p state.Proposal
		var e Entry
		_ = json.Unmarshal(l.Data, &e)
		_ = json.Unmarshal(e.Payload, &p)
		if len(r.Receipts) != len(p.Txs) {
			t.Fatalf("entry %d: %d receipts for %d transactions", l.Index, len(r.Receipts), len(p.Txs))
		}
	}
	if h := st.Meta().Height; h != 7 {
		t.Fatalf("height %d after 7 blocks", h)
	}
	if a := st.Applied(); a.Index != 17 {
		t.Fatalf("applied index %d, want 17", a.Index)
	}
}
