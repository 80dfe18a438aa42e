package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/proccluster"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
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

// procCluster is a proccluster of 3 nodes with the benchmark's batching.
type procCluster struct{ *proccluster.Cluster }

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

// startProcs starts n `ledgernode run` processes of binary bin on loopback
// and waits until they agree on a leader. With profiles, each node writes
// its CPU profile there when it stops.
func startProcs(ctx context.Context, dir, bin string, n, maxTx int, maxDelay time.Duration, profiles string) (*procCluster, error) {
	c, err := proccluster.New(proccluster.Options{Dir: dir, Bin: bin, Network: "benchnet", Voters: n,
		Flags:       []string{"--batch-max-tx", fmt.Sprint(maxTx), "--batch-max-delay", maxDelay.String(), "--raft-log-level", "error"},
		StopTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	if profiles != "" {
		for _, p := range c.Procs {
			p.Extra = []string{"--cpuprofile", filepath.Join(profiles, p.ID+".prof")}
		}
	}
	if _, err := c.StartVoters(ctx); err != nil {
		return nil, err
	}
	return &procCluster{c}, nil
}

func (c *procCluster) Network() string              { return c.Genesis.Network }
func (c *procCluster) AdminKey() ed25519.PrivateKey { return c.Admin }
func (c *procCluster) Size() int                    { return len(c.Procs) }

// Client is a new client (its own connections) of the given nodes, or of
// every node.
func (c *procCluster) Client(nodes ...int) *client.Client {
	if len(nodes) == 0 {
		for i := range c.Procs {
			nodes = append(nodes, i)
		}
	}
	return c.NewClient(30*time.Second, 20*time.Second, nodes...)
}

// Leader waits until every node names the same leader.
func (c *procCluster) Leader(ctx context.Context) (int, error) { return c.WaitAgreedLeader(ctx) }

func (c *procCluster) Height(ctx context.Context, i int) (uint64, error) {
	st, err := c.Client(i).Status(ctx, true)
	if err != nil {
		return 0, err
	}
	return st.Height, nil
}

func (c *procCluster) Enrol(ctx context.Context, owner string) (ed25519.PrivateKey, error) {
	return testcluster.Enrol(ctx, c.Client(), c.Network(), c.Admin, owner, "")
}

// Converge waits (up to 5 minutes) until every node reports the same
// height, block hash, state hash and digest.
func (c *procCluster) Converge(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var all []int
	for i := range c.Procs {
		all = append(all, i)
	}
	_, err := c.Cluster.Converge(ctx, all)
	return err
}

// Close stops every node gracefully (so that profiles are written).
func (c *procCluster) Close() {
	for i := range c.Procs {
		c.Stop(i)
	}
	c.Cluster.Close()
}

// ----- nodes in this process -----

type inProcess struct{ *testcluster.Cluster }

func startInProcess(ctx context.Context, dir string, n, maxTx int, maxDelay time.Duration) (*inProcess, error) {
	o := testcluster.DefaultConfig()
	o.Nodes, o.Dir = n, dir
	o.Tune = func(cc *consensus.Config) {
		// After testcluster.DefaultTune. Three nodes and every client share this machine's cores in one
		// runtime: under full load a heartbeat can wait in the scheduler's
		// queue for longer than the default 1 s timeouts, and an election
		// in the middle of a measurement measures the machine, not the
		// ledger.
		cc.HeartbeatTimeout, cc.ElectionTimeout, cc.LeaderLeaseTimeout = 3*time.Second, 3*time.Second, 1500*time.Millisecond
		cc.BatchMaxTx, cc.BatchMaxDelay = maxTx, maxDelay
	}
	c, err := testcluster.New(ctx, o)
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
