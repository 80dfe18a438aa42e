package server

import (
	"fmt"
	"net/http"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Reads: the consistency a request asks for, and answers served from one
// consistent state view.

// strongRead makes a read linearizable: on the leader it waits on a read
// barrier and returns false (serve locally); on a follower it proxies the
// read to the leader and returns true.
func (s *Server) strongRead(w http.ResponseWriter, r *http.Request) (handled bool) {
	return s.strongReadBody(w, r, nil)
}

// strongReadBody is strongRead for requests with a body (POST queries): a
// follower proxies the body along.
func (s *Server) strongReadBody(w http.ResponseWriter, r *http.Request, body []byte) (handled bool) {
	switch r.URL.Query().Get("consistency") {
	case "", "local":
		return false
	case "strong":
	default:
		writeError(w, badRequest("consistency", "must be \"local\" (default) or \"strong\""))
		return true
	}
	if s.cfg.Node.IsLeader() {
		if err := s.cfg.Node.ReadBarrier(r.Context()); err != nil {
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
	s.serveView(w, fn)
}

// serveView runs fn over one consistent view and writes its result as
// JSON, or its error. Handlers that check parameters after strongRead call
// it directly.
func (s *Server) serveView(w http.ResponseWriter, fn func(v *state.View) (any, error)) {
	var out any
	err := s.cfg.Store.View(func(v *state.View) error {
		var err error
		out, err = fn(v)
		return err
	})
	respond(w, out, err)
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
