package consensus

// The node's lifecycle: New opens the Raft log, catches the state up from
// the latest snapshot when it is behind, starts the transport and Raft
// (bootstrapping from genesis when told to), and watches leadership;
// Shutdown undoes it in reverse. The write path is in propose.go,
// membership in membership.go.

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/tradeledger/tradeledger/ledgernode/metrics"
	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Replica is one member of the Raft cluster: its Raft instance, log, state
// machine and batcher. (node.Node is the whole ledger node that runs one,
// with the state, the API server, TLS and metrics.)
type Replica struct {
	cfg       Config
	log       *slog.Logger
	raft      *raft.Raft
	transport *raft.NetworkTransport
	stream    *tlsStream
	logStore  *raftboltdb.BoltStore
	store     *state.Store
	batcher   *batcher
	metrics   *metrics.Node
	fsm       *fsm
	observer  *raft.Observer
	obsCh     chan raft.Observation
	done      chan struct{}
	// held: Raft started with an empty log and its transport closed
	// (Config.Hold), until BootstrapGenesis or Open.
	held atomic.Bool
	// lastLeader is the last leader this node heard of (it stays set while a
	// follower briefly forgets the leader, e.g. during a pre-vote round).
	lastLeader atomic.Value // string
	// caughtUpTerm is the latest term in which this node, leading, saw its
	// state apply every entry committed before it was elected
	// (LeaderCaughtUp).
	caughtUpTerm atomic.Uint64

	// The clock gate's refusals (clock.go).
	clockMu           sync.Mutex
	clockLogged       time.Time
	clockTransferred  time.Time
	clockTransferring bool
}

// New starts a node from a validated Config (DefaultConfig plus the
// node's own fields): it opens the Raft log, restores the state from the
// latest snapshot if the state file is behind it, joins the transport and
// bootstraps when told to.
func New(cfg Config) (*Replica, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Replica{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), store: cfg.Store, metrics: cfg.Metrics, done: make(chan struct{})}
	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.LevelFromString(cfg.RaftLogLevel), JSONFormat: true,
		Output: os.Stderr, IncludeLocation: false}).With("node", cfg.ID)

	if err := state.CheckBoltFile(filepath.Join(dir, "raft.db")); err != nil {
		return nil, fmt.Errorf("raft log damaged: %w (move the data directory aside and restart: the node then reports its data lost; remove it and add it back with 'ledgerctl cluster remove' and 'ledgerctl cluster add' (docs/operations.md, \"A node refuses to start: damaged data\"))", err)
	}
	logStore, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, "raft.db"),
		NoSync:      cfg.NoSync,
		BoltOptions: logBoltOptions(),
	})
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w (if the file is damaged, move the data directory aside and restart: the node then reports its data lost; remove it and add it back with 'ledgerctl cluster remove' and 'ledgerctl cluster add' (docs/operations.md, \"A node refuses to start: damaged data\"))", filepath.Join(dir, "raft.db"), err)
	}
	n.logStore = logStore
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hlog) // files go to dir/snapshots
	if err != nil {
		logStore.Close()
		return nil, err
	}
	if err := n.catchUpFromSnapshot(snaps); err != nil {
		logStore.Close()
		return nil, err
	}
	stream, err := newTLSStream(cfg.RaftListener, cfg.RaftBind, cfg.RaftAdvertise, cfg.DialSource, cfg.TLS, cfg.Resolver, cfg.ResolveInterval)
	if err != nil {
		logStore.Close()
		return nil, fmt.Errorf("raft listen %s: %w", cfg.RaftBind, err)
	}
	n.stream = stream
	n.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 3, Timeout: cfg.TransportTimeout, Logger: hlog})

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.BatchApplyCh = true
	// The state file is durable and records its applied index: restoring the
	// snapshot on every start would only redo work (catchUpFromSnapshot
	// handles a state file that is behind).
	rc.NoSnapshotRestoreOnStart = true

	fsm := newFSM(cfg.Store, n.log, cfg.Metrics, cfg.Clock)
	n.fsm = fsm
	// The newest snapshot's configuration is committed (RecoverCluster
	// leaves its new one only there); later ones reach the FSM as their
	// entries are applied.
	if list, err := snaps.List(); err == nil && len(list) > 0 {
		fsm.setCommitted(list[0].Configuration, max(list[0].ConfigurationIndex, 1))
	}
	has, err := raft.HasExistingState(logStore, logStore, snaps)
	if err != nil {
		n.closeStores()
		return nil, err
	}
	switch {
	case !has && cfg.Hold:
		n.held.Store(true)
		n.log.Info("raft state is empty: raft traffic held until the peers say whether this node lost its data")
	case !has && len(cfg.Bootstrap) > 0 && n.inBootstrap():
		if err := raft.BootstrapCluster(rc, logStore, logStore, snaps, n.transport, n.bootstrapConfiguration()); err != nil {
			n.closeStores()
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
		n.log.Info("bootstrapped cluster", "voters", len(cfg.Bootstrap))
	}
	if !n.held.Load() {
		stream.open()
	}
	raftLog := &snapshotLog{BoltStore: logStore, snaps: snaps}
	r, err := raft.NewRaft(rc, fsm, raftLog, logStore, snaps, n.transport)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	raftLog.raft.Store(r)
	n.raft = r
	n.batcher = newBatcher(cfg.BatchMaxTx, cfg.BatchMaxDelay, cfg.BatchMaxQueue, cfg.BatchMaxInflight, n.propose)
	n.obsCh = make(chan raft.Observation, 16)
	n.observer = raft.NewObserver(n.obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		_, ok2 := o.Data.(raft.RaftState)
		return ok || ok2
	})
	r.RegisterObserver(n.observer)
	go n.watch()
	go n.snapshotBySize()
	return n, nil
}

