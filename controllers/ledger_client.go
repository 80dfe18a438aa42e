package controllers

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Errors a Ledger returns that the controllers decide on.
var (
	// ErrLedgerNotFound: the ledger does not hold the thing asked for.
	ErrLedgerNotFound = errors.New("not found on the ledger")
	// ErrMemberBehind: a member to promote has not caught up yet.
	ErrMemberBehind = errors.New("member has not caught up")
	// ErrTxExpired: a transaction was signed outside the ledger's time
	// window (its `created` is too old or too far ahead).
	ErrTxExpired = errors.New("transaction outside the ledger's time window")
)

// ClientDialer opens Ledgers over ledgernode/client, one cached client per
// network, CA and endpoint set, so that reconciles reuse connections.
type ClientDialer struct {
	Resolver Resolver
	// Timeout bounds one request, Retry the retries on "no leader" (zero:
	// ledgernode/client's own). Setup sets both to Intervals.LedgerCall: a
	// reconcile must not block for long; it requeues instead.
	Timeout, Retry time.Duration

	mu      sync.Mutex
	clients map[string]*client.Client
}

// Dial implements LedgerDialer.
func (d *ClientDialer) Dial(_ context.Context, t LedgerTarget) (Ledger, error) {
	eps := d.Resolver.APIEndpoints(t.Network)
	if len(eps) == 0 {
		return nil, fmt.Errorf("no API endpoint known for network %s/%s", t.Network.Namespace, t.Network.Name)
	}
	pool, scope, err := trustOf(t)
	if err != nil {
		return nil, err
	}
	clientFor := func(eps []string) (*client.Client, error) { return d.client(scope, eps, pool, t.AdminKey) }
	c, err := clientFor(eps)
	if err != nil {
		return nil, err
	}
	return &ledgerClient{c: c, admin: c.Admin(networkID(t.Network), t.AdminKey), clientFor: clientFor}, nil
}

// MemberProber asks one node for its own view of the cluster, at its
// member API address rather than through the client Service: a node that
// knows no leader fails its readiness probe and leaves the Service, and a
// quorum check must still hear it. ClientDialer implements it.
type MemberProber interface {
	ProbeMember(ctx context.Context, t LedgerTarget, apiAddr string) (*wire.Status, error)
}

// ProbeMember implements MemberProber: the node's cluster status (its
// state, term, commit and applied index, and its Raft configuration),
// read as the network admin.
func (d *ClientDialer) ProbeMember(ctx context.Context, t LedgerTarget, apiAddr string) (*wire.Status, error) {
	pool, scope, err := trustOf(t)
	if err != nil {
		return nil, err
	}
	c, err := d.client(scope, []string{"https://" + apiAddr}, pool, t.AdminKey)
	if err != nil {
		return nil, err
	}
	return c.Status(ctx, false)
}

// trustOf is the CA pool a network's nodes are checked against, and the
// scope its cached clients are kept under: the network, its CA and its
// admin key (a rotated CA or key gets new clients).
func trustOf(t LedgerTarget) (*x509.CertPool, string, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(t.CAPEM) {
		return nil, "", errors.New("network CA holds no PEM certificate")
	}
	sum := sha256.Sum256(t.CAPEM)
	ksum := sha256.Sum256(t.AdminKey)
	return pool, fmt.Sprintf("%s/%s|%x|%x|", t.Network.Namespace, t.Network.Name, sum[:8], ksum[:8]), nil
}

// client returns the cached client of a network (scope) for an endpoint
// set.
//
// The operator reads as the network admin: every read is signed with the
// admin key it holds (a signed request, docs/api.md), so it needs no
// client certificate of its own.
func (d *ClientDialer) client(scope string, eps []string, pool *x509.CertPool, admin ed25519.PrivateKey) (*client.Client, error) {
	key := scope + strings.Join(eps, ",")
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[key]; ok {
		return c, nil
	}
	c, err := client.New(client.Config{Endpoints: slices.Clone(eps), TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool},
		SignKey: admin, Timeout: d.Timeout, Retry: d.Retry})
	if err != nil {
		return nil, err
	}
	if d.clients == nil {
		d.clients = map[string]*client.Client{}
	}
	// Endpoint sets change as pods and leaders come and go: keep the cache
	// bounded by starting afresh now and then.
	if len(d.clients) >= 64 {
		clear(d.clients)
	}
	d.clients[key] = c
	return c, nil
}

