package controllers

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// Ledger is what the controllers need from a ledger network: its status,
// the admin's cluster operations and transaction submission. The
// implementation (ledgerClient) adapts ledgernode/client; tests point it
// at real in-process nodes through a Resolver.
type Ledger interface {
	// Status is the cluster as the answering node sees it, with each
	// member's own report.
	Status(ctx context.Context) (*wire.Status, error)
	// AddNonVoter adds a node to the Raft configuration without a vote.
	AddNonVoter(ctx context.Context, id, raftAddr, apiAddr string) error
	// Promote makes a caught-up non-voter a voter; it fails with an
	// ErrMemberBehind error while the member trails the leader.
	Promote(ctx context.Context, id string) error
	// RemoveMember removes a node from the Raft configuration.
	RemoveMember(ctx context.Context, id string) error
	// TransferLeadership hands leadership to id ("" = any caught-up voter).
	TransferLeadership(ctx context.Context, id string) error
	// Submit sends a signed transaction and waits for its receipt; a
	// rejected transaction is a receipt, not an error.
	Submit(ctx context.Context, st *tx.Signed) (*chain.Receipt, error)
	// Identity reads an identity and its keys; ErrLedgerNotFound if absent.
	Identity(ctx context.Context, id string) (*wire.IdentityResponse, error)
	// Agency reads an agency's record (status, why it is suspended);
	// ErrLedgerNotFound if absent.
	Agency(ctx context.Context, id string) (*wire.AgencyResponse, error)
	// Receipt reads a recorded transaction's receipt; ErrLedgerNotFound if absent.
	Receipt(ctx context.Context, txID string) (*chain.Receipt, error)
	// Consistency is a proof that the tree of size from is a prefix of the
	// current one, with the signed head it is proven against.
	Consistency(ctx context.Context, from uint64) (*wire.ConsistencyResponse, error)
}

// LedgerTarget is everything needed to talk to one network as its admin.
type LedgerTarget struct {
	Network  *ledgerv1.LedgerNetwork
	CAPEM    []byte             // the network CA the nodes' certificates chain to
	AdminKey ed25519.PrivateKey // signs cluster operations and agency registration
}

// LedgerDialer opens a Ledger for a network.
type LedgerDialer interface {
	Dial(ctx context.Context, t LedgerTarget) (Ledger, error)
}

// Resolver says where a network's nodes are. The default, ServiceResolver,
// uses the cluster DNS names of the network's Services; tests resolve to
// loopback addresses of nodes they run in-process.
type Resolver interface {
	// APIEndpoints are base URLs (https://host:port) of the client API.
	APIEndpoints(net *ledgerv1.LedgerNetwork) []string
	// MemberAddrs are the Raft and API addresses (host:port) peers use for
	// one node, written into the genesis and into membership changes.
	MemberAddrs(net *ledgerv1.LedgerNetwork, pod string) (raftAddr, apiAddr string)
}

// Ports of a ledger node.
const (
	RaftPort = 7000
	APIPort  = 8443
)

// ServiceResolver resolves through the network's Services: the client
// Service for the API, the headless Service's stable per-pod names for
// members (the pods' IPs change; their names do not).
type ServiceResolver struct {
	ClusterDomain string // the cluster's DNS domain (DefaultOptions: cluster.local)
}

// APIEndpoints implements Resolver.
func (r ServiceResolver) APIEndpoints(n *ledgerv1.LedgerNetwork) []string {
	host := fmt.Sprintf("%s.%s.svc.%s", clientServiceName(n), n.Namespace, r.ClusterDomain)
	return []string{"https://" + net.JoinHostPort(host, strconv.Itoa(APIPort))}
}

// MemberAddrs implements Resolver.
func (r ServiceResolver) MemberAddrs(n *ledgerv1.LedgerNetwork, pod string) (string, string) {
	host := podFQDN(n, pod, r.ClusterDomain)
	return net.JoinHostPort(host, strconv.Itoa(RaftPort)), net.JoinHostPort(host, strconv.Itoa(APIPort))
}

