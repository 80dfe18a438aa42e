// Package node wires a ledger node together: state, consensus, API server,
// TLS and metrics, from one Config that flags and environment variables
// fill (cmd/ledgernode) or tests build directly. It is the only place that
// knows every part.
package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/clockcheck"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/metrics"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/server"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/trade"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Config is everything a node needs. Consensus holds the Raft and batching
// tunables (consensus.DefaultConfig); the node fills its identity fields.
type Config struct {
	ID       string
	DataDir  string
	Genesis  *chain.Genesis
	NodeKey  ed25519.PrivateKey
	TLSFiles pki.Files

	RaftBind, RaftAdvertise string
	APIBind, APIAdvertise   string
	// PublicURL is the https base URL outside verifiers reach this node's
	// status lists and JSON-LD context at (default: https:// and the API
	// address the genesis gives this node, else the advertised or listen
	// address).
	PublicURL string
	// Optional pre-bound listeners (tests bind 127.0.0.1:0 first).
	RaftListener, APIListener net.Listener

	Consensus consensus.Config
	// Access says which API route groups anonymous clients may read
	// (zero: none but health; server.AccessConfig).
	Access server.AccessConfig
	Logger *slog.Logger
	// NoBootstrap: never start a new cluster from the genesis, even as a
	// genesis node with an empty data directory; wait to be added. Every
	// node of a network that has run must have it (a genesis node whose
	// data was lost would otherwise start a second ledger from genesis
	// with the other empty nodes), and so must the nodes of a network
	// restored from a backup or recovered after a quorum loss. A genesis
	// node id may then come with another key than the genesis names (new
	// node identities): its heads verify against the network's trust
	// file, not the genesis.
	NoBootstrap bool
	// NetworkHasRunFile names a file whose presence says the network has
	// run (ledgernode run defaults it to network-has-run beside the
	// genesis file; the operator adds that key to the genesis ConfigMap
	// once the ledger has a block). While it exists a node with an empty
	// Raft state never bootstraps from the genesis; if no member holds
	// the ledger it reports that every member lost its data (rejoin.go).
	// Unlike NoBootstrap it keeps the genesis' node keys and waits for
	// silent genesis peers before it opens its Raft traffic.
	NetworkHasRunFile string
	// Rejoin bounds how a node whose Raft state is empty asks its genesis
	// peers whether the network has run before it bootstraps (rejoin.go).
	Rejoin RejoinConfig
	// Registry of transaction types (DefaultConfig: DefaultRegistry()).
	Registry *state.Registry
	// MaxClockOffset is how far a voter's clock may be from the leader's
	// for the leader to stamp blocks with its clock (DefaultConfig: 30s): a
	// leader whose clock a quorum of voters disagrees with proposes
	// nothing and hands leadership over (clockcheck).
	MaxClockOffset time.Duration
	// StateFsync fsyncs the state file at every commit. Off (the default),
	// the Raft log, fsync'd before an entry commits, is the durable record:
	// the state file is left to the kernel, and after a machine restart
	// that may have torn it the node sets it aside and rebuilds it from its
	// Raft snapshot and log (state DESIGN.md; docs/operations.md).
	StateFsync bool
}

// DefaultRegistry holds every transaction type the product ships, and the
// agency rule engine as its evaluator.
func DefaultRegistry() *state.Registry {
	r := state.NewRegistry()
	trade.Register(r)
	policystate.Register(r)
	return r
}

// Node is a running ledger node.
type Node struct {
	cfg     Config
	log     *slog.Logger
	store   *state.Store
	cons    *consensus.Replica
	srv     *server.Server
	tls     *pki.Reloader
	apiLn   net.Listener
	metrics *metrics.Node
	cancel  context.CancelFunc
	// rejoinDone is closed when the questions of a node whose Raft state
	// was empty are over (at once for a node with state).
	rejoinDone chan struct{}
	served     chan error
	stopMu     sync.Mutex
	stopped    bool
}

