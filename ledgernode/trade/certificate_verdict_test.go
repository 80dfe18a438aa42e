package trade

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (w *world) verdict(q wire.CertificateQuery) *wire.CertificateVerdict {
	w.T.Helper()
	var out *wire.CertificateVerdict
	w.view(func(v *state.View) {
		var err error
		if out, err = VerifyCertificate(v, q); err != nil {
			w.T.Fatalf("verify %s: %v", q.ID, err)
		}
	})
	return out
}

func codes(cs []wire.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Code)
	}
	return out
}

func TestCertificateVerdicts(t *testing.T) {
	w := newWorld(t)
	ct := w.issue("V-1")
	w.issue("V-REVOKED")
	w.issue("V-WITHDRAWN")
	w.issue("V-AMENDED")
	amended := w.usmca("V-AMENDED")
	amended.Goods[0].HSCode = "847150"
	w.Must(w.acme, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "V-AMENDED", Reason: "wrong subheading on line 1", Certificate: amended})
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "V-REVOKED", Reason: "origin verification failed"})
	w.Must(w.acme, "certificate.revoke", wire.CertificateRevoke{ID: "V-WITHDRAWN", Reason: "goods not shipped"})
	w.Must(w.sat, "certificate.endorse", wire.CertificateEndorse{ID: "V-1", Note: "verified at origin"})
	from, until := ct.Window()
	now := ts(w.Now)

	cases := []struct {
		name    string
		q       wire.CertificateQuery
		verdict string
		code    string
	}{
		{"a certificate inside its blanket period is valid", wire.CertificateQuery{ID: "V-1", At: now}, wire.VerdictValid, ""},
		{"a date before the blanket period is not yet valid", wire.CertificateQuery{ID: "V-1", At: ts(from.Add(-time.Hour))}, wire.VerdictNotYetValid, "not_yet_valid"},
		{"a date after the blanket period is expired", wire.CertificateQuery{ID: "V-1", At: ts(until.Add(time.Hour))}, wire.VerdictExpired, "expired"},
		{"a certificate revoked by the importing agency is revoked", wire.CertificateQuery{ID: "V-REVOKED", At: now}, wire.VerdictRevoked, "revoked"},
		{"a certificate withdrawn by its certifier is revoked", wire.CertificateQuery{ID: "V-WITHDRAWN", At: now}, wire.VerdictRevoked, "withdrawn"},
		{"a revoked certificate was valid before the revocation took effect", wire.CertificateQuery{ID: "V-REVOKED", At: ts(t0)}, wire.VerdictValid, ""},
		{"the old version of an amended certificate is superseded", wire.CertificateQuery{ID: "V-AMENDED", Version: 1, At: now}, wire.VerdictSuperseded, "superseded"},
		{"the current version of an amended certificate is valid", wire.CertificateQuery{ID: "V-AMENDED", At: now}, wire.VerdictValid, ""},
		{"an unknown certificate is not found (nothing to judge)", wire.CertificateQuery{ID: "NOPE", At: now}, wire.VerdictNotFound, "not_found"},
		{"a missing endorsement fails only when required", wire.CertificateQuery{ID: "V-AMENDED", At: now, RequireEndorsement: true}, wire.VerdictInvalid, "not_endorsed"},
		{"an endorsed certificate passes when endorsement is required", wire.CertificateQuery{ID: "V-1", At: now, RequireEndorsement: true}, wire.VerdictValid, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			vd := w.verdict(tc.q)
			if vd.Verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s: %+v", vd.Verdict, tc.verdict, vd.Reasons)
			}
			if tc.code == "" && len(vd.Reasons) != 0 || tc.code != "" && !strings.Contains(strings.Join(codes(vd.Reasons), ","), tc.code) {
				t.Fatalf("reasons %v, want %q", codes(vd.Reasons), tc.code)
			}
		})
	}
}

func TestEveryReasonIsReportedAndTheWorstDecides(t *testing.T) {
	w := newWorld(t)
	ct := w.issue("MULTI")
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "MULTI", Reason: "fraud", Effective: ts(t0)})
	_, until := ct.Window()
	vd := w.verdict(wire.CertificateQuery{ID: "MULTI", At: ts(until.Add(time.Hour)), RequireEndorsement: true})
	got := strings.Join(codes(vd.Reasons), ",")
	if vd.Verdict != wire.VerdictInvalid || got != "revoked,expired,not_endorsed" {
		t.Fatalf("verdict %s reasons %s", vd.Verdict, got)
	}
}

