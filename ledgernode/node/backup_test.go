package node_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
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
	c := newCluster(t, 3)
	ctx := ctxT(t, 3*time.Minute)
	k, err := c.Enrol(ctx, "participant/writer")
	if err != nil {
		t.Fatal(err)
	}
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
