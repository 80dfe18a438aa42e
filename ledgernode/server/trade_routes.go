package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/trade"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Trade records: reads of agencies, participants, certificates, rights,
// licenses and shipments; verdicts (POST with a JSON question, served from
// one state view so every node answers alike at the same height); W3C VC
// export signed with this node's key.
func (s *Server) tradeRoutes(h route) {
	h(GroupDirectory, RoleParticipant, "GET /v1/agencies", s.listAgencies)
	h(GroupDirectory, RoleParticipant, "GET /v1/agencies/{id...}", s.getAgency)
	h(GroupDirectory, RoleParticipant, "GET /v1/participants", s.listParticipants)
	h(GroupDirectory, RoleParticipant, "GET /v1/participants/{id...}", s.getParticipant)
	h(GroupTrade, RoleParticipant, "GET /v1/certificates", listPage(s, certificateFilter, trade.ListCertificates))
	h(GroupTrade, RoleParticipant, "GET /v1/certificates/{id}", getRecord(s, "certificate", trade.CertificateWithVersions, certificateParties))
	h(GroupTrade, RoleParticipant, "GET /v1/certificates/{id}/credential", s.certificateCredential)
	h(GroupTrade, RoleParticipant, "GET /v1/rights/{id}", getRecord(s, "right", trade.LookupRight, func(r *wire.IPRight) []string { return []string{r.Holder} }))
	h(GroupTrade, RoleParticipant, "GET /v1/licenses", listPage(s, licenseFilter, trade.ListLicenses))
	h(GroupTrade, RoleParticipant, "GET /v1/licenses/{id}", getRecord(s, "license", trade.LookupLicenseView, func(l *wire.LicenseView) []string { return licenseParties(&l.License) }))
	h(GroupTrade, RoleParticipant, "GET /v1/licenses/{id}/credential", s.licenseCredential)
	h(GroupTrade, RoleParticipant, "GET /v1/shipments/{id}", getRecord(s, "shipment", trade.LookupShipment, func(r *wire.ShipmentRecord) []string { return []string{r.Importer} }))
	h(GroupVerification, RoleParticipant, "POST /v1/verify/certificate", verifyRoute(s, wire.DecodeCertificateQuery, trade.VerifyCertificate,
		func(v *state.View, q wire.CertificateQuery) (string, []string) {
			h, _, _ := trade.CertificateWithVersions(v, q.ID)
			return "certificate " + q.ID, certificateParties(h)
		}, func(v *wire.CertificateVerdict) []wire.EvidenceItem { return v.Evidence }))
	h(GroupVerification, RoleParticipant, "POST /v1/verify/license", verifyRoute(s, wire.DecodeLicenseQuery, trade.VerifyLicense,
		func(_ *state.View, q wire.LicenseQuery) (string, []string) {
			return "license question for importer " + q.Importer, []string{q.Importer}
		}, func(v *wire.LicenseVerdict) []wire.EvidenceItem { return v.Evidence }))
	h(GroupVerification, RoleParticipant, "POST /v1/verify/shipment", verifyRoute(s, wire.DecodeShipmentQuery, trade.VerifyShipment,
		func(v *state.View, q wire.ShipmentQuery) (string, []string) {
			if q.Shipment != nil {
				return "shipment " + q.Shipment.ID, []string{q.Shipment.Importer}
			}
			if r, ok, _ := trade.LookupShipment(v, q.ID); ok {
				return "shipment " + q.ID, []string{r.Importer}
			}
			return "shipment " + q.ID, nil
		}, func(v *wire.ShipmentVerdict) []wire.EvidenceItem { return v.Evidence }))
}

// certificateParties are the participants a certificate names in any of
// its versions (certifier, exporter, producer, importer).
func certificateParties(h *wire.CertificateHistory) []string {
	if h == nil {
		return nil
	}
	var out []string
	for _, v := range h.Versions {
		c := &v.Certificate
		out = append(out, c.Certifier.ID)
		for _, p := range []*wire.Party{c.Exporter, c.Producer, c.Importer} {
			if p != nil && p.ID != "" {
				out = append(out, p.ID)
			}
		}
	}
	return out
}

// licenseParties are a license's licensor and licensee.
func licenseParties(l *wire.License) []string { return []string{l.Licensor, l.Licensee} }

// getRecord serves GET .../{id}: the record lookup finds, or 404 naming
// what was asked for.
func getRecord[T any](s *Server, what string, lookup func(state.Reader, string) (T, bool, error), parties func(T) []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		p := principalOf(r)
		s.readView(w, r, func(v *state.View) (any, error) {
			x, ok, err := lookup(v, id)
			if err := notFound(what, id, ok, err); err != nil {
				return nil, err
			}
			return x, requireParty(p, what, id, parties(x)...)
		})
	}
}

