package faults

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Proc is one node process with its own loopback address and proxies.
type Proc struct {
	Index    int
	ID       string
	IP       string
	RaftReal string // where the process listens
	APIReal  string
	Raft     *Proxy // what peers dial (the advertised address)
	API      *Proxy
	Paths    netgen.NodePaths
	DataDir  string
	Clock    string // fault clock offset file
	Log      string
	// Extra flags for this node's next starts (e.g. --no-bootstrap for a
	// genesis member that comes back empty and must wait to be added).
	Extra []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	paused bool
}

// Cluster is a set of node processes (the genesis voters plus spares that
// can be added as members).
type Cluster struct {
	Dir     string
	Bin     string
	Procs   []*Proc
	Voters  int // how many are in the genesis
	Genesis *chain.Genesis
	Admin   ed25519.PrivateKey
	Bundle  *netgen.Bundle
	Layout  netgen.Layout
	// Extra flags for every node (timeouts).
	Flags []string

	logMu sync.Mutex
	hlog  *os.File // harness.log: every action, timestamped, kept with node logs on failure

	// clients are reused per timeout and node order: a new client per
	// request (the harness makes many a second) left a keep-alive
	// connection, two goroutines and a file descriptor here and in a node
	// open for 90 s after each request.
	cmu     sync.Mutex
	clients map[string]*client.Client
}

