package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/consensus"
)

// readIndex is the leader's applied index as last asked, shared by the
// requests that arrived before the question was asked (one question in
// flight at a time).
type readIndex struct {
	mu       sync.Mutex
	asked    time.Time // when the last answered question was sent
	index    uint64
	inflight chan struct{}
}

// catchUp waits until this node's state has applied every entry the
// leader's state had applied when a request arrived: after it, a precheck
// here sees every write the leader acknowledged before the request (a
// read index, as in Raft's linearizable reads; acknowledged means applied
// on the leader). The leader waits only while it is newly elected and its
// state has not yet applied what earlier leaders committed (a write they
// acknowledged may be in its log but not yet in its state).
func (s *Server) catchUp(ctx context.Context, arrived time.Time) error {
	if s.cfg.Replica.IsLeader() {
		return s.cfg.Replica.LeaderCaughtUp(ctx)
	}
	idx, err := s.leaderAppliedIndex(ctx, arrived)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for s.cfg.Store.Applied().Index < idx {
		select {
		case <-ctx.Done():
			return fmt.Errorf("catching up to the leader's applied index %d (here %d): %w", idx, s.cfg.Store.Applied().Index, ctx.Err())
		case <-s.cfg.Store.Changed():
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// leaderAppliedIndex is the leader's applied index as of a moment after
// arrived: a question asked after the request arrived answers for it.
func (s *Server) leaderAppliedIndex(ctx context.Context, arrived time.Time) (uint64, error) {
	ri := &s.ri
	ri.mu.Lock()
	for {
		if ri.asked.After(arrived) {
			idx := ri.index
			ri.mu.Unlock()
			return idx, nil
		}
		if ri.inflight == nil {
			break
		}
		ch := ri.inflight
		ri.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		ri.mu.Lock()
	}
	ch := make(chan struct{})
	ri.inflight = ch
	asked := time.Now()
	ri.mu.Unlock()

	idx, err := s.askAppliedIndex(ctx)

	ri.mu.Lock()
	ri.inflight = nil
	if err == nil {
		ri.asked, ri.index = asked, idx
	}
	ri.mu.Unlock()
	close(ch)
	return idx, err
}

func (s *Server) askAppliedIndex(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	status, out, err := s.forward(ctx, http.MethodGet, "/v1/cluster/applied", nil)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, peerError(status, out)
	}
	var ai appliedIndexResponse
	if err := json.Unmarshal(out, &ai); err != nil {
		return 0, fmt.Errorf("leader's applied index unreadable: %w", err)
	}
	return ai.AppliedIndex, nil
}

type appliedIndexResponse struct {
	AppliedIndex uint64 `json:"appliedIndex"`
}

// appliedIndex serves GET /v1/cluster/applied (nodes only): the Raft index
// of the last entry the leader's state applied, for a follower's catchUp.
// A newly elected leader first applies what earlier leaders committed:
// its applied index then covers every write any of them acknowledged.
func (s *Server) appliedIndex(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Replica.IsLeader() {
		writeError(w, consensus.ErrNotLeader)
		return
	}
	if err := s.cfg.Replica.LeaderCaughtUp(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, appliedIndexResponse{AppliedIndex: s.cfg.Store.Applied().Index})
}
