// Package client is the Go client of the ledger API, used by ledgerctl, the
// operator and the tests. It signs nothing by itself except where a method
// takes a key; it retries on another endpoint when a node is unreachable
// or has no leader, which is safe because a transaction is accepted once.
package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Config configures a Client.
type Config struct {
	// Endpoints are node API base URLs (https://host:port). Requests go to
	// the first; on connection errors or 503 the next is tried.
	Endpoints []string
	// CAFile is the network CA (PEM) the nodes' certificates chain to.
	CAFile string
	// CertFile and CertKeyFile are a client certificate (PEM) from the
	// network CA and its key: the usual way to authenticate reads.
	CertFile, CertKeyFile string
	// SignKey, when set, signs every read with a key registered on the
	// ledger (the other way to authenticate; docs/api.md, Authentication).
	SignKey ed25519.PrivateKey
	// TLS overrides CAFile and CertFile with a ready configuration.
	TLS *tls.Config
	// Timeout bounds each request (default 60s).
	Timeout time.Duration
	// Retry is how long to keep retrying on "no leader" (default 15s).
	Retry time.Duration
	// ReadYourWrites makes every read carry the highest height of the
	// receipts this client has seen (Submit, SubmitBatch, NoteHeight) as
	// minHeight, so that a node that has not applied them yet waits until
	// it has (or answers 503, and the next endpoint is asked).
	ReadYourWrites bool
}

// Client talks to a ledger network.
type Client struct {
	cfg     Config
	http    *http.Client
	next    atomic.Uint32
	written atomic.Uint64 // highest receipt height seen (ReadYourWrites)
}

// NoteHeight records a height the client's writes reached (a receipt's
// height): with ReadYourWrites, later reads ask for it as minHeight.
func (c *Client) NoteHeight(h uint64) {
	for {
		cur := c.written.Load()
		if h <= cur || c.written.CompareAndSwap(cur, h) {
			return
		}
	}
}

// WrittenHeight is the highest receipt height the client has seen.
func (c *Client) WrittenHeight() uint64 { return c.written.Load() }

// New builds a client.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("client: at least one endpoint is required (--server or LEDGER_SERVER)")
	}
	for i, e := range cfg.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("client: endpoint %q: want https://host:port", e)
		}
		cfg.Endpoints[i] = strings.TrimRight(e, "/")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Retry == 0 {
		cfg.Retry = 15 * time.Second
	}
	tc := cfg.TLS
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS13}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("client: CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("client: CA file %s holds no PEM certificate", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		if cfg.CertFile != "" || cfg.CertKeyFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.CertKeyFile)
			if err != nil {
				return nil, fmt.Errorf("client: client certificate %s with key %s: %w (both --cert and --cert-key are needed)", cfg.CertFile, cfg.CertKeyFile, err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
	}
	tr := &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true}
	return &Client{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout, Transport: tr}}, nil
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Endpoints returns the configured endpoints.
func (c *Client) Endpoints() []string { return c.cfg.Endpoints }

// Error is an error answer from a node.
type Error struct {
	Status int
	wire.ErrorDetail
}

func (e *Error) Error() string {
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field) {
		return fmt.Sprintf("%s (%d %s): %s: %s", e.Code, e.Status, http.StatusText(e.Status), e.Field, e.Message)
	}
	return fmt.Sprintf("%s (%d %s): %s", e.Code, e.Status, http.StatusText(e.Status), e.Message)
}

// IsNotFound says whether err is a 404 from a node.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Do sends a request and decodes a JSON answer into out (if not nil).
// Unreachable nodes and 503s are retried on the next endpoint until Retry.
// A local read that finds nothing is asked again through the leader: the
// node asked may simply not have applied a write the caller just made.
func (c *Client) Do(ctx context.Context, method, path string, body []byte, out any) error {
	err := c.do(ctx, method, path, body, out)
	if method == http.MethodGet && IsNotFound(err) && !strings.Contains(path, "consistency=") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return c.do(ctx, method, path+sep+"consistency=strong", body, out)
	}
	return err
}

