package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tradeledger/tradeledger/ledgernode/metrics"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Config configures a consensus node. Start from DefaultConfig, which
// fills every field that has a sensible default, and set ID, DataDir,
// RaftBind (or RaftListener), TLS and Store; New only validates.
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
	Clock func() time.Time
	// ClockGate, if set, must agree before the leader stamps a block with
	// its Clock (clockcheck.Monitor: a quorum of voters' clocks within the
	// bound); nil proposes whatever the clock says.
	ClockGate    ClockGate
	TLS          *pki.Reloader
	Store        *state.Store
	Logger       *slog.Logger
	RaftLogLevel string // hclog level for Raft's own logs (default "warn")
	Metrics      *metrics.Node

	// Bootstrap lists the initial voters (from genesis). A node whose data
	// directory is empty and whose ID is in the list bootstraps the cluster;
	// every initial node may do so with the same list, safely.
	Bootstrap []state.Member
	// Hold applies to a node whose Raft state is empty (no log, no term):
	// New then neither bootstraps nor lets Raft traffic through (peers see
	// a node that is down: it cannot vote or take entries) until the
	// caller, having asked the peers whether the network already ran,
	// calls BootstrapGenesis (it did not: a first start) or Open (wait to
	// be added). A node with Raft state starts at once whatever Hold says.
	// An empty log says nothing about whether this node voted or held
	// entries before: its data directory may have been lost (node.rejoin).
	Hold bool

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
	// SnapshotBytes takes a snapshot once the entries applied since the
	// last one hold this many bytes, whatever their count (default 256
	// MiB; 0: by count only). Blocks of thousands of transactions are
	// megabytes each: by count alone a large ledger was never snapshotted,
	// so a restart replayed and a joining node received the whole log.
	SnapshotBytes uint64
	// TrailingBytes is about how much log a snapshot taken by size keeps
	// behind it for followers slightly behind (default 64 MiB): the entries
	// kept are TrailingBytes over the mean entry size since the last
	// snapshot, at least MinTrailingLogs and at most TrailingLogs.
	TrailingBytes uint64
	NoSync        bool // tests only: skip fsync of the Raft log
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
		SnapshotBytes:      256 << 20,
		TrailingBytes:      64 << 20,
		ResolveInterval:    time.Second,
		TransportTimeout:   10 * time.Second,
		Clock:              time.Now,
		Logger:             slog.New(slog.DiscardHandler),
	}
}

// Validate says what is missing or out of range, naming the field and the
// fix. New calls it; it changes nothing.
func (c Config) Validate() error {
	var errs []error
	need := func(ok bool, field, fix string) {
		if !ok {
			errs = append(errs, fmt.Errorf("consensus.Config.%s: %s", field, fix))
		}
	}
	need(c.ID != "", "ID", "required: the node's stable name (a DNS label such as ledger-0)")
	need(c.DataDir != "", "DataDir", "required: the directory the Raft log and snapshots go under")
	need(c.RaftBind != "" || c.RaftListener != nil, "RaftBind", "required (or RaftListener): the address Raft listens on")
	need(c.TLS != nil, "TLS", "required: the node's certificates (pki.NewReloader)")
	need(c.Store != nil, "Store", "required: the state the log is applied to (state.Open)")
	need(c.Logger != nil, "Logger", "nil: start from DefaultConfig (it discards)")
	need(c.Clock != nil, "Clock", "nil: start from DefaultConfig (time.Now)")
	need(c.RaftLogLevel == "" || hclog.LevelFromString(c.RaftLogLevel) != hclog.NoLevel, "RaftLogLevel",
		fmt.Sprintf("%q: want trace, debug, info, warn, error or off", c.RaftLogLevel))
	for _, p := range []struct {
		field string
		v     int64
	}{
		{"BatchMaxTx", int64(c.BatchMaxTx)}, {"BatchMaxDelay", int64(c.BatchMaxDelay)}, {"BatchMaxQueue", int64(c.BatchMaxQueue)},
		{"BatchMaxInflight", int64(c.BatchMaxInflight)}, {"ApplyTimeout", int64(c.ApplyTimeout)}, {"TransportTimeout", int64(c.TransportTimeout)},
		{"HeartbeatTimeout", int64(c.HeartbeatTimeout)}, {"ElectionTimeout", int64(c.ElectionTimeout)},
		{"LeaderLeaseTimeout", int64(c.LeaderLeaseTimeout)}, {"SnapshotThreshold", int64(c.SnapshotThreshold)},
		{"SnapshotInterval", int64(c.SnapshotInterval)},
	} {
		need(p.v > 0, p.field, fmt.Sprintf("%d: must be positive (start from DefaultConfig)", p.v))
	}
	need(c.SnapshotBytes == 0 || c.TrailingBytes < c.SnapshotBytes, "TrailingBytes",
		fmt.Sprintf("%d: must be less than SnapshotBytes (%d), or a snapshot by size would keep all it could remove", c.TrailingBytes, c.SnapshotBytes))
	return errors.Join(errs...)
}
