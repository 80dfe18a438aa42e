package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/clockcheck"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// readBody reads at most limit bytes; more is a 413 naming the limit.
func readBody(r *http.Request, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, badRequest("body", "could not read the request body: "+err.Error())
	}
	if len(body) > limit {
		return nil, &tx.FieldError{Field: "envelope", Large: true,
			Message: fmt.Sprintf("request body is over the limit of %d bytes", limit)}
	}
	return body, nil
}

// submit handles POST /v1/tx: decode and check here (4xx at once), then
// propose on the leader (forwarding if needed) and wait for the receipt.
func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	bb := s.budget.budgetBody(r)
	defer bb.release()
	r.Body = io.NopCloser(bb)
	forwarded := r.Header.Get(wire.HeaderForwarded) != ""
	st, err := s.decodeEnvelope(r)
	if err != nil {
		s.countSubmit(err)
		writeError(w, err)
		return
	}
	existing, err := s.precheck(r.Context(), st, arrived, forwarded)
	if err != nil && !errors.Is(err, errForward) {
		s.countSubmit(err)
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	withProof := q.Get("proof") == "true"
	if existing != nil {
		s.countSubmit(nil)
		s.writeSubmitted(w, st, &existing.Receipt, true, withProof)
		return
	}
	if q.Get("wait") == "false" {
		if errors.Is(err, errForward) {
			// This follower could not judge the signer: the leader does,
			// now, so that a refusal reaches the client instead of a 202
			// for a transaction that is then dropped.
			s.forwardAsync(r.Context(), w, st)
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.SubmitTimeout)
			defer cancel()
			if _, _, err := s.submitOrForward(ctx, st, forwarded, false); err != nil {
				s.log.Warn("async submission failed", "txID", st.IDHex(), "err", err)
			}
		}()
		writeJSON(w, http.StatusAccepted, wire.SubmitResponse{TxID: st.IDHex(), Pending: true})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.SubmitTimeout)
	defer cancel()
	rc, fwd, err := s.submitOrForward(ctx, st, forwarded, withProof)
	s.countSubmit(err)
	if err != nil {
		writeError(w, err)
		return
	}
	if fwd != nil { // the leader answered, proof included if asked
		writeJSON(w, http.StatusOK, fwd)
		return
	}
	s.writeSubmitted(w, st, &rc, rc.TxID != st.IDHex(), withProof)
}

// forwardAsync hands a ?wait=false submission this follower could not
// judge to the leader and answers with the leader's answer (202 pending, or
// its refusal), or 503 when no leader can be reached: the client retries.
func (s *Server) forwardAsync(ctx context.Context, w http.ResponseWriter, st *tx.Signed) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SubmitTimeout)
	defer cancel()
	status, out, err := s.forward(ctx, http.MethodPost, "/v1/tx?wait=false", st.Canonical)
	if err == nil && status >= 300 {
		err = peerError(status, out)
	}
	s.countSubmit(err)
	if err != nil {
		writeError(w, err)
		return
	}
	writeRaw(w, status, out)
}

// errForward: this follower could not catch up with the leader to judge a
// state-dependent precheck failure; it forwards and the leader decides.
var errForward = errors.New("the leader decides")

// precheck runs the checks made before consensus, the same on every node.
// A failure that depends on state (an unknown or invalid key, a suspended
// signer) is judged again once this node has applied everything the leader
// had committed when the request arrived (catchUp): a key registered and
// acknowledged a moment earlier is then known here too, and what is still
// refused is refused here, as the leader would, without forwarding.
func (s *Server) precheck(ctx context.Context, st *tx.Signed, arrived time.Time, forwarded bool) (*state.TxRecord, error) {
	existing, err := s.precheckOnce(ctx, st)
	if err == nil || !stateDependent(err) {
		return existing, err
	}
	if cerr := s.catchUp(ctx, arrived); cerr != nil {
		if forwarded || s.cfg.Replica.IsLeader() {
			return existing, err
		}
		return nil, errForward
	}
	return s.precheckOnce(ctx, st)
}

