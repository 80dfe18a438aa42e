package consensus

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
)

// logBoltOptions are the Raft log file's bbolt options. The freelist is
// not synced (rebuilt on open) and kept as a map: no freelist growth with
// a log that is truncated after snapshots. On Linux the file is read
// ahead when it is mapped (logMmapFlags).
func logBoltOptions() *bolt.Options {
	return &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
		MmapFlags: logMmapFlags}
}

// snapshotLog is the Raft log as Raft reads it: the bbolt log, plus the
// entry at the newest snapshot's index when the log no longer holds it.
//
// hashicorp/raft (v1.7.3) livelocks a follower that holds entries past
// the snapshot it installs (hashicorp/raft#205, and #697 for its cousin):
// after the install the leader sends the entries that follow the
// snapshot, with the snapshot's index as the previous entry; the follower
// compares that with its last entry, not with its snapshot, finds no
// entry at that index in its log (the snapshot covers it), refuses, and
// the leader walks back to the start of its log and sends the snapshot
// again, every 50 ms, for ever. The fault suite met it: a wiped node,
// removed and added back, installed the leader's snapshot over and over
// for three minutes without writing its log again (most likely a second
// install of the same snapshot, sent by the replication of its earlier
// membership, came after it had appended entries). Raft's paper says
// the follower keeps the entries that follow the snapshot's last entry
// (Figure 13, rule 6): answering the snapshot's index and term for that
// entry is what the follower's check needs.
//
// The entry is made up only where nothing else can need its content: the
// log lacks it, it is below the log's first entry (a prefix the snapshot
// replaced), it is the newest snapshot's last entry, and Raft has applied
// it (the state holds it, so Raft never applies nor sends it again: a
// leader sends entries from the snapshot's index + 1). Everything else
// reads the bbolt log as it is.
type snapshotLog struct {
	*raftboltdb.BoltStore
	snaps raft.SnapshotStore
	raft  atomic.Pointer[raft.Raft] // set once Raft runs
}

// GetLog implements raft.LogStore.
func (l *snapshotLog) GetLog(index uint64, out *raft.Log) error {
	err := l.BoltStore.GetLog(index, out)
	if !errors.Is(err, raft.ErrLogNotFound) {
		return err
	}
	r := l.raft.Load()
	if r == nil || index > r.AppliedIndex() {
		return err
	}
	if first, ferr := l.BoltStore.FirstIndex(); ferr != nil || (first != 0 && index >= first) {
		return err
	}
	list, lerr := l.snaps.List()
	if lerr != nil || len(list) == 0 || list[0].Index != index {
		return err
	}
	*out = raft.Log{Index: index, Term: list[0].Term, Type: raft.LogNoop}
	return nil
}
