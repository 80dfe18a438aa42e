package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tradeledger/tradeledger/ledgernode/api"
	"github.com/tradeledger/tradeledger/ledgernode/credential"
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
	h("GET /v1/certificates", listPage(s, certificateFilter, trade.ListCertificates))
	h("GET /v1/certificates/{id}", getRecord(s, "certificate", trade.CertificateWithVersions))
	h("GET /v1/certificates/{id}/credential", s.certificateCredential)
	h("GET /v1/rights/{id}", getRecord(s, "right", trade.LookupRight))
	h("GET /v1/licenses", listPage(s, licenseFilter, trade.ListLicenses))
	h("GET /v1/licenses/{id}", getRecord(s, "license", trade.LookupLicense))
	h("GET /v1/licenses/{id}/credential", s.licenseCredential)
	h("GET /v1/shipments/{id}", getRecord(s, "shipment", trade.LookupShipment))
	h("POST /v1/verify/certificate", verifyRoute(s, trade.DecodeCertificateQuery, trade.VerifyCertificate, func(v *trade.CertificateVerdict) []trade.EvidenceItem { return v.Evidence }))
	h("POST /v1/verify/license", verifyRoute(s, trade.DecodeLicenseQuery, trade.VerifyLicense, func(v *trade.LicenseVerdict) []trade.EvidenceItem { return v.Evidence }))
	h("POST /v1/verify/shipment", verifyRoute(s, trade.DecodeShipmentQuery, trade.VerifyShipment, func(v *trade.ShipmentVerdict) []trade.EvidenceItem { return v.Evidence }))
}

// getRecord serves GET .../{id}: the record lookup finds, or 404 naming
// what was asked for.
func getRecord[T any](s *Server, what string, lookup func(state.Reader, string) (T, bool, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		s.readView(w, r, func(v *state.View) (any, error) {
			x, ok, err := lookup(v, id)
			return x, notFound(what, id, ok, err)
		})
	}
}

// listPage serves a paged list: ?limit is checked first, then the filter
// built from the query is listed over one view.
func listPage[F, P any](s *Server, filter func(q url.Values, limit int) F, list func(state.Reader, F) (P, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := limitParam(r)
		if err != nil {
			writeError(w, err)
			return
		}
		f := filter(r.URL.Query(), limit)
		s.readView(w, r, func(v *state.View) (any, error) { return list(v, f) })
	}
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

func certificateFilter(q url.Values, limit int) trade.CertificateFilter {
	return trade.CertificateFilter{Importer: q.Get("importer"), Exporter: q.Get("exporter"), Certifier: q.Get("certifier"), HS: q.Get("hs"),
		After: q.Get("after"), Limit: limit}
}

func licenseFilter(q url.Values, limit int) trade.LicenseFilter {
	return trade.LicenseFilter{Licensee: q.Get("licensee"), Licensor: q.Get("licensor"), Right: q.Get("right"), Parent: q.Get("parent"),
		After: q.Get("after"), Limit: limit}
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
		s.serveView(w, r, func(v *state.View) (any, error) {
			out, err := run(v, q)
			if err != nil {
				return nil, err
			}
			head, err := s.signedHead(v.Meta())
			if err != nil {
				return nil, err
			}
			trade.SetHead(evidence(out), head)
			return out, nil
		})
	}
}

// credential exports a record as a W3C VC signed by this node's key: the
// node attests what its ledger holds, with the ledger evidence inside and
// status entries in the lists this node serves under its public URL.
func (s *Server) credential(w http.ResponseWriter, r *http.Request, build func(v *state.View, network string) (*credential.Claims, []trade.EvidenceItem, error)) {
	s.readView(w, r, func(v *state.View) (any, error) {
		m := v.Meta()
		claims, items, err := build(v, m.Network)
		if err != nil {
			return nil, err
		}
		head, err := s.signedHead(m)
		if err != nil {
			return nil, err
		}
		trade.SetHead(items, head)
		vc := credential.Build(claims, s.publicURL(), trade.EvidenceEntries(items))
		return credential.Sign(vc, s.issuer(m.Network), m.Time)
	})
}

func (s *Server) issuer(network string) credential.Issuer {
	return credential.Issuer{Key: s.cfg.NodeKey, Name: fmt.Sprintf("tradeledger network %s, node %s", network, s.cfg.NodeID)}
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
	s.credential(w, r, func(v *state.View, network string) (*credential.Claims, []trade.EvidenceItem, error) {
		return trade.ExportCertificate(v, network, id, version)
	})
}

func (s *Server) licenseCredential(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.credential(w, r, func(v *state.View, network string) (*credential.Claims, []trade.EvidenceItem, error) {
		return trade.ExportLicense(v, network, id)
	})
}