// get reads path (with its query) into a new T.
func get[T any](ctx context.Context, c *Client, path string) (*T, error) {
	var out T
	if err := c.Do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// post sends in as JSON to path, with o's read options, and reads the
// answer into a new T.
func post[T any](ctx context.Context, c *Client, path string, o ReadOptions, in any) (*T, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var out T
	if err := c.Do(ctx, http.MethodPost, path+c.readQuery(o, nil), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	deadline := time.Now().Add(c.cfg.Retry)
	var lastErr error
	// unknown is an earlier attempt of a write whose outcome is not known
	// (it may have been accepted): a later refusal of the same request then
	// proves nothing, and the caller must not be told it was refused.
	var unknown error
	settle := func(err error) error {
		var ae *Error
		if unknown != nil && errors.As(err, &ae) && ae.Status < 500 {
			return &Error{Status: http.StatusServiceUnavailable, ErrorDetail: wire.ErrorDetail{Code: "outcome_unknown",
				Message: fmt.Sprintf("an earlier attempt's outcome is unknown (%v) and a later one was refused (%v): it may have been accepted; resubmit the same envelope to learn its receipt (it is accepted at most once)", unknown, err)}}
		}
		return err
	}
	for attempt := 0; ; attempt++ {
		base := c.cfg.Endpoints[int(c.next.Load())%len(c.cfg.Endpoints)]
		err := c.once(ctx, method, base+path, body, out)
		if err == nil {
			return nil
		}
		lastErr = err
		if method != http.MethodGet && outcomeUnknown(err) {
			unknown = err
		}
		var ae *Error
		retry := !errors.As(err, &ae) || ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusTooManyRequests
		if ae == nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if !retry || time.Now().After(deadline) {
			return settle(lastErr)
		}
		if ae == nil || ae.Code != "outcome_unknown" {
			c.next.Add(1)
		}
		sleep := time.Duration(min(50*(attempt+1), 500)) * time.Millisecond
		select {
		case <-time.After(sleep):
		case <-ctx.Done():
			return settle(lastErr)
		}
	}
}

// outcomeUnknown says whether a failed attempt may still have taken
// effect: the node said so (503 outcome_unknown), or the connection failed
// after the request may have been sent (anything but a failure to dial).
func outcomeUnknown(err error) bool {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Status == http.StatusServiceUnavailable && ae.Code == "outcome_unknown"
	}
	var oe *net.OpError
	return !(errors.As(err, &oe) && oe.Op == "dial")
}

func (c *Client) once(ctx context.Context, method, u string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.SignKey != nil && (method == http.MethodGet || strings.HasPrefix(req.URL.Path, "/v1/verify/")) {
		SignRequest(req, c.cfg.SignKey, body, time.Now())
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return explainTLS(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb wire.ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			eb.Error = wire.ErrorDetail{Code: "http_error", Message: strings.TrimSpace(tx.Shorten(string(data), 300))}
		}
		return &Error{Status: resp.StatusCode, ErrorDetail: eb.Error}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer from %s: %w", u, err)
	}
	return nil
}

// ErrUntrustedServer: the node's certificate is not signed by any CA the
// client trusts (its --ca file).
var ErrUntrustedServer = errors.New("the node's TLS certificate is not signed by a CA the client trusts")

// explainTLS names why a node was refused when its certificate does not
// chain to the client's CAs: most often the network's CA was rotated and
// the client still holds only the old one.
func explainTLS(err error) error {
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		return err
	}
	return fmt.Errorf("%w (%v): the network CA may have been rotated; use the current CA bundle as --ca "+
		"(on Kubernetes the ConfigMap <network>-ca-bundle, key ca.crt; docs/operations.md, Rotating the network CA)", ErrUntrustedServer, err)
}

// SignRequest signs req (whose body is body) with key: the headers of a
// signed request (wire.HeaderAuthKey and the others).
func SignRequest(req *http.Request, key ed25519.PrivateKey, body []byte, now time.Time) {
	at := tx.FormatTime(now)
	sig := ed25519.Sign(key, wire.RequestSigningBytes(req.Method, req.URL.RequestURI(), at, body))
	req.Header.Set(wire.HeaderAuthKey, tx.KeyID(key.Public().(ed25519.PublicKey)))
	req.Header.Set(wire.HeaderAuthSignedAt, at)
	req.Header.Set(wire.HeaderAuthSignature, base64.RawURLEncoding.EncodeToString(sig))
}

// SubmitOptions choose how Submit waits.
type SubmitOptions struct {
	Async bool // return at once with the id; look the receipt up later
	Proof bool // include the inclusion proof and a signed head
}

// Submit sends a signed transaction and (unless Async) waits for its
// receipt. A rejected transaction is not an error: check Receipt.Status.
func (c *Client) Submit(ctx context.Context, st *tx.Signed, o SubmitOptions) (*wire.SubmitResponse, error) {
	q := url.Values{}
	if o.Async {
		q.Set("wait", "false")
	}
	if o.Proof {
		q.Set("proof", "true")
	}
	path := "/v1/tx"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var resp wire.SubmitResponse
	if err := c.Do(ctx, http.MethodPost, path, st.Canonical, &resp); err != nil {
		return nil, err
	}
	if resp.Receipt != nil {
		c.NoteHeight(resp.Receipt.Height)
	}
	return &resp, nil
}