func TestVerdictEvidenceVerifiesOffline(t *testing.T) {
	w := newWorld(t)
	w.issue("EV-1")
	w.Must(w.sat, "certificate.endorse", wire.CertificateEndorse{ID: "EV-1"})
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "EV-1", Reason: "x"})
	vd := w.verdict(wire.CertificateQuery{ID: "EV-1"})
	// Every record relied on is there once: the issue, the certifier's
	// enrolment (which also registered its key), the revocation and the
	// endorsement.
	types := map[string]int{}
	for _, e := range vd.Evidence {
		var env tx.Envelope
		if err := json.Unmarshal(e.Evidence.Tx, &env); err != nil {
			t.Fatal(err)
		}
		types[env.Type]++
	}
	for _, typ := range []string{"certificate.issue", "participant.enrol", "certificate.revoke", "certificate.endorse"} {
		if types[typ] != 1 {
			t.Fatalf("evidence types %v, want one %s", types, typ)
		}
	}
	// The proofs verify against a head signed by a trusted node key.
	nodeKey := newKey()
	w.Genesis.Nodes[0].Key = keyID(nodeKey)
	trust := verify.TrustFromGenesis(w.Genesis)
	m := w.Store.Meta()
	head := signedHead(t, m, nodeKey)
	for _, e := range vd.Evidence {
		e.Evidence.Head = *head
		if _, err := verify.Receipt(e.Evidence, trust); err != nil {
			t.Fatalf("%s: %v", e.Role, err)
		}
	}
}

func TestCertificateLifecycleAuthorisation(t *testing.T) {
	w := newWorld(t)
	w.issue("L-1")
	other := w.usmca("L-1")
	other.Goods = other.Goods[:1]
	cases := []struct {
		name        string
		signer      func() any
		typ         string
		payload     any
		code, field string
	}{
		{"an agency of a third country cannot revoke", func() any { return w.cbsa }, "certificate.revoke", wire.CertificateRevoke{ID: "L-1", Reason: "x"}, CodeJurisdiction, "signer"},
		{"another participant cannot withdraw", func() any { return w.maker }, "certificate.revoke", wire.CertificateRevoke{ID: "L-1", Reason: "x"}, wire.CodeUnauthorized, "signer"},
		{"a revocation needs a reason", func() any { return w.cbp }, "certificate.revoke", wire.CertificateRevoke{ID: "L-1"}, wire.CodeInvalid, "payload.reason"},
		{"only the exporting country's agency endorses", func() any { return w.cbp }, "certificate.endorse", wire.CertificateEndorse{ID: "L-1"}, CodeJurisdiction, "signer"},
		{"only the certifier amends", func() any { return w.maker }, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "x", Certificate: other}, wire.CodeUnauthorized, "signer"},
		{"an agency does not amend a certificate, even of its own country", func() any { return w.sat }, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "x", Certificate: other}, wire.CodeUnauthorized, "signer"},
		{"an amendment keeps the certifier", func() any { return w.acme }, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "x", Certificate: func() wire.Certificate {
			c := other
			c.Certifier.ID = "participant/maker-mx"
			return c
		}()}, wire.CodeUnauthorized, "payload.certificate.certifier.id"},
		{"an amendment keeps the id", func() any { return w.acme }, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "L-2", Reason: "x", Certificate: other}, wire.CodeInvalid, "payload.certificate.id"},
		{"an amendment needs a reason", func() any { return w.acme }, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "L-1", Certificate: other}, wire.CodeInvalid, "payload.reason"},
		{"a certificate id is issued once", func() any { return w.acme }, "certificate.issue", w.usmca("L-1"), wire.CodeConflict, "payload.id"},
		{"an unknown certificate cannot be revoked", func() any { return w.cbp }, "certificate.revoke", wire.CertificateRevoke{ID: "L-9", Reason: "x"}, wire.CodeNotFound, "payload.id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			w.reject(tc.signer().(ed25519Key), tc.typ, tc.payload, tc.code, tc.field)
		})
	}
	// A revoked certificate cannot be amended or endorsed; amending keeps both versions.
	w.Must(w.acme, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "drop line 2", Certificate: other})
	w.Must(w.acme, "certificate.revoke", wire.CertificateRevoke{ID: "L-1", Reason: "order cancelled"})
	w.reject(w.acme, "certificate.amend", wire.CertificateAmend{Supersedes: 2, ID: "L-1", Reason: "again", Certificate: other}, CodeRevoked, "payload.id")
	w.reject(w.sat, "certificate.endorse", wire.CertificateEndorse{ID: "L-1"}, CodeRevoked, "payload.id")
	w.view(func(v *state.View) {
		h, ok, err := CertificateWithVersions(v, "L-1")
		if err != nil || !ok || len(h.Versions) != 2 || h.Versions[1].Supersedes != 1 || h.Record.Status != wire.StatusWithdrawn {
			t.Fatalf("history = %+v", h)
		}
	})
}

