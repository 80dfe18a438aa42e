// Package testcluster runs real ledger clusters in one process for tests,
// benchmarks and the bench command: real Raft over real mutual-TLS TCP on
// loopback, real bbolt files. It starts, stops and restarts nodes, adds
// members, and checks that every node holds the same state. Clusters of
// `ledgernode` processes (what kill -9, SIGSTOP and cut links need) are
// proccluster's; its package doc says which to use when.
package testcluster

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/server"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Config configures a cluster. Start from DefaultConfig and set Dir (and
// what the test changes); New only validates.
type Config struct {
	Nodes   int    // DefaultConfig: 3
	Dir     string // required: a temporary directory
	Network string // DefaultConfig: "testnet"
	// Tune adjusts each node's consensus config after DefaultTune (nil:
	// DefaultTune alone, fast timeouts suited to loopback).
	Tune   func(*consensus.Config)
	Logger *slog.Logger
	// Registry makes each node's registry (DefaultConfig: node.DefaultRegistry).
	Registry func() *state.Registry
	// Access opens API route groups to anonymous clients (zero: none).
	Access server.AccessConfig
}

// DefaultConfig: three nodes of network "testnet", logs discarded, the
// product's transaction types.
func DefaultConfig() Config {
	return Config{Nodes: 3, Network: "testnet", Logger: slog.New(slog.DiscardHandler), Registry: node.DefaultRegistry}
}

// Validate says what is missing or out of range, naming the field and the
// fix. New calls it; it changes nothing.
func (c Config) Validate() error {
	var errs []error
	need := func(ok bool, field, fix string) {
		if !ok {
			errs = append(errs, fmt.Errorf("testcluster.Config.%s: %s", field, fix))
		}
	}
	need(c.Nodes >= 1, "Nodes", fmt.Sprintf("%d: must be at least 1 (DefaultConfig: 3)", c.Nodes))
	need(c.Dir != "", "Dir", "required: a temporary directory (t.TempDir())")
	need(c.Network != "", "Network", "required: the network's name (DefaultConfig: testnet)")
	need(c.Logger != nil, "Logger", "nil: start from DefaultConfig (it discards)")
	need(c.Registry != nil, "Registry", "nil: start from DefaultConfig (node.DefaultRegistry)")
	if err := c.Access.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("testcluster.Config.Access: %w", err))
	}
	return errors.Join(errs...)
}

// Member is one node slot of the cluster.
type Member struct {
	ID       string
	RaftAddr string
	APIAddr  string
	Paths    netgen.NodePaths
	Key      ed25519.PrivateKey
	Node     *node.Node // nil while stopped
	// NoBootstrap starts the node with node.Config.NoBootstrap.
	NoBootstrap bool
	// NetworkHasRunFile starts the node with node.Config.NetworkHasRunFile.
	NetworkHasRunFile string
	// Clock, when set, is the node's clock from its next (re)start on
	// (fault injection: a clock that runs ahead); nil is the real clock.
	Clock func() time.Time
}

// Cluster is a running test cluster.
type Cluster struct {
	opts    Config
	Bundle  *netgen.Bundle
	Layout  netgen.Layout
	Genesis *chain.Genesis
	Admin   ed25519.PrivateKey

	mu      sync.Mutex
	Members []*Member
}

func freeAddr() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// Start is New for a test: a cluster of nodes nodes under t.TempDir(),
// with DefaultConfig changed by tune, that t closes at its end. It fails t
// when the cluster does not start within ctx.
func Start(ctx context.Context, t testing.TB, nodes int, tune ...func(*Config)) *Cluster {
	t.Helper()
	o := DefaultConfig()
	o.Nodes, o.Dir = nodes, t.TempDir()
	for _, f := range tune {
		f(&o)
	}
	c, err := New(ctx, o)
	if err != nil {
		t.Fatalf("starting a %d-node test cluster: %v", nodes, err)
	}
	t.Cleanup(c.Close)
	return c
}

