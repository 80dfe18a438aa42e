// Package proccluster runs a ledger network as real `ledgernode run`
// processes on loopback, the way an operator runs it: each node has its own
// runtime, its own data directory and log, and is reached only through its
// flags and its HTTP API. It generates the network (genesis, CA, node keys
// and TLS material with netgen), picks free ports, starts, stops, kills,
// pauses and restarts each node process, waits for an agreed leader and for
// the nodes to converge, and hands out clients.
//
// Two callers share it, each asking for what it needs as an option rather
// than a copy:
//   - the fault suite (test/faults) puts each node on its own 127.0.0.x
//     address (Options.OwnAddresses) behind a fault-injecting proxy that it
//     supplies (Options.Front), gives each node a settable clock
//     (Options.FaultClock, JumpClock), runs nodes in their own process group
//     and prepares spares that it adds as members later;
//   - ledgerbench (cmd/ledgerbench) adds batching and profiling flags
//     (Options.Flags, Proc.Extra), stops nodes gracefully so that their
//     profiles are written, restarts one to time it to /readyz, and joins a
//     node at run time (AddSpare, DropLast).
//
// testcluster is the other harness and stays separate: it runs whole nodes
// inside the test's process through node.Config, so that tests can look at
// a node's store and Raft directly and run under the race detector. A
// process cluster is what that cannot give: a node killed with SIGKILL or
// frozen with SIGSTOP, its links cut at the TCP level, its binary's flags and
// start-up checks, and a runtime per node as in production.
//
// Layout under Options.Dir: network/ (netgen's files), data/<id>/ (each
// node's data directory), <id>.log (each node's output, appended across
// restarts), <id>.clock (FaultClock) and harness.log (every action of the
// harness, timestamped).
package proccluster

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Options describe a process cluster.
type Options struct {
	Dir     string // everything the cluster writes (see the package doc)
	Bin     string // the ledgernode binary
	Network string // the network's name (default "procnet")
	Voters  int    // nodes in the genesis
	Spares  int    // nodes prepared (keys, certificates) but not in the genesis and not started
	// Flags are added to every node's `ledgernode run` arguments (timeouts,
	// batching, log levels).
	Flags []string
	// OwnAddresses puts node i on 127.0.0.(10+i) and makes it dial its
	// peers from there (--dial-source), so that a proxy can tell the nodes
	// apart by source address. Otherwise every node is on 127.0.0.1.
	OwnAddresses bool
	// Front, if set, is called once per node with its bind addresses set
	// and returns the Raft and API addresses its peers dial instead (a
	// proxy in front of it). The node advertises them (--raft-advertise)
	// and the genesis lists them.
	Front func(p *Proc) (raftAddr, apiAddr string, err error)
	// FaultClock gives each node a clock offset file
	// (--fault-clock-offset-file), reset to 0 at every start; JumpClock
	// writes it.
	FaultClock bool
	// Setpgid starts each node in its own process group: a signal to the
	// harness's group (a terminal's Ctrl-C) does not reach the nodes.
	Setpgid bool
	// StopTimeout is how long Stop waits after SIGTERM before it kills
	// (default 15 s).
	StopTimeout time.Duration
}

