package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/tradeledger/tradeledger/ledgernode/api"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/trade"
)

// Trade records: reads of agencies, participants, certificates, rights,
// licenses and shipments; verdicts (POST with a JSON question, served from
// one state view so every node answers alike at the same height); W3C VC
// export signed with this node's key.
func (s *Server) tradeRoutes(h func(string, http.HandlerFunc)) {
	h("GET /v1/agencies", s.listAgencies)
	h("GET /v1/agencies/{id...}", s.getAgency)
	h("GET /v1/participants", s.listParticipants)
	h("GET /v1/participants/{id...}", s.getParticipant)
	h("GET /v1/certificates", s.listCertificates)
	h("GET /v1/certificates/{id}", s.getCertificate)
	h("GET /v1/certificates/{id}/credential", s.certificateCredential)
	h("GET /v1/rights/{id}", s.getRight)
	h("GET /v1/licenses", s.listLicenses)
	h("GET /v1/licenses/{id}", s.getLicense)
	h("GET /v1/licenses/{id}/credential", s.licenseCredential)
	h("GET /v1/shipments/{id}", s.getShipment)
	h("POST /v1/verify/certificate", s.verifyCertificate)
	h("POST /v1/verify/license", s.verifyLicense)
	h("POST /v1/verify/shipment", s.verifyShipment)
}

// readView serves a read: strong reads go through the leader, then fn runs
// over one consistent view and its result is written as JSON.
func (s *Server) readView(w http.ResponseWriter, r *http.Request, fn func(v *state.View) (any, error)) {
	if s.strongRead(w, r) {
		return
	}
	var out any
	err := s.cfg.Store.View(func(v *state.View) error {
		var err error
		out, err = fn(v)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func notFound(what, id string, ok bool, err error) error {
	if err == nil && !ok {
		return fmt.Errorf("%s %q: %w", what, id, state.ErrNotFound)
	}
	return err
}

func (s *Server) listAgencies(w http.ResponseWriter, r *http.Request) {
	s.readView(w, r, func(v *state.View) (any, error) { return trade.Agencies(v) })
}

func (s *Server) getAgency(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		a, ok, err := trade.LookupAgency(v, id)
		if err := notFound("agency", id, ok, err); err != nil {
			return nil, err
		}
		keys, err := state.KeysOf(v, a.Identity)
		return &api.AgencyResponse{Agency: a, Keys: keys}, err
	})
}

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := trade.ParticipantFilter{Agency: q.Get("agency"), Role: q.Get("role"), Country: q.Get("country")}
	s.readView(w, r, func(v *state.View) (any, error) { return trade.Participants(v, f) })
}

func (s *Server) getParticipant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		p, ok, err := trade.LookupParticipant(v, id)
		if err := notFound("participant", id, ok, err); err != nil {
			return nil, err
		}
		keys, err := state.KeysOf(v, p.Identity)
		return &api.ParticipantResponse{Participant: p, Keys: keys}, err
	})
}

func limitParam(r *http.Request) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 0 {
		return 0, badRequest("limit", fmt.Sprintf("%q: must be a number of records (1-1000)", l))
	}
	return n, nil
}

func (s *Server) listCertificates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	f := trade.CertificateFilter{Importer: q.Get("importer"), Exporter: q.Get("exporter"), Certifier: q.Get("certifier"), HS: q.Get("hs"),
		After: q.Get("after"), Limit: limit}
	s.readView(w, r, func(v *state.View) (any, error) { return trade.ListCertificates(v, f) })
}

func (s *Server) getCertificate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		h, ok, err := trade.CertificateWithVersions(v, id)
		return h, notFound("certificate", id, ok, err)
	})
}

func (s *Server) getRight(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		x, ok, err := trade.LookupRight(v, id)
		return x, notFound("right", id, ok, err)
	})
}

