package consensus

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// A follower whose log holds entries past its snapshot, and none at the
// snapshot's index, takes the leader's entries that follow the snapshot.
// hashicorp/raft alone refuses them and the leader sends the same
// snapshot again and again, for ever (snapshotLog says how, and how the
// fault suite met it).
//
// The follower's log is written by hand while it is stopped, to be what
// such a follower holds: its own snapshot at S (the leader's is the same),
// no entry at S or below, and an uncommitted tail S+1..S+3 from an old
// term that the leader never had. The leader meanwhile commits S+1..S+10.
// Its first try, with S as the previous entry, is refused; it walks back
// past its first entry, sends its snapshot at S, and tries S again.
func TestAFollowerHoldingEntriesPastItsSnapshotTakesTheLeadersEntries(t *testing.T) {
	tn := newTestNet(t, 3, 3)
	config := func(id string) Config {
		cfg := tn.config(id)
		cfg.SnapshotThreshold = 1 << 40 // snapshots only when the test asks
		cfg.SnapshotBytes, cfg.TrailingBytes = 0, 0
		cfg.TrailingLogs = 4
		return cfg
	}
	nodes := map[string]*Replica{}
	for _, id := range []string{"n0", "n1", "n2"} {
		nodes[id] = tn.start(config(id))
	}
	var leader *Replica
	waitFor(t, "a leader", func() bool {
		for _, n := range nodes {
			if n.IsLeader() {
				leader = n
				return true
			}
		}
		return false
	})
	for i := range 12 {
		submit(t, leader, tn.note(fmt.Sprintf("a%02d", i), `1`))
	}
	waitFor(t, "every node to apply the same entries", func() bool {
		for _, n := range nodes {
			if n.raft.AppliedIndex() != leader.raft.LastIndex() {
				return false
			}
		}
		return true
	})
	var s uint64
	for id, n := range nodes {
		if err := n.raft.Snapshot().Error(); err != nil {
			t.Fatalf("snapshot on %s: %v", id, err)
		}
		idx, _ := strconv.ParseUint(n.Stats()["last_snapshot_index"], 10, 64)
		if s == 0 {
			s = idx
		}
		if idx != s || idx == 0 {
			t.Fatalf("%s snapshotted at %d, another node at %d: the setup needs one snapshot index", id, idx, s)
		}
	}
	term, _ := strconv.ParseUint(leader.Stats()["term"], 10, 64)
	if term < 2 {
		t.Fatalf("leader's term %d: the old tail needs a term below it", term)
	}

	var f *Replica
	for _, n := range nodes {
		if n != leader {
			f = n
			break
		}
	}
	id := f.cfg.ID
	tn.stop(f)
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(f.cfg.DataDir, "raft", "raft.db")})
	if err != nil {
		t.Fatal(err)
	}
	first, err := logs.FirstIndex()
	if err != nil || first == 0 || first > s {
		t.Fatalf("%s's log starts at %d (%v), want entries at or below its snapshot %d to remove", id, first, err, s)
	}
	if err := logs.DeleteRange(first, s); err != nil {
		t.Fatal(err)
	}
	var tail []*raft.Log
	for i := s + 1; i <= s+3; i++ {
		tail = append(tail, &raft.Log{Index: i, Term: 1, Type: raft.LogNoop})
	}
	if err := logs.StoreLogs(tail); err != nil {
		t.Fatal(err)
	}
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 10 {
		submit(t, leader, tn.note(fmt.Sprintf("b%02d", i), `2`))
	}
	lf, err := leader.logStore.FirstIndex()
	if err != nil || lf <= 1 {
		t.Fatalf("the leader's log starts at %d (%v): it must have been truncated behind its snapshot for the snapshot to be sent", lf, err)
	}

	f = tn.start(config(id))
	deadline := time.Now().Add(30 * time.Second)
	// The state's applied index: Raft's own moves when it hands entries to
	// the state machine, before they are applied.
	for f.AppliedIndex() < leader.AppliedIndex() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never caught up: its state at entry %d, the leader's at %d; its snapshot at %s, its last entry %s (the old tail: the leader's entries refused)",
				id, f.AppliedIndex(), leader.AppliedIndex(), f.Stats()["last_snapshot_index"], f.Stats()["last_log_index"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := readNote(t, f.cfg.Store, "b09"); !ok {
		t.Fatalf("%s applied the leader's entries but lacks the last note", id)
	}
	var l raft.Log
	if err := f.logStore.GetLog(s+1, &l); err != nil || l.Term == 1 {
		t.Fatalf("%s's entry %d after catching up: term %d (%v), want the leader's in place of the old tail", id, s+1, l.Term, err)
	}
}
