package server

import (
	"net/http"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// policyRoutes are the agency policy queries.
func (s *Server) policyRoutes(h route) {
	h(GroupPolicy, RoleParticipant, "GET /v1/policies", s.listPolicies)
	h(GroupPolicy, RoleParticipant, "GET /v1/policies/{id}", s.getPolicy)
	h(GroupPolicy, RoleParticipant, "GET /v1/policy-scope", s.policyScope)
	h(GroupPolicy, RoleAgency, "GET /v1/evaluations/{id...}", s.getEvaluations)
}

func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request) {
	if s.strongRead(w, r) {
		return
	}
	agency := r.URL.Query().Get("agency")
	if agency != "" && !policy.ValidAgency(agency) {
		writeError(w, badRequest("agency", "must be an agency id such as us-fda"))
		return
	}
	s.serveView(w, r, func(v *state.View) (any, error) {
		list, err := policystate.List(v, agency)
		return policy.List{Policies: list}, err
	})
}

func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		h, vs, err := policystate.Get(v, id)
		if err != nil {
			return nil, err
		}
		return policy.Response{Head: *h, Versions: vs}, nil
	})
}

// policyScope answers which policies apply to a document described by
// query parameters: type, program, hs, origin, destination (lists
// comma-separated) and optionally at (RFC 3339).
func (s *Server) policyScope(w http.ResponseWriter, r *http.Request) {
	if s.strongRead(w, r) {
		return
	}
	q := r.URL.Query()
	list := func(k string) []string {
		var out []string
		for _, v := range strings.Split(q.Get(k), ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	resp := policy.ScopeResponse{Subject: policy.Subject{Type: q.Get("type"), Program: q.Get("program"), HSCodes: list("hs"),
		OriginCountries: list("origin"), DestinationCountries: list("destination")}}
	if at := q.Get("at"); at != "" {
		t, err := tx.ParseTime(at)
		if err != nil {
			writeError(w, badRequest("at", "must be an RFC 3339 UTC time such as 2026-03-01T12:00:00.000000Z"))
			return
		}
		resp.At = tx.FormatTime(t)
	}
	s.serveView(w, r, func(v *state.View) (any, error) {
		var err error
		resp.Policies, err = policystate.InScope(v, resp.Subject, resp.At)
		return resp, err
	})
}

func (s *Server) getEvaluations(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		evs, err := policystate.History(v, id)
		if err != nil {
			return nil, err
		}
		resp := policy.EvaluationsResponse{DocumentID: id, Evaluations: []policy.EvaluationRecord{}}
		for _, ev := range evs {
			rec := policy.EvaluationRecord{Evaluation: ev}
			if txr, err := v.TxByID(ev.TxID); err == nil {
				rec.Status, rec.Reasons = txr.Receipt.Status, txr.Receipt.Reasons
			}
			resp.Evaluations = append(resp.Evaluations, rec)
		}
		return resp, nil
	})
}