// DefaultConfig returns a Config with every default filled in: the
// consensus tunables (consensus.DefaultConfig), the product's registry,
// the rejoin rounds and the clock bound. The caller sets the node's
// identity (ID, DataDir, Genesis, NodeKey, TLSFiles) and its addresses;
// Start only validates.
func DefaultConfig() Config {
	return Config{
		Consensus:      consensus.DefaultConfig(),
		Logger:         slog.New(slog.DiscardHandler),
		Registry:       DefaultRegistry(),
		Rejoin:         DefaultRejoinConfig(),
		MaxClockOffset: clockcheck.DefaultConfig().MaxOffset,
	}
}

// Validate says what is missing or out of range, naming the field and the
// fix. Start calls it; it changes nothing. (The Consensus fields the node
// does not fill itself are checked by consensus.New.)
func (c Config) Validate() error {
	var errs []error
	need := func(ok bool, field, fix string) {
		if !ok {
			errs = append(errs, fmt.Errorf("node.Config.%s: %s", field, fix))
		}
	}
	need(c.ID != "", "ID", "required: the node's stable name (a DNS label such as ledger-0)")
	need(c.ID == "" || chain.ValidNodeID(c.ID), "ID", fmt.Sprintf("%q: must be a DNS label such as ledger-0", c.ID))
	need(c.DataDir != "", "DataDir", "required: the directory for the state, Raft log and snapshots")
	need(c.Genesis != nil, "Genesis", "required: the network's genesis (chain.ReadGenesis)")
	need(c.NodeKey != nil, "NodeKey", "required: the node's Ed25519 key (tx.ReadKeyFile)")
	need(c.Logger != nil, "Logger", "nil: start from DefaultConfig (it discards)")
	need(c.Registry != nil, "Registry", "nil: start from DefaultConfig (DefaultRegistry)")
	need(c.Consensus.Clock != nil, "Consensus.Clock", "nil: start from DefaultConfig (time.Now)")
	need(c.MaxClockOffset > 0, "MaxClockOffset", fmt.Sprintf("%s: must be positive (start from DefaultConfig: 30s)", c.MaxClockOffset))
	for _, p := range []struct {
		field string
		v     time.Duration
	}{{"Rejoin.Timeout", c.Rejoin.Timeout}, {"Rejoin.Interval", c.Rejoin.Interval}, {"Rejoin.RequestTimeout", c.Rejoin.RequestTimeout}} {
		need(p.v > 0, p.field, fmt.Sprintf("%s: must be positive (start from DefaultConfig)", p.v))
	}
	if err := c.Access.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("node.Config.Access: %w", err))
	}
	return errors.Join(errs...)
}

