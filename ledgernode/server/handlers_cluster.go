package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// localStatus is what this node alone knows.
func (s *Server) localStatus() wire.Status {
	m := s.cfg.Store.Meta()
	leader, leaderAPI := s.cfg.Replica.Leader()
	st := s.cfg.Replica.Stats()
	var cas []string
	if s.cfg.TLS != nil {
		cas = s.cfg.TLS.TrustedCAs()
	}
	committed, configIndex := s.cfg.Replica.CommittedVoters()
	return wire.Status{TrustedCAs: cas, Node: s.cfg.NodeID, Network: m.Network, State: s.cfg.Replica.State(), Leader: leader, LeaderAPI: leaderAPI,
		Height: m.Height, BlockHash: m.BlockHash, BlockTime: m.Time, TreeSize: m.TreeSize, Root: m.Root,
		AppliedIndex: s.cfg.Store.Applied().Index, CommitIndex: s.cfg.Replica.CommitIndex(), Term: st["term"], Now: tx.FormatTime(s.now()),
		Voters: s.cfg.Replica.Voters(), CommittedVoters: committed, ConfigIndex: configIndex}
}

// clusterStatus answers with this node's view and, unless ?self=true, each
// member's own report (fetched in parallel with a short timeout).
func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	st := s.localStatus()
	if fix := s.DataLost(); fix != "" {
		st.DataLost, st.DataLostFix = true, fix
	}
	if ri := s.rejoin.Load(); ri != nil {
		st.Incarnation, st.SawEmpty = ri.Incarnation, ri.SawEmpty
	}
	if r.URL.Query().Get("self") == "true" {
		writeJSON(w, http.StatusOK, st)
		return
	}
	servers, err := s.cfg.Replica.Configuration()
	if err != nil {
		writeError(w, err)
		return
	}
	st.Members = make([]wire.Member, len(servers))
	var wg sync.WaitGroup
	for i, sv := range servers {
		st.Members[i] = wire.Member{ID: sv.ID, RaftAddr: sv.RaftAddr, APIAddr: sv.APIAddr, Suffrage: sv.Suffrage, Leader: sv.Leader}
		if sv.ID == s.cfg.NodeID {
			st.Members[i].Reachable, st.Members[i].State = true, st.State
			st.Members[i].Height, st.Members[i].AppliedIndex = st.Height, st.AppliedIndex
			continue
		}
		if sv.APIAddr == "" {
			st.Members[i].Error = "API address unknown"
			continue
		}
		wg.Add(1)
		go func(m *wire.Member) {
			defer wg.Done()
			peer, err := s.peerStatus(r.Context(), m.APIAddr)
			if err != nil {
				m.Error = err.Error()
				return
			}
			m.Reachable, m.State, m.Height, m.AppliedIndex, m.DataLost = true, peer.State, peer.Height, peer.AppliedIndex, peer.DataLost
		}(&st.Members[i])
	}
	wg.Wait()
	s.clockStatus(&st)
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) peerStatus(ctx context.Context, apiAddr string) (*wire.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+apiAddr+"/v1/cluster/status?self=true", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.peers.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unreachable: %v", err)
	}
	defer resp.Body.Close()
	var st wire.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// adminRequest decodes a cluster operation: a fresh envelope of the given
