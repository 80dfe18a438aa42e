package trade

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

func (w *world) verdict(q CertificateQuery) *CertificateVerdict {
	w.T.Helper()
	var out *CertificateVerdict
	w.view(func(v *state.View) {
		var err error
		if out, err = VerifyCertificate(v, q); err != nil {
			w.T.Fatalf("verify %s: %v", q.ID, err)
		}
	})
	return out
}

func codes(cs []Check) []string {
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
	w.Must(w.acme, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "V-AMENDED", Reason: "wrong subheading on line 1", Certificate: amended})
	w.Must(w.cbp, "certificate.revoke", CertificateRevoke{ID: "V-REVOKED", Reason: "origin verification failed"})
	w.Must(w.acme, "certificate.revoke", CertificateRevoke{ID: "V-WITHDRAWN", Reason: "goods not shipped"})
	w.Must(w.sat, "certificate.endorse", CertificateEndorse{ID: "V-1", Note: "verified at origin"})
	from, until := ct.Window()
	now := ts(w.Now)

	cases := []struct {
		name    string
		q       CertificateQuery
		verdict string
		code    string
	}{
		{"a certificate inside its blanket period is valid", CertificateQuery{ID: "V-1", At: now}, VerdictValid, ""},
		{"a date before the blanket period is not yet valid", CertificateQuery{ID: "V-1", At: ts(from.Add(-time.Hour))}, VerdictNotYetValid, "not_yet_valid"},
		{"a date after the blanket period is expired", CertificateQuery{ID: "V-1", At: ts(until.Add(time.Hour))}, VerdictExpired, "expired"},
		{"a certificate revoked by the importing agency is revoked", CertificateQuery{ID: "V-REVOKED", At: now}, VerdictRevoked, "revoked"},
		{"a certificate withdrawn by its certifier is revoked", CertificateQuery{ID: "V-WITHDRAWN", At: now}, VerdictRevoked, "withdrawn"},
		{"a revoked certificate was valid before the revocation took effect", CertificateQuery{ID: "V-REVOKED", At: ts(t0)}, VerdictValid, ""},
		{"the old version of an amended certificate is superseded", CertificateQuery{ID: "V-AMENDED", Version: 1, At: now}, VerdictSuperseded, "superseded"},
		{"the current version of an amended certificate is valid", CertificateQuery{ID: "V-AMENDED", At: now}, VerdictValid, ""},
		{"an unknown certificate is not found (nothing to judge)", CertificateQuery{ID: "NOPE", At: now}, VerdictNotFound, "not_found"},
		{"a missing endorsement fails only when required", CertificateQuery{ID: "V-AMENDED", At: now, RequireEndorsement: true}, VerdictInvalid, "not_endorsed"},
		{"an endorsed certificate passes when endorsement is required", CertificateQuery{ID: "V-1", At: now, RequireEndorsement: true}, VerdictValid, ""},
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
	w.Must(w.cbp, "certificate.revoke", CertificateRevoke{ID: "MULTI", Reason: "fraud", Effective: ts(t0)})
	_, until := ct.Window()
	vd := w.verdict(CertificateQuery{ID: "MULTI", At: ts(until.Add(time.Hour)), RequireEndorsement: true})
	got := strings.Join(codes(vd.Reasons), ",")
	if vd.Verdict != VerdictInvalid || got != "revoked,expired,not_endorsed" {
		t.Fatalf("verdict %s reasons %s", vd.Verdict, got)
	}
}

