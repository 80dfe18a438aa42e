package faults

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/proccluster"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func startCluster(t *testing.T, voters, spares int) *Cluster {
	t.Helper()
	dir, err := os.MkdirTemp("", "faults-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCluster(dir, binary, voters, spares, nodeFlags)
	if err != nil {
		t.Fatal(err)
	}
	// The nodes' logs and harness.log outlive a failed test, for its
	// reader; a passed test leaves nothing.
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("node logs, data and harness.log kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	for i := 0; i < voters; i++ {
		if err := c.Start(i); err != nil {
			t.Fatal(err)
		}
	}
	// Every voter names the leader before a case begins: a genesis node
	// still asking its peers whether the network has run (its Raft
	// traffic held) is not yet a member, and a case that kills it then
	// finds a node that never held the ledger report lost data (seen
	// once, under load: the every-node-killed case never converged).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.WaitAgreedLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func enrolWriter(ctx context.Context, t *testing.T, c *Cluster) ed25519.PrivateKey {
	t.Helper()
	k, _ := tx.GenerateKey()
	st, _ := tx.BuildSigned(c.Genesis.Network, "key.register", wire.KeyRegister{Owner: "participant/durable",
		PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}, time.Now(), c.Admin)
	resp, err := c.Client(20*time.Second, 0, 1, 2).Submit(ctx, st, client.SubmitOptions{})
	if err != nil || resp.Receipt.Status != chain.Accepted {
		t.Fatalf("enrol: %+v %v", resp, err)
	}
	return k
}

// write sends n notes concurrently and returns the acknowledged ids.
func write(ctx context.Context, t *testing.T, c *Cluster, k ed25519.PrivateKey, n, workers int, nodes ...int) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := c.Client(10*time.Second, nodes...)
			for i := w; i < n; i += workers {
				raw, _ := json.Marshal(i)
				st, _ := tx.BuildSigned(c.Genesis.Network, "note.put", wire.NotePut{Key: fmt.Sprintf("d%d", i%13), Value: raw}, time.Now(), k)
				resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
				if err == nil && resp.Receipt.Status == chain.Accepted {
					mu.Lock()
					acked = append(acked, resp.TxID)
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	return acked
}

func TestAcknowledgedWritesSurviveKillingEveryNodeAtOnce(t *testing.T) {
	c := startCluster(t, 3, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	k := enrolWriter(ctx, t, c)
	acked := write(ctx, t, c, k, 300, 8, 0, 1, 2)
	if len(acked) < 290 {
		t.Fatalf("only %d of 300 acknowledged on a healthy cluster", len(acked))
	}
	killAll(c, 3) // kill -9 all three at the same moment, right after the acknowledgements
	view := startAllAndFind(ctx, t, c, acked, "kill -9 of every node", nil)
	t.Logf("%d acknowledged writes present on all 3 nodes after kill -9 of all (height %d)", len(acked), view.Height)
}

// killAll kills nodes 0..n-1 with SIGKILL at the same moment.
func killAll(c *Cluster, n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); c.Kill(i) }(i)
	}
	wg.Wait()
}