// Start opens the state, starts Raft and serves the API. cfg starts from
// DefaultConfig; Start fills nothing in.
func Start(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("node", cfg.ID)
	if err := checkNodeKey(cfg); err != nil {
		if !cfg.NoBootstrap {
			return nil, err
		}
		log.Warn("node key is not the one the genesis names for this id; heads it signs verify against the network's trust file, not the genesis", "err", err)
	}
	reloader, err := pki.NewReloader(cfg.TLSFiles)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	store, err := state.Open(state.Config{Path: filepath.Join(cfg.DataDir, "state.db"), Genesis: cfg.Genesis,
		Registry: cfg.Registry, Logger: log, DeferSync: !cfg.StateFsync})
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, store: store, tls: reloader, metrics: m, served: make(chan error, 1), rejoinDone: make(chan struct{})}
	evidence := ""
	if b, err := os.ReadFile(filepath.Join(cfg.DataDir, dataLostMarker)); err == nil {
		evidence = "an earlier start found that this node lost its data: " + strings.TrimSpace(string(b))
	} else if m := store.Meta(); m.Height > 0 {
		evidence = fmt.Sprintf("its state file is at height %d but its Raft log is empty", m.Height)
	}
	apiLn := cfg.APIListener
	if apiLn == nil {
		if apiLn, err = net.Listen("tcp", cfg.APIBind); err != nil {
			store.Close()
			return nil, fmt.Errorf("api listen %s: %w", cfg.APIBind, err)
		}
	}
	n.apiLn = apiLn
	cc := cfg.Consensus
	kc := clockcheck.DefaultConfig()
	kc.Self, kc.Clock, kc.Logger, kc.MaxOffset = cfg.ID, cc.Clock, log, cfg.MaxClockOffset
	kc.Observe = func(id string, off time.Duration) { m.ClockOffset.WithLabelValues(id).Set(off.Seconds()) }
	clocks, err := clockcheck.New(kc)
	if err != nil {
		apiLn.Close()
		store.Close()
		return nil, err
	}
	cc.ClockGate = clocks
	cc.ID, cc.DataDir, cc.TLS, cc.Store, cc.Logger, cc.Metrics = cfg.ID, cfg.DataDir, reloader, store, log, m
	cc.RaftBind, cc.RaftAdvertise, cc.RaftListener = cfg.RaftBind, cfg.RaftAdvertise, cfg.RaftListener
	cc.Bootstrap = nil
	// An empty Raft log may be a lost one: hold Raft traffic until the
	// peers said whether the network ran (rejoin.go).
	cc.Hold = true
	for _, g := range cfg.Genesis.Nodes {
		if !cfg.NoBootstrap {
			cc.Bootstrap = append(cc.Bootstrap, state.Member{ID: g.ID, RaftAddr: g.RaftAddr, APIAddr: g.APIAddr})
		}
	}
	cons, err := consensus.New(cc)
	if err != nil {
		apiLn.Close()
		store.Close()
		return nil, err
	}
	n.cons = cons
	sc := server.DefaultConfig()
	sc.NodeID, sc.Store, sc.Replica, sc.NodeKey, sc.TLS, sc.Metrics, sc.Logger = cfg.ID, store, cons, cfg.NodeKey, reloader, m, log
	sc.DialSource, sc.PublicURL, sc.Access = cc.DialSource, publicURL(cfg, apiLn.Addr().String()), cfg.Access
	sc.Clock, sc.Clocks = cc.Clock, clocks
	if n.srv, err = server.New(sc); err != nil {
		_ = cons.Shutdown()
		apiLn.Close()
		store.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go clocks.Run(ctx, n.srv.ClockSource())
	// A held node names this run before it answers anyone: a peer that saw
	// it empty vouches for exactly this run (rejoin.go).
	incarnation := newIncarnation()
	sawEmpty := n.readSawEmpty()
	if cons.Held() {
		n.srv.SetRejoin(server.RejoinInfo{Incarnation: incarnation, SawEmpty: sawEmpty})
	} else if len(sawEmpty) > 0 {
		n.srv.SetRejoin(server.RejoinInfo{SawEmpty: sawEmpty})
	}
	go func() { n.served <- n.srv.ServeTLS(ctx, apiLn) }()
	if cons.Held() {
		go n.rejoin(ctx, incarnation, evidence, sawEmpty)
	} else {
		close(n.rejoinDone)
		if err := os.Remove(filepath.Join(cfg.DataDir, dataLostMarker)); err == nil {
			log.Info("raft state is back: the data-lost marker is removed")
		}
	}
	log.Info("node started", "api", apiLn.Addr().String(), "network", cfg.Genesis.Network,
		"height", store.Meta().Height, "applied", store.Applied().Index)
	return n, nil
}

// networkHasRun is the text of the network-has-run marker ("" when there
// is none). It is read on every round of questions: a ConfigMap volume
// may show it after the node started.
func (n *Node) networkHasRun() string {
	if n.cfg.NetworkHasRunFile == "" {
		return ""
	}
	b, err := os.ReadFile(n.cfg.NetworkHasRunFile)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			// A marker that cannot be read is not proof of a first start.
			return fmt.Sprintf("%s exists but cannot be read: %v", n.cfg.NetworkHasRunFile, err)
		}
		return ""
	}
	if t := strings.TrimSpace(string(b)); t != "" {
		return n.cfg.NetworkHasRunFile + ": " + t
	}
	return n.cfg.NetworkHasRunFile
}

