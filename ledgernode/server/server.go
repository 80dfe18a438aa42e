package server

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/clockcheck"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/metrics"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Config configures the API server.
type Config struct {
	NodeID  string
	Store   *state.Store
	Replica *consensus.Replica
	NodeKey ed25519.PrivateKey // signs ledger heads
	TLS     *pki.Reloader      // serves HTTPS and authenticates forwarding to the leader
	Metrics *metrics.Node
	Logger  *slog.Logger
	// SubmitTimeout bounds how long a submission waits for its receipt.
	SubmitTimeout time.Duration
	// ReadyLag is how many Raft entries a node may trail the commit index
	// and still report ready.
	ReadyLag uint64
	// ReadWait bounds how long a read waits for the height it asks for
	// (minHeight, asOfHeight) before answering 503 height_not_reached.
	ReadWait time.Duration
	// DialSource is the local IP for requests to other nodes.
	DialSource string
	// PublicURL is the https base URL under which outside verifiers reach
	// this node's verification routes (status lists, JSON-LD context);
	// exported credentials name their status lists under it.
	PublicURL string
	// Access says which route groups anonymous clients may read (access.go).
	Access AccessConfig
	// Budget bounds the submission bytes held at once (budget.go).
	Budget BudgetConfig
	// Clock is this node's clock for every time check (default time.Now;
	// the node passes its consensus clock, which fault injection shifts).
	Clock func() time.Time
	// Clocks, if set, measures the voters' clocks (clock.go): status shows
	// the offsets, and the clock route answers peers' samples.
	Clocks *clockcheck.Monitor
}

// Server serves the ledger API.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	peers *http.Client // node-to-node HTTPS (forwarding), with the node certificate
	fwd   *forwardCoalescer
	// budget bounds the submission bytes in flight, cpu the goroutines
	// decoding and checking them (budget.go).
	budget *byteBudgets
	cpu    cpuSlots
	// ri is the last commit index learnt from the leader (catch_up.go).
	ri readIndex

	headMu sync.Mutex
	head   *chain.Head

	// stopping is set when the node begins a graceful stop: /readyz then
	// says so, and load balancers stop sending it new work.
	stopping atomic.Bool
	// dataLost holds the fix while this node reports that it lost its data
	// (SetDataLost): /readyz answers 503 with it, the status carries it.
	dataLost atomic.Pointer[string]
	// rejoin is what a node that started with an empty Raft log tells its
	// peers about itself (SetRejoin).
	rejoin atomic.Pointer[RejoinInfo]
}

// RejoinInfo is what a node that started with an empty Raft log reports
// (wire.Status.Incarnation and SawEmpty).
type RejoinInfo struct {
	Incarnation string
	SawEmpty    []string
}

// SetRejoin records what this node reports of its start with an empty log.
func (s *Server) SetRejoin(info RejoinInfo) { s.rejoin.Store(&info) }

// SetDataLost marks this node as having lost its data, with the fix a
// person (or the operator) applies; an empty fix clears the mark.
func (s *Server) SetDataLost(fix string) {
	if fix == "" {
		s.dataLost.Store(nil)
		return
	}
	s.dataLost.Store(&fix)
}

// DataLost is the fix SetDataLost recorded ("": none).
func (s *Server) DataLost() string {
	if p := s.dataLost.Load(); p != nil {
		return *p
	}
	return ""
}

// SetStopping marks the node as stopping: /readyz answers 503 from now on
// while every other route goes on serving (see node.Drain).
func (s *Server) SetStopping() { s.stopping.Store(true) }

// New builds the server and its routes.
// DefaultConfig returns a Config with every default filled in; the node
// sets NodeID, Store, Node, NodeKey and TLS. New only validates.
func DefaultConfig() Config {
	return Config{
		Logger:        slog.New(slog.DiscardHandler),
		SubmitTimeout: 30 * time.Second,
		ReadyLag:      256,
		ReadWait:      5 * time.Second,
		Budget:        DefaultBudgetConfig(),
		Clock:         time.Now,
	}
}

// Validate says what is missing or out of range, naming the field and the
// fix. New calls it; it changes nothing.
func (c Config) Validate() error {
	var errs []error
	need := func(ok bool, field, fix string) {
		if !ok {
			errs = append(errs, fmt.Errorf("server.Config.%s: %s", field, fix))
		}
	}
	need(c.NodeID != "", "NodeID", "required: the node's id (its genesis name)")
	need(c.Store != nil, "Store", "required: the node's state (state.Open)")
	need(c.Replica != nil, "Replica", "required: the node's Raft member (consensus.New)")
	need(c.NodeKey != nil, "NodeKey", "required: the key that signs ledger heads")
	need(c.TLS != nil, "TLS", "required: the node's certificates (pki.NewReloader)")
	need(c.Logger != nil, "Logger", "nil: start from DefaultConfig (it discards)")
	need(c.Clock != nil, "Clock", "nil: start from DefaultConfig (time.Now)")
	for _, p := range []struct {
		field string
		v     int64
	}{
		{"SubmitTimeout", int64(c.SubmitTimeout)}, {"ReadyLag", int64(c.ReadyLag)}, {"ReadWait", int64(c.ReadWait)},
		{"Budget.NodeBytes", c.Budget.NodeBytes}, {"Budget.ClientBytes", c.Budget.ClientBytes},
	} {
		need(p.v > 0, p.field, fmt.Sprintf("%d: must be positive (start from DefaultConfig)", p.v))
	}
	if err := c.Access.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("server.Config.Access: %w", err))
	}
	return errors.Join(errs...)
}