// type signed by a network admin key. It is authorised, not recorded.
func (s *Server) adminRequest(r *http.Request, typ string) (*tx.Signed, []byte, *wire.MemberRequest, error) {
	st, err := s.decodeEnvelope(r)
	if err != nil {
		return nil, nil, nil, err
	}
	if st.Type != typ {
		return nil, nil, nil, tx.Fieldf("type", st.Type, "this endpoint takes a %s envelope", typ)
	}
	g := s.cfg.Store.Genesis()
	if st.Network != g.Network {
		return nil, nil, nil, tx.Fieldf("network", st.Network, "this ledger is %q", g.Network)
	}
	now := s.cfg.Store.LedgerNow(s.now())
	window := time.Duration(g.Params.TxWindowSeconds) * time.Second
	skew := time.Duration(g.Params.MaxClockSkewSeconds) * time.Second
	if c := st.CreatedTime(); c.Before(now.Add(-window)) || c.After(now.Add(skew)) {
		return nil, nil, nil, tx.Fieldf("created", st.Created, "cluster operations must be signed within the last %s", window)
	}
	if err := s.cfg.Store.Verifier().Verify(st); err != nil {
		return nil, nil, nil, err
	}
	err = s.cfg.Store.View(func(v *state.View) error {
		k, ok, err := state.LookupKey(v, st.Signer)
		if err != nil {
			return err
		}
		if !ok || k.Kind != wire.KindAdmin {
			return fmt.Errorf("%w: cluster operations must be signed by a network admin key", errUnauthorized)
		}
		if rej := k.ValidAt(now); rej != nil {
			return rej
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var mr wire.MemberRequest
	if err := tx.DecodePayload(st.Payload, &mr); err != nil {
		return nil, nil, nil, err
	}
	return st, st.Canonical, &mr, nil
}

// memberRequest is adminRequest for an operation on the member the path
// names ({id}): the signed payload must name the same member.
func (s *Server) memberRequest(r *http.Request, typ string) (*tx.Signed, []byte, *wire.MemberRequest, error) {
	st, body, mr, err := s.adminRequest(r, typ)
	if err != nil {
		return nil, nil, nil, err
	}
	if id := r.PathValue("id"); mr.ID != id {
		return nil, nil, nil, badRequest("payload.id", fmt.Sprintf("%q does not match the path's member %q", mr.ID, id))
	}
	return st, body, mr, nil
}

// clusterOp carries out an admin cluster operation at most once. The same
// envelope sent again, to any node and under any leader, is answered with
// the recorded answer (header X-Ledger-Existing: true) and never carried
// out again. On the leader: record the start through Raft (only the first
// start runs op), run op, record its answer. Elsewhere: answer from the
// record, or proxy to the leader.
func (s *Server) clusterOp(w http.ResponseWriter, r *http.Request, st *tx.Signed, member string, body []byte, op func() (any, error)) {
	if rec, ok, err := s.cfg.Store.ClusterOp(st.IDHex()); err != nil {
		writeError(w, err)
		return
	} else if ok && rec.Done {
		answerRecorded(w, rec)
		return
	}
	if !s.cfg.Replica.IsLeader() {
		s.proxyToLeader(w, r, body)
		return
	}
	rec, first, err := s.cfg.Replica.RecordClusterOp(state.ClusterOp{TxID: st.IDHex(), Type: st.Type, Member: member})
	if err != nil {
		writeError(w, err)
		return
	}
	if !first {
		answerRecorded(w, rec)
		return
	}
	out, err := op()
	status, answer := http.StatusOK, []byte(nil)
	if err != nil {
		var d wire.ErrorDetail
		status, d = statusOf(err)
		answer, _ = json.Marshal(wire.ErrorBody{Error: d})
	} else if answer, err = json.Marshal(out); err != nil {
		writeError(w, err)
		return
	}
	rec.Done, rec.Status, rec.Answer = true, status, answer
	// Record the answer before answering (a replay then gets it), but do
	// not keep the client waiting for long: after a leadership transfer the
	// answer goes through the new leader, which may take a moment.
	recorded := make(chan struct{})
	go func() { s.finishClusterOp(context.WithoutCancel(r.Context()), rec); close(recorded) }()
	select {
	case <-recorded:
	case <-time.After(3 * time.Second):
	}
	writeRaw(w, status, append(answer, '\n'))
}

// answerRecorded answers an operation already started: its recorded
// answer, or 409 when it started but has no answer (the leader that ran it
// lost leadership on the way): it is never run twice.
func answerRecorded(w http.ResponseWriter, rec state.ClusterOp) {
	if !rec.Done {
		writeJSON(w, http.StatusConflict, wire.ErrorBody{Error: wire.ErrorDetail{Code: "operation_outcome_unknown",
			Message: fmt.Sprintf("cluster operation %s (%s) was started at Raft index %d and has no recorded outcome (still running, or its leader lost leadership on the way); an operation runs at most once, so it is not run again: check its effect with 'ledgerctl cluster status' and sign a new one if needed", tx.Shorten(rec.TxID, 16), rec.Type, rec.StartIndex)}})
		return
	}
	w.Header().Set(wire.HeaderExisting, "true")
	writeRaw(w, rec.Status, append(rec.Answer, '\n'))
}

// finishClusterOp records an operation's answer: here while this node
// leads, else through the (new) leader, which a leadership transfer makes
// necessary. It tries until ctx ends; an answer that cannot be recorded
// leaves the operation started-without-outcome (answered 409 on replay).
func (s *Server) finishClusterOp(ctx context.Context, rec state.ClusterOp) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SubmitTimeout)
	defer cancel()
	body, _ := json.Marshal(rec)
	for {
		_, _, err := s.cfg.Replica.RecordClusterOp(rec)
		if errors.Is(err, consensus.ErrNotLeader) || errors.Is(err, consensus.ErrNoLeader) {
			var status int
			var out []byte
			status, out, err = s.forward(ctx, http.MethodPost, "/v1/cluster/ops", body)
			if err == nil && status != http.StatusOK {
				err = peerError(status, out)
			}
		}
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			s.log.Warn("cluster operation done but its answer could not be recorded; a replay is answered 409", "txID", rec.TxID, "type", rec.Type, "err", err)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// recordClusterOp serves POST /v1/cluster/ops (nodes only): another node
// records the answer of an operation it ran before losing leadership.
func (s *Server) recordClusterOp(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, 1<<20)
	if err != nil {
		writeError(w, err)
		return
	}
	var rec state.ClusterOp
	if err := json.Unmarshal(body, &rec); err != nil || !rec.Done || rec.TxID == "" {
		writeError(w, badRequest("body", "a finished cluster operation record"))
		return
	}
	_, _, err = s.cfg.Replica.RecordClusterOp(rec)
	respond(w, map[string]bool{"recorded": true}, err)
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	st, body, mr, err := s.adminRequest(r, wire.OpAddMember)
	if err != nil {
		writeError(w, err)
		return
	}
	if !chain.ValidNodeID(mr.ID) || mr.RaftAddr == "" || mr.APIAddr == "" {
		writeError(w, badRequest("payload.id", "id (a DNS label), raftAddr and apiAddr (host:port) are required"))
		return
	}
	s.clusterOp(w, r, st, mr.ID, body, func() (any, error) {
		err := s.cfg.Replica.AddMember(r.Context(), state.Member{ID: mr.ID, RaftAddr: mr.RaftAddr, APIAddr: mr.APIAddr}, mr.Voter)
		return map[string]any{"added": mr.ID, "voter": mr.Voter}, err
	})
}

func (s *Server) promoteMember(w http.ResponseWriter, r *http.Request) {
	st, body, mr, err := s.memberRequest(r, wire.OpPromoteMember)
	if err != nil {
		writeError(w, err)
		return
	}
	id := mr.ID
	s.clusterOp(w, r, st, id, body, func() (any, error) {
		if !mr.Force {
			if err := s.caughtUp(r.Context(), id); err != nil {
				return nil, err
			}
		}
		return map[string]any{"promoted": id}, s.cfg.Replica.Promote(r.Context(), id)
	})
}

// errBehind is returned when a member to promote has not caught up.
type errBehind struct{ msg string }

func (e *errBehind) Error() string { return e.msg }

// caughtUp checks, from the member's own report, that it trails this
// leader by at most ReadyLag entries.
func (s *Server) caughtUp(ctx context.Context, id string) error {
	servers, err := s.cfg.Replica.Configuration()
	if err != nil {
		return err
	}
	for _, sv := range servers {
		if sv.ID != id {
			continue
		}
		if sv.APIAddr == "" {
			return &errBehind{fmt.Sprintf("member %s: API address unknown, cannot check that it caught up; pass force to promote anyway", id)}
		}
		st, err := s.peerStatus(ctx, sv.APIAddr)
		if err != nil {
			return &errBehind{fmt.Sprintf("member %s: %v; it must be reachable and caught up before promotion", id, err)}
		}
		mine := s.cfg.Store.Applied().Index
		if st.DataLost {
			return &errBehind{fmt.Sprintf("member %s still reports lost data (a voter must be removed and added back; one just added back opens once it sees that it has no vote): wait until it catches up", id)}
		}
		// A member that has applied nothing of a ledger that holds entries
		// has not started to catch up (it may still hold its Raft traffic
		// while it asks its peers, ledgernode/node/rejoin.go): a short
		// ledger is within ReadyLag of zero, so the lag alone would let it
		// be promoted before it takes part, and a voter that does not take
		// part can cost the quorum.
		if st.AppliedIndex == 0 && mine > 0 {
			return &errBehind{fmt.Sprintf("member %s has applied nothing yet, the leader %d: wait until it catches up", id, mine)}
		}
		if st.AppliedIndex+s.cfg.ReadyLag < mine {
			return &errBehind{fmt.Sprintf("member %s has applied index %d, the leader %d: wait until it catches up", id, st.AppliedIndex, mine)}
		}
		return nil
	}
	return fmt.Errorf("member %q: %w", id, state.ErrNotFound)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	st, body, mr, err := s.memberRequest(r, wire.OpRemoveMember)
	if err != nil {
		writeError(w, err)
		return
	}
	id := mr.ID
	s.clusterOp(w, r, st, id, body, func() (any, error) {
		return map[string]any{"removed": id}, s.cfg.Replica.RemoveMember(r.Context(), id)
	})
}

func (s *Server) transferLeadership(w http.ResponseWriter, r *http.Request) {
	st, body, mr, err := s.adminRequest(r, wire.OpTransferLeadership)
	if err != nil {
		writeError(w, err)
		return
	}
	s.clusterOp(w, r, st, mr.ID, body, func() (any, error) {
		if err := s.cfg.Replica.TransferLeadership(r.Context(), mr.ID); err != nil {
			return nil, err
		}
		leader, _ := s.cfg.Replica.Leader()
		return map[string]any{"transferred": true, "leader": leader}, nil
	})
}