func (s *Server) listLicenses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := limitParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	f := trade.LicenseFilter{Licensee: q.Get("licensee"), Licensor: q.Get("licensor"), Right: q.Get("right"), Parent: q.Get("parent"),
		After: q.Get("after"), Limit: limit}
	s.readView(w, r, func(v *state.View) (any, error) { return trade.ListLicenses(v, f) })
}

func (s *Server) getLicense(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		x, ok, err := trade.LookupLicense(v, id)
		return x, notFound("license", id, ok, err)
	})
}

func (s *Server) getShipment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		x, ok, err := trade.LookupShipment(v, id)
		return x, notFound("shipment", id, ok, err)
	})
}

// verify answers a verdict request: the question is decoded strictly, a
// strong read is proxied to the leader with its body, and the verdict and
// its evidence come from one view, proven against this node's signed head.
func verifyRoute[Q any, V any](s *Server, decode func([]byte) (Q, error), run func(trade.Source, Q) (V, error), evidence func(V) []trade.EvidenceItem) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, 1<<20)
		if err != nil {
			writeError(w, err)
			return
		}
		q, err := decode(body)
		if err != nil {
			writeError(w, err)
			return
		}
		if s.strongReadBody(w, r, body) {
			return
		}
		var out V
		err = s.cfg.Store.View(func(v *state.View) error {
			var err error
			if out, err = run(v, q); err != nil {
				return err
			}
			head, err := s.signedHead(v.Meta())
			if err != nil {
				return err
			}
			trade.SetHead(evidence(out), head)
			return nil
		})
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) verifyCertificate(w http.ResponseWriter, r *http.Request) {
	verifyRoute(s, trade.DecodeCertificateQuery, trade.VerifyCertificate, func(v *trade.CertificateVerdict) []trade.EvidenceItem { return v.Evidence })(w, r)
}

func (s *Server) verifyLicense(w http.ResponseWriter, r *http.Request) {
	verifyRoute(s, trade.DecodeLicenseQuery, trade.VerifyLicense, func(v *trade.LicenseVerdict) []trade.EvidenceItem { return v.Evidence })(w, r)
}

func (s *Server) verifyShipment(w http.ResponseWriter, r *http.Request) {
	verifyRoute(s, trade.DecodeShipmentQuery, trade.VerifyShipment, func(v *trade.ShipmentVerdict) []trade.EvidenceItem { return v.Evidence })(w, r)
}

// strongReadBody is strongRead for requests with a body (POST queries).
func (s *Server) strongReadBody(w http.ResponseWriter, r *http.Request, body []byte) bool {
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

// credential exports a record as a W3C VC signed by this node's key: the
// node attests what its ledger holds, with the ledger evidence inside.
func (s *Server) credential(w http.ResponseWriter, r *http.Request, build func(v *state.View, network string) (trade.Credential, []trade.EvidenceItem, error)) {
	if s.strongRead(w, r) {
		return
	}
	var out trade.Credential
	err := s.cfg.Store.View(func(v *state.View) error {
		m := v.Meta()
		vc, items, err := build(v, m.Network)
		if err != nil {
			return err
		}
		head, err := s.signedHead(m)
		if err != nil {
			return err
		}
		trade.SetHead(items, head)
		trade.AttachEvidence(vc, items)
		out, err = trade.SignCredential(vc, s.cfg.NodeKey, fmt.Sprintf("tradeledger network %s, node %s", m.Network, s.cfg.NodeID), m.Time)
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) certificateCredential(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	version := 0
	if vs := r.URL.Query().Get("version"); vs != "" {
		var err error
		if version, err = strconv.Atoi(vs); err != nil || version < 1 {
			writeError(w, badRequest("version", fmt.Sprintf("%q: must be a version number (1, 2, ...)", vs)))
			return
		}
	}
	s.credential(w, r, func(v *state.View, network string) (trade.Credential, []trade.EvidenceItem, error) {
		return trade.ExportCertificate(v, network, id, version)
	})
}

func (s *Server) licenseCredential(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.credential(w, r, func(v *state.View, network string) (trade.Credential, []trade.EvidenceItem, error) {
		return trade.ExportLicense(v, network, id)
	})
}