func TestVerdictEvidenceVerifiesOffline(t *testing.T) {
	w := newWorld(t)
	w.issue("EV-1")
	w.Must(w.sat, "certificate.endorse", CertificateEndorse{ID: "EV-1"})
	w.Must(w.cbp, "certificate.revoke", CertificateRevoke{ID: "EV-1", Reason: "x"})
	vd := w.verdict(CertificateQuery{ID: "EV-1"})
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
		{"an agency of a third country cannot revoke", func() any { return w.cbsa }, "certificate.revoke", CertificateRevoke{ID: "L-1", Reason: "x"}, CodeJurisdiction, "signer"},
		{"another participant cannot withdraw", func() any { return w.maker }, "certificate.revoke", CertificateRevoke{ID: "L-1", Reason: "x"}, state.CodeUnauthorized, "signer"},
		{"a revocation needs a reason", func() any { return w.cbp }, "certificate.revoke", CertificateRevoke{ID: "L-1"}, state.CodeInvalid, "payload.reason"},
		{"only the exporting country's agency endorses", func() any { return w.cbp }, "certificate.endorse", CertificateEndorse{ID: "L-1"}, CodeJurisdiction, "signer"},
		{"only the certifier amends", func() any { return w.maker }, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "x", Certificate: other}, state.CodeUnauthorized, "signer"},
		{"an agency does not amend a certificate, even of its own country", func() any { return w.sat }, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "x", Certificate: other}, state.CodeUnauthorized, "signer"},
		{"an amendment keeps the certifier", func() any { return w.acme }, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "x", Certificate: func() Certificate {
			c := other
			c.Certifier.ID = "participant/maker-mx"
			return c
		}()}, state.CodeUnauthorized, "payload.certificate.certifier.id"},
		{"an amendment keeps the id", func() any { return w.acme }, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "L-2", Reason: "x", Certificate: other}, state.CodeInvalid, "payload.certificate.id"},
		{"an amendment needs a reason", func() any { return w.acme }, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "L-1", Certificate: other}, state.CodeInvalid, "payload.reason"},
		{"a certificate id is issued once", func() any { return w.acme }, "certificate.issue", w.usmca("L-1"), state.CodeConflict, "payload.id"},
		{"an unknown certificate cannot be revoked", func() any { return w.cbp }, "certificate.revoke", CertificateRevoke{ID: "L-9", Reason: "x"}, state.CodeNotFound, "payload.id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			w.reject(tc.signer().(ed25519Key), tc.typ, tc.payload, tc.code, tc.field)
		})
	}
	// A revoked certificate cannot be amended or endorsed; amending keeps both versions.
	w.Must(w.acme, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "L-1", Reason: "drop line 2", Certificate: other})
	w.Must(w.acme, "certificate.revoke", CertificateRevoke{ID: "L-1", Reason: "order cancelled"})
	w.reject(w.acme, "certificate.amend", CertificateAmend{Supersedes: 2, ID: "L-1", Reason: "again", Certificate: other}, CodeRevoked, "payload.id")
	w.reject(w.sat, "certificate.endorse", CertificateEndorse{ID: "L-1"}, CodeRevoked, "payload.id")
	w.view(func(v *state.View) {
		h, ok, err := CertificateWithVersions(v, "L-1")
		if err != nil || !ok || len(h.Versions) != 2 || h.Versions[1].Supersedes != 1 || h.Record.Status != StatusWithdrawn {
			t.Fatalf("history = %+v", h)
		}
	})
}

func TestCertificateListingsUseTheIndexes(t *testing.T) {
	w := newWorld(t)
	w.issue("IDX-1")
	w.issue("IDX-2")
	amended := w.usmca("IDX-2")
	amended.Goods = []GoodsItem{{Description: "Coffee", HSCode: "090111", OriginCriterion: "A", CountryOfOrigin: "MX"}}
	w.Must(w.acme, "certificate.amend", CertificateAmend{Supersedes: 1, ID: "IDX-2", Reason: "coffee, not laptops", Certificate: amended})
	list := func(f CertificateFilter) []string {
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
		f    CertificateFilter
		want string
	}{
		{CertificateFilter{Importer: "participant/bigbox-us"}, "IDX-1,IDX-2"},
		{CertificateFilter{Exporter: "acme-mx"}, "IDX-1,IDX-2"},
		{CertificateFilter{HS: "8471"}, "IDX-1"},
		{CertificateFilter{HS: "09"}, "IDX-2"},
		{CertificateFilter{HS: "847130"}, "IDX-1"},
	} {
		if got := strings.Join(list(tc.f), ","); got != tc.want {
			t.Fatalf("%+v: %s, want %s", tc.f, got, tc.want)
		}
	}
	// Paging.
	var next string
	w.view(func(v *state.View) {
		p, _ := ListCertificates(v, CertificateFilter{Importer: "participant/bigbox-us", Limit: 1})
		if len(p.Certificates) != 1 || p.Next == "" {
			t.Fatalf("page 1: %+v", p)
		}
		next = p.Next
		p, _ = ListCertificates(v, CertificateFilter{Importer: "participant/bigbox-us", Limit: 1, After: next})
		if len(p.Certificates) != 1 || p.Certificates[0].ID != "IDX-2" || p.Next != "" {
			t.Fatalf("page 2: %+v", p)
		}
	})
}

