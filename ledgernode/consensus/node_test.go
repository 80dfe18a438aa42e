package consensus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// testNet is a generated network whose nodes run in this process: real
// Raft over mutual TLS on loopback, real bbolt files. (The shared harness,
// testcluster, runs whole ledger nodes and imports this package, so these
// in-package tests build consensus nodes by hand.)
type testNet struct {
	t       *testing.T
	dir     string
	bundle  *netgen.Bundle
	layout  netgen.Layout
	specs   []netgen.NodeSpec
	lns     map[string]net.Listener // bound before the network is generated
	members []state.Member          // the genesis voters that bootstrap
	stopped map[*Replica]bool
}

// newTestNet generates a network of n node identities; the first boot of
// them are the initial voters, the others can be added later.
func newTestNet(t *testing.T, n, boot int) *testNet {
	t.Helper()
	tn := &testNet{t: t, dir: t.TempDir(), lns: map[string]net.Listener{}}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("n%d", i)
		tn.lns[id] = ln
		tn.specs = append(tn.specs, netgen.NodeSpec{ID: id, RaftAddr: ln.Addr().String(), APIAddr: fmt.Sprintf("127.0.0.1:%d", 20000+i)})
	}
	b, err := netgen.Generate(netgen.Options{Network: "testnet", Nodes: tn.specs})
	if err != nil {
		t.Fatal(err)
	}
	if tn.layout, err = b.Write(tn.dir); err != nil {
		t.Fatal(err)
	}
	tn.bundle = b
	for _, s := range tn.specs[:boot] {
		tn.members = append(tn.members, state.Member{ID: s.ID, RaftAddr: s.RaftAddr, APIAddr: s.APIAddr})
	}
	return tn
}

func (tn *testNet) spec(id string) netgen.NodeSpec {
	for _, s := range tn.specs {
		if s.ID == id {
			return s
		}
	}
	tn.t.Fatalf("no node %s", id)
	return netgen.NodeSpec{}
}

// config is node id's consensus config: DefaultConfig with quick loopback
// timeouts and its own state file (opened here, closed at cleanup).
func (tn *testNet) config(id string) Config {
	t := tn.t
	t.Helper()
	s := tn.spec(id)
	dataDir := filepath.Join(tn.dir, "data", id)
	st := statetest.Open(t, filepath.Join(dataDir, "state.db"), tn.bundle.Genesis, nil)
	tlsr, err := pki.NewReloader(tn.layout.Nodes[id].TLS)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.TLS, cfg.Store = id, dataDir, tlsr, st
	cfg.RaftBind, cfg.RaftAdvertise = s.RaftAddr, s.RaftAddr
	if ln := tn.lns[id]; ln != nil {
		cfg.RaftListener = ln
		delete(tn.lns, id) // a restart binds the address again
	}
	cfg.Bootstrap = tn.members
	// Raft timing stays DefaultConfig's (1 s, 500 ms lease): shorter ones
	// elect for nothing under the race detector on a loaded machine, and
	// these tests need their leader to stay put between steps
	// (testcluster.DefaultTune says what was measured).
	cfg.RaftLogLevel = "off"
	cfg.NoSync = true
	return cfg
}

// start starts node id from cfg and shuts it down at cleanup.
func (tn *testNet) start(cfg Config) *Replica {
	tn.t.Helper()
	n, err := New(cfg)
	if err != nil {
		tn.t.Fatalf("start %s: %v", cfg.ID, err)
	}
	tn.t.Cleanup(func() { tn.stop(n) })
	return n
}

// stop shuts n down once and closes its state file (Shutdown may be
// called once only; the tests stop some nodes themselves).
func (tn *testNet) stop(n *Replica) {
	if tn.stopped == nil {
		tn.stopped = map[*Replica]bool{}
	}
	if tn.stopped[n] {
		return
	}
	tn.stopped[n] = true
	if err := n.Shutdown(); err != nil && !errors.Is(err, raft.ErrRaftShutdown) {
		tn.t.Errorf("shutdown %s: %v", n.cfg.ID, err)
	}
	n.cfg.Store.Close()
}

// waitFor polls cond until it holds or 30 s pass (the machine is shared
// and loaded: this bounds a hang, it asserts no speed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// note signs a note.put with the network admin key.
func (tn *testNet) note(key, value string) *tx.Signed {
	tn.t.Helper()
	st, err := tx.BuildSigned("testnet", "note.put", wire.NotePut{Key: key, Value: json.RawMessage(value)}, time.Now(), tn.bundle.AdminKey)
	if err != nil {
		tn.t.Fatal(err)
	}
	return st
}

// submit submits st to the leader n. Right after an election the node's
// watcher may still be handling the observations of the campaign and fail
// what is queued with ErrNotLeader (nothing proposed: the contract is to
// send it again); submit does, while n leads.
func submit(t *testing.T, n *Replica, st *tx.Signed) chain.Receipt {
	t.Helper()
	for {
		rc, err := n.Submit(context.Background(), st)
		if errors.Is(err, ErrNotLeader) && n.IsLeader() {
			continue
		}
		if err != nil {
			t.Fatalf("submit %s: %v", st.IDHex(), err)
		}
		return rc
	}
}

