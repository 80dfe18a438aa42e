package consensus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/metrics"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Config configures a consensus node. DefaultConfig fills every field
// that has a sensible default; ID, DataDir, RaftBind, TLS and Store are
// required.
type Config struct {
	ID            string       // Raft server id: the node's stable name, never its IP
	DataDir       string       // raft log and snapshots go under DataDir/raft
	RaftBind      string       // listen address for Raft traffic
	RaftAdvertise string       // address peers dial (default: the bound address)
	RaftListener  net.Listener // optional: an already bound listener (tests bind :0 first)
	// DialSource is the local IP for connections to peers (multi-homed
	// hosts; the fault suite gives each node its own loopback address).
	DialSource string
	// Resolver looks up the host names in peers' Raft addresses (on
	// Kubernetes, the pods' stable DNS names); default net.DefaultResolver.
	// The transport resolves a name at every dial and, every
	// ResolveInterval, again for its open connections, closing those whose
	// address the name no longer has, so a peer rescheduled to a new
	// address is reached at once rather than after TransportTimeout. Tests
	// feed their own resolver here: it is the transport's only seam.
	Resolver PeerResolver
	// ResolveInterval is how often open connections' names are resolved
	// again (default 1s; negative: never).
	ResolveInterval time.Duration
	// TransportTimeout bounds one Raft RPC's I/O (default 10s).
	TransportTimeout time.Duration
	// Clock is the leader's clock for block times (default time.Now). The
	// state machine forces block times strictly increasing whatever it says.
	Clock        func() time.Time
	TLS          *pki.Reloader
	Store        *state.Store
	Logger       *slog.Logger
	RaftLogLevel string // hclog level for Raft's own logs (default "warn")
	Metrics      *metrics.Node

	// Bootstrap lists the initial voters (from genesis). A node whose data
	// directory is empty and whose ID is in the list bootstraps the cluster;
	// every initial node may do so with the same list, safely.
	Bootstrap []state.Member

	BatchMaxTx       int           // transactions per block (default 512)
	BatchMaxDelay    time.Duration // how long the first transaction may wait for others (default 2ms)
	BatchMaxQueue    int           // transactions waiting at most (default 20000)
	BatchMaxInflight int           // blocks in Raft at once (default 4)
	ApplyTimeout     time.Duration // enqueue timeout for raft.Apply (default 10s)

	HeartbeatTimeout   time.Duration // default 1s
	ElectionTimeout    time.Duration // default 1s
	LeaderLeaseTimeout time.Duration // default 500ms
	SnapshotThreshold  uint64        // log entries between snapshots (default 8192)
	SnapshotInterval   time.Duration // how often to check (default 2m)
	TrailingLogs       uint64        // log entries kept after a snapshot (default 10240)
	NoSync             bool          // tests only: skip fsync of the Raft log
}

// DefaultConfig returns a Config with defaults filled in.
func DefaultConfig() Config {
	return Config{
		RaftLogLevel:       "warn",
		BatchMaxTx:         512,
		BatchMaxDelay:      2 * time.Millisecond,
		BatchMaxQueue:      20000,
		BatchMaxInflight:   4,
		ApplyTimeout:       10 * time.Second,
		HeartbeatTimeout:   time.Second,
		ElectionTimeout:    time.Second,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		SnapshotThreshold:  8192,
		SnapshotInterval:   2 * time.Minute,
		TrailingLogs:       10240,
		ResolveInterval:    time.Second,
		TransportTimeout:   10 * time.Second,
	}
}

// Node is one member of the Raft cluster.
type Node struct {
	cfg       Config
	log       *slog.Logger
	raft      *raft.Raft
	transport *raft.NetworkTransport
	logStore  *raftboltdb.BoltStore
	store     *state.Store
	batcher   *batcher
	metrics   *metrics.Node
	observer  *raft.Observer
	obsCh     chan raft.Observation
	done      chan struct{}
	// lastLeader is the last leader this node heard of (it stays set while a
	// follower briefly forgets the leader, e.g. during a pre-vote round).
	lastLeader atomic.Value // string
}

