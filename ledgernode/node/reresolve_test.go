package node_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// names is the test's name service: cluster DNS cannot run here, so each
// node's transport is fed this map through consensus.Config.Resolver,
// the transport's one seam. The test moves a name to a new address as
// Kubernetes does when it reschedules a StatefulSet pod.
type names struct {
	mu sync.Mutex
	m  map[string]string
}

func (n *names) LookupHost(_ context.Context, host string) ([]string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ip, ok := n.m[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []string{ip}, nil
}

func (n *names) set(host, ip string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.m[host] = ip
}

// oldAddress stands at a peer's address: first it forwards to the node,
// then, once the node's pod is "gone", it holds every connection open and
// answers nothing, as an address whose pod vanished does (no reset, no
// reply).
type oldAddress struct {
	ln     net.Listener
	target string
	gone   atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newOldAddress(t *testing.T, ln net.Listener, target string) *oldAddress {
	a := &oldAddress{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.handle(c)
		}
	}()
	t.Cleanup(a.close)
	return a
}

func (a *oldAddress) track(c net.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conns = append(a.conns, c)
}

func (a *oldAddress) handle(c net.Conn) {
	a.track(c)
	var up net.Conn
	if !a.gone.Load() {
		var err error
		if up, err = net.Dial("tcp", a.target); err == nil {
			a.track(up)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if err != nil || a.gone.Load() {
						return // the caller's side stays open, silent
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if up != nil && !a.gone.Load() {
			_, _ = up.Write(buf[:n])
		}
	}
}

func (a *oldAddress) close() {
	a.ln.Close()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.conns {
		c.Close()
	}
}

// movedPeer runs a three-node cluster whose Raft addresses are host
// names, moves n1 to a new address the way a rescheduled pod moves (its old
// address goes silent, the name points at the new one, the node restarts
// there on its data), writes through the leader, and returns the leader
// and the moved node.
func movedPeer(t *testing.T, resolveInterval time.Duration) (leader, moved *node.Node, target uint64) {
	t.Helper()
	ns := &names{m: map[string]string{}}
	listen := func(addr string) net.Listener {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	// n1's name first points at 127.0.0.2:P, where oldAddress forwards to
	// the node; the node comes back on 127.0.0.3:P.
	oldLn := listen("127.0.0.2:0")
	_, port, _ := net.SplitHostPort(oldLn.Addr().String())
	newLn := listen("127.0.0.3:" + port)
	raftLns := []net.Listener{listen("127.0.0.1:0"), listen("127.0.0.1:0"), listen("127.0.0.1:0")}
	apiLns := []net.Listener{listen("127.0.0.1:0"), listen("127.0.0.1:0"), listen("127.0.0.1:0")}
	var specs []netgen.NodeSpec
	for i := range 3 {
		id := fmt.Sprintf("n%d", i)
		host := id + ".peers.test"
		_, p, _ := net.SplitHostPort(raftLns[i].Addr().String())
		ns.set(host, "127.0.0.1")
		if i == 1 {
			p = port
			ns.set(host, "127.0.0.2")
		}
		specs = append(specs, netgen.NodeSpec{ID: id, RaftAddr: net.JoinHostPort(host, p), APIAddr: apiLns[i].Addr().String()})
	}
	old := newOldAddress(t, oldLn, raftLns[1].Addr().String())

	dir := t.TempDir()
	b, err := netgen.Generate(netgen.Options{Network: "testnet", Nodes: specs})
	if err != nil {
		t.Fatal(err)
	}
	layout, err := b.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	tune := func(cc *consensus.Config) {
		// A leader that stays put on a loaded machine: the test is about
		// the one leader's connections.
		cc.HeartbeatTimeout, cc.ElectionTimeout, cc.LeaderLeaseTimeout = 2*time.Second, 2*time.Second, time.Second
		cc.Resolver = ns
		cc.ResolveInterval = resolveInterval
		// Long enough that only re-resolving, never a timeout, can reach
		// the moved node while the test looks.
		cc.TransportTimeout = 5 * time.Minute
	}
	start := func(i int, raftLn, apiLn net.Listener) *node.Node {
		nc := testcluster.DefaultNodeConfig()
		nc.ID, nc.DataDir, nc.Genesis = specs[i].ID, filepath.Join(dir, specs[i].ID, "data"), b.Genesis
		nc.NodeKey, nc.TLS, nc.RaftAddr, nc.APIAddr = b.Nodes[i].Key, layout.Nodes[specs[i].ID].TLS, specs[i].RaftAddr, specs[i].APIAddr
		nc.RaftListener, nc.APIListener, nc.Tune = raftLn, apiLn, tune
		nd, err := testcluster.StartNode(nc)
		if err != nil {
			t.Fatal(err)
		}
		return nd
	}
	nodes := make([]*node.Node, 3)
	for i := range 3 {
		nodes[i] = start(i, raftLns[i], apiLns[i])
	}
	// Stopping a node waits for Raft's RPCs in flight: the old address
	// lets go of the leader's silent connections first.
	t.Cleanup(func() {
		old.close()
		for _, nd := range nodes {
			if nd != nil {
				_ = nd.Stop()
			}
		}
	})
	ctx := ctxT(t, 30*time.Second)
	for _, nd := range nodes {
		if err := nd.WaitLeader(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if nodes[1].Consensus().IsLeader() {
		if err := nodes[1].Consensus().TransferLeadership(ctx, "n0"); err != nil {
			t.Fatal(err)
		}
	}
	lead := func() *node.Node {
		for _, nd := range []*node.Node{nodes[0], nodes[2]} {
			if nd.Consensus().IsLeader() {
				return nd
			}
		}
		return nil
	}
	// submit writes through whichever of n0 and n2 leads, and returns the
	// leader's applied index after it.
	submit := func(note string) (*node.Node, uint64) {
		st, err := tx.BuildSigned("testnet", "note.put", notePayload(note, note), time.Now(), b.AdminKey)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if ld := lead(); ld != nil {
				if _, err := ld.Consensus().Submit(ctx, st); err == nil {
					return ld, ld.Consensus().AppliedIndex()
				} else if ctx.Err() != nil {
					t.Fatal(err)
				}
			}
			if ctx.Err() != nil {
				t.Fatal("no leader among n0 and n2")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// n1 has the first write: the leader has been talking to it through
	// its old address.
	_, first := submit("before-the-move")
	for nodes[1].Consensus().AppliedIndex() < first {
		if ctx.Err() != nil {
			t.Fatal("n1 did not apply the first write before the move")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The pod goes: its old address falls silent and its node stops; the
	// name moves, and the node starts again there on its data.
	old.gone.Store(true)
	if err := nodes[1].Stop(); err != nil {
		t.Fatal(err)
	}
	nodes[1] = nil
	ns.set("n1.peers.test", "127.0.0.3")
	nodes[1] = start(1, newLn, listen("127.0.0.1:0"))
	for i := range 5 {
		leader, target = submit(fmt.Sprintf("after-the-move-%d", i))
	}
	return leader, nodes[1], target
}

func TestAPeerRescheduledToANewAddressIsReachedAtOnce(t *testing.T) {
	_, moved, target := movedPeer(t, 100*time.Millisecond)
	ctx := ctxT(t, 30*time.Second)
	for moved.Consensus().AppliedIndex() < target {
		if ctx.Err() != nil {
			t.Fatalf("the moved node applied index %d of %d: the leader is still talking to its old address", moved.Consensus().AppliedIndex(), target)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The same move with re-resolving turned off: the leader keeps waiting on
// its connections to the silent old address. This shows the test above
// stages the stuck state it claims to cure.
func TestWithoutReResolvingTheLeaderWaitsOnTheOldAddress(t *testing.T) {
	leader, moved, target := movedPeer(t, -1)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if got := moved.Consensus().AppliedIndex(); got >= target {
			t.Fatalf("the moved node caught up (index %d of %d) without re-resolving: the old address was not silent", got, target)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !leader.Consensus().IsLeader() {
		t.Fatal("the leader lost leadership: the setup is not the one described")
	}
}