func TestCertificateListingsUseTheIndexes(t *testing.T) {
	w := newWorld(t)
	w.issue("IDX-1")
	w.issue("IDX-2")
	amended := w.usmca("IDX-2")
	amended.Goods = []wire.GoodsItem{{Description: "Coffee", HSCode: "090111", OriginCriterion: "A", CountryOfOrigin: "MX"}}
	w.Must(w.acme, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "IDX-2", Reason: "coffee, not laptops", Certificate: amended})
	list := func(f wire.CertificateFilter) []string {
		var ids []string
		w.view(func(v *state.View) {
			p, err := ListCertificates(v, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Certificates {
				ids = append(ids, c.ID)
			}
		})
		return ids
	}
	for _, tc := range []struct {
		f    wire.CertificateFilter
		want string
	}{
		{wire.CertificateFilter{Importer: "participant/bigbox-us"}, "IDX-1,IDX-2"},
		{wire.CertificateFilter{Exporter: "acme-mx"}, "IDX-1,IDX-2"},
		{wire.CertificateFilter{HS: "8471"}, "IDX-1"},
		{wire.CertificateFilter{HS: "09"}, "IDX-2"},
		{wire.CertificateFilter{HS: "847130"}, "IDX-1"},
	} {
		if got := strings.Join(list(tc.f), ","); got != tc.want {
			t.Fatalf("%+v: %s, want %s", tc.f, got, tc.want)
		}
	}
	// Paging.
	var next string
	w.view(func(v *state.View) {
		p, _ := ListCertificates(v, wire.CertificateFilter{Importer: "participant/bigbox-us", Limit: 1})
		if len(p.Certificates) != 1 || p.Next == "" {
			t.Fatalf("page 1: %+v", p)
		}
		next = p.Next
		p, _ = ListCertificates(v, wire.CertificateFilter{Importer: "participant/bigbox-us", Limit: 1, After: next})
		if len(p.Certificates) != 1 || p.Certificates[0].ID != "IDX-2" || p.Next != "" {
			t.Fatalf("page 2: %+v", p)
		}
	})
}

func TestShipmentMustBeCoveredByTheCertificate(t *testing.T) {
	w := newWorld(t)
	w.issue("SH-1")
	ship := wire.Shipment{ID: "E-1", Importer: "participant/bigbox-us", EntryDate: ts(w.Now), DestinationCountry: "US",
		Lines: []wire.ShipmentLine{{Line: 1, Description: "Laptops", HSCode: "8471300100", OriginCountry: "MX", Certificate: "SH-1"}}}
	if vd := w.verdict(wire.CertificateQuery{ID: "SH-1", Shipment: &ship}); vd.Verdict != wire.VerdictValid {
		t.Fatalf("covered shipment: %+v", vd.Reasons)
	}
	cases := []struct {
		name string
		edit func(s *wire.Shipment)
		want string
	}{
		{"goods not on the certificate", func(s *wire.Shipment) { s.Lines[0].HSCode = "850440" }, "is not among the certificate's goods"},
		{"another origin", func(s *wire.Shipment) { s.Lines[0].OriginCountry = "CA" }, "origin CA does not match"},
		{"another importer", func(s *wire.Shipment) { s.Importer = "participant/dist-us" }, "is not the certificate's importer"},
		{"another destination", func(s *wire.Shipment) { s.DestinationCountry = "CA" }, "enters CA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			s := ship
			s.Lines = append([]wire.ShipmentLine(nil), ship.Lines...)
			tc.edit(&s)
			vd := w.verdict(wire.CertificateQuery{ID: "SH-1", Shipment: &s})
			if vd.Verdict != wire.VerdictInvalid || vd.Reasons[0].Code != "shipment_mismatch" || !strings.Contains(vd.Reasons[0].Message, tc.want) {
				t.Fatalf("%+v", vd.Reasons)
			}
		})
	}
}