// ledgerClient adapts ledgernode/client to Ledger.
type ledgerClient struct {
	c         *client.Client
	admin     *client.Admin
	clientFor func(endpoints []string) (*client.Client, error)
}

// Status is the leader's view when the leader can be asked: a follower's
// Raft configuration may trail the last membership change by a moment,
// and the membership phase must not act on a stale one.
func (l *ledgerClient) Status(ctx context.Context) (*wire.Status, error) {
	st, err := l.c.Status(ctx, false)
	if err != nil || st.Leader == "" || st.Leader == st.Node || st.LeaderAPI == "" {
		return st, err
	}
	lc, err := l.clientFor([]string{"https://" + st.LeaderAPI})
	if err != nil {
		return st, nil
	}
	if lst, err := lc.Status(ctx, false); err == nil && lst.Leader == lst.Node {
		return lst, nil
	}
	return st, nil
}

func (l *ledgerClient) AddNonVoter(ctx context.Context, id, raftAddr, apiAddr string) error {
	return mapLedgerError(l.admin.AddMember(ctx, id, raftAddr, apiAddr, false))
}

func (l *ledgerClient) Promote(ctx context.Context, id string) error {
	return mapLedgerError(l.admin.Promote(ctx, id, false))
}

func (l *ledgerClient) RemoveMember(ctx context.Context, id string) error {
	return mapLedgerError(l.admin.RemoveMember(ctx, id))
}

func (l *ledgerClient) TransferLeadership(ctx context.Context, id string) error {
	return mapLedgerError(l.admin.TransferLeadership(ctx, id))
}

func (l *ledgerClient) Submit(ctx context.Context, st *tx.Signed) (*chain.Receipt, error) {
	resp, err := l.c.Submit(ctx, st, client.SubmitOptions{})
	if err != nil {
		return nil, mapLedgerError(err)
	}
	if resp.Receipt == nil {
		return nil, fmt.Errorf("transaction %s: the node answered without a receipt", st.IDHex())
	}
	return resp.Receipt, nil
}

func (l *ledgerClient) Identity(ctx context.Context, id string) (*wire.IdentityResponse, error) {
	r, err := l.c.Identity(ctx, id)
	return r, mapLedgerError(err)
}

func (l *ledgerClient) Agency(ctx context.Context, id string) (*wire.AgencyResponse, error) {
	r, err := l.c.Agency(ctx, id, client.ReadOptions{})
	return r, mapLedgerError(err)
}

func (l *ledgerClient) Receipt(ctx context.Context, txID string) (*chain.Receipt, error) {
	ev, err := l.c.Tx(ctx, txID, false, client.ReadOptions{})
	if err != nil {
		return nil, mapLedgerError(err)
	}
	return &ev.Receipt, nil
}

func (l *ledgerClient) Consistency(ctx context.Context, from uint64) (*wire.ConsistencyResponse, error) {
	r, err := l.c.Consistency(ctx, from)
	return r, mapLedgerError(err)
}

// mapLedgerError turns the node's answers the controllers decide on into
// this package's sentinel errors, keeping the node's message.
func mapLedgerError(err error) error {
	var ce *client.Error
	if err == nil || !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Status == http.StatusNotFound:
		return fmt.Errorf("%w: %v", ErrLedgerNotFound, err)
	case ce.Code == "member_behind":
		return fmt.Errorf("%w: %v", ErrMemberBehind, err)
	case ce.Code == "expired" || ce.Code == "created_in_future":
		return fmt.Errorf("%w: %v", ErrTxExpired, err)
	}
	return err
}
