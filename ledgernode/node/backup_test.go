package node_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/server"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// ack is a write acknowledged to its client, with its receipt's height.
type ack struct {
	id     string
	height uint64
}

// writeLoad writes notes through every given node until stop is closed and
// returns what was acknowledged.
func writeLoad(ctx context.Context, t *testing.T, c *testcluster.Cluster, key ed25519.PrivateKey, workers int, nodes []int, stop <-chan struct{}) func() []ack {
	var mu sync.Mutex
	var acks []ack
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := c.Client(nodes[w%len(nodes)])
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				st, err := c.Sign(key, "note.put", notePayload(fmt.Sprintf("w%d-%d", w, i%50), i))
				if err != nil {
					errc <- err
					return
				}
				resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
				if err != nil {
					errc <- fmt.Errorf("worker %d write %d: %w", w, i, err)
					return
				}
				if resp.Receipt.Status != chain.Accepted {
					errc <- fmt.Errorf("worker %d write %d rejected: %+v", w, i, resp.Receipt.Reasons)
					return
				}
				mu.Lock()
				acks = append(acks, ack{st.IDHex(), resp.Receipt.Height})
				mu.Unlock()
			}
		}(w)
	}
	return func() []ack {
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return append([]ack(nil), acks...)
	}
}

func TestBackupUnderWriteLoadRestoresIntoANewNetwork(t *testing.T) {
	c, ctx, k := writerCluster(t, 3*time.Minute)
	stop := make(chan struct{})
	done := writeLoad(ctx, t, c, k, 6, []int{0, 1, 2}, stop)
	waitHeight(ctx, t, c, 0, 20)

	// The backup streams from a node while the writes go on.
	file := filepath.Join(t.TempDir(), "net.tlbackup")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Client(1).Backup(ctx, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	after := c.Node(0).Store().Meta().Height
	waitHeight(ctx, t, c, 0, after+20)
	close(stop)
	acks := done()

	g, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := backup.Verify(g, t.TempDir(), backup.Options{Genesis: c.Genesis, Trust: verify.TrustFromGenesis(c.Genesis)})
	g.Close()
	if err != nil {
		t.Fatalf("backup of %d bytes does not verify: %v", n, err)
	}
	h := rep.Header.Head
	var before, later int
	for _, a := range acks {
		if a.height <= h.Height {
			before++
		} else {
			later++
		}
	}
	if before == 0 || later == 0 {
		t.Fatalf("setup: the backup at height %d should split the %d writes (%d before, %d after)", h.Height, len(acks), before, later)
	}
	t.Logf("backup: %d bytes at height %d (tree size %d), %d acknowledged writes before it, %d after", n, h.Height, h.TreeSize, before, later)

	// The old network goes away; a new one starts from the backup with new
	// node identities (ids, node keys, certificates from the network CA).
	for i := 0; i < 3; i++ {
		if err := c.Stop(i); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	r0, _, err := c.RestoreNode("r0", b, verify.TrustFromGenesis(c.Genesis))
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeaderAmong(ctx, r0); err != nil {
		t.Fatal(err)
	}
	admin := c.Client(r0).Admin(c.Genesis.Network, c.Admin)
	restored := []int{r0}
	for _, id := range []string{"r1", "r2"} {
		i, err := c.AddNode(id)
		if err != nil {
			t.Fatal(err)
		}
		m := c.Members[i]
		if err := admin.JoinAndPromote(ctx, id, m.RaftAddr, m.APIAddr, nil); err != nil {
			t.Fatal(err)
		}
		restored = append(restored, i)
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}

	// Every write acknowledged at or below the backup's height is there,
	// with a proof that verifies; none after it is.
	trust := c.Trust()
	cl := c.Client(restored...)
	for _, a := range acks {
		ev, err := cl.Tx(ctx, a.id, true, client.ReadOptions{})
		if a.height > h.Height {
			if !client.IsNotFound(err) {
				t.Fatalf("tx %s (height %d, after the backup's %d): %v, want not found", a.id, a.height, h.Height, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("tx %s at height %d of the backup: %v", a.id, a.height, err)
		}
		if _, err := verify.Receipt(ev, trust); err != nil {
			t.Fatalf("tx %s: %v", a.id, err)
		}
	}

	// The new network writes on, and its heads extend the backup's.
	writeNotes(ctx, t, c, k, 20, 2, restored)
	cons, err := c.Client(restored[2]).Consistency(ctx, h.TreeSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Consistency(&h, &cons.Head, &cons.Proof, trust); err != nil {
		t.Fatalf("consistency from the backup's head to the new network's: %v", err)
	}
	// New identities: the genesis alone does not vouch for the new heads.
	if err := verify.Consistency(&h, &cons.Head, &cons.Proof, verify.TrustFromGenesis(c.Genesis)); !errors.Is(err, verify.ErrUntrusted) {
		t.Fatalf("the new head verified against the genesis trust alone (%v): it is signed by %s, a new node", err, cons.Head.Node)
	}
}

// waitHeight waits until node i has applied height h.
func waitHeight(ctx context.Context, t *testing.T, c *testcluster.Cluster, i int, h uint64) {
	t.Helper()
	for c.Node(i).Store().Meta().Height < h {
		select {
		case <-ctx.Done():
			t.Fatalf("node %d at height %d, waiting for %d", i, c.Node(i).Store().Meta().Height, h)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestRestoreRefusesADataDirectoryInUseAndABackupOfAnotherNetwork(t *testing.T) {
	c := newCluster(t, 1)
	ctx := ctxT(t, time.Minute)
	file := filepath.Join(t.TempDir(), "net.tlbackup")
	f, _ := os.Create(file)
	if _, err := c.Client(0).Backup(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Into the data directory of the running node: refused, nothing touched.
	b, _ := os.Open(file)
	defer b.Close()
	m := c.Members[0]
	_, err := restoreInto(b, filepath.Join(m.Paths.Dir, "data"), c)
	if !errors.Is(err, node.ErrDataDirInUse) {
		t.Fatalf("restore into a node's data directory: %v, want data directory not empty", err)
	}
	// Another network's genesis: refused before anything is written.
	other := newCluster(t, 1)
	b2, _ := os.Open(file)
	defer b2.Close()
	dir := filepath.Join(t.TempDir(), "data")
	_, err = restoreInto(b2, dir, other)
	if !errors.Is(err, backup.ErrGenesis) {
		t.Fatalf("restore with another genesis: %v, want ErrGenesis", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused restore left %v in %s", entries, dir)
	}
}

func restoreInto(from *os.File, dir string, c *testcluster.Cluster) (*backup.Report, error) {
	return node.Restore(node.RestoreConfig{Backup: from, DataDir: dir, Genesis: c.Genesis, Trust: verify.TrustFromGenesis(c.Genesis),
		Self: state.Member{ID: "x0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2"}})
}

// A backup holds every record of every party: only the network admin and
// the nodes may stream it (docs/api.md, "Who may read what"), and the group
// can never be opened to anonymous readers.
func TestBackupIsServedOnlyToTheAdminAndTheNodes(t *testing.T) {
	c := newCluster(t, 1)
	ctx := ctxT(t, time.Minute)
	participant, err := c.Enrol(ctx, "participant/reader")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members[0]
	for _, tc := range []struct {
		name   string
		cl     *client.Client
		status int
		code   string
	}{
		{"anonymous", c.ClientWith(client.Config{Retry: time.Second}), 401, "unauthenticated"},
		{"participant key", c.ClientWith(client.Config{SignKey: participant, Retry: time.Second}), 403, "forbidden"},
		{"admin certificate", c.Client(), 200, ""},
		{"admin key", c.ClientWith(client.Config{SignKey: c.Admin, Retry: time.Second}), 200, ""},
		{"node certificate", c.ClientWith(client.Config{CertFile: m.Paths.TLS.Cert, CertKeyFile: m.Paths.TLS.Key, Retry: time.Second}), 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf countingWriter
			n, err := tc.cl.Backup(ctx, &buf, nil)
			if tc.status == 200 {
				if err != nil || n == 0 || n != buf.n {
					t.Fatalf("backup: %d bytes (%d written), %v; want a whole backup", n, buf.n, err)
				}
				return
			}
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != tc.status || ce.Code != tc.code {
				t.Fatalf("backup: %v, want %d %s", err, tc.status, tc.code)
			}
			if buf.n != 0 {
				t.Fatalf("a refused backup wrote %d bytes", buf.n)
			}
		})
	}
	err = server.AccessConfig{Open: []string{server.GroupBackup}}.Validate()
	if err == nil || !strings.Contains(err.Error(), `open route group "backup"`) {
		t.Fatalf("opening the backup group: %v, want refused by name", err)
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// Quorum loss (docs/operations.md, "Quorum loss"): under write load one
// follower dies, then the leader; both lose their data. The survivor is
// recovered as the only voter (hashicorp/raft RecoverCluster), writes
// again, and grows back to three through the join path (one lost member
// under its own id, one new node). Every write
// acknowledged before the loss is there with a proof that verifies: the
// survivor was in every quorum after the first node died, and the leader
// had replicated the earlier ones to it by then (the test waits for it).
func TestQuorumLossRecoveryKeepsEveryAcknowledgedWrite(t *testing.T) {
	c, ctx, k := writerCluster(t, 3*time.Minute)
	leader := mustLeader(t, c)
	survivor, first := (leader+1)%3, (leader+2)%3

	// Writers that outlive the quorum: a write that fails is simply not
	// acknowledged.
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := c.ClientWith(client.Config{Retry: 500 * time.Millisecond}, survivor, leader)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				st, err := c.Sign(k, "note.put", notePayload(fmt.Sprintf("q%d-%d", w, i%50), i))
				if err != nil {
					t.Error(err)
					return
				}
				wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				resp, err := cl.Submit(wctx, st, client.SubmitOptions{})
				cancel()
				if err != nil || resp.Receipt.Status != chain.Accepted {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				mu.Lock()
				acks = append(acks, ack{st.IDHex(), resp.Receipt.Height})
				mu.Unlock()
			}
		}(w)
	}
	waitHeight(ctx, t, c, survivor, 15)
	if err := c.Stop(first); err != nil {
		t.Fatal(err)
	}
	// Writes go on with the leader and the survivor as the quorum.
	h := c.Node(survivor).Store().Meta().Height
	waitHeight(ctx, t, c, survivor, h+10)
	if err := c.Stop(leader); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // writes now fail: no quorum
	close(stop)
	wg.Wait()
	mu.Lock()
	acked := append([]ack(nil), acks...)
	mu.Unlock()
	if len(acked) < 20 {
		t.Fatalf("setup: only %d writes acknowledged before the loss", len(acked))
	}
	for _, i := range []int{first, leader} {
		if err := c.Wipe(i); err != nil {
			t.Fatal(err)
		}
	}

	// Recovery: the survivor, stopped, becomes the only voter.
	if err := c.Stop(survivor); err != nil {
		t.Fatal(err)
	}
	sm := c.Members[survivor]
	rep, err := node.Recover(node.RecoverConfig{DataDir: filepath.Join(sm.Paths.Dir, "data"), Genesis: c.Genesis, ID: sm.ID,
		Voters: []state.Member{{ID: sm.ID, RaftAddr: sm.RaftAddr, APIAddr: sm.APIAddr}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Voters) != 1 || rep.Voters[0] != sm.ID || rep.LastIndex == 0 {
		t.Fatalf("recover report %+v, want %s the only voter", rep, sm.ID)
	}
	sm.NoBootstrap = true
	if err := c.Restart(survivor); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeaderAmong(ctx, survivor); err != nil {
		t.Fatal(err)
	}
	trust := c.Trust()
	cl := c.Client(survivor)
	for _, a := range acked {
		ev, err := cl.Tx(ctx, a.id, true, client.ReadOptions{})
		if err != nil {
			t.Fatalf("acknowledged write %s (height %d) after recovery at height %d: %v", a.id, a.height, rep.Height, err)
		}
		if _, err := verify.Receipt(ev, trust); err != nil {
			t.Fatalf("tx %s: %v", a.id, err)
		}
	}
	t.Logf("recovered at log index %d, height %d; %d acknowledged writes present", rep.LastIndex, rep.Height, len(acked))
	before, err := cl.Head(ctx, client.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The recovered cluster writes, and grows back through the join path:
	// a lost member comes back empty under its own id (started with
	// NoBootstrap), the other is replaced by a new node.
	admin := cl.Admin(c.Genesis.Network, c.Admin)
	members := []int{survivor}
	lost := c.Members[first]
	lost.NoBootstrap = true
	if err := c.Restart(first); err != nil {
		t.Fatal(err)
	}
	if err := admin.JoinAndPromote(ctx, lost.ID, lost.RaftAddr, lost.APIAddr, nil); err != nil {
		t.Fatalf("adding %s back under its own id: %v", lost.ID, err)
	}
	members = append(members, first)
	i, err := c.AddNode("n-new")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members[i]
	if err := admin.JoinAndPromote(ctx, m.ID, m.RaftAddr, m.APIAddr, nil); err != nil {
		t.Fatal(err)
	}
	members = append(members, i)
	writeNotes(ctx, t, c, k, 20, 2, members)
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	cons, err := c.Client(members[2]).Consistency(ctx, before.TreeSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Consistency(before, &cons.Head, &cons.Proof, c.Trust()); err != nil {
		t.Fatalf("consistency from the recovered head to the grown cluster's: %v", err)
	}
}

// A backup is checked against the genesis alone (the trust anchor), and
// the ledger's own key history decides the rest: after the admin key was
// rotated on the ledger, the restore is given the new admin key and
// passes (the old one is refused, naming the rotation); a backup served,
// and its head signed, by a node added after the genesis verifies and
// restores once an admin key registered that node's key on the ledger; a
// head signed by a node key the ledger never authorised is still refused,
// naming the key.
func TestBackupVerifyAndRestoreFollowTheLedgersKeyHistory(t *testing.T) {
	c := newCluster(t, 1)
	ctx := ctxT(t, 2*time.Minute)
	cl := c.Client(0)
	submit := func(key ed25519.PrivateKey, typ string, payload any) {
		t.Helper()
		st, err := c.Sign(key, typ, payload)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
		if err != nil || resp.Receipt.Status != chain.Accepted {
			t.Fatalf("%s: %+v %v", typ, resp, err)
		}
	}
	oldAdmin := c.Admin
	newAdmin, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	oldID, newID := tx.KeyID(oldAdmin.Public().(ed25519.PublicKey)), tx.KeyID(newAdmin.Public().(ed25519.PublicKey))
	submit(oldAdmin, "key.rotate", wire.KeyRotate{NewKey: newID, Retire: oldID})

	// Two nodes added after the genesis, by the new admin key; only n2's
	// head-signing key is registered for it on the ledger.
	admin := cl.Admin(c.Genesis.Network, newAdmin)
	added := map[string]int{}
	for _, id := range []string{"n-reg", "n-unreg"} {
		i, err := c.AddNode(id)
		if err != nil {
			t.Fatal(err)
		}
		m := c.Members[i]
		if err := admin.JoinAndPromote(ctx, m.ID, m.RaftAddr, m.APIAddr, nil); err != nil {
			t.Fatalf("adding %s with the rotated admin key: %v", id, err)
		}
		added[id] = i
	}
	regKey := c.Members[added["n-reg"]].Key
	submit(newAdmin, "key.register", wire.KeyRegister{Owner: "node/n-reg", PublicKey: tx.KeyID(regKey.Public().(ed25519.PublicKey))})
	// A key registered for a node by the retired admin key is refused by
	// the ledger itself: nothing to follow.
	if st, err := c.Sign(oldAdmin, "key.register", wire.KeyRegister{Owner: "node/n-unreg",
		PublicKey: tx.KeyID(c.Members[added["n-unreg"]].Key.Public().(ed25519.PublicKey))}); err != nil {
		t.Fatal(err)
	} else if resp, err := cl.Submit(ctx, st, client.SubmitOptions{}); err == nil && resp.Receipt.Status == chain.Accepted {
		t.Fatal("setup: the retired admin key registered a node key")
	}
	if _, err := c.Enrol(ctx, "participant/writer"); err == nil {
		t.Fatal("setup: enrolled with the retired admin key")
	}
	k, err := testcluster.Enrol(ctx, cl, c.Genesis.Network, newAdmin, "participant/writer", "")
	if err != nil {
		t.Fatal(err)
	}
	writeNotes(ctx, t, c, k, 10, 2, []int{0})
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	backupFrom := func(i int) string {
		t.Helper()
		file := filepath.Join(t.TempDir(), c.Members[i].ID+".tlbackup")
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := c.Client(i).Backup(ctx, f, nil); err != nil {
			t.Fatal(err)
		}
		return file
	}
	genesisTrust := verify.TrustFromGenesis(c.Genesis)

	// The head of n-reg: verified against the genesis alone.
	regFile := backupFrom(added["n-reg"])
	rf, _ := os.Open(regFile)
	defer rf.Close()
	rep, err := backup.Verify(rf, t.TempDir(), backup.Options{Genesis: c.Genesis, Trust: genesisTrust})
	if err != nil {
		t.Fatalf("backup served by a node whose key the ledger registered: %v", err)
	}
	if rep.Header.Head.Node != "n-reg" || !slices.Contains(rep.Chain.AdminKeys, newID) || slices.Contains(rep.Chain.AdminKeys, oldID) ||
		rep.Chain.NodeKeys[tx.KeyID(regKey.Public().(ed25519.PublicKey))] != "n-reg" {
		t.Fatalf("head by %s; chain report admin keys %v, node keys %v", rep.Header.Head.Node, rep.Chain.AdminKeys, rep.Chain.NodeKeys)
	}
	restore := func(file, adminID string) (*backup.Report, error) {
		b, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		return node.Restore(node.RestoreConfig{Backup: b, DataDir: filepath.Join(t.TempDir(), "data"), Genesis: c.Genesis, Trust: genesisTrust,
			AdminKeyID: adminID, Self: state.Member{ID: "r0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2"}})
	}
	if _, err := restore(regFile, newID); err != nil {
		t.Fatalf("restore with the rotated admin key: %v", err)
	}
	_, err = restore(regFile, oldID)
	if !errors.Is(err, node.ErrNotAdminKey) || !strings.Contains(err.Error(), tx.FingerprintOf(oldID)) || !strings.Contains(err.Error(), "rotated to "+tx.FingerprintOf(newID)) {
		t.Fatalf("restore with the retired admin key: %v, want ErrNotAdminKey naming it and its rotation", err)
	}

	// The head of n-unreg: no key.register authorised its key.
	unregFile := backupFrom(added["n-unreg"])
	uf, _ := os.Open(unregFile)
	defer uf.Close()
	_, err = backup.Verify(uf, t.TempDir(), backup.Options{Genesis: c.Genesis, Trust: genesisTrust})
	unregFP := tx.FingerprintOf(tx.KeyID(c.Members[added["n-unreg"]].Key.Public().(ed25519.PublicKey)))
	if !errors.Is(err, backup.ErrHead) || !errors.Is(err, verify.ErrUntrusted) || !strings.Contains(err.Error(), unregFP) ||
		!strings.Contains(err.Error(), "no key.register on the ledger authorised it") {
		t.Fatalf("backup whose head a never-authorised key signed: %v, want ErrHead naming %s", err, unregFP)
	}
	if _, err := restore(unregFile, newID); !errors.Is(err, backup.ErrHead) {
		t.Fatalf("restore of it: %v, want ErrHead", err)
	}
}