// SubmitBatch sends up to wire.MaxBatch signed transactions in one request
// and waits for every receipt; each result is the receipt or the error the
// transaction would have had on its own.
func (c *Client) SubmitBatch(ctx context.Context, sts []*tx.Signed) (*wire.BatchResponse, error) {
	var resp wire.BatchResponse
	if err := c.Do(ctx, http.MethodPost, "/v1/txs", wire.BatchBody(sts), &resp); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(sts) {
		return nil, fmt.Errorf("batch of %d answered with %d results", len(sts), len(resp.Results))
	}
	for _, r := range resp.Results {
		if r.Receipt != nil {
			c.NoteHeight(r.Receipt.Height)
		}
	}
	return &resp, nil
}

// SubmitRaw sends envelope bytes as they are (for tests of bad input).
func (c *Client) SubmitRaw(ctx context.Context, body []byte) (*wire.SubmitResponse, error) {
	var resp wire.SubmitResponse
	if err := c.Do(ctx, http.MethodPost, "/v1/tx", body, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ReadOptions choose how a read is served and at which height.
type ReadOptions struct {
	Strong bool // linearizable: through the leader with a read barrier
	// MinHeight: the node waits until it has applied this height (a
	// receipt's height: read your writes).
	MinHeight uint64
	// AsOfHeight answers from the ledger as it stood after that block
	// (nil: the head); KnownAt (RFC 3339 UTC) at the last block recorded at
	// or before that time. At most one of them.
	AsOfHeight *uint64
	KnownAt    string
}

func (c *Client) readQuery(o ReadOptions, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if o.Strong {
		q.Set("consistency", "strong")
	}
	minH := o.MinHeight
	if c.cfg.ReadYourWrites {
		minH = max(minH, c.written.Load())
	}
	if minH > 0 {
		q.Set("minHeight", strconv.FormatUint(minH, 10))
	}
	if o.AsOfHeight != nil {
		q.Set("asOfHeight", strconv.FormatUint(*o.AsOfHeight, 10))
	}
	if o.KnownAt != "" {
		q.Set("knownAt", o.KnownAt)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Tx fetches a transaction with its receipt and, with proof, the evidence
// to verify it offline.
func (c *Client) Tx(ctx context.Context, id string, proof bool, o ReadOptions) (*verify.Evidence, error) {
	q := url.Values{}
	if proof {
		q.Set("proof", "true")
	}
	return get[verify.Evidence](ctx, c, "/v1/tx/"+url.PathEscape(id)+c.readQuery(o, q))
}

// Block fetches a block by height (0: the latest).
func (c *Client) Block(ctx context.Context, height uint64, o ReadOptions) (*chain.Block, error) {
	h := "latest"
	if height > 0 {
		h = strconv.FormatUint(height, 10)
	}
	return get[chain.Block](ctx, c, "/v1/blocks/"+h+c.readQuery(o, nil))
}

// Head fetches the signed ledger head.
func (c *Client) Head(ctx context.Context, o ReadOptions) (*chain.Head, error) {
	return get[chain.Head](ctx, c, "/v1/head"+c.readQuery(o, nil))
}

// Consistency fetches a proof that the tree of size from is a prefix of the
// current one, with the head it is proven against.
func (c *Client) Consistency(ctx context.Context, from uint64) (*wire.ConsistencyResponse, error) {
	return get[wire.ConsistencyResponse](ctx, c, "/v1/proof/consistency?from="+strconv.FormatUint(from, 10))
}

// Status fetches the cluster status as the first endpoint sees it.
func (c *Client) Status(ctx context.Context, self bool) (*wire.Status, error) {
	p := "/v1/cluster/status"
	if self {
		p += "?self=true"
	}
	return get[wire.Status](ctx, c, p)
}

// Note reads a note.
func (c *Client) Note(ctx context.Context, key string, o ReadOptions) (*wire.Note, error) {
	return get[wire.Note](ctx, c, "/v1/notes/"+key+c.readQuery(o, nil))
}

// Key reads a key's record and history.
func (c *Client) Key(ctx context.Context, keyID string) (*wire.Key, error) {
	return get[wire.Key](ctx, c, "/v1/keys/"+url.PathEscape(keyID))
}

// Identity reads an identity and its keys.
func (c *Client) Identity(ctx context.Context, id string) (*wire.IdentityResponse, error) {
	return get[wire.IdentityResponse](ctx, c, "/v1/identities/"+id)
}

// Digest fetches the state digest of the first endpoint's node.
func (c *Client) Digest(ctx context.Context) (*wire.DigestResponse, error) {
	return get[wire.DigestResponse](ctx, c, "/v1/state/digest")
}

// Types lists the transaction types the network accepts.
func (c *Client) Types(ctx context.Context) ([]wire.TypeInfo, error) {
	var t []wire.TypeInfo
	err := c.Do(ctx, http.MethodGet, "/v1/types", nil, &t)
	return t, err
}

// Ready asks /readyz of the first endpoint (no retry).
func (c *Client) Ready(ctx context.Context) (*wire.Ready, error) {
	var r wire.Ready
	err := c.once(ctx, http.MethodGet, c.cfg.Endpoints[0]+"/readyz", nil, &r)
	return &r, err
}

// Admin signs cluster operations with the network admin key.
type Admin struct {
	c       *Client
	network string
	key     ed25519.PrivateKey
}

// Admin returns an admin view of the client for the given network.
func (c *Client) Admin(network string, key ed25519.PrivateKey) *Admin {
	return &Admin{c: c, network: network, key: key}
}

func (a *Admin) do(ctx context.Context, method, path, typ string, req wire.MemberRequest) error {
	st, err := tx.BuildSigned(a.network, typ, req, time.Now(), a.key)
	if err != nil {
		return err
	}
	return a.c.Do(ctx, method, path, st.Canonical, nil)
}

// AddMember adds a node as a non-voter (or a voter).
func (a *Admin) AddMember(ctx context.Context, id, raftAddr, apiAddr string, voter bool) error {
	return a.do(ctx, http.MethodPost, "/v1/cluster/members", wire.OpAddMember,
		wire.MemberRequest{ID: id, RaftAddr: raftAddr, APIAddr: apiAddr, Voter: voter})
}

// Promote makes a caught-up non-voter a voter (force skips the check).
func (a *Admin) Promote(ctx context.Context, id string, force bool) error {
	return a.do(ctx, http.MethodPost, "/v1/cluster/members/"+id+"/promote", wire.OpPromoteMember, wire.MemberRequest{ID: id, Force: force})
}

// RemoveMember removes a node from the cluster.
func (a *Admin) RemoveMember(ctx context.Context, id string) error {
	return a.do(ctx, http.MethodDelete, "/v1/cluster/members/"+id, wire.OpRemoveMember, wire.MemberRequest{ID: id})
}

// TransferLeadership moves leadership to id (or to any caught-up voter).
func (a *Admin) TransferLeadership(ctx context.Context, id string) error {
	return a.do(ctx, http.MethodPost, "/v1/cluster/leadership", wire.OpTransferLeadership, wire.MemberRequest{ID: id})
}

// isVoterAt says whether the cluster holds id as a voter at these
// addresses.
func (a *Admin) isVoterAt(ctx context.Context, id, raftAddr, apiAddr string) bool {
	st, err := a.c.Status(ctx, false)
	if err != nil {
		return false
	}
	for _, m := range st.Members {
		if m.ID == id {
			return m.Suffrage == "voter" && m.RaftAddr == raftAddr && m.APIAddr == apiAddr
		}
	}
	return false
}

// JoinAndPromote adds a node as a non-voter, waits until it has caught up
// (reporting progress), then promotes it: the safe way to grow a cluster.
func (a *Admin) JoinAndPromote(ctx context.Context, id, raftAddr, apiAddr string, progress func(applied, target uint64)) error {
	if err := a.AddMember(ctx, id, raftAddr, apiAddr, false); err != nil {
		// A retry of a join whose first try went through: the node is
		// a voter at these addresses already, which is what was asked.
		var ae *Error
		if errors.As(err, &ae) && ae.Code == wire.CodeAlreadyVoter && a.isVoterAt(ctx, id, raftAddr, apiAddr) {
			return nil
		}
		return fmt.Errorf("add %s as non-voter: %w", id, err)
	}
	for {
		err := a.Promote(ctx, id, false)
		if err == nil {
			return nil
		}
		var ae *Error
		if !errors.As(err, &ae) || ae.Code != "member_behind" {
			return fmt.Errorf("promote %s: %w", id, err)
		}
		if progress != nil {
			if st, serr := a.c.Status(ctx, false); serr == nil {
				for _, m := range st.Members {
					if m.ID == id {
						progress(m.AppliedIndex, st.AppliedIndex)
					}
				}
			}
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("promote %s: %w (last: %v)", id, ctx.Err(), err)
		}
	}
}
