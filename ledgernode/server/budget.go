package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tradeledger/tradeledger/ledgernode/pki"
)

// Memory bound for what the node holds before it knows whether a request
// is worth holding. Every submission body is read through a bodyBudget:
// the bytes count against the node's budget and the client's (its
// certificate identity, else its IP address) while the request is served,
// and a read waits for room at most budgetWait, then fails with 429. A
// decoded envelope holds about twice its bytes and a follower forwarding a
// batch once more, so what submissions hold is bounded by about three times
// NodeBytes whatever the mix of requests (docs/reliability.md).

// BudgetConfig bounds the submission bytes in flight.
type BudgetConfig struct {
	NodeBytes   int64 // every client together (DefaultBudgetConfig: 48 MiB)
	ClientBytes int64 // one client (DefaultBudgetConfig: one full batch, 16 MiB); nodes are not limited per client
}

// DefaultBudgetConfig: 48 MiB for the node, one full batch for a client.
func DefaultBudgetConfig() BudgetConfig {
	return BudgetConfig{NodeBytes: 48 << 20, ClientBytes: maxBatchBytes + 2*budgetChunk}
}

// cpuSlots bounds the goroutines decoding and checking submissions at once,
// across all requests, to one fewer than the cores (at least one): a flood
// of submissions saturates those, and the Raft goroutines (heartbeats,
// replication) and the state machine keep a core, so the leader keeps its
// lease under load.
type cpuSlots chan struct{}

func newCPUSlots() cpuSlots { return make(cpuSlots, max(1, runtime.GOMAXPROCS(0)-1)) }

// do runs fn in a slot, waiting for one until ctx ends.
func (c cpuSlots) do(ctx context.Context, fn func()) error {
	select {
	case c <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: no decoding slot free: %v", errBusy, ctx.Err())
	}
	defer func() { <-c }()
	fn()
	return nil
}

// budgetWait is how long a read waits for room before the request is
// refused with 429.
const budgetWait = 5 * time.Second

// budgetChunk is how many bytes a read takes from the budget at a time.
const budgetChunk = 64 << 10

type byteBudgets struct {
	cfg  BudgetConfig
	node *semaphore.Weighted
	wait time.Duration // budgetWait (tests shorten it)

	mu      sync.Mutex
	clients map[string]*clientBudget
}

type clientBudget struct {
	sem  *semaphore.Weighted
	refs int
}

func newByteBudgets(cfg BudgetConfig) *byteBudgets {
	return &byteBudgets{cfg: cfg, node: semaphore.NewWeighted(cfg.NodeBytes), wait: budgetWait, clients: map[string]*clientBudget{}}
}

// errBusy is a request refused because too many bytes are in flight.
var errBusy = errors.New("too many submission bytes in flight")

// clientKey names who a request counts against: its certificate's node id
// or identity, else its IP address. node is set for ledger nodes (not
// limited per client: they forward other clients' submissions).
func clientKey(r *http.Request) (key string, node bool) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		if id := pki.NodeIDOf(c); id != "" {
			return "node/" + id, true
		}
		if id := pki.ClientIdentityOf(c); id != "" {
			return "cert/" + id, false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip/" + host, false
}

// bodyBudget reads a request body while holding budget for every byte
// read; release returns it all.
type bodyBudget struct {
	b      *byteBudgets
	ctx    context.Context
	body   io.Reader
	client *clientBudget
	key    string
	length int64 // the body's declared length, -1 if unknown
	held   int64 // taken from both budgets and not yet used by reads
	taken  int64 // taken in all
	err    error
}

// budgetBody wraps r's body. The caller must call release when it no
// longer holds anything derived from the body.
func (b *byteBudgets) budgetBody(r *http.Request) *bodyBudget {
	bb := &bodyBudget{b: b, ctx: r.Context(), body: r.Body, length: r.ContentLength}
	bb.key, bb.client = b.holdClient(r)
	return bb
}

// holdClient finds (or makes) the budget of the client r counts against,
// and counts one more request of it; nil for a ledger node, which is not
// limited per client. Every holdClient is matched by one dropClient.
func (b *byteBudgets) holdClient(r *http.Request) (key string, cb *clientBudget) {
	key, node := clientKey(r)
	if node {
		return key, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cb = b.clients[key]
	if cb == nil {
		cb = &clientBudget{sem: semaphore.NewWeighted(b.cfg.ClientBytes)}
		b.clients[key] = cb
	}
	cb.refs++
	return key, cb
}

// dropClient counts one request of the client less, and forgets its
// budget when none is left.
func (b *byteBudgets) dropClient(key string, cb *clientBudget) {
	if cb == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cb.refs--; cb.refs == 0 {
		delete(b.clients, key)
	}
}

func (bb *bodyBudget) Read(p []byte) (int, error) {
	if bb.err != nil {
		return 0, bb.err
	}
	if bb.held == 0 && bb.length >= 0 && bb.taken >= bb.length {
		// Every declared byte is counted; net/http's body reader yields
		// no more than the declared length: this read finds the end.
		return bb.body.Read(p)
	}
	if bb.held == 0 {
		n := int64(budgetChunk)
		if bb.length >= 0 {
			n = min(n, bb.length-bb.taken) // no more than declared
		}
		if err := bb.take(n); err != nil {
			bb.err = err
			return 0, err
		}
	}
	if int64(len(p)) > bb.held {
		p = p[:bb.held]
	}
	n, err := bb.body.Read(p)
	bb.held -= int64(n)
	return n, err
}

func (bb *bodyBudget) take(n int64) error {
	ctx, cancel := context.WithTimeout(bb.ctx, bb.b.wait)
	defer cancel()
	if bb.client != nil {
		if n > bb.b.cfg.ClientBytes {
			n = bb.b.cfg.ClientBytes
		}
		if err := bb.client.sem.Acquire(ctx, n); err != nil {
			return fmt.Errorf("%w: this client (%s) has %d bytes of submissions being served, the most one client may; wait for answers before sending more", errBusy, bb.key, bb.b.cfg.ClientBytes)
		}
	}
	if err := bb.b.node.Acquire(ctx, n); err != nil {
		if bb.client != nil {
			bb.client.sem.Release(n)
		}
		return fmt.Errorf("%w: the node is serving %d bytes of submissions, the most it holds at once; retry shortly", errBusy, bb.b.cfg.NodeBytes)
	}
	bb.held += n
	bb.taken += n
	return nil
}

// release returns every byte taken.
func (bb *bodyBudget) release() {
	if bb.taken > 0 {
		bb.b.node.Release(bb.taken)
		if bb.client != nil {
			bb.client.sem.Release(bb.taken)
		}
		bb.taken, bb.held = 0, 0
	}
	bb.b.dropClient(bb.key, bb.client)
	bb.client = nil
}