// New starts a cluster and waits for a leader.
func New(ctx context.Context, o Config) (*Cluster, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var specs []netgen.NodeSpec
	var lns []net.Listener
	for i := 0; i < o.Nodes; i++ {
		rl, err := freeAddr()
		if err != nil {
			return nil, err
		}
		al, err := freeAddr()
		if err != nil {
			return nil, err
		}
		lns = append(lns, rl, al)
		specs = append(specs, netgen.NodeSpec{ID: fmt.Sprintf("n%d", i), RaftAddr: rl.Addr().String(), APIAddr: al.Addr().String()})
	}
	b, err := netgen.Generate(netgen.Options{Network: o.Network, Nodes: specs})
	if err != nil {
		return nil, err
	}
	layout, err := b.Write(o.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: o, Bundle: b, Layout: layout, Genesis: b.Genesis, Admin: b.AdminKey}
	for i, s := range specs {
		m := &Member{ID: s.ID, RaftAddr: s.RaftAddr, APIAddr: s.APIAddr, Paths: layout.Nodes[s.ID], Key: b.Nodes[i].Key}
		c.Members = append(c.Members, m)
		if err := c.start(m, lns[2*i], lns[2*i+1]); err != nil {
			c.Close()
			return nil, err
		}
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// DefaultTune is what every test node changes from consensus.DefaultConfig:
// only Raft's log level. Its election timeouts stay the node's own (1 s
// heartbeat and election, 500 ms lease): the suites run under the race
// detector on two shared cores, where a leader's heartbeats and its lease
// checks are late, and, measured there (load ~20, 1,000 writes from 12
// clients), 400 ms heartbeat and 200 ms lease gave two elections a run,
// which failed tests whose leader must stay put (a follower stays a
// follower; a cluster operation commits before its leader steps down);
// the node's defaults gave none. A failover still takes one to two seconds.
func DefaultTune(cc *consensus.Config) {
	// Raft's own logs are noise in test and benchmark output (a cluster's
	// shutdown alone logs dozens of connection errors); set
	// TESTCLUSTER_RAFT_LOG=debug (or info, warn, error) to see them.
	cc.RaftLogLevel = "off"
	if lvl := os.Getenv("TESTCLUSTER_RAFT_LOG"); lvl != "" {
		cc.RaftLogLevel = lvl
	}
}

func (c *Cluster) start(m *Member, raftLn, apiLn net.Listener) error {
	nc := DefaultNodeConfig()
	nc.ID, nc.DataDir, nc.Genesis, nc.NodeKey = m.ID, filepath.Join(m.Paths.Dir, "data"), c.Genesis, m.Key
	nc.TLS, nc.RaftAddr, nc.APIAddr, nc.RaftListener, nc.APIListener = m.Paths.TLS, m.RaftAddr, m.APIAddr, raftLn, apiLn
	nc.Tune, nc.Logger, nc.Registry, nc.Access, nc.NoBootstrap = c.opts.Tune, c.opts.Logger, c.opts.Registry(), c.opts.Access, m.NoBootstrap
	if m.Clock != nil {
		nc.Clock = m.Clock
	}
	nc.NetworkHasRunFile = m.NetworkHasRunFile
	n, err := StartNode(nc)
	if err != nil {
		return err
	}
	c.mu.Lock()
	m.Node = n
	c.mu.Unlock()
	return nil
}

// NodeConfig is one node started from material made elsewhere (the
// operator's Secrets and genesis, say), the way a pod would start it.
type NodeConfig struct {
	ID      string
	DataDir string
	Genesis *chain.Genesis
	NodeKey ed25519.PrivateKey
	TLS     pki.Files
	// RaftAddr and APIAddr are listened on unless the listeners are given
	// (bound beforehand, e.g. on 127.0.0.1:0).
	RaftAddr, APIAddr         string
	RaftListener, APIListener net.Listener
	Tune                      func(*consensus.Config) // after DefaultTune
	Logger                    *slog.Logger
	Registry                  *state.Registry // DefaultNodeConfig: node.DefaultRegistry()
	Access                    server.AccessConfig
	NoBootstrap               bool
	NetworkHasRunFile         string
	// Clock is the node's clock (DefaultNodeConfig: time.Now); see Member.Clock.
	Clock func() time.Time
	// Rejoin: how a node with an empty Raft log asks its peers
	// (DefaultNodeConfig: FastRejoin, rounds suited to loopback).
	Rejoin node.RejoinConfig
}

// DefaultNodeConfig: the product's registry, the real clock, FastRejoin,
// logs discarded. The caller sets the node's identity and addresses;
// StartNode fills nothing in (node.Config.Validate names what is missing).
func DefaultNodeConfig() NodeConfig {
	return NodeConfig{Logger: slog.New(slog.DiscardHandler), Registry: node.DefaultRegistry(), Clock: time.Now, Rejoin: FastRejoin}
}

// FastRejoin asks the peers every 100 ms, each question bounded by 1 s
// (a peer whose listener is bound but not served yet holds it that
// long), and bootstraps after 10 s without every peer's answer.
var FastRejoin = node.RejoinConfig{Timeout: 10 * time.Second, Interval: 100 * time.Millisecond, RequestTimeout: time.Second}

// StartNode starts one node with fast loopback timeouts (DefaultTune). A
// node named in its genesis bootstraps with the other genesis nodes; any
// other waits to be added.
func StartNode(nc NodeConfig) (*node.Node, error) {
	cfg := node.DefaultConfig()
	cc := &cfg.Consensus
	DefaultTune(cc)
	if nc.Tune != nil {
		nc.Tune(cc)
	}
	cc.Clock = nc.Clock
	// Peers dial the address the genesis names (a host name, say), which
	// is what the node advertises, whatever it listens on.
	cfg.ID, cfg.DataDir, cfg.Genesis, cfg.NodeKey, cfg.TLSFiles = nc.ID, nc.DataDir, nc.Genesis, nc.NodeKey, nc.TLS
	cfg.RaftAdvertise, cfg.Logger, cfg.Registry, cfg.Access = nc.RaftAddr, nc.Logger, nc.Registry, nc.Access
	cfg.NoBootstrap, cfg.NetworkHasRunFile, cfg.Rejoin = nc.NoBootstrap, nc.NetworkHasRunFile, nc.Rejoin
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("start %s: %w", nc.ID, err)
	}
	raftLn, apiLn := nc.RaftListener, nc.APIListener
	var err error
	if raftLn == nil {
		if raftLn, err = net.Listen("tcp", nc.RaftAddr); err != nil {
			if apiLn != nil {
				apiLn.Close()
			}
			return nil, err
		}
	}
	if apiLn == nil {
		if apiLn, err = net.Listen("tcp", nc.APIAddr); err != nil {
			raftLn.Close()
			return nil, err
		}
	}
	cfg.RaftListener, cfg.APIListener = raftLn, apiLn
	n, err := node.Start(cfg)
	if err != nil {
		raftLn.Close()
		apiLn.Close()
		return nil, fmt.Errorf("start %s: %w", nc.ID, err)
	}
	return n, nil
}

// Stop stops node i (its data stays).
func (c *Cluster) Stop(i int) error {
	c.mu.Lock()
	m := c.Members[i]
	n := m.Node
	m.Node = nil
	c.mu.Unlock()
	if n == nil {
		return nil
	}
	return n.Stop()
}

// Restart starts a stopped node i again on its addresses and data.
func (c *Cluster) Restart(i int) error { return c.start(c.Members[i], nil, nil) }

// Wipe deletes a stopped node's data directory.
func (c *Cluster) Wipe(i int) error {
	return os.RemoveAll(filepath.Join(c.Members[i].Paths.Dir, "data"))
}

// Running lists the indexes of running nodes.
func (c *Cluster) Running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, m := range c.Members {
		if m.Node != nil {
			out = append(out, i)
		}
	}
	return out
}