func readNote(t *testing.T, s *state.Store, key string) (*wire.Note, bool) {
	t.Helper()
	var n *wire.Note
	var ok bool
	if err := s.View(func(v *state.View) error {
		var err error
		n, ok, err = state.GetNote(v, key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n, ok
}

// New validates and changes nothing: a config that lacks a required field
// or has a tunable at zero is refused with every field at fault named, and
// no file is created.
func TestNewRefusesAnIncompleteConfigNamingEachField(t *testing.T) {
	dir := t.TempDir()
	_, err := New(Config{DataDir: dir})
	if err == nil {
		t.Fatal("an empty config was accepted")
	}
	for _, field := range []string{"Config.ID", "Config.RaftBind", "Config.TLS", "Config.Store", "Config.Logger", "Config.Clock",
		"Config.BatchMaxTx", "Config.ApplyTimeout", "Config.TransportTimeout", "Config.ElectionTimeout"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
	if strings.Contains(err.Error(), "Config.DataDir") {
		t.Errorf("DataDir was given but is named:\n%v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused config created %d files in the data directory", len(entries))
	}

	tn := newTestNet(t, 1, 1)
	cfg := tn.config("n0")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig with the node's own fields: %v", err)
	}
	cfg.BatchMaxTx, cfg.RaftLogLevel = 0, "loud"
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "Config.BatchMaxTx: 0: must be positive") || !strings.Contains(err.Error(), `Config.RaftLogLevel: "loud"`) {
		t.Fatalf("zero BatchMaxTx and an unknown log level: %v, want both named", err)
	}
	if strings.Contains(err.Error(), "Config.ID") {
		t.Fatalf("a field that is set is named: %v", err)
	}
}

// A bootstrapped node leads alone, commits, and after a restart on the
// same directory holds what it committed and leads again: the state file
// records its applied index, so nothing is applied twice.
func TestASingleNodeBootstrapsCommitsAndRestartsFromItsFiles(t *testing.T) {
	tn := newTestNet(t, 1, 1)
	n := tn.start(tn.config("n0"))
	waitFor(t, "n0 to lead", n.IsLeader)
	if rc := submit(t, n, tn.note("k", `"v1"`)); rc.Status != chain.Accepted {
		t.Fatalf("submit: %+v", rc)
	}
	applied := n.AppliedIndex()
	tn.stop(n)

	n2 := tn.start(tn.config("n0"))
	if got := n2.AppliedIndex(); got != applied {
		t.Fatalf("applied index after restart: %d, want %d (the state file's)", got, applied)
	}
	waitFor(t, "n0 to lead again", n2.IsLeader)
	note, ok := readNote(t, n2.cfg.Store, "k")
	if !ok || note.Version != 1 || string(note.Value) != `"v1"` {
		t.Fatalf("note after restart: %+v %v, want version 1 of \"v1\"", note, ok)
	}
}

// A state file behind the newest snapshot (lost, or replaced by an older
// copy) is caught up from the snapshot before Raft starts: Raft does not
// restore snapshots on start, so without this the node would replay only
// the log after the snapshot onto a state that lacks what came before.
func TestAStateFileBehindTheSnapshotIsRestoredFromItBeforeRaftStarts(t *testing.T) {
	tn := newTestNet(t, 1, 1)
	n := tn.start(tn.config("n0"))
	waitFor(t, "n0 to lead", n.IsLeader)
	for i := range 3 {
		submit(t, n, tn.note(fmt.Sprintf("k%d", i), `1`))
	}
	if err := n.Snapshot(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	snapIndex := n.AppliedIndex()
	tn.stop(n)
	stateFile := filepath.Join(tn.dir, "data", "n0", "state.db")
	if err := os.Remove(stateFile); err != nil {
		t.Fatal(err)
	}

	cfg := tn.config("n0") // a fresh, empty state file
	if cfg.Store.Applied().Index != 0 {
		t.Fatalf("setup: the new state file is at index %d, want 0", cfg.Store.Applied().Index)
	}
	tn.start(cfg)
	if got := cfg.Store.Applied().Index; got < snapIndex {
		t.Fatalf("state index after start: %d, want at least the snapshot's %d", got, snapIndex)
	}
	for i := range 3 {
		if _, ok := readNote(t, cfg.Store, fmt.Sprintf("k%d", i)); !ok {
			t.Fatalf("note k%d, written before the snapshot, is missing after the restore", i)
		}
	}
}

// A damaged Raft log is refused at start with the fix, never opened.
func TestADamagedRaftLogIsRefusedWithTheFix(t *testing.T) {
	tn := newTestNet(t, 1, 1)
	cfg := tn.config("n0")
	raftDir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(raftDir, "raft.db"), []byte("not a bbolt file, and long enough to be read as one........"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), "raft log damaged") || !strings.Contains(err.Error(), "ledgerctl cluster remove") {
		t.Fatalf("damaged raft.db: %v, want a refusal naming the damage and the fix", err)
	}
}