func TestShipmentMustBeCoveredByTheCertificate(t *testing.T) {
	w := newWorld(t)
	w.issue("SH-1")
	ship := Shipment{ID: "E-1", Importer: "participant/bigbox-us", EntryDate: ts(w.Now), DestinationCountry: "US",
		Lines: []ShipmentLine{{Line: 1, Description: "Laptops", HSCode: "8471300100", OriginCountry: "MX", Certificate: "SH-1"}}}
	if vd := w.verdict(CertificateQuery{ID: "SH-1", Shipment: &ship}); vd.Verdict != VerdictValid {
		t.Fatalf("covered shipment: %+v", vd.Reasons)
	}
	cases := []struct {
		name string
		edit func(s *Shipment)
		want string
	}{
		{"goods not on the certificate", func(s *Shipment) { s.Lines[0].HSCode = "850440" }, "is not among the certificate's goods"},
		{"another origin", func(s *Shipment) { s.Lines[0].OriginCountry = "CA" }, "origin CA does not match"},
		{"another importer", func(s *Shipment) { s.Importer = "participant/dist-us" }, "is not the certificate's importer"},
		{"another destination", func(s *Shipment) { s.DestinationCountry = "CA" }, "enters CA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			s := ship
			s.Lines = append([]ShipmentLine(nil), ship.Lines...)
			tc.edit(&s)
			vd := w.verdict(CertificateQuery{ID: "SH-1", Shipment: &s})
			if vd.Verdict != VerdictInvalid || vd.Reasons[0].Code != "shipment_mismatch" || !strings.Contains(vd.Reasons[0].Message, tc.want) {
				t.Fatalf("%+v", vd.Reasons)
			}
		})
	}
}

func TestCAFTADRAndLegacyNAFTACertificates(t *testing.T) {
	w := newWorld(t)
	cafta := Certificate{ID: "CAFTA-1", Program: "CAFTA-DR", CertifierRole: RoleExporter,
		Certifier: Party{ID: "participant/cafe-cr", Name: "Cafe de Altura SA"}, Importer: &Party{Name: "BigBox Stores Inc."},
		ExportCountry: "CR", ImportCountry: "US", Goods: []GoodsItem{{Description: "Green coffee", HSCode: "090111", OriginCriterion: "A", CountryOfOrigin: "CR"}},
		SignedAt: ts(w.Now.Add(-time.Hour)), Language: "es"}
	w.Must(w.cafe, "certificate.issue", cafta)
	w.Must(w.dga, "certificate.endorse", CertificateEndorse{ID: "CAFTA-1"})
	if vd := w.verdict(CertificateQuery{ID: "CAFTA-1", RequireEndorsement: true}); vd.Verdict != VerdictValid {
		t.Fatalf("CAFTA-DR: %+v", vd.Reasons)
	}
	// A legacy NAFTA certificate signed in 2019 is recorded for historic
	// audits: valid for a 2019 entry, expired today.
	nafta := Certificate{ID: "NAFTA-1", Program: "NAFTA", CertifierRole: RoleExporter,
		Certifier: Party{ID: "participant/maple-ca", Name: "Maple Goods Ltd", Title: "President"}, Producer: &Party{Name: ProducerVarious},
		Importer: &Party{Name: "BigBox Stores Inc."}, ExportCountry: "CA", ImportCountry: "US",
		Goods:         []GoodsItem{{Description: "Maple syrup", HSCode: "170220", OriginCriterion: "A", CountryOfOrigin: "CA", ProducerIndicator: "NO1", NetCost: "NO"}},
		BlanketPeriod: &Period{ValidFrom: "2019-01-01T00:00:00Z", ValidUntil: "2019-12-31T00:00:00Z"},
		SignedAt:      "2018-12-15T00:00:00Z", Language: "en"}
	w.Must(w.maple, "certificate.issue", nafta)
	if vd := w.verdict(CertificateQuery{ID: "NAFTA-1", At: "2019-06-01T00:00:00Z"}); vd.Verdict != VerdictValid {
		t.Fatalf("NAFTA in 2019: %+v", vd.Reasons)
	}
	if vd := w.verdict(CertificateQuery{ID: "NAFTA-1"}); vd.Verdict != VerdictExpired {
		t.Fatalf("NAFTA today: %s", vd.Verdict)
	}
}

func TestSameBlocksGiveSameStateOnTwoStores(t *testing.T) {
	w := newWorld(t)
	w.issue("D-1")
	w.Must(w.cbp, "certificate.revoke", CertificateRevoke{ID: "D-1", Reason: "x"})
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