// Node returns node i (nil if stopped).
func (c *Cluster) Node(i int) *node.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Members[i].Node
}

// WaitLeader waits until a running node leads and every running node knows it.
func (c *Cluster) WaitLeader(ctx context.Context) (int, error) { return c.WaitLeaderAmong(ctx) }

// WaitLeaderAmong is WaitLeader over the given nodes only (default: all
// running nodes).
func (c *Cluster) WaitLeaderAmong(ctx context.Context, nodes ...int) (int, error) {
	if len(nodes) == 0 {
		nodes = c.Running()
	}
	for {
		leader := -1
		agreed := true
		var id string
		for _, i := range nodes {
			n := c.Node(i)
			if n == nil {
				continue
			}
			lid, _ := n.Consensus().Leader()
			if lid == "" || (id != "" && lid != id) {
				agreed = false
				break
			}
			id = lid
			if n.Consensus().IsLeader() {
				leader = i
			}
		}
		if agreed && leader >= 0 {
			return leader, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("no agreed leader: %w", ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Client returns a client for the given nodes (all running nodes if none).
func (c *Cluster) Client(nodes ...int) *client.Client {
	if len(nodes) == 0 {
		nodes = c.Running()
	}
	var eps []string
	for _, i := range nodes {
		eps = append(eps, "https://"+c.Members[i].APIAddr)
	}
	cl, err := client.New(client.Config{Endpoints: eps, CAFile: c.Layout.CACert, CertFile: c.Layout.ClientCert, CertKeyFile: c.Layout.ClientKey,
		Timeout: 30 * time.Second, Retry: 20 * time.Second})
	if err != nil {
		panic(err) // only on programming errors: the endpoints and files are the cluster's own
	}
	return cl
}

// ClientWith returns a client of the given nodes (all running nodes if
// none) that authenticates as cfg says (CertFile, SignKey, or nothing:
// anonymous); endpoints and CA are filled in.
func (c *Cluster) ClientWith(cfg client.Config, nodes ...int) *client.Client {
	if len(nodes) == 0 {
		nodes = c.Running()
	}
	cfg.Endpoints = nil
	for _, i := range nodes {
		cfg.Endpoints = append(cfg.Endpoints, "https://"+c.Members[i].APIAddr)
	}
	cfg.CAFile = c.Layout.CACert
	if cfg.Timeout == 0 {
		cfg.Timeout, cfg.Retry = 30*time.Second, 20*time.Second
	}
	cl, err := client.New(cfg)
	if err != nil {
		panic(err)
	}
	return cl
}

// AsAdmin marks an in-process request (for Node.Handler) as coming over
// TLS with the cluster's admin client certificate, as the TLS handshake
// would have verified it.
func (c *Cluster) AsAdmin(req *http.Request) *http.Request {
	b, _ := pem.Decode(c.Bundle.ClientCertPEM)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		panic(err)
	}
	req.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: []*x509.Certificate{cert}}
	return req
}

// IssueClientCert writes a client certificate for identity (from the
// cluster's CA) into the cluster directory and returns its paths.
func (c *Cluster) IssueClientCert(identity string) (certFile, keyFile string, err error) {
	certPEM, keyPEM, err := c.Bundle.CA.IssueClient(identity, time.Now(), 24*time.Hour)
	if err != nil {
		return "", "", err
	}
	name := strings.ReplaceAll(identity, "/", "-")
	if certFile, err = pki.WriteFile(filepath.Join(c.Layout.Dir, "clients"), name+".crt", certPEM, 0o644); err != nil {
		return "", "", err
	}
	keyFile, err = pki.WriteFile(filepath.Join(c.Layout.Dir, "clients"), name+".key", keyPEM, 0o600)
	return certFile, keyFile, err
}

// Sign builds a signed transaction for this network.
func (c *Cluster) Sign(key ed25519.PrivateKey, typ string, payload any) (*tx.Signed, error) {
	return tx.BuildSigned(c.Genesis.Network, typ, payload, time.Now(), key)
}

// Enrol registers a new participant key through the admin and returns it.
func (c *Cluster) Enrol(ctx context.Context, owner string) (ed25519.PrivateKey, error) {
	return c.EnrolIn(ctx, owner, "")
}

// EnrolIn is Enrol for an identity with a country (an agency's jurisdiction).
func (c *Cluster) EnrolIn(ctx context.Context, owner, country string) (ed25519.PrivateKey, error) {
	return Enrol(ctx, c.Client(), c.Genesis.Network, c.Admin, owner, country)
}

// Enrol registers a new key for owner (with country, if any) through cl,
// signed by the network admin, and returns it once accepted.
func Enrol(ctx context.Context, cl *client.Client, network string, admin ed25519.PrivateKey, owner, country string) (ed25519.PrivateKey, error) {
	k, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	st, err := tx.BuildSigned(network, "key.register", wire.KeyRegister{Owner: owner, PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey)), Country: country}, time.Now(), admin)
	if err != nil {
		return nil, err
	}
	resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
	if err != nil {
		return nil, err
	}
	if resp.Receipt.Status != chain.Accepted {
		return nil, fmt.Errorf("enrol %s rejected: %+v", owner, resp.Receipt.Reasons)
	}
	return k, nil
}

