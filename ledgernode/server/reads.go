package server

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Reads: the consistency a request asks for, the height it is answered at,
// and answers served from one consistent state view.
//
// Every read takes three query parameters besides consistency:
//   - minHeight=N: read your writes. A client holding a receipt of height N
//     passes it; the node waits (at most Config.ReadWait) until it has
//     applied N, then answers, or answers 503 height_not_reached so that
//     the client asks another node.
//   - asOfHeight=H: answer from the ledger as it stood after block H
//     (records, transactions, proofs and signed head of that height). The
//     node first waits for H as for minHeight.
//   - knownAt=T (RFC 3339 UTC): the same at the last block recorded at or
//     before T: what the ledger knew at T.

// readPoint is where a read is answered.
type readPoint struct {
	minHeight uint64
	asOf      *uint64
	knownAt   *time.Time
}

func parseReadPoint(q url.Values) (readPoint, error) {
	var rp readPoint
	u := func(name string) (*uint64, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, badRequest(name, fmt.Sprintf("%q: must be a block height (0, 1, 2, ...)", v))
		}
		return &n, nil
	}
	mh, err := u("minHeight")
	if err != nil {
		return rp, err
	}
	if mh != nil {
		rp.minHeight = *mh
	}
	if rp.asOf, err = u("asOfHeight"); err != nil {
		return rp, err
	}
	if v := q.Get("knownAt"); v != "" {
		t, err := tx.ParseTime(v)
		if err != nil {
			return rp, badRequest("knownAt", fmt.Sprintf("%q: must be an RFC 3339 UTC time such as 2026-03-01T12:00:00Z", v))
		}
		rp.knownAt = &t
	}
	if rp.asOf != nil && rp.knownAt != nil {
		return rp, badRequest("knownAt", "give asOfHeight or knownAt, not both: each names what the ledger knew")
	}
	if rp.asOf != nil && *rp.asOf > rp.minHeight {
		rp.minHeight = *rp.asOf
	}
	return rp, nil
}

// errHeightNotReached answers a read this node cannot serve yet: it has not
// applied the height the client asked for.
type errHeightNotReached struct {
	want, have uint64
	waited     time.Duration
}

func (e *errHeightNotReached) Error() string {
	return fmt.Sprintf("this node has applied the ledger up to height %d; the read asks for height %d (minHeight or asOfHeight) and the node did not reach it within %s: it is behind or cut off from the leader; ask another node or retry",
		e.have, e.want, e.waited)
}

// awaitHeight waits, at most ReadWait, until the store has applied height.
func (s *Server) awaitHeight(ctx context.Context, height uint64) error {
	if height == 0 || s.cfg.Store.Meta().Height >= height {
		return nil
	}
	timer := time.NewTimer(s.cfg.ReadWait)
	defer timer.Stop()
	for {
		changed := s.cfg.Store.Changed()
		if s.cfg.Store.Meta().Height >= height {
			return nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return &errHeightNotReached{want: height, have: s.cfg.Store.Meta().Height, waited: s.cfg.ReadWait}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// strongRead makes a read linearizable: on the leader it waits on a read
// barrier and returns false (serve locally); on a follower it proxies the
// read to the leader and returns true.
func (s *Server) strongRead(w http.ResponseWriter, r *http.Request) (handled bool) {
	return s.strongReadBody(w, r, nil)
}

// strongReadBody is strongRead for requests with a body (POST queries): a
// follower proxies the body along.
func (s *Server) strongReadBody(w http.ResponseWriter, r *http.Request, body []byte) (handled bool) {
	rp, err := parseReadPoint(r.URL.Query())
	if err == nil {
		err = s.awaitHeight(r.Context(), rp.minHeight)
	}
	if err != nil {
		writeError(w, err)
		return true
	}
	switch r.URL.Query().Get("consistency") {
	case "", "local":
		return false
	case "strong":
	default:
		writeError(w, badRequest("consistency", "must be \"local\" (default) or \"strong\""))
		return true
	}
	if s.cfg.Replica.IsLeader() {
		if err := s.cfg.Replica.ReadBarrier(r.Context()); err != nil {
			writeError(w, err)
			return true
		}
		return false
	}
	s.proxyToLeader(w, r, body)
	return true
}

// readView serves a read: strong reads go through the leader, then fn runs
// over one consistent view and its result is written as JSON.
func (s *Server) readView(w http.ResponseWriter, r *http.Request, fn func(v *state.View) (any, error)) {
	if s.strongRead(w, r) {
		return
	}
	s.serveView(w, r, fn)
}

// serveView runs fn over one consistent view, at the height the request
// asks for (asOfHeight, knownAt; the head otherwise), and writes its result
// as JSON, or its error. Handlers that check parameters after strongRead
// call it directly.
func (s *Server) serveView(w http.ResponseWriter, r *http.Request, fn func(v *state.View) (any, error)) {
	rp, err := parseReadPoint(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	var out any
	err = s.cfg.Store.View(func(v *state.View) error {
		at, err := viewAt(v, rp)
		if err != nil {
			return err
		}
		out, err = fn(at)
		return err
	})
	respond(w, out, err)
}

// viewAt is the view a read point names.
func viewAt(v *state.View, rp readPoint) (*state.View, error) {
	switch {
	case rp.asOf != nil:
		return v.AsOf(*rp.asOf)
	case rp.knownAt != nil:
		h, err := v.HeightAt(*rp.knownAt)
		if err != nil {
			return nil, err
		}
		return v.AsOf(h)
	}
	return v, nil
}

// respond writes out as JSON with 200, or err through the error mapping.
func respond(w http.ResponseWriter, out any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// notFound turns a lookup's "not there" into state.ErrNotFound naming what
// was looked up.
func notFound(what, id string, ok bool, err error) error {
	if err == nil && !ok {
		return fmt.Errorf("%s %q: %w", what, id, state.ErrNotFound)
	}
	return err
}
