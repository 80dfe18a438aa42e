package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/api"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// localStatus is what this node alone knows.
func (s *Server) localStatus() api.Status {
	m := s.cfg.Store.Meta()
	leader, leaderAPI := s.cfg.Node.Leader()
	st := s.cfg.Node.Stats()
	return api.Status{Node: s.cfg.NodeID, Network: m.Network, State: s.cfg.Node.State(), Leader: leader, LeaderAPI: leaderAPI,
		Height: m.Height, BlockHash: m.BlockHash, BlockTime: m.Time, TreeSize: m.TreeSize, Root: m.Root,
		AppliedIndex: s.cfg.Store.Applied().Index, CommitIndex: s.cfg.Node.CommitIndex(), Term: st["term"]}
}

// clusterStatus answers with this node's view and, unless ?self=true, each
// member's own report (fetched in parallel with a short timeout).
func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) {
	st := s.localStatus()
	if r.URL.Query().Get("self") == "true" {
		writeJSON(w, http.StatusOK, st)
		return
	}
	servers, err := s.cfg.Node.Configuration()
	if err != nil {
		writeError(w, err)
		return
	}
	st.Members = make([]api.Member, len(servers))
	var wg sync.WaitGroup
	for i, sv := range servers {
		st.Members[i] = api.Member{ID: sv.ID, RaftAddr: sv.RaftAddr, APIAddr: sv.APIAddr, Suffrage: sv.Suffrage, Leader: sv.Leader}
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
		go func(m *api.Member) {
			defer wg.Done()
			peer, err := s.peerStatus(r.Context(), m.APIAddr)
			if err != nil {
				m.Error = err.Error()
				return
			}
			m.Reachable, m.State, m.Height, m.AppliedIndex = true, peer.State, peer.Height, peer.AppliedIndex
		}(&st.Members[i])
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) peerStatus(ctx context.Context, apiAddr string) (*api.Status, error) {
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
	var st api.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// adminRequest decodes a cluster operation: a fresh envelope of the given
// type signed by a network admin key. It is authorised, not recorded.
func (s *Server) adminRequest(r *http.Request, typ string) (*tx.Signed, []byte, *api.MemberRequest, error) {
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
	now := s.cfg.Store.LedgerNow(time.Now())
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
		if !ok || k.Kind != state.KindAdmin {
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
	var mr api.MemberRequest
	if err := tx.DecodePayload(st.Payload, &mr); err != nil {
		return nil, nil, nil, err
	}
	return st, st.Canonical, &mr, nil
}

// memberRequest is adminRequest for an operation on the member the path
// names ({id}): the signed payload must name the same member.
func (s *Server) memberRequest(r *http.Request, typ string) ([]byte, *api.MemberRequest, error) {
	_, body, mr, err := s.adminRequest(r, typ)
	if err != nil {
		return nil, nil, err
	}
	if id := r.PathValue("id"); mr.ID != id {
		return nil, nil, badRequest("payload.id", fmt.Sprintf("%q does not match the path's member %q", mr.ID, id))
	}
	return body, mr, nil
}

// leaderOnly runs op here when this node leads, else proxies the request.
func (s *Server) leaderOnly(w http.ResponseWriter, r *http.Request, body []byte, op func() (any, error)) {
	if !s.cfg.Node.IsLeader() {
		s.proxyToLeader(w, r, body)
		return
	}
	out, err := op()
	respond(w, out, err)
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	_, body, mr, err := s.adminRequest(r, api.OpAddMember)
	if err != nil {
		writeError(w, err)
		return
	}
	if !chain.ValidNodeID(mr.ID) || mr.RaftAddr == "" || mr.APIAddr == "" {
		writeError(w, badRequest("payload.id", "id (a DNS label), raftAddr and apiAddr (host:port) are required"))
		return
	}
	s.leaderOnly(w, r, body, func() (any, error) {
		err := s.cfg.Node.AddMember(r.Context(), state.Member{ID: mr.ID, RaftAddr: mr.RaftAddr, APIAddr: mr.APIAddr}, mr.Voter)
		return map[string]any{"added": mr.ID, "voter": mr.Voter}, err
	})
}

func (s *Server) promoteMember(w http.ResponseWriter, r *http.Request) {
	body, mr, err := s.memberRequest(r, api.OpPromoteMember)
	if err != nil {
		writeError(w, err)
		return
	}
	id := mr.ID
	s.leaderOnly(w, r, body, func() (any, error) {
		if !mr.Force {
			if err := s.caughtUp(r.Context(), id); err != nil {
				return nil, err
			}
		}
		return map[string]any{"promoted": id}, s.cfg.Node.Promote(r.Context(), id)
	})
}

// errBehind is returned when a member to promote has not caught up.
type errBehind struct{ msg string }

func (e *errBehind) Error() string { return e.msg }

// caughtUp checks, from the member's own report, that it trails this
// leader by at most ReadyLag entries.
func (s *Server) caughtUp(ctx context.Context, id string) error {
	servers, err := s.cfg.Node.Configuration()
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
		if st.AppliedIndex+s.cfg.ReadyLag < mine {
			return &errBehind{fmt.Sprintf("member %s has applied index %d, the leader %d: wait until it catches up", id, st.AppliedIndex, mine)}
		}
		return nil
	}
	return fmt.Errorf("member %q: %w", id, state.ErrNotFound)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	body, mr, err := s.memberRequest(r, api.OpRemoveMember)
	if err != nil {
		writeError(w, err)
		return
	}
	id := mr.ID
	s.leaderOnly(w, r, body, func() (any, error) {
		return map[string]any{"removed": id}, s.cfg.Node.RemoveMember(r.Context(), id)
	})
}

func (s *Server) transferLeadership(w http.ResponseWriter, r *http.Request) {
	_, body, mr, err := s.adminRequest(r, api.OpTransferLeadership)
	if err != nil {
		writeError(w, err)
		return
	}
	s.leaderOnly(w, r, body, func() (any, error) {
		if err := s.cfg.Node.TransferLeadership(r.Context(), mr.ID); err != nil {
			return nil, err
		}
		leader, _ := s.cfg.Node.Leader()
		return map[string]any{"transferred": true, "leader": leader}, nil
	})
}