// New starts a node: it opens the Raft log, restores the state from the
// latest snapshot if the state file is behind it, joins the transport and
// bootstraps when told to.
func New(cfg Config) (*Node, error) {
	if cfg.ID == "" || cfg.DataDir == "" || (cfg.RaftBind == "" && cfg.RaftListener == nil) || cfg.TLS == nil || cfg.Store == nil {
		return nil, errors.New("consensus: ID, DataDir, RaftBind, TLS and Store are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), store: cfg.Store, metrics: cfg.Metrics, done: make(chan struct{})}
	dir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.LevelFromString(cfg.RaftLogLevel), JSONFormat: true,
		Output: os.Stderr, IncludeLocation: false}).With("node", cfg.ID)

	if err := state.CheckBoltFile(filepath.Join(dir, "raft.db")); err != nil {
		return nil, fmt.Errorf("raft log damaged: %w (move the data directory aside and restart: the node catches up from its peers; docs/operations.md)", err)
	}
	logStore, err := raftboltdb.New(raftboltdb.Options{
		Path:   filepath.Join(dir, "raft.db"),
		NoSync: cfg.NoSync,
		// The freelist is not synced (rebuilt on open) and kept as a map:
		// no freelist growth with a log that is truncated after snapshots.
		BoltOptions: &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType},
	})
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w (if the file is damaged, move the data directory aside and let the node catch up from its peers: docs/operations.md)", filepath.Join(dir, "raft.db"), err)
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
	if cfg.TransportTimeout == 0 {
		cfg.TransportTimeout = 10 * time.Second
	}
	stream, err := newTLSStream(cfg.RaftListener, cfg.RaftBind, cfg.RaftAdvertise, cfg.DialSource, cfg.TLS, cfg.Resolver, cfg.ResolveInterval)
	if err != nil {
		logStore.Close()
		return nil, fmt.Errorf("raft listen %s: %w", cfg.RaftBind, err)
	}
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

	fsm := newFSM(cfg.Store, n.log, cfg.Metrics)
	if len(cfg.Bootstrap) > 0 {
		has, err := raft.HasExistingState(logStore, logStore, snaps)
		if err != nil {
			n.closeStores()
			return nil, err
		}
		if !has && n.inBootstrap() {
			var servers []raft.Server
			for _, m := range cfg.Bootstrap {
				servers = append(servers, raft.Server{ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.RaftAddr), Suffrage: raft.Voter})
			}
			if err := raft.BootstrapCluster(rc, logStore, logStore, snaps, n.transport, raft.Configuration{Servers: servers}); err != nil {
				n.closeStores()
				return nil, fmt.Errorf("bootstrap: %w", err)
			}
			n.log.Info("bootstrapped cluster", "voters", len(servers))
		}
	}
	r, err := raft.NewRaft(rc, fsm, logStore, logStore, snaps, n.transport)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("start raft: %w", err)
	}
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
	return n, nil
}

func (n *Node) inBootstrap() bool {
	for _, m := range n.cfg.Bootstrap {
		if m.ID == n.cfg.ID {
			return true
		}
	}
	return false
}

// catchUpFromSnapshot restores the newest snapshot when the state file is
// behind it (state lost or replaced); Raft then replays the log after it.
func (n *Node) catchUpFromSnapshot(snaps *raft.FileSnapshotStore) error {
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
		return fmt.Errorf("open snapshot %s: %w (remove the damaged snapshot directory or the whole data directory and let the node catch up from its peers)", latest.ID, err)
	}
	defer rc.Close()
	return n.store.Restore(rc)
}

func (n *Node) closeStores() {
	if n.transport != nil {
		n.transport.Close()
	}
	n.logStore.Close()
}

// watch logs leader changes, keeps the state metrics current, and fails
// queued transactions when this node stops leading so that the API can
// forward them.
func (n *Node) watch() {
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
		case <-n.done:
			return
		}
	}
}