func (n *Replica) bootstrapConfiguration() raft.Configuration {
	var servers []raft.Server
	for _, m := range n.cfg.Bootstrap {
		servers = append(servers, raft.Server{ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.RaftAddr), Suffrage: raft.Voter})
	}
	return raft.Configuration{Servers: servers}
}

// Held says whether Raft traffic is still held (Config.Hold).
func (n *Replica) Held() bool { return n.held.Load() }

// BootstrapGenesis ends the hold of a node with an empty log by starting
// the cluster from Config.Bootstrap (the genesis voters; every genesis
// node may do so with the same list, safely), then lets Raft traffic
// through. Call it only when the network never ran.
func (n *Replica) BootstrapGenesis() error {
	if !n.held.Load() {
		return errors.New("bootstrap: raft is not held (it had state, or was opened)")
	}
	if !n.inBootstrap() {
		return fmt.Errorf("bootstrap: node %q is not one of the %d bootstrap voters", n.cfg.ID, len(n.cfg.Bootstrap))
	}
	if err := n.raft.BootstrapCluster(n.bootstrapConfiguration()).Error(); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	n.log.Info("bootstrapped cluster", "voters", len(n.cfg.Bootstrap))
	n.Open()
	return nil
}

// Open ends the hold without bootstrapping: the node waits, with an
// empty configuration, to be added by a leader.
func (n *Replica) Open() {
	n.held.Store(false)
	n.stream.open()
}

func (n *Replica) inBootstrap() bool {
	for _, m := range n.cfg.Bootstrap {
		if m.ID == n.cfg.ID {
			return true
		}
	}
	return false
}

// catchUpFromSnapshot restores the newest snapshot when the state file is
// behind it (state lost or replaced); Raft then replays the log after it.
func (n *Replica) catchUpFromSnapshot(snaps *raft.FileSnapshotStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	latest := list[0]
	if n.store.Applied().Index >= latest.Index {
		return nil
	}
	n.log.Warn("state is behind the latest snapshot; restoring it", "stateIndex", n.store.Applied().Index, "snapshotIndex", latest.Index)
	_, rc, err := snaps.Open(latest.ID)
	if err != nil {
		return fmt.Errorf("open snapshot %s: %w (remove the damaged snapshot directory; or move the data directory aside and restart: the node then reports its data lost; remove it and add it back with 'ledgerctl cluster remove' and 'ledgerctl cluster add' (docs/operations.md, \"A node refuses to start: damaged data\"))", latest.ID, err)
	}
	defer rc.Close()
	return n.store.Restore(rc)
}

func (n *Replica) closeStores() {
	if n.transport != nil {
		n.transport.Close()
	}
	n.logStore.Close()
}

// watch logs leader changes, keeps the state metrics current, and fails
// queued transactions when this node stops leading so that the API can
// forward them.
func (n *Replica) watch() {
	lastLeader := raft.ServerID("")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	n.setStateMetric(n.raft.State())
	for {
		select {
		case o := <-n.obsCh:
			switch d := o.Data.(type) {
			case raft.LeaderObservation:
				if d.LeaderID != "" {
					n.lastLeader.Store(string(d.LeaderID))
				}
				if d.LeaderID != lastLeader {
					lastLeader = d.LeaderID
					n.log.Info("leader changed", "leader", string(d.LeaderID))
					if n.metrics != nil {
						n.metrics.LeaderChanges.Inc()
					}
				}
			case raft.RaftState:
				if d != raft.Leader {
					n.batcher.failQueued(ErrNotLeader)
				}
				n.setStateMetric(d)
			}
		case <-tick.C:
			n.setStateMetric(n.raft.State())
			n.checkClockWhileLeading()
		case <-n.done:
			return
		}
	}
}

func (n *Replica) setStateMetric(cur raft.RaftState) {
	if n.metrics == nil {
		return
	}
	for _, s := range []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown} {
		v := 0.0
		if s == cur {
			v = 1
		}
		n.metrics.RaftState.WithLabelValues(s.String()).Set(v)
	}
}

// Shutdown stops the batcher, Raft and the transport, and closes the log.
func (n *Replica) Shutdown() error {
	n.batcher.close()
	err := n.raft.Shutdown().Error()
	n.raft.DeregisterObserver(n.observer)
	close(n.done)
	n.transport.Close()
	if cerr := n.logStore.Close(); err == nil {
		err = cerr
	}
	return err
}

// Stats are Raft's own counters (indexes, term, state), for status pages.
func (n *Replica) Stats() map[string]string { return n.raft.Stats() }

// AppliedIndex is the last Raft index applied to the state here.
func (n *Replica) AppliedIndex() uint64 { return n.store.Applied().Index }

// CommitIndex is the last Raft index known committed here.
func (n *Replica) CommitIndex() uint64 { return n.raft.CommitIndex() }

// RaftAppliedIndex is Raft's applied index (it counts every entry type,
// including those the state never sees, so it can reach the commit index).
func (n *Replica) RaftAppliedIndex() uint64 { return n.raft.AppliedIndex() }

// LastContact is when this node last heard from the leader (zero on the leader).
func (n *Replica) LastContact() time.Time { return n.raft.LastContact() }

// Snapshot forces a snapshot now (for operators and tests).
func (n *Replica) Snapshot() error { return n.raft.Snapshot().Error() }