// listPage serves a paged list: ?limit is checked first, then the filter
// built from the query is listed over one view.
func listPage[F, P any](s *Server, filter func(q url.Values, limit int) (F, []string), list func(state.Reader, F) (P, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, err := limitParam(r)
		if err != nil {
			writeError(w, err)
			return
		}
		f, partyParams := filter(r.URL.Query(), limit)
		if err := requirePartyFilter(principalOf(r), r.URL.Query(), partyParams); err != nil {
			writeError(w, err)
			return
		}
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
		return &wire.AgencyResponse{Agency: a, Keys: keys}, err
	})
}

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := wire.ParticipantFilter{Agency: q.Get("agency"), Role: q.Get("role"), Country: q.Get("country")}
	p := principalOf(r)
	s.readView(w, r, func(v *state.View) (any, error) {
		list, err := trade.Participants(v, f)
		for i := range list {
			list[i] = directoryView(p, list[i])
		}
		return list, err
	})
}

// directoryView is what a principal may read of a participant: all of it,
// except that a participant reading another sees only the directory
// fields (id, identity, name, country, roles, enrolling agency, status,
// since), not its identifiers, contact, evidence or history.
func directoryView(p Principal, x *wire.Participant) *wire.Participant {
	if !p.restricted() || x.Identity == p.Identity {
		return x
	}
	return &wire.Participant{ID: x.ID, Identity: x.Identity, Name: x.Name, Country: x.Country, Roles: x.Roles,
		EnrolledBy: x.EnrolledBy, Status: x.Status, Since: x.Since}
}

func (s *Server) getParticipant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.readView(w, r, func(v *state.View) (any, error) {
		x, ok, err := trade.LookupParticipant(v, id)
		if err := notFound("participant", id, ok, err); err != nil {
			return nil, err
		}
		keys, err := state.KeysOf(v, x.Identity)
		return &wire.ParticipantResponse{Participant: directoryView(principalOf(r), x), Keys: keys}, err
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

// The list filters, with the query parameters that name a party: a
// participant must name itself in one of them (requirePartyFilter).
func certificateFilter(q url.Values, limit int) (wire.CertificateFilter, []string) {
	return wire.CertificateFilter{Importer: q.Get("importer"), Exporter: q.Get("exporter"), Certifier: q.Get("certifier"), HS: q.Get("hs"),
		After: q.Get("after"), Limit: limit}, []string{"importer", "exporter", "certifier"}
}

func licenseFilter(q url.Values, limit int) (wire.LicenseFilter, []string) {
	return wire.LicenseFilter{Licensee: q.Get("licensee"), Licensor: q.Get("licensor"), Right: q.Get("right"), Parent: q.Get("parent"),
		After: q.Get("after"), Limit: limit}, []string{"licensee", "licensor"}
}

// requirePartyFilter makes a participant's list name itself in one of the
// party parameters (so that every record listed names it), and no other
// party in the others.
func requirePartyFilter(p Principal, q url.Values, params []string) error {
	if !p.restricted() {
		return nil
	}
	self := false
	for _, k := range params {
		switch v := q.Get(k); v {
		case "":
		case p.Identity:
			self = true
		default:
			return forbidden("%s=%s: a participant lists only the records that name it (%s)", k, v, p.Identity)
		}
	}
	if !self {
		return badRequest(params[0], fmt.Sprintf("a participant must list by one of %s naming itself, e.g. ?%s=%s", strings.Join(params, ", "), params[0], p.Identity))
	}
	return nil
}

// verify answers a verdict request: the question is decoded strictly, a
// strong read is proxied to the leader with its body, and the verdict and
// its evidence come from one view, proven against this node's signed head.
func verifyRoute[Q any, V any](s *Server, decode func([]byte) (Q, error), run func(trade.Source, Q) (V, error),
	parties func(*state.View, Q) (string, []string), evidence func(V) []wire.EvidenceItem) http.HandlerFunc {
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
		p := principalOf(r)
		s.serveView(w, r, func(v *state.View) (any, error) {
			if p.restricted() {
				what, ps := parties(v, q)
				if err := requireParty(p, "verdict on", what, ps...); err != nil {
					return nil, err
				}
			}
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
func (s *Server) credential(w http.ResponseWriter, r *http.Request, allowed func(v *state.View) error, build func(v *state.View, network string) (*credential.Claims, []wire.EvidenceItem, error)) {
	s.readView(w, r, func(v *state.View) (any, error) {
		if err := allowed(v); err != nil {
			return nil, err
		}
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
	p := principalOf(r)
	s.credential(w, r, func(v *state.View) error {
		if !p.restricted() {
			return nil
		}
		h, ok, err := trade.CertificateWithVersions(v, id)
		if err := notFound("certificate", id, ok, err); err != nil {
			return err
		}
		return requireParty(p, "certificate", id, certificateParties(h)...)
	}, func(v *state.View, network string) (*credential.Claims, []wire.EvidenceItem, error) {
		return trade.ExportCertificate(v, network, id, version)
	})
}

func (s *Server) licenseCredential(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := principalOf(r)
	s.credential(w, r, func(v *state.View) error {
		if !p.restricted() {
			return nil
		}
		l, ok, err := trade.LookupLicense(v, id)
		if err := notFound("license", id, ok, err); err != nil {
			return err
		}
		return requireParty(p, "license", id, licenseParties(l)...)
	}, func(v *state.View, network string) (*credential.Claims, []wire.EvidenceItem, error) {
		return trade.ExportLicense(v, network, id)
	})
}
