package consensus

import (
	"errors"
	"time"

	"github.com/hashicorp/raft"
)

// MinTrailingLogs is the fewest entries a snapshot taken by size keeps
// behind it (unless Config.TrailingLogs is fewer still).
const MinTrailingLogs = 16

// snapshotCheckInterval is how often snapshotBySize looks at the log
// applied since the last snapshot.
const snapshotCheckInterval = time.Second

// trailingFor is how many entries a snapshot taken by size keeps behind
// it: about trailingBytes of entries of the mean size seen since the last
// snapshot, at least MinTrailingLogs and at most maxEntries
// (Config.TrailingLogs).
func trailingFor(entries, size, trailingBytes, maxEntries uint64) uint64 {
	if entries == 0 || size == 0 {
		return maxEntries
	}
	mean := max(size/entries, 1)
	return min(max(trailingBytes/mean, MinTrailingLogs), maxEntries)
}

// snapshotBySize takes a snapshot whenever the entries applied since the
// last one hold Config.SnapshotBytes or more. hashicorp/raft counts
// entries only (Config.SnapshotThreshold): with blocks of thousands of
// transactions (megabytes each) a million certificates made a few hundred
// entries, so the log was never snapshotted nor truncated: a restart read
// the whole log again, and a joining node was sent every entry, which Raft
// queues in memory ahead of the state (128 batches of up to 64 entries:
// 2.2 GiB of anonymous memory in a node joining a ledger of a million
// certificates). After a snapshot by size, a joining node installs the
// snapshot and a short log; a restart replays what follows the snapshot.
func (n *Replica) snapshotBySize() {
	if n.cfg.SnapshotBytes == 0 {
		return
	}
	tick := time.NewTicker(snapshotCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.done:
			return
		case <-tick.C:
		}
		entries, size := n.fsm.sinceSnapshot.entries.Load(), n.fsm.sinceSnapshot.bytes.Load()
		if size < n.cfg.SnapshotBytes {
			continue
		}
		if err := n.snapshotForSize(entries, size); err != nil {
			if errors.Is(err, raft.ErrRaftShutdown) {
				return // shutting down: the snapshot was cut short
			}
			n.log.Warn("snapshot by log size failed; will try again", "logBytes", size, "entries", entries, "err", err)
		}
	}
}

// snapshotForSize takes one snapshot, keeping trailingFor entries of log
// behind it, then puts Config.TrailingLogs back for the snapshots Raft
// takes by count.
func (n *Replica) snapshotForSize(entries, size uint64) error {
	keep := trailingFor(entries, size, n.cfg.TrailingBytes, n.cfg.TrailingLogs)
	base := n.raft.ReloadableConfig()
	if keep != base.TrailingLogs {
		rc := base
		rc.TrailingLogs = keep
		if err := n.raft.ReloadConfig(rc); err != nil {
			return err
		}
		defer func() {
			if err := n.raft.ReloadConfig(base); err != nil && n.raft.State() != raft.Shutdown {
				n.log.Warn("could not put the trailing logs back after a snapshot by size", "trailingLogs", base.TrailingLogs, "err", err)
			}
		}()
	}
	t0 := time.Now()
	err := n.raft.Snapshot().Error()
	if errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return nil
	}
	if err != nil {
		return err
	}
	n.log.Info("snapshot taken: the log since the last one had grown large", "logBytes", size, "entries", entries,
		"keptEntries", keep, "took", time.Since(t0).Round(time.Millisecond).String())
	return nil
}