func inGenesis(cfg Config) bool {
	for _, g := range cfg.Genesis.Nodes {
		if g.ID == cfg.ID {
			return true
		}
	}
	return false
}

// DataLost says whether the node reports that it lost its data and waits
// to be removed from the configuration (rejoin.go).
func (n *Node) DataLost() bool { return n.srv.DataLost() != "" }

// Held says whether the node still holds its Raft traffic, asking its
// peers whether the network ran (rejoin.go).
func (n *Node) Held() bool { return n.cons.Held() }

// publicURL is cfg.PublicURL or the best address this node knows for itself.
func publicURL(cfg Config, listen string) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	for _, g := range cfg.Genesis.Nodes {
		if g.ID == cfg.ID && g.APIAddr != "" {
			return "https://" + g.APIAddr
		}
	}
	if cfg.APIAdvertise != "" {
		return "https://" + cfg.APIAdvertise
	}
	return "https://" + listen
}

// checkNodeKey refuses to start a genesis node with a key other than the
// one the genesis names: its heads would not verify.
func checkNodeKey(cfg Config) error {
	id := tx.KeyID(cfg.NodeKey.Public().(ed25519.PublicKey))
	for _, g := range cfg.Genesis.Nodes {
		if g.ID == cfg.ID && g.Key != id {
			return fmt.Errorf("node key %s does not match genesis.nodes[%s].key %s: pass the node's own key file", tx.Fingerprint(cfg.NodeKey.Public().(ed25519.PublicKey)), cfg.ID, tx.FingerprintOf(g.Key))
		}
	}
	return nil
}

// APIAddr is the address the API listens on.
func (n *Node) APIAddr() string { return n.apiLn.Addr().String() }

// Handler is the node's HTTP API handler (for in-process tests and fuzzing).
func (n *Node) Handler() http.Handler { return n.srv.Handler() }

// Store is the node's state.
func (n *Node) Store() *state.Store { return n.store }

// Consensus is the node's Raft member.
func (n *Node) Consensus() *consensus.Replica { return n.cons }

// Reloader is the node's TLS material.
func (n *Node) Reloader() *pki.Reloader { return n.tls }

// WaitLeader waits until a leader is known.
func (n *Node) WaitLeader(ctx context.Context) error {
	for {
		if id, _ := n.cons.Leader(); id != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Drain is the first half of a graceful stop, for a node about to be
// stopped on purpose (SIGTERM: a rolling upgrade, a drained host): /readyz
// answers 503 "stopping"; a leader hands leadership to the most
// up-to-date voter (waiting at most ctx), so the network elects nobody in a
// hurry; then the node goes on serving for d (a follower forwards writes to
// the new leader), so that clients still routed to it (a Service whose
// endpoints have not yet dropped the terminating pod) are answered rather
// than sent to an address that is gone. Stop follows.
func (n *Node) Drain(ctx context.Context, d time.Duration) {
	n.srv.SetStopping()
	if n.cons.IsLeader() {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		if err := n.cons.TransferLeadership(tctx, ""); err != nil {
			n.log.Warn("stopping: leadership not handed over; the others elect a leader once this node is gone", "error", err)
		} else {
			id, _ := n.cons.Leader()
			n.log.Info("stopping: leadership handed over", "to", id, "took", time.Since(start).Round(time.Millisecond))
		}
		cancel()
	}
	if d <= 0 {
		return
	}
	n.log.Info("stopping: serving on while clients are routed elsewhere", "for", d)
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// Stop shuts the API down, then Raft, then closes the state.
func (n *Node) Stop() error {
	n.stopMu.Lock()
	defer n.stopMu.Unlock()
	if n.stopped {
		return nil
	}
	n.stopped = true
	n.cancel()
	<-n.served
	<-n.rejoinDone
	err := n.cons.Shutdown()
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	n.log.Info("node stopped")
	return err
}