// NodeState is what one node reports for convergence checks.
type NodeState struct {
	ID        string
	Height    uint64
	BlockHash string
	StateHash string
	Digest    string
}

// States reads each running node's state directly.
func (c *Cluster) States() ([]NodeState, error) {
	var out []NodeState
	for _, i := range c.Running() {
		n := c.Node(i)
		if n == nil {
			continue
		}
		// Head and digest from one transaction: Meta() lags a commit by a
		// moment, and a digest paired with the previous head looks like a
		// divergence.
		m, d, err := n.Store().DigestWithMeta()
		if err != nil {
			return nil, err
		}
		out = append(out, NodeState{ID: c.Members[i].ID, Height: m.Height, BlockHash: m.BlockHash, StateHash: m.StateHash, Digest: d})
	}
	return out, nil
}

// ErrDiverged is returned when two nodes at the same height differ.
var ErrDiverged = errors.New("nodes diverged")

// WaitConverged waits until every running node is at the same height with
// the same block hash, state hash and digest; nodes at the same height
// that differ fail at once with ErrDiverged.
func (c *Cluster) WaitConverged(ctx context.Context) ([]NodeState, error) {
	for {
		states, err := c.States()
		if err != nil {
			return nil, err
		}
		same := len(states) > 0
		for _, s := range states[1:] {
			if s.Height == states[0].Height && (s.BlockHash != states[0].BlockHash || s.StateHash != states[0].StateHash || s.Digest != states[0].Digest) {
				return states, fmt.Errorf("%w at height %d: %+v", ErrDiverged, s.Height, states)
			}
			if s.Height != states[0].Height {
				same = false
			}
		}
		if same {
			return states, nil
		}
		select {
		case <-ctx.Done():
			return states, fmt.Errorf("not converged: %+v: %w", states, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// AddNode issues a certificate for a new node, starts it (not bootstrapped:
// it waits to be added) and returns its index. Joining is the caller's move.
func (c *Cluster) AddNode(id string) (int, error) { return c.AddNodeWithTLS(id, nil) }

// IssueFunc makes a node's TLS certificate and key (PEM) for its addresses.
type IssueFunc func(spec netgen.NodeSpec) (certPEM, keyPEM []byte, err error)

// AddNodeWithTLS is AddNode with a certificate of the caller's making (a
// foreign CA, an expired certificate, ...); nil issues a good one.
func (c *Cluster) AddNodeWithTLS(id string, issue IssueFunc) (int, error) {
	m, rl, al, err := c.newMember(id, issue)
	if err != nil {
		return -1, err
	}
	return c.appendAndStart(m, rl, al)
}

// newMember makes a node that is not in the genesis: addresses on
// loopback, a new node key and a certificate from the network CA (or
// issue's).
func (c *Cluster) newMember(id string, issue IssueFunc) (*Member, net.Listener, net.Listener, error) {
	rl, err := freeAddr()
	if err != nil {
		return nil, nil, nil, err
	}
	al, err := freeAddr()
	if err != nil {
		rl.Close()
		return nil, nil, nil, err
	}
	fail := func(err error) (*Member, net.Listener, net.Listener, error) {
		rl.Close()
		al.Close()
		return nil, nil, nil, err
	}
	spec := netgen.NodeSpec{ID: id, RaftAddr: rl.Addr().String(), APIAddr: al.Addr().String()}
	nm, err := netgen.IssueNode(c.Bundle.CA, spec, time.Now(), 24*time.Hour)
	if err != nil {
		return fail(err)
	}
	if issue != nil {
		if nm.CertPEM, nm.KeyPEM, err = issue(spec); err != nil {
			return fail(err)
		}
	}
	paths := netgen.PathsIn(c.Layout.Dir, []string{id}).Nodes[id]
	if err := os.MkdirAll(paths.Dir, 0o700); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(paths.TLS.Cert, nm.CertPEM, 0o644); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(paths.TLS.Key, nm.KeyPEM, 0o600); err != nil {
		return fail(err)
	}
	return &Member{ID: id, RaftAddr: spec.RaftAddr, APIAddr: spec.APIAddr, Paths: paths, Key: nm.Key}, rl, al, nil
}

func (c *Cluster) appendAndStart(m *Member, rl, al net.Listener) (int, error) {
	c.mu.Lock()
	c.Members = append(c.Members, m)
	idx := len(c.Members) - 1
	c.mu.Unlock()
	return idx, c.start(m, rl, al)
}

// RestoreNode makes a new node (a new id, node key and certificate from
// the network CA) the first member of a new cluster holding a backup's
// ledger (node.Restore, checked against trust), starts it with
// NoBootstrap and returns its index. Grow the new cluster with AddNode and
// the join path.
func (c *Cluster) RestoreNode(id string, from io.Reader, trust verify.Trust) (int, *backup.Report, error) {
	m, rl, al, err := c.newMember(id, nil)
	if err != nil {
		return -1, nil, err
	}
	m.NoBootstrap = true
	rep, err := node.Restore(node.RestoreConfig{Backup: from, DataDir: filepath.Join(m.Paths.Dir, "data"), Genesis: c.Genesis, Trust: trust,
		Self: state.Member{ID: id, RaftAddr: m.RaftAddr, APIAddr: m.APIAddr}, Logger: c.opts.Logger})
	if err != nil {
		rl.Close()
		al.Close()
		return -1, nil, err
	}
	idx, err := c.appendAndStart(m, rl, al)
	return idx, rep, err
}

// Trust names the genesis nodes' keys and every member's: what a verifier
// of a network that grew or was restored with new node identities trusts.
func (c *Cluster) Trust() verify.Trust {
	t := verify.TrustFromGenesis(c.Genesis)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.Members {
		t.Nodes[tx.KeyID(m.Key.Public().(ed25519.PublicKey))] = m.ID
	}
	return t
}

// Close stops every node.
func (c *Cluster) Close() {
	for i := range c.Members {
		_ = c.Stop(i)
	}
}