func TestCAFTADRAndLegacyNAFTACertificates(t *testing.T) {
	w := newWorld(t)
	cafta := wire.Certificate{ID: "CAFTA-1", Program: "CAFTA-DR", CertifierRole: wire.RoleExporter,
		Certifier: wire.Party{ID: "participant/cafe-cr", Name: "Cafe de Altura SA"}, Importer: &wire.Party{Name: "BigBox Stores Inc."},
		ExportCountry: "CR", ImportCountry: "US", Goods: []wire.GoodsItem{{Description: "Green coffee", HSCode: "090111", OriginCriterion: "A", CountryOfOrigin: "CR"}},
		SignedAt: ts(w.Now.Add(-time.Hour)), Language: "es"}
	w.Must(w.cafe, "certificate.issue", cafta)
	w.Must(w.dga, "certificate.endorse", wire.CertificateEndorse{ID: "CAFTA-1"})
	if vd := w.verdict(wire.CertificateQuery{ID: "CAFTA-1", RequireEndorsement: true}); vd.Verdict != wire.VerdictValid {
		t.Fatalf("CAFTA-DR: %+v", vd.Reasons)
	}
	// A legacy NAFTA certificate signed in 2019 is recorded for historic
	// audits: valid for a 2019 entry, expired today.
	nafta := wire.Certificate{ID: "NAFTA-1", Program: "NAFTA", CertifierRole: wire.RoleExporter,
		Certifier: wire.Party{ID: "participant/maple-ca", Name: "Maple Goods Ltd", Title: "President"}, Producer: &wire.Party{Name: wire.ProducerVarious},
		Importer: &wire.Party{Name: "BigBox Stores Inc."}, ExportCountry: "CA", ImportCountry: "US",
		Goods:         []wire.GoodsItem{{Description: "Maple syrup", HSCode: "170220", OriginCriterion: "A", CountryOfOrigin: "CA", ProducerIndicator: "NO1", NetCost: "NO"}},
		BlanketPeriod: &wire.Period{ValidFrom: "2019-01-01T00:00:00Z", ValidUntil: "2019-12-31T00:00:00Z"},
		SignedAt:      "2018-12-15T00:00:00Z", Language: "en"}
	w.Must(w.maple, "certificate.issue", nafta)
	if vd := w.verdict(wire.CertificateQuery{ID: "NAFTA-1", At: "2019-06-01T00:00:00Z"}); vd.Verdict != wire.VerdictValid {
		t.Fatalf("NAFTA in 2019: %+v", vd.Reasons)
	}
	if vd := w.verdict(wire.CertificateQuery{ID: "NAFTA-1"}); vd.Verdict != wire.VerdictExpired {
		t.Fatalf("NAFTA today: %s", vd.Verdict)
	}
}

func TestSameBlocksGiveSameStateOnTwoStores(t *testing.T) {
	w := newWorld(t)
	w.issue("D-1")
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "D-1", Reason: "x"})
	// Replay every block into a fresh store.
	g2 := openFx(t, w.Genesis, w.Admin, testRegistry(), t.TempDir()+"/replay.db")
	var blocks []*state.Proposal
	w.view(func(v *state.View) {
		for h := uint64(1); h <= v.Meta().Height; h++ {
			b, err := v.Block(h)
			if err != nil {
				t.Fatal(err)
			}
			blocks = append(blocks, &state.Proposal{Time: b.Header.Time, Proposer: b.Header.Proposer, Txs: b.Txs})
		}
	})
	for i, p := range blocks {
		if _, err := g2.Store.ApplyBlock(p, uint64(i+1), 1); err != nil {
			t.Fatal(err)
		}
	}
	d1, _ := w.Store.Digest()
	d2, _ := g2.Store.Digest()
	if d1 != d2 {
		t.Fatal("digests differ after replay")
	}
}