// precheckOnce runs the store's precheck (signature verification: the CPU
// cost) in a decoding slot.
func (s *Server) precheckOnce(ctx context.Context, st *tx.Signed) (existing *state.TxRecord, err error) {
	if serr := s.cpu.do(ctx, func() { existing, err = s.cfg.Store.Precheck(st, s.now()) }); serr != nil {
		return nil, serr
	}
	if timeRefused(err) && s.cfg.Clocks != nil {
		// Judged by a clock a quorum of voters disagrees with, "expired"
		// would blame the signer: say whose clock is wrong (503: a client
		// tries another node).
		cerr := s.cfg.Clocks.Check(s.now())
		if errors.Is(cerr, clockcheck.ErrUnconfirmed) {
			// Just started, say: sample once before blaming the signer.
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			s.cfg.Clocks.Refresh(rctx)
			cancel()
			cerr = s.cfg.Clocks.Check(s.now())
		}
		if errors.Is(cerr, clockcheck.ErrSkewed) {
			return nil, cerr
		}
	}
	return existing, err
}

// timeRefused says whether a precheck refused a transaction for its time.
func timeRefused(err error) bool {
	var rej *wire.Rejection
	if !errors.As(err, &rej) {
		return false
	}
	c := rej.Reasons[0].Code
	return c == wire.CodeExpired || c == wire.CodeFuture
}

// stateDependent says whether a precheck failure depends on state this
// node may not have applied yet (a key registered a moment ago on the
// leader).
func stateDependent(err error) bool {
	var rej *wire.Rejection
	if !errors.As(err, &rej) {
		return false
	}
	switch rej.Reasons[0].Code {
	case wire.CodeUnknownKey, wire.CodeKeyInvalid, wire.CodeUnauthorized:
		return true
	}
	return false
}

func (s *Server) countSubmit(err error) {
	if s.cfg.Metrics == nil {
		return
	}
	res := "ok"
	if err != nil {
		if st, _ := statusOf(err); st < 500 {
			res = "client_error"
		} else {
			res = "unavailable"
		}
	}
	s.cfg.Metrics.Submitted.WithLabelValues(res).Inc()
}

// decodeEnvelope reads the body (outside any decoding slot: a slow
// client holds only its bytes) and decodes it in a slot.
func (s *Server) decodeEnvelope(r *http.Request) (st *tx.Signed, err error) {
	lim := s.cfg.Store.Limits()
	body, err := readBody(r, lim.MaxEnvelopeBytes)
	if err != nil {
		return nil, err
	}
	if serr := s.cpu.do(r.Context(), func() { st, err = tx.Decode(body, lim) }); serr != nil {
		return nil, serr
	}
	return st, err
}

func (s *Server) writeSubmitted(w http.ResponseWriter, st *tx.Signed, rc *chain.Receipt, existing, withProof bool) {
	resp := wire.SubmitResponse{TxID: rc.TxID, Receipt: rc, Existing: existing}
	if withProof {
		ev, err := s.evidence(st.IDHex(), true)
		if err != nil {
			writeError(w, err)
			return
		}
		resp.Evidence = ev
	}
	writeJSON(w, http.StatusOK, resp)
}