// New builds the API server from a validated config (DefaultConfig, then
// the node's fields); it fills nothing in.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), budget: newByteBudgets(cfg.Budget), cpu: newCPUSlots()}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if ip := net.ParseIP(cfg.DialSource); ip != nil {
		dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	s.peers = &http.Client{Timeout: cfg.SubmitTimeout + 5*time.Second, Transport: &http.Transport{
		DialContext: dialer.DialContext, TLSClientConfig: cfg.TLS.ClientConfig(true, ""), MaxIdleConnsPerHost: 64,
		IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: true}}
	s.fwd = &forwardCoalescer{timeout: cfg.SubmitTimeout, maxInflight: 4, maxBytes: maxBatchBytes,
		post: func(ctx context.Context, body []byte) (int, []byte, error) {
			return s.forward(ctx, http.MethodPost, "/v1/txs", body)
		}}
	if cfg.Metrics != nil {
		s.fwd.observe = func(n int) { cfg.Metrics.ForwardBatch.Observe(float64(n)) }
	}
	s.routes()
	return s, nil
}

// route registers a handler in a route group, readable by minRole and
// above (access.go).
type route func(group string, minRole Role, pattern string, fn http.HandlerFunc)

func (s *Server) routes() {
	h := func(group string, minRole Role, pattern string, fn http.HandlerFunc) {
		s.mux.Handle(pattern, s.instrument(pattern, s.guard(group, minRole, fn)))
	}
	h(GroupSubmit, RoleAnonymous, "POST /v1/tx", s.submit)
	h(GroupSubmit, RoleAnonymous, "POST /v1/txs", s.submitBatch)
	h(GroupSubmit, RoleAnonymous, "POST "+wire.PathTxStream, s.submitStream)
	h(GroupLedger, RoleParticipant, "GET /v1/tx/{id}", s.getTx)
	h(GroupLedger, RoleAgency, "GET /v1/blocks/{height}", s.getBlock)
	h(GroupVerification, RoleParticipant, "GET /v1/head", s.getHead)
	h(GroupVerification, RoleParticipant, "GET /v1/proof/consistency", s.getConsistency)
	h(GroupCluster, RoleAdmin, "GET /v1/cluster/status", s.clusterStatus)
	h(GroupBackup, RoleAdmin, "GET "+wire.PathBackup, s.backup)
	h(GroupSubmit, RoleAnonymous, "POST /v1/cluster/members", s.addMember)
	h(GroupSubmit, RoleAnonymous, "POST /v1/cluster/members/{id}/promote", s.promoteMember)
	h(GroupSubmit, RoleAnonymous, "DELETE /v1/cluster/members/{id}", s.removeMember)
	h(GroupSubmit, RoleAnonymous, "POST /v1/cluster/leadership", s.transferLeadership)
	h(GroupInternal, RoleNode, "POST /v1/cluster/ops", s.recordClusterOp)
	h(GroupInternal, RoleNode, "GET /v1/cluster/applied", s.appliedIndex)
	h(GroupInternal, RoleNode, "GET "+wire.PathClusterClock, s.clusterClock)
	h(GroupDirectory, RoleParticipant, "GET /v1/keys/{id}", s.getKey)
	h(GroupDirectory, RoleParticipant, "GET /v1/identities/{id...}", s.getIdentity)
	h(GroupNotes, RoleParticipant, "GET /v1/notes/{key...}", s.getNote)
	h(GroupLedger, RoleAgency, "GET /v1/state/digest", s.getDigest)
	h(GroupLedger, RoleParticipant, "GET /v1/types", s.getTypes)
	s.policyRoutes(h)
	h(GroupHealth, RoleAnonymous, "GET /healthz", s.healthz)
	h(GroupHealth, RoleAnonymous, "GET /readyz", s.readyz)
	s.tradeRoutes(h)
	s.verificationRoutes(h)
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.guard(GroupMetrics, RoleParticipant,
			promhttp.HandlerFor(s.cfg.Metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP))
	}
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.mux }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines and full duplex for the streaming route).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) instrument(route string, fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		fn(rec, r)
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		}
		if rec.status >= 500 {
			s.log.Warn("request failed", "route", route, "status", rec.status)
		}
	})
}

// HTTPServer returns an http.Server with timeouts that keep slow or idle
// clients from holding the node's resources.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.mux,
		TLSConfig:         s.cfg.TLS.ServerConfig(false),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.SubmitTimeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// ServeTLS serves HTTPS on ln until ctx ends, then shuts down gracefully.
func (s *Server) ServeTLS(ctx context.Context, ln net.Listener) error {
	hs := s.HTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(tls.NewListener(ln, hs.TLSConfig)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := hs.Shutdown(sctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = hs.Close()
		}
		<-errc
		return err
	}
}

// signedHead returns the head signed by this node, cached per height.
func (s *Server) signedHead(m state.Meta) (*chain.Head, error) {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	if s.head != nil && s.head.Height == m.Height && s.head.TreeSize == m.TreeSize {
		h := *s.head
		return &h, nil
	}
	h := &chain.Head{Network: m.Network, Height: m.Height, TreeSize: m.TreeSize, Root: m.Root, BlockHash: m.BlockHash,
		Time: m.Time, Node: s.cfg.NodeID}
	if err := h.Sign(s.cfg.NodeKey); err != nil {
		return nil, err
	}
	if s.head == nil || m.Height >= s.head.Height {
		s.head = h
	}
	c := *h
	return &c, nil
}