// startAllAndFind starts nodes 0, 1 and 2, waits until they agree, and
// fails unless every node holds every acknowledged transaction as
// accepted. Each node's log must contain every line of logSays.
func startAllAndFind(ctx context.Context, t *testing.T, c *Cluster, acked []string, after string, logSays []string) proccluster.View {
	t.Helper()
	for i := 0; i < 3; i++ {
		if err := c.Start(i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	view, err := c.Converge(ctx, []int{0, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		logb, _ := os.ReadFile(c.Procs[i].Log)
		for _, want := range logSays {
			if !strings.Contains(string(logb), want) {
				t.Fatalf("%s log does not say %q:\n%s", c.Procs[i].ID, want, tail(string(logb), 3000))
			}
		}
		cl := c.Client(5*time.Second, i)
		for _, id := range acked {
			ev, err := cl.Tx(ctx, id, false, client.ReadOptions{})
			if err != nil || ev.Receipt.Status != chain.Accepted {
				t.Fatalf("%s lost acknowledged %s after %s: %v", c.Procs[i].ID, id, after, err)
			}
		}
	}
	return view
}

// startFails starts node i and expects it to exit with a log line
// containing want.
func startFails(ctx context.Context, t *testing.T, c *Cluster, i int, want string) string {
	t.Helper()
	if err := c.Start(i); err != nil {
		t.Fatal(err)
	}
	p := c.Procs[i]
	// It exits, or it says it is ready (it started on the damaged data):
	// whichever comes first, however long a loaded machine takes to start
	// a process.
	cl := c.Client(5*time.Second, i)
	gone := c.Exited(i)
	for exited := false; !exited; {
		select {
		case <-gone:
			exited = true
		case <-ctx.Done():
			t.Fatalf("%s neither exited nor became ready on damaged data: %v", p.ID, ctx.Err())
		case <-time.After(200 * time.Millisecond):
			if r, err := cl.Ready(ctx); err == nil && r.Ready {
				t.Fatalf("%s started on damaged data (ready: %+v); want a refusal mentioning %q", p.ID, r, want)
			}
		}
	}
	c.Kill(i) // it has exited: this only marks it stopped, so that it can be started again
	logb, _ := os.ReadFile(p.Log)
	if !strings.Contains(string(logb), want) {
		t.Fatalf("%s log does not say %q:\n%s", p.ID, want, tail(string(logb), 2000))
	}
	return string(logb)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestDamagedFilesAreDetectedAndAWipedNodeCatchesUpOnceRemovedAndAddedBack(t *testing.T) {
	c := startCluster(t, 3, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k := enrolWriter(ctx, t, c)
	write(ctx, t, c, k, 260, 1, 0, 1, 2) // one block each: past the snapshot threshold
	victim := (c.Leader(ctx) + 1) % 3
	p := c.Procs[victim]
	// Writes that fail under load (an election: write counts only what is
	// acknowledged) leave the log short of the threshold: write on until
	// the victim has taken a snapshot.
	for {
		if snaps, _ := filepath.Glob(filepath.Join(p.DataDir, "raft", "snapshots", "*", "state.bin")); len(snaps) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no snapshot taken")
		case <-time.After(200 * time.Millisecond):
			write(ctx, t, c, k, 5, 1, 0, 1, 2)
		}
	}
	c.Stop(victim)

	raftDB := filepath.Join(p.DataDir, "raft", "raft.db")
	stateDB := filepath.Join(p.DataDir, "state.db")
	backup := t.TempDir()
	copyFile(t, raftDB, filepath.Join(backup, "raft.db"))
	copyFile(t, stateDB, filepath.Join(backup, "state.db"))

	t.Run("truncated raft log", func(t *testing.T) {
		fi, _ := os.Stat(raftDB)
		if err := os.Truncate(raftDB, fi.Size()/3); err != nil {
			t.Fatal(err)
		}
		startFails(ctx, t, c, victim, "raft log")
		copyFile(t, filepath.Join(backup, "raft.db"), raftDB)
	})
	t.Run("corrupted state file", func(t *testing.T) {
		corrupt(t, stateDB, 0, 4096*2) // both meta pages
		startFails(ctx, t, c, victim, "state")
		copyFile(t, filepath.Join(backup, "state.db"), stateDB)
	})
	t.Run("corrupted snapshot when the state must be restored from it", func(t *testing.T) {
		snaps, _ := filepath.Glob(filepath.Join(p.DataDir, "raft", "snapshots", "*", "state.bin"))
		if len(snaps) == 0 {
			t.Fatal("no snapshot was taken")
		}
		for _, s := range snaps {
			corrupt(t, s, 100, 200)
		}
		if err := os.Remove(stateDB); err != nil { // the state is lost: the snapshot is needed
			t.Fatal(err)
		}
		startFails(ctx, t, c, victim, "snapshot")
	})
	// The documented way out: move the damaged data directory aside and
	// start the node; it reports its data lost (it neither bootstraps nor
	// votes with an empty log), is removed and added back, and catches up
	// from its peers.
	if err := os.Rename(p.DataDir, p.DataDir+".damaged"); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(victim); err != nil {
		t.Fatal(err)
	}
	admin := c.Client(10*time.Second, (victim+1)%3, (victim+2)%3).Admin(c.Genesis.Network, c.Admin)
	if err := admin.RemoveMember(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := admin.JoinAndPromote(ctx, p.ID, p.RaftAddr, p.APIAddr, nil); err != nil {
		t.Fatal(err)
	}
	write(ctx, t, c, k, 50, 4, (victim+1)%3, (victim+2)%3)
	if _, err := c.Converge(ctx, []int{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func corrupt(t *testing.T, path string, from, to int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < to && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAcknowledgedWritesSurviveAPowerLossOfEveryMachine: the nodes commit
// their state files without fsync (the default; the Raft log is fsync'd).
// A power loss of every machine at once is simulated after kill -9: each
// state file's marker is made to name another boot, and each state file is
// torn (both bbolt meta pages garbled, which a node refuses to open). Every
// node must remove its file, rebuild the state from its Raft snapshot and
// log, and hold every acknowledged write.
func TestAcknowledgedWritesSurviveAPowerLossOfEveryMachine(t *testing.T) {
	c := startCluster(t, 3, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	k := enrolWriter(ctx, t, c)
	acked := write(ctx, t, c, k, 260, 1, 0, 1, 2) // one block each: past the snapshot threshold
	// Rebuilding from a snapshot and the log after it is the case to see:
	// write on until every node has taken a snapshot.
	for snapped := 0; snapped < 3; {
		snapped = 0
		for _, p := range c.Procs[:3] {
			if snaps, _ := filepath.Glob(filepath.Join(p.DataDir, "raft", "snapshots", "*", "state.bin")); len(snaps) > 0 {
				snapped++
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d of 3 nodes took a snapshot", snapped)
		case <-time.After(200 * time.Millisecond):
			acked = append(acked, write(ctx, t, c, k, 5, 1, 0, 1, 2)...)
		}
	}
	acked = append(acked, write(ctx, t, c, k, 100, 8, 0, 1, 2)...) // entries after the snapshots
	if len(acked) < 300 {
		t.Fatalf("only %d writes acknowledged on a healthy cluster", len(acked))
	}
	killAll(c, 3)
	boot := state.BootID()
	if boot == "" {
		t.Skip("this kernel does not say its boot id: a node rebuilds after every unclean stop, and the case is not distinct")
	}
	for i := 0; i < 3; i++ {
		stateDB := filepath.Join(c.Procs[i].DataDir, "state.db")
		marker := stateDB + state.UnsyncedSuffix
		if b, err := os.ReadFile(marker); err != nil || strings.TrimSpace(string(b)) != boot {
			t.Fatalf("%s: marker %s after kill -9 = %q, %v; want this boot's id %s (the state file is written without fsync)", c.Procs[i].ID, marker, b, err, boot)
		}
		corrupt(t, stateDB, 0, 4096*2)
		if i == 0 {
			// Control: in the same boot the node trusts its file, so the
			// torn one is refused (the tearing took).
			startFails(ctx, t, c, 0, "state file damaged")
		}
		if err := os.WriteFile(marker, []byte("another-boot-of-this-machine\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	view := startAllAndFind(ctx, t, c, acked, "a power loss of every machine", []string{
		"it is removed and the state is rebuilt from the Raft snapshot and log",
		"state is behind the latest snapshot; restoring it",
	})
	t.Logf("%d acknowledged writes present on all 3 nodes after every state file was torn and rebuilt (height %d)", len(acked), view.Height)
}