func (n *Node) setStateMetric(cur raft.RaftState) {
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

// propose sends one block to Raft and answers its transactions.
func (n *Node) propose(batch []*pending) {
	p := state.Proposal{Time: tx.FormatTime(n.cfg.Clock()), Proposer: n.cfg.ID, Txs: make([]json.RawMessage, len(batch))}
	for i, b := range batch {
		p.Txs[i] = b.st.Canonical
	}
	data, err := encodeEntry(EntryBlock, p)
	if err != nil {
		n.failBatch(batch, err)
		return
	}
	f := n.raft.Apply(data, n.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		n.failBatch(batch, mapRaftError(err, true))
		return
	}
	receipts, err := receiptsOf(f.Response())
	if err != nil || len(receipts) != len(batch) {
		n.failBatch(batch, fmt.Errorf("block result: %v (%d receipts for %d transactions)", err, len(receipts), len(batch)))
		return
	}
	now := time.Now()
	for i, b := range batch {
		rc := receipts[i]
		if rc.Status == chain.Rejected && len(rc.Reasons) > 0 && rc.Reasons[0].Code == state.CodeDuplicate {
			// Resubmitted while the original was in flight: answer with the
			// original's receipt, so that submission is idempotent.
			if orig := n.lookup(b.st.IDHex()); orig != nil {
				rc = *orig
			}
		}
		if n.metrics != nil {
			n.metrics.CommitLatency.Observe(now.Sub(b.queued).Seconds())
		}
		n.batcher.finish(b, result{receipt: rc})
	}
}

func (n *Node) lookup(id string) *chain.Receipt {
	var rc *chain.Receipt
	_ = n.store.View(func(v *state.View) error {
		if rec, err := v.TxByID(id); err == nil {
			rc = &rec.Receipt
		}
		return nil
	})
	return rc
}

func (n *Node) failBatch(batch []*pending, err error) {
	for _, b := range batch {
		n.batcher.finish(b, result{err: err})
	}
}

// Submit queues a checked transaction on the leader and waits for its
// receipt, which exists only once the block is committed and applied here.
func (n *Node) Submit(ctx context.Context, st *tx.Signed) (chain.Receipt, error) {
	if n.raft.State() != raft.Leader {
		return chain.Receipt{}, n.notLeaderError()
	}
	ch, err := n.batcher.submit(st)
	if err != nil {
		return chain.Receipt{}, err
	}
	return wait(ctx, ch)
}

func (n *Node) notLeaderError() error {
	if _, id := n.raft.LeaderWithID(); id == "" {
		return ErrNoLeader
	}
	return ErrNotLeader
}

// IsLeader says whether this node leads now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// State is this node's Raft state (Leader, Follower, Candidate, Shutdown).
func (n *Node) State() string { return n.raft.State().String() }

// Leader returns the leader's id and API address, if known.
func (n *Node) Leader() (id, apiAddr string) {
	_, lid := n.raft.LeaderWithID()
	return n.withAPIAddr(string(lid))
}

// LastLeader is Leader, or when no leader is known right now, the last one
// this node knew: a follower under load can lose track of the leader for a
// moment (a pre-vote round) while the leader is still leading, and
// forwarding to it then is better than waiting. The answer may be stale;
// a node that no longer leads says so and the caller retries.
func (n *Node) LastLeader() (id, apiAddr string) {
	if id, addr := n.Leader(); id != "" {
		return id, addr
	}
	last, _ := n.lastLeader.Load().(string)
	return n.withAPIAddr(last)
}

func (n *Node) withAPIAddr(id string) (string, string) {
	if id == "" {
		return "", ""
	}
	members, _ := n.store.Members()
	for _, m := range members {
		if m.ID == id {
			return m.ID, m.APIAddr
		}
	}
	return id, ""
}

// ReadBarrier makes the next local read linearizable: it waits until every
// entry committed before the call is applied here (a Raft barrier) and then
// confirms this node still leads (a heartbeat round to a quorum). Only the
// leader can do it; followers forward strong reads.
func (n *Node) ReadBarrier(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return n.notLeaderError()
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := n.raft.Barrier(timeout).Error(); err != nil {
		return mapRaftError(err, false)
	}
	return mapRaftError(n.raft.VerifyLeader().Error(), false)
}

// Server is a member as Raft and the ledger know it.
type Server struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	APIAddr  string `json:"apiAddr,omitempty"`
	Suffrage string `json:"suffrage"` // voter, nonvoter
	Leader   bool   `json:"leader"`
}

// Configuration lists the current Raft members with their API addresses.
func (n *Node) Configuration() ([]Server, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, mapRaftError(err, false)
	}
	members, _ := n.store.Members()
	api := map[string]string{}
	for _, m := range members {
		api[m.ID] = m.APIAddr
	}
	_, leader := n.raft.LeaderWithID()
	var out []Server
	for _, s := range f.Configuration().Servers {
		suf := "voter"
		if s.Suffrage != raft.Voter {
			suf = "nonvoter"
		}
		out = append(out, Server{ID: string(s.ID), RaftAddr: string(s.Address), APIAddr: api[string(s.ID)], Suffrage: suf, Leader: s.ID == leader})
	}
	return out, nil
}

// ErrUnknownMember is returned for a member id not in the configuration.
var ErrUnknownMember = errors.New("no such member")

