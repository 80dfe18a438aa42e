package proccluster

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// New prepares the network and every node's files without starting a
// process; spares get a key and a certificate but no place in the genesis.
func TestNewPreparesVotersAndSparesWithoutStartingThem(t *testing.T) {
	dir := t.TempDir()
	c, err := New(Options{Dir: dir, Bin: "/nonexistent/ledgernode", Network: "unitnet", Voters: 2, Spares: 1,
		OwnAddresses: true, FaultClock: true, Flags: []string{"--snapshot-threshold", "200"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Procs) != 3 || c.Voters != 2 || c.Genesis.Network != "unitnet" || len(c.Genesis.Nodes) != 2 {
		t.Fatalf("procs %d voters %d network %q genesis nodes %d; want 3, 2, unitnet, 2", len(c.Procs), c.Voters, c.Genesis.Network, len(c.Genesis.Nodes))
	}
	for i, p := range c.Procs {
		if want := fmt.Sprintf("127.0.0.%d", 10+i); p.IP != want {
			t.Fatalf("%s on %s, want %s", p.ID, p.IP, want)
		}
		for _, f := range []string{p.Paths.NodeKey, p.Paths.TLS.Cert, p.Paths.TLS.Key} {
			if _, err := os.Stat(f); err != nil {
				t.Fatalf("%s: %v", p.ID, err)
			}
		}
		if c.Running(i) || c.Pid(i) != 0 {
			t.Fatalf("%s started by New", p.ID)
		}
		args := strings.Join(c.args(p), " ")
		for _, want := range []string{"--dial-source " + p.IP, "--fault-clock-offset-file " + p.Clock, "--snapshot-threshold 200", "--raft-bind " + p.RaftBind} {
			if !strings.Contains(args, want) {
				t.Fatalf("%s runs with %q, missing %q", p.ID, args, want)
			}
		}
		if strings.Contains(args, "--raft-advertise") {
			t.Fatalf("%s advertises another address without a Front: %q", p.ID, args)
		}
	}
	for _, n := range c.Genesis.Nodes {
		if n.ID == "node-2" {
			t.Fatal("the spare node-2 is in the genesis")
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "harness.log")); err != nil {
		t.Fatal(err)
	}
	if err := c.JumpClock(0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(c.Procs[0].Clock); string(b) != "1m0s" {
		t.Fatalf("clock file holds %q after a jump of a minute", b)
	}
}

// A Front's addresses are what the genesis lists and the node advertises;
// it still binds its own.
func TestFrontAddressesAreAdvertised(t *testing.T) {
	c, err := New(Options{Dir: t.TempDir(), Voters: 1, Front: func(p *Proc) (string, string, error) {
		return "127.0.0.1:1" + p.ID[len(p.ID)-1:], "127.0.0.1:2" + p.ID[len(p.ID)-1:], nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.Procs[0]
	if g := c.Genesis.Nodes[0]; g.RaftAddr != "127.0.0.1:10" || g.APIAddr != "127.0.0.1:20" {
		t.Fatalf("genesis lists %s %s, want the front's 127.0.0.1:10 127.0.0.1:20", g.RaftAddr, g.APIAddr)
	}
	args := strings.Join(c.args(p), " ")
	if !strings.Contains(args, "--raft-advertise 127.0.0.1:10") || !strings.Contains(args, "--raft-bind "+p.RaftBind) || p.RaftBind == p.RaftAddr {
		t.Fatalf("args %q: want to bind %s and advertise the front", args, p.RaftBind)
	}
}

func TestRefusals(t *testing.T) {
	if _, err := New(Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "Voters") {
		t.Fatalf("no voters: %v, want a refusal naming Voters", err)
	}
	c, err := New(Options{Dir: t.TempDir(), Voters: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.JumpClock(0, time.Second); err == nil || !strings.Contains(err.Error(), "FaultClock") {
		t.Fatalf("JumpClock without a fault clock: %v, want a refusal naming Options.FaultClock", err)
	}
	if _, err := c.Converge(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Fatalf("Converge of no nodes: %v", err)
	}
}

// A node's ports are still held while its Front runs, so that a proxy
// listening on a free port of the same address is never given one of them
// (a node that then cannot bind its API port: seen once in the fault
// suite).
func TestPortsAreHeldWhileTheFrontListens(t *testing.T) {
	fronted := 0
	c, err := New(Options{Dir: t.TempDir(), Voters: 2, OwnAddresses: true, Front: func(p *Proc) (string, string, error) {
		for _, a := range []string{p.RaftBind, p.APIBind} {
			if l, err := net.Listen("tcp", a); err == nil {
				l.Close()
				return "", "", fmt.Errorf("%s: port %s was free while the front ran", p.ID, a)
			}
		}
		fronted++
		return p.RaftBind, p.APIBind, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if fronted != 2 {
		t.Fatalf("front ran %d times, want once per node (2)", fronted)
	}
	for _, p := range c.Procs { // released once New returns, for the node to bind
		l, err := net.Listen("tcp", p.APIBind)
		if err != nil {
			t.Fatalf("%s: %v after New returned", p.ID, err)
		}
		l.Close()
	}
}
