package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		k, ok, err := state.LookupKey(v, id)
		if err == nil && !ok {
			err = fmt.Errorf("key %s: %w", id, state.ErrNotFound)
		}
		return k, err
	})
}

func (s *Server) getIdentity(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		ident, ok, err := state.LookupIdentity(v, id)
		if err := notFound("identity", id, ok, err); err != nil {
			return nil, err
		}
		keys, err := state.KeysOf(v, id)
		return wire.IdentityResponse{Identity: *ident, Keys: keys}, err
	})
}

func (s *Server) getNote(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	s.readView(w, r, func(v *state.View) (any, error) {
		n, ok, err := state.GetNote(v, key)
		return n, notFound("note", key, ok, err)
	})
}

func (s *Server) getDigest(w http.ResponseWriter, r *http.Request) {
	if s.strongRead(w, r) {
		return
	}
	// Digest and meta must describe the same state: both are read in one
	// transaction.
	m, d, err := s.cfg.Store.DigestWithMeta()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wire.DigestResponse{Height: m.Height, Digest: d, StateHash: m.StateHash})
}

func (s *Server) getTypes(w http.ResponseWriter, r *http.Request) {
	var out []wire.TypeInfo
	for _, h := range s.cfg.Store.Registry().Types() {
		out = append(out, wire.TypeInfo{Type: h.Type, Summary: h.Summary})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	st := s.cfg.Replica.State()
	if st == "Shutdown" {
		writeJSON(w, http.StatusServiceUnavailable, wire.Ready{State: st, Reason: "raft is shut down"})
		return
	}
	writeJSON(w, http.StatusOK, wire.Ready{Ready: true, State: st})
}

// readyz: ready means a leader is known and this node has applied the log
// up to within ReadyLag entries of what it knows is committed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.cfg.Replica.State()
	if err := s.readiness(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, wire.Ready{State: st, Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, wire.Ready{Ready: true, State: st})
}

var errNotReady = errors.New("not ready")

func (s *Server) readiness() error {
	if fix := s.DataLost(); fix != "" {
		return fmt.Errorf("%w: data lost: %s", errNotReady, fix)
	}
	if s.stopping.Load() {
		return fmt.Errorf("%w: stopping (the node is shutting down gracefully)", errNotReady)
	}
	if id, _ := s.cfg.Replica.Leader(); id == "" {
		return fmt.Errorf("%w: no leader known", errNotReady)
	}
	applied, commit := s.cfg.Replica.RaftAppliedIndex(), s.cfg.Replica.CommitIndex()
	if commit > applied+s.cfg.ReadyLag {
		return fmt.Errorf("%w: catching up, applied %d of %d committed entries", errNotReady, applied, commit)
	}
	return nil
}
