package consensus

import (
	"bytes"
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
func newTestFSM(t testing.TB) (*fsm, *state.Store) {
	t.Helper()
	g, _, _ := statetest.Genesis(t, statetest.T0, nil)
	st := statetest.Open(t, filepath.Join(t.TempDir(), "state.db"), g, nil)
	return newFSM(st, slog.New(slog.DiscardHandler), nil, nil), st
}

func entry(t testing.TB, e Entry) []byte {
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

// BenchmarkFSMReplayOfAppliedBlocks: what a restart costs per batch Raft
// hands the FSM again (64 entries at or below the applied index, blocks of
// 2,000 one-kilobyte transactions, as ledgerbench scale loads them);
// -benchmem's B/op is the memory a restart allocates per batch.
func BenchmarkFSMReplayOfAppliedBlocks(b *testing.B) {
	f, st := newTestFSM(b)
	tx1k := json.RawMessage(`"` + strings.Repeat("x", 1000) + `"`)
	p := state.Proposal{Time: tx.FormatTime(time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)), Proposer: "n0"}
	for k := 0; k < 2000; k++ {
		p.Txs = append(p.Txs, tx1k)
	}
	raw, _ := json.Marshal(p)
	data := entry(b, Entry{V: 1, Type: EntryBlock, Payload: raw})
	// One block applied at index 100: entries 37-100 are replays.
	f.ApplyBatch([]*raft.Log{{Index: 100, Term: 1, Type: raft.LogCommand, Data: data}})
	if st.Applied().Index != 100 {
		b.Fatalf("setup: applied index %d, want 100", st.Applied().Index)
	}
	logs := make([]*raft.Log, 64)
	for k := range logs {
		logs[k] = &raft.Log{Index: uint64(37 + k), Term: 1, Type: raft.LogCommand, Data: data}
	}
	b.SetBytes(int64(len(data) * len(logs)))
	b.ResetTimer()
	for b.Loop() {
		for _, r := range f.ApplyBatch(logs) {
			if !r.(*state.BlockResult).Skipped {
				b.Fatal("a replayed entry was applied again")
			}
		}
	}
}

// A block entry at or below the applied index (Raft replays its log to a
// restarted node) is skipped without decoding its block; the entry after
// it is applied; a replayed entry of another type still takes its own path.
func TestFSMSkipsReplayedBlocksWithoutDecodingThem(t *testing.T) {
	f, st := newTestFSM(t)
	blockData := func(sec int) []byte {
		raw, err := json.Marshal(state.Proposal{Time: tx.FormatTime(time.Date(2026, 3, 1, 12, 0, sec, 0, time.UTC)), Proposer: "n0",
			Txs: []json.RawMessage{json.RawMessage(`"not an envelope"`)}})
		if err != nil {
			t.Fatal(err)
		}
		return entry(t, Entry{V: 1, Type: EntryBlock, Payload: raw})
	}
	f.ApplyBatch([]*raft.Log{{Index: 10, Term: 1, Type: raft.LogCommand, Data: blockData(1)}})
	if st.Applied().Index != 10 || st.Meta().Height != 1 {
		t.Fatalf("setup: applied %+v height %d, want index 10 height 1", st.Applied(), st.Meta().Height)
	}
	// Index 9's payload would not even decode as a block: it is not read.
	undecodable := entry(t, Entry{V: 1, Type: EntryBlock, Payload: json.RawMessage(`{"txs":"not a list"}`)})
	out := f.ApplyBatch([]*raft.Log{
		{Index: 9, Term: 1, Type: raft.LogCommand, Data: undecodable},
		{Index: 10, Term: 1, Type: raft.LogCommand, Data: blockData(1)},
		{Index: 11, Term: 1, Type: raft.LogCommand, Data: blockData(2)},
	})
	for k, want := range []bool{true, true, false} {
		r, ok := out[k].(*state.BlockResult)
		if !ok || r.Skipped != want {
			t.Fatalf("entry %d: result %+v, want a block result with Skipped %v", 9+k, out[k], want)
		}
	}
	if st.Applied().Index != 11 || st.Meta().Height != 2 {
		t.Fatalf("applied %+v height %d, want index 11 height 2 (one new block)", st.Applied(), st.Meta().Height)
	}
	// The same undecodable block above the applied index stops the node:
	// only a replay is spared the decoding.
	if msg := applyPanics(f, &raft.Log{Index: 12, Term: 1, Type: raft.LogCommand, Data: undecodable}); !strings.Contains(msg, "block payload") {
		t.Fatalf("undecodable new block: panic %q, want a hard stop", msg)
	}
	// A replayed entry of another type goes to its own check as before.
	if msg := applyPanics(f, &raft.Log{Index: 5, Term: 1, Type: raft.LogCommand, Data: entry(t, Entry{V: 1, Type: "futureThing", Payload: json.RawMessage(`{}`)})}); !strings.Contains(msg, `type "futureThing" unknown`) {
		t.Fatalf("replayed entry of an unknown type: panic %q, want the unknown-type stop", msg)
	}
}

// isBlockEntry knows a block entry by the head encodeEntry writes, and
// reads any other spelling as JSON; entries of other types or versions,
// and what is not an entry, are not blocks.
func TestIsBlockEntry(t *testing.T) {
	block, err := encodeEntry(EntryBlock, state.Proposal{Proposer: "n0"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(block, blockEntryHead) {
		t.Fatalf("setup: encodeEntry wrote %.40q, which lacks the head %q the fast path looks for", block, blockEntryHead)
	}
	member, err := encodeEntry(EntryMember, MemberChange{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data string
		want bool
	}{
		{"block entry as encodeEntry writes it", string(block), true},
		{"block entry, fields in another order", `{"payload":{},"type":"block","v":1}`, true},
		{"block entry with spaces", `{ "v": 1, "type": "block", "payload": {} }`, true},
		{"member entry", string(member), false},
		{"block entry of another version", `{"v":2,"type":"block","payload":{}}`, false},
		{"not JSON", `not an entry`, false},
		{"empty", ``, false},
	} {
		if got := isBlockEntry([]byte(c.data)); got != c.want {
			t.Errorf("%s: isBlockEntry(%.60q) = %v, want %v", c.name, c.data, got, c.want)
		}
	}
}