// Proc is one node process.
type Proc struct {
	Index    int
	ID       string
	IP       string // its loopback address
	RaftBind string // where the process listens
	APIBind  string
	RaftAddr string // what its peers dial (RaftBind, or Options.Front's)
	APIAddr  string
	Paths    netgen.NodePaths
	DataDir  string
	Clock    string // its clock offset file (Options.FaultClock)
	Log      string
	// Extra flags for this node's next starts (e.g. --no-bootstrap for a
	// genesis member that comes back empty and must wait to be added, or
	// a profile to write).
	Extra []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

// Cluster is a set of node processes: the genesis voters first, then the
// spares, which can be started and added as members.
type Cluster struct {
	Dir     string
	Bin     string
	Procs   []*Proc
	Voters  int // how many are in the genesis
	Genesis *chain.Genesis
	Admin   ed25519.PrivateKey
	Bundle  *netgen.Bundle
	Layout  netgen.Layout
	Flags   []string // every node's extra flags

	opts Options

	logMu sync.Mutex
	hlog  *os.File // harness.log

	// clients are reused per timeout and node order: a new client per
	// request (the fault suite makes many a second) left a keep-alive
	// connection, two goroutines and a file descriptor here and in a node
	// open for 90 s after each request.
	cmu     sync.Mutex
	clients map[string]*client.Client
}

// New prepares the cluster's network and its nodes' files; no node is
// started (Start, or StartVoters).
func New(o Options) (*Cluster, error) {
	if o.Network == "" {
		o.Network = "procnet"
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 15 * time.Second
	}
	if o.Voters < 1 {
		return nil, fmt.Errorf("proccluster: Voters is %d: a network needs at least one genesis voter", o.Voters)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: o.Dir, Bin: o.Bin, Voters: o.Voters, Flags: o.Flags, opts: o}
	hl, err := os.Create(c.HarnessLog())
	if err != nil {
		return nil, err
	}
	c.hlog = hl
	var specs []netgen.NodeSpec
	var held []func()
	for i := 0; i < o.Voters+o.Spares; i++ {
		p, spec, release, err := c.newProc(fmt.Sprintf("node-%d", i))
		if err != nil {
			releaseAll(held)
			c.Close()
			return nil, err
		}
		held = append(held, release)
		c.Procs = append(c.Procs, p)
		specs = append(specs, spec)
	}
	releaseAll(held)
	b, err := netgen.Generate(netgen.Options{Network: o.Network, Nodes: specs[:o.Voters]})
	if err != nil {
		c.Close()
		return nil, err
	}
	l, err := b.Write(filepath.Join(o.Dir, "network"))
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Bundle, c.Layout, c.Genesis, c.Admin = b, l, b.Genesis, b.AdminKey
	for i, p := range c.Procs {
		if i < o.Voters {
			p.Paths = l.Nodes[p.ID]
			continue
		}
		if err := c.issue(p, specs[i]); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// newProc is the next node: its address, free ports, its front and its
// files' paths (its keys and certificate come from the genesis or issue).
// Its ports stay held (so that neither a Front's listener nor the next
// node is given them) until release is called.
func (c *Cluster) newProc(id string) (_ *Proc, _ netgen.NodeSpec, release func(), err error) {
	i := len(c.Procs)
	ip := "127.0.0.1"
	if c.opts.OwnAddresses {
		ip = fmt.Sprintf("127.0.0.%d", 10+i)
	}
	ports, release, err := reservePorts(ip, 2)
	if err != nil {
		return nil, netgen.NodeSpec{}, nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	p := &Proc{Index: i, ID: id, IP: ip, RaftBind: ports[0], APIBind: ports[1], RaftAddr: ports[0], APIAddr: ports[1],
		DataDir: filepath.Join(c.Dir, "data", id), Log: filepath.Join(c.Dir, id+".log")}
	if c.opts.FaultClock {
		p.Clock = filepath.Join(c.Dir, id+".clock")
	}
	if c.opts.Front != nil {
		if p.RaftAddr, p.APIAddr, err = c.opts.Front(p); err != nil {
			return nil, netgen.NodeSpec{}, nil, err
		}
	}
	spec := netgen.NodeSpec{ID: id, RaftAddr: p.RaftAddr, APIAddr: p.APIAddr}
	if c.opts.OwnAddresses {
		spec.Hosts = []string{ip}
	}
	return p, spec, release, nil
}

func releaseAll(fs []func()) {
	for _, f := range fs {
		f()
	}
}

// issue gives a node that is not in the genesis a node key and a TLS
// certificate from the network's CA, in the network directory.
func (c *Cluster) issue(p *Proc, spec netgen.NodeSpec) error {
	m, err := netgen.IssueNode(c.Bundle.CA, spec, time.Now(), 24*time.Hour)
	if err != nil {
		return err
	}
	p.Paths = netgen.PathsIn(c.Layout.Dir, []string{p.ID}).Nodes[p.ID]
	if err := os.MkdirAll(p.Paths.Dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(p.Paths.TLS.Cert, m.CertPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(p.Paths.TLS.Key, m.KeyPEM, 0o600); err != nil {
		return err
	}
	return tx.WriteKeyFile(p.Paths.NodeKey, m.Key, "node "+p.ID+" (not in the genesis)")
}

// AddSpare prepares one more node that is not in the genesis (not
// started; add it as a member through the admin API) and returns its
// index.
func (c *Cluster) AddSpare(id string) (int, error) {
	p, spec, release, err := c.newProc(id)
	if err != nil {
		return -1, err
	}
	release()
	if err := c.issue(p, spec); err != nil {
		return -1, err
	}
	c.Procs = append(c.Procs, p)
	c.logf("spare %s prepared", id)
	return p.Index, nil
}

// DropLast stops the last node (SIGTERM) and forgets it: the node AddSpare
// prepared, once it has been removed from the membership.
func (c *Cluster) DropLast() {
	i := len(c.Procs) - 1
	c.Stop(i)
	c.Procs = c.Procs[:i]
}

// FreePorts returns n distinct free ports on ip, as host:port (all held
// open until the last is found, so that none is returned twice). Another
// process may take one before the caller binds it.
func FreePorts(ip string, n int) ([]string, error) {
	out, release, err := reservePorts(ip, n)
	if err != nil {
		return nil, err
	}
	release()
	return out, nil
}

// reservePorts is FreePorts with the ports held until release.
func reservePorts(ip string, n int) ([]string, func(), error) {
	var out []string
	var lns []net.Listener
	release := func() {
		for _, l := range lns {
			l.Close()
		}
	}
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			release()
			return nil, nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, release, nil
}

// logf records a harness action in harness.log.
func (c *Cluster) logf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if c.hlog != nil {
		fmt.Fprintf(c.hlog, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05.000")}, args...)...)
	}
}

// Logf records an action of the caller's in harness.log, among the
// harness's own.
func (c *Cluster) Logf(format string, args ...any) { c.logf(format, args...) }

// HarnessLog is the path of the harness's action log.
func (c *Cluster) HarnessLog() string { return filepath.Join(c.Dir, "harness.log") }

// args are node i's `ledgernode run` arguments.
func (c *Cluster) args(p *Proc) []string {
	args := []string{"run", "--id", p.ID, "--data-dir", p.DataDir, "--genesis", c.Layout.Genesis,
		"--node-key", p.Paths.NodeKey, "--tls-ca", p.Paths.TLS.CA, "--tls-cert", p.Paths.TLS.Cert, "--tls-key", p.Paths.TLS.Key,
		"--raft-bind", p.RaftBind}
	if p.RaftAddr != p.RaftBind {
		args = append(args, "--raft-advertise", p.RaftAddr)
	}
	args = append(args, "--api-bind", p.APIBind)
	if c.opts.OwnAddresses {
		args = append(args, "--dial-source", p.IP)
	}
	if p.Clock != "" {
		args = append(args, "--fault-clock-offset-file", p.Clock)
	}
	args = append(args, "--log-level", "warn")
	args = append(args, c.Flags...)
	return append(args, p.Extra...)
}

// Start starts node i's process (its data directory is kept across
// starts; its log is appended to).
func (c *Cluster) Start(i int) error {
	p := c.Procs[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.ID)
	}
	if p.Clock != "" {
		_ = os.WriteFile(p.Clock, []byte("0s"), 0o644)
	}
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.Bin, c.args(p)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if c.opts.Setpgid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	p.cmd, p.exited, p.paused = cmd, make(chan struct{}), false
	c.logf("start %s (pid %d)", p.ID, cmd.Process.Pid)
	go func(cmd *exec.Cmd, done chan struct{}) {
		err := cmd.Wait()
		c.logf("%s (pid %d) exited: %v", p.ID, cmd.Process.Pid, err)
		logf.Close()
		close(done)
	}(cmd, p.exited)
	return nil
}

// StartVoters starts the genesis voters and waits until every one of
// them answers and they name the same leader, whose index it returns. On
// failure the started processes are killed.
func (c *Cluster) StartVoters(ctx context.Context) (int, error) {
	for i := 0; i < c.Voters; i++ {
		if err := c.Start(i); err != nil {
			c.Close()
			return -1, err
		}
	}
	l, err := c.WaitAgreedLeader(ctx)
	if err != nil {
		c.Close()
		return -1, err
	}
	return l, nil
}

// Running says whether node i's process is alive.
func (c *Cluster) Running(i int) bool {
	p := c.Procs[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Exited is closed when node i's current process has exited (nil if it
// was never started).
func (c *Cluster) Exited(i int) <-chan struct{} {
	p := c.Procs[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// Pid is node i's process id (0 when it is not running).
func (c *Cluster) Pid(i int) int {
	p := c.Procs[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Pids are the running nodes' process ids.
func (c *Cluster) Pids() []int {
	var out []int
	for i := range c.Procs {
		if pid := c.Pid(i); pid != 0 {
			out = append(out, pid)
		}
	}
	return out
}

// Kill sends SIGKILL and waits for the process to go.
func (c *Cluster) Kill(i int) { c.signalAndWait(i, syscall.SIGKILL) }

// Stop sends SIGTERM (graceful) and waits, killing after
// Options.StopTimeout.
func (c *Cluster) Stop(i int) { c.signalAndWait(i, syscall.SIGTERM) }

func (c *Cluster) signalAndWait(i int, sig syscall.Signal) {
	p := c.Procs[i]
	p.mu.Lock()
	cmd, exited, paused := p.cmd, p.exited, p.paused
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	c.logf("%s %s (pid %d)", sig, p.ID, cmd.Process.Pid)
	if paused {
		_ = cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(c.opts.StopTimeout):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Pause freezes node i (SIGSTOP); Resume thaws it.
func (c *Cluster) Pause(i int) { c.setPaused(i, true) }

// Resume sends SIGCONT.
func (c *Cluster) Resume(i int) { c.setPaused(i, false) }

func (c *Cluster) setPaused(i int, paused bool) {
	p := c.Procs[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.paused == paused {
		return
	}
	sig := syscall.SIGCONT
	if paused {
		sig = syscall.SIGSTOP
	}
	_ = p.cmd.Process.Signal(sig)
	p.paused = paused
	c.logf("%s %s", sig, p.ID)
}

// JumpClock shifts node i's clock by d (block times, transaction time
// checks; a leader whose clock a quorum disagrees with hands over). It
// needs Options.FaultClock.
func (c *Cluster) JumpClock(i int, d time.Duration) error {
	p := c.Procs[i]
	if p.Clock == "" {
		return fmt.Errorf("JumpClock %s: the cluster has no fault clock (set Options.FaultClock)", p.ID)
	}
	c.logf("clock of %s: %s", p.ID, d)
	return os.WriteFile(p.Clock, []byte(d.String()), 0o644)
}

// ClientConfig is a client of the given nodes (direct, never through a
// Front: clients are not partitioned from the nodes they talk to), with
// the admin's client certificate.
func (c *Cluster) ClientConfig(timeout, retry time.Duration, nodes ...int) client.Config {
	var eps []string
	for _, i := range nodes {
		eps = append(eps, "https://"+c.Procs[i].APIBind)
	}
	return client.Config{Endpoints: eps, CAFile: c.Layout.CACert, CertFile: c.Layout.ClientCert, CertKeyFile: c.Layout.ClientKey,
		Timeout: timeout, Retry: retry}
}

// NewClient is a new client of the given nodes (its own connections).
func (c *Cluster) NewClient(timeout, retry time.Duration, nodes ...int) *client.Client {
	cl, err := client.New(c.ClientConfig(timeout, retry, nodes...))
	if err != nil {
		panic(err) // the endpoints are well-formed
	}
	return cl
}

// Client is a client of the given nodes that retries for as long as its
// timeout, shared with every caller that asks for the same timeout and
// nodes.
func (c *Cluster) Client(timeout time.Duration, nodes ...int) *client.Client {
	key := fmt.Sprint(timeout, nodes)
	c.cmu.Lock()
	defer c.cmu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl
	}
	cl := c.NewClient(timeout, timeout, nodes...)
	if c.clients == nil {
		c.clients = map[string]*client.Client{}
	}
	c.clients[key] = cl
	return cl
}

// Leader asks every running node and returns the index of the node they
// agree leads, or -1. A node that does not answer within a second (a
// paused one) is passed over.
func (c *Cluster) Leader(ctx context.Context) int { return c.leader(ctx, false) }

// leader: with all, every running node must answer and name the leader.
func (c *Cluster) leader(ctx context.Context, all bool) int {
	votes := map[string]int{}
	for i := range c.Procs {
		if !c.Running(i) {
			continue
		}
		st, err := c.Client(time.Second, i).Status(ctx, true)
		if err == nil && st.Leader != "" {
			votes[st.Leader]++
		} else if all {
			return -1
		}
	}
	if len(votes) != 1 {
		return -1
	}
	for i, p := range c.Procs {
		if votes[p.ID] > 0 {
			return i
		}
	}
	return -1
}

// WaitLeader waits for a leader the running nodes that answer agree on.
func (c *Cluster) WaitLeader(ctx context.Context) (int, error) { return c.waitLeader(ctx, false) }

// WaitAgreedLeader waits until every running node answers and they all
// name the same leader.
func (c *Cluster) WaitAgreedLeader(ctx context.Context) (int, error) { return c.waitLeader(ctx, true) }

func (c *Cluster) waitLeader(ctx context.Context, all bool) (int, error) {
	for {
		if l := c.leader(ctx, all); l >= 0 {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("no agreed leader (node logs and harness.log in %s)", c.Dir)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close kills every process (Stop them first for a graceful end).
func (c *Cluster) Close() {
	c.cmu.Lock()
	for _, cl := range c.clients {
		cl.CloseIdleConnections()
	}
	c.clients = nil
	c.cmu.Unlock()
	for i := range c.Procs {
		c.Kill(i)
	}
	c.logMu.Lock()
	if c.hlog != nil {
		c.hlog.Close()
		c.hlog = nil
	}
	c.logMu.Unlock()
}

// View is what one node reports of its ledger.
type View struct {
	Height    uint64
	BlockHash string
	Digest    string
	StateHash string
}

func (c *Cluster) view(ctx context.Context, i int) (View, error) {
	cl := c.Client(10*time.Second, i)
	d, err := cl.Digest(ctx)
	if err != nil {
		return View{}, err
	}
	st, err := cl.Status(ctx, true)
	if err != nil {
		return View{}, err
	}
	if st.Height != d.Height {
		return View{}, errors.New("moved while reading")
	}
	return View{Height: d.Height, BlockHash: st.BlockHash, Digest: d.Digest, StateHash: d.StateHash}, nil
}

// ErrDivergent is reported when two nodes at the same height disagree.
var ErrDivergent = errors.New("divergent")

// Converge waits until every listed node reports the same height, block
// hash, state hash and digest. Nodes at the same height that differ are
// divergent: that is a failure (ErrDivergent), not something to wait out.
func (c *Cluster) Converge(ctx context.Context, nodes []int) (View, error) {
	if len(nodes) == 0 {
		return View{}, errors.New("proccluster: Converge was given no nodes to compare")
	}
	var last []View
	var lastErr error
	for {
		views := make([]View, 0, len(nodes))
		ok := true
		for _, i := range nodes {
			v, err := c.view(ctx, i)
			if err != nil {
				ok = false
				lastErr = fmt.Errorf("%s: %w", c.Procs[i].ID, err)
				break
			}
			views = append(views, v)
		}
		if ok {
			same := true
			for _, v := range views[1:] {
				if v.Height == views[0].Height && v != views[0] {
					return v, fmt.Errorf("%w: at height %d nodes report %+v", ErrDivergent, v.Height, views)
				}
				if v.Height != views[0].Height {
					same = false
				}
			}
			if same {
				return views[0], nil
			}
			last = views
		}
		select {
		case <-ctx.Done():
			return View{}, fmt.Errorf("no convergence: last views %+v, last error %v", last, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