// submitOrForward proposes st on this node if it leads, or forwards it to
// the leader. It retries while there is no leader or leadership moves,
// until ctx ends: resubmitting the same envelope is safe (accepted once).
// A forwarded request is never forwarded again; its sender retries.
func (s *Server) submitOrForward(ctx context.Context, st *tx.Signed, forwarded, withProof bool) (chain.Receipt, *wire.SubmitResponse, error) {
	backoff := 20 * time.Millisecond
	for {
		rc, err := s.cfg.Replica.Submit(ctx, st)
		if err == nil {
			return rc, nil, nil
		}
		retry := errors.Is(err, consensus.ErrNoLeader) || errors.Is(err, consensus.ErrOutcomeUnknown)
		// Not the leader, or no leader known here right now: forward to the
		// leader (or the last one known, which says so if it no longer leads).
		if errors.Is(err, consensus.ErrNotLeader) || (errors.Is(err, consensus.ErrNoLeader) && !forwarded) {
			if forwarded {
				return rc, nil, err
			}
			resp, ferr := s.forwardSubmit(ctx, st, withProof)
			if ferr == nil {
				return *resp.Receipt, resp, nil
			}
			err, retry = ferr, isRetryable(ferr)
		}
		if !retry || ctx.Err() != nil {
			if ctx.Err() != nil {
				return rc, nil, consensus.ErrOutcomeUnknown
			}
			return rc, nil, err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return rc, nil, consensus.ErrOutcomeUnknown
		}
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

// errPeer is an error response from another node, kept with its status.
type errPeer struct {
	status int
	body   wire.ErrorBody
}

func (e *errPeer) Error() string { return e.body.Error.Message }

func isRetryable(err error) bool {
	var pe *errPeer
	if errors.As(err, &pe) {
		return pe.status == http.StatusServiceUnavailable || pe.status == http.StatusTooManyRequests
	}
	return errors.Is(err, consensus.ErrNoLeader) || errors.Is(err, errPeerUnreachable)
}

var errPeerUnreachable = errors.New("leader unreachable")

// forwardSubmit sends st to the leader: coalesced with other forwarded
// submissions into a batch, unless the answer must carry a proof (the
// batch route does not give one) or the envelope is too big to share one.
func (s *Server) forwardSubmit(ctx context.Context, st *tx.Signed, withProof bool) (*wire.SubmitResponse, error) {
	if !withProof && len(st.Canonical) <= maxBatchBytes/2 {
		return s.fwd.submit(ctx, st)
	}
	path := "/v1/tx"
	if withProof {
		path += "?proof=true"
	}
	status, body, err := s.forward(ctx, http.MethodPost, path, st.Canonical)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, peerError(status, body)
	}
	var resp wire.SubmitResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.Receipt == nil {
		return nil, fmt.Errorf("leader's answer unreadable: %v", err)
	}
	return &resp, nil
}

func peerError(status int, body []byte) error {
	pe := &errPeer{status: status}
	if json.Unmarshal(body, &pe.body) != nil || pe.body.Error.Code == "" {
		pe.body.Error = wire.ErrorDetail{Code: "peer_error", Message: fmt.Sprintf("leader answered %d", status)}
	}
	return pe
}

// forward sends a request to the leader's API over mutual TLS, as this node.
func (s *Server) forward(ctx context.Context, method, pathQuery string, body []byte) (int, []byte, error) {
	return s.forwardAs(ctx, method, pathQuery, body, Principal{Role: RoleNode})
}

// forwardAs is forward on behalf of a client: the leader serves the request
// as that client may read it (HeaderOnBehalfOf, honoured from nodes only).
func (s *Server) forwardAs(ctx context.Context, method, pathQuery string, body []byte, as Principal) (int, []byte, error) {
	id, addr := s.cfg.Replica.LastLeader()
	if id == "" {
		return 0, nil, consensus.ErrNoLeader
	}
	if addr == "" || id == s.cfg.NodeID {
		return 0, nil, errPeerUnreachable
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+addr+pathQuery, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set(wire.HeaderForwarded, s.cfg.NodeID)
	if as.Role != RoleNode {
		req.Header.Set(wire.HeaderOnBehalfOf, onBehalfValue(as))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.peers.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s at %s: %v", errPeerUnreachable, id, addr, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", errPeerUnreachable, err)
	}
	return resp.StatusCode, out, nil
}

// proxyToLeader answers a strong read (or a leader-only operation) with the
// leader's response as is.
func (s *Server) proxyToLeader(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get(wire.HeaderForwarded) != "" {
		writeError(w, consensus.ErrNotLeader)
		return
	}
	status, out, err := s.forwardAs(r.Context(), r.Method, r.URL.RequestURI(), body, principalOf(r))
	if err != nil {
		writeError(w, err)
		return
	}
	writeRaw(w, status, out)
}

func (s *Server) getTx(w http.ResponseWriter, r *http.Request) {
	if s.strongRead(w, r) {
		return
	}
	id := r.PathValue("id")
	ev, err := s.evidence(id, r.URL.Query().Get("proof") == "true")
	if err == nil {
		err = s.requireOwnTx(principalOf(r), id, ev.Receipt.Signer)
	}
	respond(w, ev, err)
}

// requireOwnTx lets a participant read only the transactions signed by
// one of its own keys.
func (s *Server) requireOwnTx(p Principal, id, signer string) error {
	if !p.restricted() {
		return nil
	}
	owner := ""
	_ = s.cfg.Store.View(func(v *state.View) error {
		if k, ok, _ := state.LookupKey(v, signer); ok {
			owner = k.Owner
		}
		return nil
	})
	if owner != p.Identity {
		return forbidden("transaction %s: a participant reads only the transactions it signed", tx.Shorten(id, 16))
	}
	return nil
}

// evidence reads a transaction with its receipt and, with proof, the
// inclusion proof against a head signed by this node, all from one view.
func (s *Server) evidence(id string, proof bool) (*verify.Evidence, error) {
	var ev verify.Evidence
	err := s.cfg.Store.View(func(v *state.View) error {
		rec, err := v.TxByID(id)
		if errors.Is(err, state.ErrNotFound) {
			return fmt.Errorf("transaction %s: %w (if just submitted asynchronously it may not be committed yet)", id, state.ErrNotFound)
		}
		if err != nil {
			return badRequest("id", err.Error())
		}
		ev.Tx, ev.Receipt = rec.Tx, rec.Receipt
		if !proof {
			return nil
		}
		p, err := v.InclusionProof(rec.Receipt.LeafIndex, 0)
		if err != nil {
			return err
		}
		h, err := s.signedHead(v.Meta())
		if err != nil {
			return err
		}
		ev.Proof, ev.Head = *p, *h
		return nil
	})
	return &ev, err
}

func (s *Server) getBlock(w http.ResponseWriter, r *http.Request) {
	hs := r.PathValue("height")
	s.readView(w, r, func(v *state.View) (any, error) {
		h := v.Meta().Height
		if hs != "latest" {
			var err error
			if h, err = strconv.ParseUint(hs, 10, 64); err != nil || h == 0 {
				return nil, badRequest("height", fmt.Sprintf("%q: must be a block height >= 1 or \"latest\"", hs))
			}
		}
		if h == 0 {
			return nil, fmt.Errorf("no blocks yet: %w", state.ErrNotFound)
		}
		b, err := v.Block(h)
		if errors.Is(err, state.ErrNotFound) {
			return nil, fmt.Errorf("block %d: %w (the ledger is at height %d)", h, err, v.Meta().Height)
		}
		return b, err
	})
}

// getHead serves the signed head: of the current height, or of a past one
// (asOfHeight, knownAt), signed now by this node.
func (s *Server) getHead(w http.ResponseWriter, r *http.Request) {
	s.readView(w, r, func(v *state.View) (any, error) { return s.signedHead(v.Meta()) })
}

func (s *Server) getConsistency(w http.ResponseWriter, r *http.Request) {
	if s.strongRead(w, r) {
		return
	}
	q := r.URL.Query()
	from, err := strconv.ParseUint(q.Get("from"), 10, 64)
	if err != nil {
		msg := "required: the tree size of the head you hold"
		if f := q.Get("from"); f != "" {
			msg = fmt.Sprintf("%q: must be a tree size, a whole number >= 0 (the treeSize of the head you hold)", tx.Shorten(f, 32))
		}
		writeError(w, badRequest("from", msg))
		return
	}
	var to uint64
	if t := q.Get("to"); t != "" {
		if to, err = strconv.ParseUint(t, 10, 64); err != nil {
			writeError(w, badRequest("to", "must be a tree size"))
			return
		}
	}
	s.serveView(w, r, func(v *state.View) (any, error) {
		m := v.Meta()
		if to != 0 && to != m.TreeSize {
			return nil, badRequest("to", fmt.Sprintf("only the current tree size %d can be proven against a signed head; omit to", m.TreeSize))
		}
		p, err := v.ConsistencyProof(from, m.TreeSize)
		if err != nil {
			return nil, badRequest("from", err.Error())
		}
		h, err := s.signedHead(m)
		if err != nil {
			return nil, err
		}
		return wire.ConsistencyResponse{Proof: *p, Head: *h}, nil
	})
}