// AddMember records the member's addresses and adds it to Raft, as a
// non-voter unless voter is set. New members should join as non-voters and
// be promoted once caught up, so that a slow joiner never costs quorum.
func (n *Node) AddMember(ctx context.Context, m state.Member, voter bool) error {
	if !n.IsLeader() {
		return n.notLeaderError()
	}
	if err := n.applyMember(m, false); err != nil {
		return err
	}
	timeout := n.cfg.ApplyTimeout
	var f raft.IndexFuture
	if voter {
		f = n.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, timeout)
	} else {
		f = n.raft.AddNonvoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, timeout)
	}
	if err := f.Error(); err != nil {
		return mapRaftError(err, true)
	}
	n.log.Info("member added", "member", m.ID, "voter", voter)
	return nil
}

// Promote makes a non-voter a voter.
func (n *Node) Promote(ctx context.Context, id string) error {
	s, err := n.server(id)
	if err != nil {
		return err
	}
	if s.Suffrage == "voter" {
		return nil
	}
	if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(s.RaftAddr), 0, n.cfg.ApplyTimeout).Error(); err != nil {
		return mapRaftError(err, true)
	}
	n.log.Info("member promoted to voter", "member", id)
	return nil
}

// RemoveMember removes a member from Raft, then forgets its addresses.
func (n *Node) RemoveMember(ctx context.Context, id string) error {
	if _, err := n.server(id); err != nil {
		return err
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error(); err != nil {
		return mapRaftError(err, true)
	}
	n.log.Info("member removed", "member", id)
	if n.IsLeader() {
		return n.applyMember(state.Member{ID: id}, true)
	}
	return nil
}

// TransferLeadership hands leadership to id, or to the most up-to-date
// voter when id is empty.
func (n *Node) TransferLeadership(ctx context.Context, id string) error {
	if !n.IsLeader() {
		return n.notLeaderError()
	}
	var f raft.Future
	if id == "" {
		f = n.raft.LeadershipTransfer()
	} else {
		s, err := n.server(id)
		if err != nil {
			return err
		}
		f = n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(s.RaftAddr))
	}
	return mapRaftError(f.Error(), false)
}

func (n *Node) server(id string) (*Server, error) {
	if !n.IsLeader() {
		return nil, n.notLeaderError()
	}
	servers, err := n.Configuration()
	if err != nil {
		return nil, err
	}
	for i := range servers {
		if servers[i].ID == id {
			return &servers[i], nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownMember, id)
}

func (n *Node) applyMember(m state.Member, remove bool) error {
	data, err := encodeEntry(EntryMember, MemberChange{Member: m, Remove: remove})
	if err != nil {
		return err
	}
	return mapRaftError(n.raft.Apply(data, n.cfg.ApplyTimeout).Error(), true)
}

// RecordClusterOp records, through Raft, that an admin cluster operation
// starts (op.Done false) or has finished with its answer (true). On a
// start, first says whether this is the first start of op.TxID anywhere:
// only then may the caller carry the operation out. Only the leader can
// record; a start whose outcome is unknown (leadership lost) is treated as
// started: at most once, never twice.
func (n *Node) RecordClusterOp(op state.ClusterOp) (rec state.ClusterOp, first bool, err error) {
	if !n.IsLeader() {
		return rec, false, n.notLeaderError()
	}
	data, err := encodeEntry(EntryClusterOp, op)
	if err != nil {
		return rec, false, err
	}
	f := n.raft.Apply(data, n.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		return rec, false, mapRaftError(err, true)
	}
	r, ok := f.Response().(*clusterOpResult)
	if !ok {
		return rec, false, fmt.Errorf("cluster operation record: unexpected apply response %T", f.Response())
	}
	return r.rec, r.first, nil
}

// Stats are Raft's own counters (indexes, term, state), for status pages.
func (n *Node) Stats() map[string]string { return n.raft.Stats() }

// AppliedIndex is the last Raft index applied to the state here.
func (n *Node) AppliedIndex() uint64 { return n.store.Applied().Index }

// CommitIndex is the last Raft index known committed here.
func (n *Node) CommitIndex() uint64 { return n.raft.CommitIndex() }

// LastContact is when this node last heard from the leader (zero on the leader).
func (n *Node) LastContact() time.Time { return n.raft.LastContact() }

// Snapshot forces a snapshot now (for operators and tests).
func (n *Node) Snapshot() error { return n.raft.Snapshot().Error() }

// Shutdown stops the batcher, Raft and the transport, and closes the log.
func (n *Node) Shutdown() error {
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

// RaftAppliedIndex is Raft's applied index (it counts every entry type,
// including those the state never sees, so it can reach the commit index).
func (n *Node) RaftAppliedIndex() uint64 { return n.raft.AppliedIndex() }
