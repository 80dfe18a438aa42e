package state_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Applying consecutive blocks in one commit (ApplyBlocks) gives exactly
// the state, heads, receipts and history that applying them one by one
// gives; entries at or below the applied index are skipped; the applied
// index recorded is the group's last.
func TestApplyBlocksInOneCommitEqualsOneByOne(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/writer")
	base := f.Applied
	// Five blocks: notes rewritten across blocks (history), a duplicate in
	// a later block of the same group, a conflicting compare-and-set.
	var props []*state.Proposal
	var first *tx.Signed
	at := f.Now
	for b := 0; b < 5; b++ {
		at = at.Add(time.Second)
		p := &state.Proposal{Time: tx.FormatTime(at), Proposer: "n0"}
		for i := 0; i < 4; i++ {
			st := f.Sign(k, "note.put", note(fmt.Sprintf("k%d", i%2), b*10+i))
			if first == nil {
				first = st
			}
			p.Txs = append(p.Txs, json.RawMessage(st.Canonical))
		}
		if b == 3 {
			p.Txs = append(p.Txs, json.RawMessage(first.Canonical))
			zero := uint64(0)
			p.Txs = append(p.Txs, json.RawMessage(f.Sign(k, "note.put", wire.NotePut{Key: "k0", Value: json.RawMessage(`1`), ExpectVersion: &zero}).Canonical))
		}
		props = append(props, p)
	}
	// A second store with the same history so far.
	other := f.Open(filepath.Join(t.TempDir(), "other.db"))
	if err := replayInto(f.Store, other, base); err != nil {
		t.Fatal(err)
	}
	var entries []state.BlockEntry
	for i, p := range props {
		entries = append(entries, state.BlockEntry{Proposal: p, Index: base + 1 + uint64(i), Term: 1})
	}
	grouped, err := f.Store.ApplyBlocks(entries)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		single, err := other.ApplyBlock(e.Proposal, e.Index, e.Term)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(grouped[i])
		sj, _ := json.Marshal(single)
		if string(gj) != string(sj) {
			t.Fatalf("block %d: grouped result %s, one by one %s", i, gj, sj)
		}
	}
	if grouped[3].Receipts[4].Reasons[0].Code != wire.CodeDuplicate || grouped[3].Receipts[5].Reasons[0].Code != wire.CodeConflict {
		t.Fatalf("setup: the duplicate and the conflict were not rejected as such: %+v", grouped[3].Receipts[4:])
	}
	dg, _ := f.Store.Digest()
	ds, _ := other.Digest()
	if dg != ds || f.Store.Meta().StateHash != other.Meta().StateHash || f.Store.Meta().BlockHash != other.Meta().BlockHash {
		t.Fatalf("grouped and one-by-one stores differ: digest %s vs %s", dg, ds)
	}
	if a := f.Store.Applied(); a.Index != base+5 {
		t.Fatalf("applied index %d, want the group's last %d", a.Index, base+5)
	}
	again, err := f.Store.ApplyBlocks(entries[2:])
	if err != nil || !again[0].Skipped || !again[2].Skipped {
		t.Fatalf("replayed entries not skipped: %+v, %v", again, err)
	}
	if d, _ := f.Store.Digest(); d != dg {
		t.Fatal("a replay of applied entries changed the state")
	}
}

// replayInto applies to dst the blocks src holds up to its applied index,
// from src's stored proposals (the fixture applied one block per index).
func replayInto(src, dst *state.Store, upTo uint64) error {
	for h := uint64(1); h <= src.Meta().Height; h++ {
		var p *state.Proposal
		err := src.View(func(v *state.View) error {
			b, err := v.Block(h)
			if err != nil {
				return err
			}
			p = &state.Proposal{Time: b.Header.Time, Proposer: b.Header.Proposer}
			p.Txs = append(p.Txs, b.Txs...)
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := dst.ApplyBlock(p, h, 1); err != nil {
			return err
		}
	}
	if dst.Applied().Index != upTo {
		return fmt.Errorf("replayed to index %d, want %d", dst.Applied().Index, upTo)
	}
	return nil
}
