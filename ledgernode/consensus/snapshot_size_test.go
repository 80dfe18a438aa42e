package consensus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
)

func TestTrailingEntriesFollowTheMeanEntrySizeWithinBounds(t *testing.T) {
	for _, c := range []struct {
		name                                 string
		entries, size, trailingBytes, maxLog uint64
		want                                 uint64
	}{
		{"2 MB blocks: 64 MiB is 32 entries", 100, 200 << 20, 64 << 20, 10240, 32},
		{"small entries: capped at TrailingLogs", 10000, 10000 * 1024, 64 << 20, 10240, 10240},
		{"huge entries: at least MinTrailingLogs", 4, 4 << 30, 64 << 20, 10240, MinTrailingLogs},
		{"TrailingLogs below the minimum wins", 4, 4 << 30, 64 << 20, 10, 10},
		{"nothing counted: TrailingLogs", 0, 0, 64 << 20, 10240, 10240},
	} {
		if got := trailingFor(c.entries, c.size, c.trailingBytes, c.maxLog); got != c.want {
			t.Errorf("%s: trailingFor(%d, %d, %d, %d) = %d, want %d", c.name, c.entries, c.size, c.trailingBytes, c.maxLog, got, c.want)
		}
	}
}

func TestTrailingBytesNotBelowSnapshotBytesIsRefused(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SnapshotBytes, cfg.TrailingBytes = 1<<20, 1<<20
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "Config.TrailingBytes: 1048576: must be less than SnapshotBytes") {
		t.Fatalf("TrailingBytes = SnapshotBytes: %v, want it refused naming TrailingBytes", err)
	}
	cfg.SnapshotBytes = 0 // by count only: TrailingBytes unused
	if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "TrailingBytes") {
		t.Fatalf("SnapshotBytes 0: %v, want TrailingBytes not checked", err)
	}
}

// A log of few, large entries is snapshotted once it holds SnapshotBytes
// (Raft's count trigger is set out of reach here), truncated to about
// TrailingBytes of entries behind the snapshot, and a node that joins
// afterwards installs the snapshot and holds what the truncated entries
// wrote; the leader, restarted, still holds it all.
func TestALogOfLargeEntriesIsSnapshottedBySizeAndAJoinerInstallsIt(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, 2, 1)
	cfg := tn.config("n0")
	cfg.SnapshotBytes, cfg.TrailingBytes = 64<<10, 8<<10
	cfg.SnapshotThreshold = 1 << 40 // never by count
	n0 := tn.start(cfg)
	waitFor(t, "n0 to lead", n0.IsLeader)
	value := `"` + strings.Repeat("x", 2000) + `"`
	var written int
	for n0.Stats()["last_snapshot_index"] == "0" {
		if written == 200 {
			t.Fatalf("no snapshot after %d notes of 2 KB (%d bytes counted since the last snapshot)", written, n0.fsm.sinceSnapshot.bytes.Load())
		}
		if rc := submit(t, n0, tn.note(fmt.Sprintf("k%03d", written), value)); rc.Status != chain.Accepted {
			t.Fatalf("note %d: %+v", written, rc)
		}
		written++
	}
	if written < 20 {
		t.Fatalf("snapshot after only %d notes of 2 KB: not by size (64 KiB)", written)
	}
	snapIndex, err := strconv.ParseUint(n0.Stats()["last_snapshot_index"], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// Raft compacts after the snapshot is persisted; wait for it.
	var first uint64
	waitFor(t, "the log to be truncated behind the snapshot", func() bool {
		first, err = n0.logStore.FirstIndex()
		return err == nil && first > 1
	})
	if keep := snapIndex + 1 - first; keep > MinTrailingLogs {
		t.Fatalf("log first index %d, snapshot at %d: %d entries kept behind it, want at most %d (8 KiB of 2 KB entries, at least the minimum)",
			first, snapIndex, keep, MinTrailingLogs)
	}
	if got := n0.fsm.sinceSnapshot.bytes.Load(); got >= cfg.SnapshotBytes {
		t.Fatalf("%d bytes counted since the snapshot, want fewer than %d (the count restarts at each snapshot)", got, cfg.SnapshotBytes)
	}
	if bc := n0.raft.ReloadableConfig(); bc.TrailingLogs != cfg.TrailingLogs {
		t.Fatalf("TrailingLogs after the snapshot by size: %d, want %d put back", bc.TrailingLogs, cfg.TrailingLogs)
	}

	n1 := tn.start(tn.config("n1"))
	spec := tn.spec("n1")
	if err := n0.AddMember(ctx, state.Member{ID: "n1", RaftAddr: spec.RaftAddr, APIAddr: spec.APIAddr}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to catch up", func() bool { return n1.AppliedIndex() >= n0.AppliedIndex() })
	if n1.Stats()["last_snapshot_index"] == "0" {
		t.Fatalf("n1 caught up without installing a snapshot, though the leader's log starts at %d: %v", first, n1.Stats())
	}
	if _, ok := readNote(t, n1.cfg.Store, "k000"); !ok {
		t.Fatal("n1 lacks the first note, whose entry was truncated from the leader's log")
	}

	applied := n0.AppliedIndex()
	tn.stop(n0)
	cfg = tn.config("n0")
	cfg.SnapshotBytes, cfg.TrailingBytes, cfg.SnapshotThreshold = 64<<10, 8<<10, 1<<40
	n0 = tn.start(cfg)
	if got := n0.AppliedIndex(); got != applied {
		t.Fatalf("applied index after restart: %d, want %d", got, applied)
	}
	for i := range written {
		if _, ok := readNote(t, n0.cfg.Store, fmt.Sprintf("k%03d", i)); !ok {
			t.Fatalf("after a restart the leader lacks note k%03d", i)
		}
	}
}