// logf records a harness action in harness.log.
func (c *Cluster) logf(format string, args ...any) {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	if c.hlog != nil {
		fmt.Fprintf(c.hlog, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05.000")}, args...)...)
	}
}

// HarnessLog is the path of the harness's action log.
func (c *Cluster) HarnessLog() string { return filepath.Join(c.Dir, "harness.log") }

func freePort(ip string) (int, error) {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// NewCluster prepares voters genesis nodes and spares extra nodes (not
// started). Node i uses 127.0.0.(10+i).
func NewCluster(dir, bin string, voters, spares int, flags []string) (*Cluster, error) {
	c := &Cluster{Dir: dir, Bin: bin, Voters: voters, Flags: flags}
	hl, err := os.Create(c.HarnessLog())
	if err != nil {
		return nil, err
	}
	c.hlog = hl
	var specs []netgen.NodeSpec
	for i := 0; i < voters+spares; i++ {
		ip := fmt.Sprintf("127.0.0.%d", 10+i)
		p := &Proc{Index: i, ID: fmt.Sprintf("node-%d", i), IP: ip}
		ports := make([]int, 2)
		for k := range ports {
			port, err := freePort(ip)
			if err != nil {
				return nil, err
			}
			ports[k] = port
		}
		p.RaftReal = net.JoinHostPort(ip, strconv.Itoa(ports[0]))
		p.APIReal = net.JoinHostPort(ip, strconv.Itoa(ports[1]))
		var err error
		if p.Raft, err = NewProxy(ip+":0", p.RaftReal); err != nil {
			return nil, err
		}
		if p.API, err = NewProxy(ip+":0", p.APIReal); err != nil {
			return nil, err
		}
		c.Procs = append(c.Procs, p)
		specs = append(specs, netgen.NodeSpec{ID: p.ID, RaftAddr: p.Raft.Addr(), APIAddr: p.API.Addr(), Hosts: []string{ip}})
	}
	b, err := netgen.Generate(netgen.Options{Network: "faultnet", Nodes: specs[:voters]})
	if err != nil {
		return nil, err
	}
	l, err := b.Write(filepath.Join(dir, "network"))
	if err != nil {
		return nil, err
	}
	c.Bundle, c.Layout, c.Genesis, c.Admin = b, l, b.Genesis, b.AdminKey
	for i, p := range c.Procs {
		p.DataDir = filepath.Join(dir, "data", p.ID)
		p.Clock = filepath.Join(dir, p.ID+".clock")
		p.Log = filepath.Join(dir, p.ID+".log")
		if i < voters {
			p.Paths = l.Nodes[p.ID]
			continue
		}
		// Spares get a certificate and key from the same CA.
		nm, err := netgen.IssueNode(b.CA, specs[i], time.Now(), 24*time.Hour)
		if err != nil {
			return nil, err
		}
		p.Paths = netgen.PathsIn(l.Dir, []string{p.ID}).Nodes[p.ID]
		if err := os.MkdirAll(p.Paths.Dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p.Paths.TLS.Cert, nm.CertPEM, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p.Paths.TLS.Key, nm.KeyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := tx.WriteKeyFile(p.Paths.NodeKey, nm.Key, "spare node"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Start starts node i's process (its data directory is kept across starts).
func (c *Cluster) Start(i int) error {
	p := c.Procs[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.ID)
	}
	_ = os.WriteFile(p.Clock, []byte("0s"), 0o644)
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"run", "--id", p.ID, "--data-dir", p.DataDir, "--genesis", c.Layout.Genesis,
		"--node-key", p.Paths.NodeKey, "--tls-ca", p.Paths.TLS.CA, "--tls-cert", p.Paths.TLS.Cert, "--tls-key", p.Paths.TLS.Key,
		"--raft-bind", p.RaftReal, "--raft-advertise", p.Raft.Addr(), "--api-bind", p.APIReal, "--dial-source", p.IP,
		"--fault-clock-offset-file", p.Clock, "--log-level", "warn"}, c.Flags...)
	args = append(args, p.Extra...)
	cmd := exec.Command(c.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
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

// Running says whether node i's process is alive.
func (c *Cluster) Running(i int) bool {
	p := c.Procs[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// Kill sends SIGKILL and waits for the process to go.
func (c *Cluster) Kill(i int) { c.signalAndWait(i, syscall.SIGKILL) }

// Stop sends SIGTERM (graceful) and waits, killing after 15s.
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
	case <-time.After(15 * time.Second):
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

// Partition cuts every link between nodes of different sides (Raft and API,
// both directions). Nodes not named keep all their links.
func (c *Cluster) Partition(sides ...[]int) {
	c.logf("partition %v", sides)
	for a, sa := range sides {
		for b, sb := range sides {
			if a == b {
				continue
			}
			for _, i := range sa {
				for _, j := range sb {
					c.Procs[j].Raft.Block(c.Procs[i].IP)
					c.Procs[j].API.Block(c.Procs[i].IP)
				}
			}
		}
	}
}

// Heal removes every partition.
func (c *Cluster) Heal() {
	c.logf("heal")
	for _, p := range c.Procs {
		p.Raft.Heal()
		p.API.Heal()
	}
}

// JumpClock shifts node i's clock by d (block times, transaction time
// checks; a leader whose clock a quorum disagrees with hands over).
func (c *Cluster) JumpClock(i int, d time.Duration) error {
	c.logf("clock of %s: %s", c.Procs[i].ID, d)
	return os.WriteFile(c.Procs[i].Clock, []byte(d.String()), 0o644)
}

// Client returns a client for the given nodes (direct, not proxied: clients
// are never partitioned from the nodes they talk to).
func (c *Cluster) Client(timeout time.Duration, nodes ...int) *client.Client {
	key := fmt.Sprint(timeout, nodes)
	c.cmu.Lock()
	defer c.cmu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl
	}
	var eps []string
	for _, i := range nodes {
		eps = append(eps, "https://"+c.Procs[i].APIReal)
	}
	cl, err := client.New(client.Config{Endpoints: eps, CAFile: c.Layout.CACert, CertFile: c.Layout.ClientCert, CertKeyFile: c.Layout.ClientKey,
		Timeout: timeout, Retry: timeout})
	if err != nil {
		panic(err)
	}
	if c.clients == nil {
		c.clients = map[string]*client.Client{}
	}
	c.clients[key] = cl
	return cl
}

// Leader asks every running node and returns the index of the node they
// agree leads, or -1.
func (c *Cluster) Leader(ctx context.Context) int {
	votes := map[string]int{}
	for i := range c.Procs {
		if !c.Running(i) {
			continue
		}
		st, err := c.Client(time.Second, i).Status(ctx, true)
		if err == nil && st.Leader != "" {
			votes[st.Leader]++
		}
	}
	for id, n := range votes {
		if len(votes) == 1 && n > 0 {
			for i, p := range c.Procs {
				if p.ID == id {
					return i
				}
			}
		}
	}
	return -1
}

// WaitLeader waits for an agreed leader.
func (c *Cluster) WaitLeader(ctx context.Context) (int, error) {
	for {
		if l := c.Leader(ctx); l >= 0 {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return -1, errors.New("no agreed leader")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close kills every process and stops the proxies.
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
	for _, p := range c.Procs {
		p.Raft.Close()
		p.API.Close()
	}
	c.logMu.Lock()
	if c.hlog != nil {
		c.hlog.Close()
		c.hlog = nil
	}
	c.logMu.Unlock()
}