// networkTarget reads what talking to a network as its admin takes (its CA
// certificate and admin key) from the network's identity Secrets.
func networkTarget(ctx context.Context, c client.Reader, n *ledgerv1.LedgerNetwork) (LedgerTarget, error) {
	var ca, admin corev1.Secret
	if err := c.Get(ctx, key(n, caSecretName(n)), &ca); err != nil {
		return LedgerTarget{}, fmt.Errorf("network %s/%s: Secret %s: %w", n.Namespace, n.Name, caSecretName(n), err)
	}
	if err := c.Get(ctx, key(n, adminSecretName(n)), &admin); err != nil {
		return LedgerTarget{}, fmt.Errorf("network %s/%s: Secret %s: %w", n.Namespace, n.Name, adminSecretName(n), err)
	}
	k, err := tx.UnmarshalKey(admin.Data[adminKeyKey])
	if err != nil {
		return LedgerTarget{}, fmt.Errorf("network %s/%s: Secret %s: %w", n.Namespace, n.Name, adminSecretName(n), err)
	}
	return LedgerTarget{Network: n, CAPEM: ca.Data[caCertKey], AdminKey: k}, nil
}

// boundedLedger bounds every call to a ledger by its own timeout, so that
// no reconcile waits long on a node that does not answer (a pod deleted,
// an address gone) whatever deadline its caller has.
type boundedLedger struct {
	l       Ledger
	timeout time.Duration
}

// withCallTimeout wraps a Ledger so each call has at most d.
func withCallTimeout(l Ledger, d time.Duration) Ledger {
	if b, ok := l.(*boundedLedger); ok {
		l = b.l
	}
	return &boundedLedger{l: l, timeout: d}
}

// call runs one call to the ledger, bounded by the timeout.
func (b *boundedLedger) call(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	return f(ctx)
}

// within is call for a call that answers.
func within[T any](ctx context.Context, b *boundedLedger, f func(context.Context) (T, error)) (answer T, err error) {
	err = b.call(ctx, func(ctx context.Context) error { answer, err = f(ctx); return err })
	return answer, err
}

func (b *boundedLedger) Status(ctx context.Context) (*wire.Status, error) {
	return within(ctx, b, b.l.Status)
}

func (b *boundedLedger) AddNonVoter(ctx context.Context, id, raftAddr, apiAddr string) error {
	return b.call(ctx, func(ctx context.Context) error { return b.l.AddNonVoter(ctx, id, raftAddr, apiAddr) })
}

func (b *boundedLedger) Promote(ctx context.Context, id string) error {
	return b.call(ctx, func(ctx context.Context) error { return b.l.Promote(ctx, id) })
}

func (b *boundedLedger) RemoveMember(ctx context.Context, id string) error {
	return b.call(ctx, func(ctx context.Context) error { return b.l.RemoveMember(ctx, id) })
}

func (b *boundedLedger) TransferLeadership(ctx context.Context, id string) error {
	return b.call(ctx, func(ctx context.Context) error { return b.l.TransferLeadership(ctx, id) })
}

func (b *boundedLedger) Submit(ctx context.Context, st *tx.Signed) (*chain.Receipt, error) {
	return within(ctx, b, func(ctx context.Context) (*chain.Receipt, error) { return b.l.Submit(ctx, st) })
}

func (b *boundedLedger) Identity(ctx context.Context, id string) (*wire.IdentityResponse, error) {
	return within(ctx, b, func(ctx context.Context) (*wire.IdentityResponse, error) { return b.l.Identity(ctx, id) })
}

func (b *boundedLedger) Agency(ctx context.Context, id string) (*wire.AgencyResponse, error) {
	return within(ctx, b, func(ctx context.Context) (*wire.AgencyResponse, error) { return b.l.Agency(ctx, id) })
}

func (b *boundedLedger) Receipt(ctx context.Context, txID string) (*chain.Receipt, error) {
	return within(ctx, b, func(ctx context.Context) (*chain.Receipt, error) { return b.l.Receipt(ctx, txID) })
}

func (b *boundedLedger) Consistency(ctx context.Context, from uint64) (*wire.ConsistencyResponse, error) {
	return within(ctx, b, func(ctx context.Context) (*wire.ConsistencyResponse, error) { return b.l.Consistency(ctx, from) })
}

// dialBounded opens a network's ledger with every call bounded by d.
func dialBounded(ctx context.Context, d LedgerDialer, t LedgerTarget, timeout time.Duration) (Ledger, error) {
	l, err := d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	return withCallTimeout(l, timeout), nil
}
