package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// benchCluster is what the load needs from a cluster, run as processes
// (the default: each node has its own runtime, as in production) or in
// this process (--in-process).
type benchCluster interface {
	Network() string
	Size() int
	Client(nodes ...int) *client.Client
	Leader(ctx context.Context) (int, error)
	Height(ctx context.Context, i int) (uint64, error)
	Enrol(ctx context.Context, owner string) (ed25519.PrivateKey, error)
	AdminKey() ed25519.PrivateKey
	Pids() []int // node processes (none in process)
	Converge(ctx context.Context) error
	Close()
}

// ----- nodes as processes -----

type procCluster struct {
	dir     string
	bin     string
	network string
	bundle  *netgen.Bundle
	layout  netgen.Layout
	admin   ed25519.PrivateKey
	apis    []string
	ids     []string
	args    [][]string // each node's `ledgernode` arguments (to restart it)
	cmds    []*exec.Cmd
	done    []chan struct{}
}

// defaultNodeBinary is the ledgernode beside this binary (make build-ledger
// puts both in bin/).
func defaultNodeBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(self), "ledgernode")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s not found: build it beside ledgerbench (make build-ledger), or pass -in-process", bin)
	}
	return bin, nil
}

// startProcs starts n `ledgernode run` processes of binary bin on loopback.
func startProcs(ctx context.Context, dir, bin string, n, maxTx int, maxDelay time.Duration, profiles string) (*procCluster, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var specs []netgen.NodeSpec
	for i := 0; i < n; i++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, err
		}
		specs = append(specs, netgen.NodeSpec{ID: fmt.Sprintf("node-%d", i), RaftAddr: ports[0], APIAddr: ports[1]})
	}
	b, err := netgen.Generate(netgen.Options{Network: "benchnet", Nodes: specs})
	if err != nil {
		return nil, err
	}
	l, err := b.Write(filepath.Join(dir, "network"))
	if err != nil {
		return nil, err
	}
	c := &procCluster{dir: dir, bin: bin, network: b.Genesis.Network, bundle: b, layout: l, admin: b.AdminKey}
	for _, s := range specs {
		p := l.Nodes[s.ID]
		args := []string{"run", "--id", s.ID, "--data-dir", filepath.Join(dir, "data", s.ID), "--genesis", l.Genesis,
			"--node-key", p.NodeKey, "--tls-ca", p.TLS.CA, "--tls-cert", p.TLS.Cert, "--tls-key", p.TLS.Key,
			"--raft-bind", s.RaftAddr, "--api-bind", s.APIAddr, "--batch-max-tx", fmt.Sprint(maxTx), "--batch-max-delay", maxDelay.String(),
			"--log-level", "warn", "--raft-log-level", "error"}
		if profiles != "" {
			args = append(args, "--cpuprofile", filepath.Join(profiles, s.ID+".prof"))
		}
		c.ids, c.args, c.apis = append(c.ids, s.ID), append(c.args, args), append(c.apis, "https://"+s.APIAddr)
		c.cmds, c.done = append(c.cmds, nil), append(c.done, nil)
		if err := c.start(len(c.ids) - 1); err != nil {
			c.Close()
			return nil, err
		}
	}
	if _, err := c.Leader(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// start (re)starts node i with its arguments; its log is appended to.
func (c *procCluster) start(i int) error {
	logf, err := os.OpenFile(filepath.Join(c.dir, c.ids[i]+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, c.args[i]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	c.cmds[i], c.done[i] = cmd, done
	return nil
}

// stop ends node i gracefully (SIGTERM; killed after 30 s).
func (c *procCluster) stop(i int) {
	if c.cmds[i] == nil {
		return
	}
	_ = c.cmds[i].Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done[i]:
	case <-time.After(30 * time.Second):
		_ = c.cmds[i].Process.Kill()
		<-c.done[i]
	}
	c.cmds[i] = nil
}

// addProcess starts a node that is not in the genesis (it joins through
// the membership API); its index is returned.
func (c *procCluster) addProcess(id string) (int, error) {
	ports, err := freePorts(2)
	if err != nil {
		return -1, err
	}
	spec := netgen.NodeSpec{ID: id, RaftAddr: ports[0], APIAddr: ports[1]}
	m, err := netgen.IssueNode(c.bundle.CA, spec, time.Now(), 24*time.Hour)
	if err != nil {
		return -1, err
	}
	nd := filepath.Join(c.dir, "network", "nodes", id)
	if err := os.MkdirAll(nd, 0o700); err != nil {
		return -1, err
	}
	key, certPath, keyPath := filepath.Join(nd, "node.key"), filepath.Join(nd, "tls.crt"), filepath.Join(nd, "tls.key")
	if err := tx.WriteKeyFile(key, m.Key, "node "+id); err != nil {
		return -1, err
	}
	if err := os.WriteFile(certPath, m.CertPEM, 0o644); err != nil {
		return -1, err
	}
	if err := os.WriteFile(keyPath, m.KeyPEM, 0o600); err != nil {
		return -1, err
	}
	args := []string{"run", "--id", id, "--data-dir", filepath.Join(c.dir, "data", id), "--genesis", c.layout.Genesis,
		"--node-key", key, "--tls-ca", c.layout.CACert, "--tls-cert", certPath, "--tls-key", keyPath,
		"--raft-bind", spec.RaftAddr, "--api-bind", spec.APIAddr, "--log-level", "warn", "--raft-log-level", "error"}
	c.ids, c.args, c.apis = append(c.ids, id), append(c.args, args), append(c.apis, "https://"+spec.APIAddr)
	c.cmds, c.done = append(c.cmds, nil), append(c.done, nil)
	i := len(c.ids) - 1
	return i, c.start(i)
}

// raftAddr and apiAddr of node i, from its arguments.
func (c *procCluster) addrs(i int) (raft, api string) {
	for k := 0; k+1 < len(c.args[i]); k++ {
		switch c.args[i][k] {
		case "--raft-bind":
			raft = c.args[i][k+1]
		case "--api-bind":
			api = c.args[i][k+1]
		}
	}
	return raft, api
}

func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

func (c *procCluster) Network() string              { return c.network }
func (c *procCluster) AdminKey() ed25519.PrivateKey { return c.admin }

func (c *procCluster) Pids() []int {
	var out []int
	for _, cmd := range c.cmds {
		if cmd != nil {
			out = append(out, cmd.Process.Pid)
		}
	}
	return out
}
func (c *procCluster) Size() int { return len(c.apis) }

func (c *procCluster) Client(nodes ...int) *client.Client {
	if len(nodes) == 0 {
		for i := range c.apis {
			nodes = append(nodes, i)
		}
	}
	var eps []string
	for _, i := range nodes {
		eps = append(eps, c.apis[i])
	}
	cl, err := client.New(client.Config{Endpoints: eps, CAFile: c.layout.CACert, CertFile: c.layout.ClientCert, CertKeyFile: c.layout.ClientKey,
		Timeout: 30 * time.Second, Retry: 20 * time.Second})
	if err != nil {
		panic(err) // the endpoints are well-formed
	}
	return cl
}

// Leader waits until every node names the same leader.
func (c *procCluster) Leader(ctx context.Context) (int, error) {
	for {
		leader, agreed := "", true
		for i := range c.apis {
			st, err := c.Client(i).Status(ctx, true)
			if err != nil || st.Leader == "" || (leader != "" && st.Leader != leader) {
				agreed = false
				break
			}
			leader = st.Leader
		}
		if agreed {
			var idx int
			_, err := fmt.Sscanf(leader, "node-%d", &idx)
			return idx, err
		}
		select {
		case <-ctx.Done():
			return -1, errors.New("the nodes did not agree on a leader (see their logs in " + c.dir + ")")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *procCluster) Height(ctx context.Context, i int) (uint64, error) {
	st, err := c.Client(i).Status(ctx, true)
	if err != nil {
		return 0, err
	}
	return st.Height, nil
}

func (c *procCluster) Enrol(ctx context.Context, owner string) (ed25519.PrivateKey, error) {
	return testcluster.Enrol(ctx, c.Client(), c.network, c.admin, owner, "")
}

// Converge waits until every node reports the same height and digest.
func (c *procCluster) Converge(ctx context.Context) error {
	for {
		var first string
		same := true
		for i := range c.apis {
			d, err := c.Client(i).Digest(ctx)
			if err != nil {
				return err
			}
			v := fmt.Sprintf("%d/%s", d.Height, d.Digest)
			if i == 0 {
				first = v
			} else if v != first {
				same = false
			}
		}
		if same {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("nodes did not converge")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *procCluster) Close() {
	for i := range c.cmds {
		c.stop(i)
	}
}

// ----- nodes in this process -----

type inProcess struct{ *testcluster.Cluster }

func startInProcess(ctx context.Context, dir string, n, maxTx int, maxDelay time.Duration) (*inProcess, error) {
	c, err := testcluster.New(ctx, testcluster.Options{Nodes: n, Dir: dir, Tune: func(cc *consensus.Config) {
		testcluster.DefaultTune(cc)
		// Three nodes and every client share this machine's cores in one
		// runtime: under full load a heartbeat can wait in the scheduler's
		// queue for longer than the default 1 s timeouts, and an election
		// in the middle of a measurement measures the machine, not the
		// ledger.
		cc.HeartbeatTimeout, cc.ElectionTimeout, cc.LeaderLeaseTimeout = 3*time.Second, 3*time.Second, 1500*time.Millisecond
		cc.BatchMaxTx, cc.BatchMaxDelay = maxTx, maxDelay
	}})
	if err != nil {
		return nil, err
	}
	return &inProcess{c}, nil
}

func (c *inProcess) Network() string                         { return c.Genesis.Network }
func (c *inProcess) AdminKey() ed25519.PrivateKey            { return c.Admin }
func (c *inProcess) Pids() []int                             { return nil }
func (c *inProcess) Size() int                               { return len(c.Members) }
func (c *inProcess) Leader(ctx context.Context) (int, error) { return c.WaitLeader(ctx) }
func (c *inProcess) Height(_ context.Context, i int) (uint64, error) {
	return c.Node(i).Store().Meta().Height, nil
}
func (c *inProcess) Converge(ctx context.Context) error { _, err := c.WaitConverged(ctx); return err }
