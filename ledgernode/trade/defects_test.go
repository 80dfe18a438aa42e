package trade

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// captureEvaluator stands in for the rule engine where a test looks only at
// what a handler passes to it (the engine itself runs in the cluster tests
// of rules_cluster_test.go).
type captureEvaluator struct{ docs []*state.Document }

func (e *captureEvaluator) Evaluate(_ *state.Context, doc *state.Document) error {
	e.docs = append(e.docs, doc)
	return nil
}

func TestACertifierThatNamesItselfAsProducerIsTheProducerParty(t *testing.T) {
	ev := &captureEvaluator{}
	w := newWorldWithEvaluator(t, ev)
	ct := w.usmca("SELF-PRODUCER")
	ct.Producer = &wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV"}
	w.Must(w.acme, "certificate.issue", ct)
	doc := ev.docs[len(ev.docs)-1]
	parties := doc.Input[inputParties].(map[string]any)
	producer, ok := parties["producer"].(map[string]any)
	if !ok || producer["identity"] != "participant/acme-mx" {
		t.Fatalf("parties.producer of a certifier that names itself as producer: %v (parties %v)", parties["producer"], slices.Sorted(mapKeys(parties)))
	}

	// Naming itself as producer, it must be enrolled as one.
	notProducer := w.usmca("SELF-NOT-PRODUCER")
	notProducer.Certifier = wire.Party{ID: "participant/maple-ca", Name: "Maple", Title: "President"}
	notProducer.ExportCountry, notProducer.Goods[0].CountryOfOrigin, notProducer.Goods[1].CountryOfOrigin = "CA", "CA", "CA"
	notProducer.Producer = &wire.Party{ID: "participant/maple-ca", Name: "Maple"}
	w.reject(w.maple, "certificate.issue", notProducer, CodeWrongRole, "payload.producer.id")
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestOnlyTheCustomsAuthorityRevokesOrEndorsesCertificatesOfOrigin(t *testing.T) {
	w := newWorld(t)
	w.issue("AUTH-1")
	// Agencies of the right countries, acting on USMCA, but not customs.
	ofac := w.agency("us-ofac", "US", "USMCA")
	se := w.agency("se-mx", "MX", "USMCA")
	w.reject(ofac, "certificate.revoke", wire.CertificateRevoke{ID: "AUTH-1", Reason: "sanctions"}, wire.CodeUnauthorized, "signer")
	w.reject(se, "certificate.endorse", wire.CertificateEndorse{ID: "AUTH-1"}, wire.CodeUnauthorized, "signer")
	w.reject(ofac, "shipment.declare", w.shipmentOf("ENTRY-OFAC"), wire.CodeUnauthorized, "signer")
	rc := w.Submit(ofac, "certificate.revoke", wire.CertificateRevoke{ID: "AUTH-1", Reason: "sanctions"})
	if !strings.Contains(rc.Reasons[0].Message, "customs") {
		t.Fatalf("the refusal must say who may: %+v", rc.Reasons)
	}
	// The customs authorities may.
	w.Must(w.sat, "certificate.endorse", wire.CertificateEndorse{ID: "AUTH-1"})
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "AUTH-1", Reason: "origin verification failed"})
	// The admin can give an agency the role.
	w.Must(w.Admin, "agency.update", wire.AgencyUpdate{ID: "us-ofac", Roles: wire.Replacing([]string{wire.AgencyRoleCustoms})})
	w.issue("AUTH-2")
	w.Must(ofac, "certificate.revoke", wire.CertificateRevoke{ID: "AUTH-2", Reason: "now customs"})
	// And take it away: an empty list is sent as [] (not dropped as
	// "unchanged") and leaves the agency with no role.
	w.Must(w.Admin, "agency.update", wire.AgencyUpdate{ID: "us-ofac", Roles: wire.Replacing[string](nil)})
	w.issue("AUTH-3")
	w.reject(ofac, "certificate.revoke", wire.CertificateRevoke{ID: "AUTH-3", Reason: "no longer customs"}, wire.CodeUnauthorized, "signer")
}

func (w *world) shipmentOf(id string) wire.Shipment {
	return wire.Shipment{ID: id, Importer: "participant/bigbox-us", EntryDate: ts(w.Now), DestinationCountry: "US",
		Lines: []wire.ShipmentLine{{Line: 1, Description: "Laptops", HSCode: "847130", OriginCountry: "MX"}}}
}

func TestEveryDateHasAPlausibleRange(t *testing.T) {
	w := newIPWorld(t)
	w.issue("DATES-1")
	cert := func(mod func(*wire.Certificate)) wire.Certificate {
		ct := w.usmca("DATES-X")
		mod(&ct)
		return ct
	}
	cases := []struct {
		name    string
		signer  ed25519Key
		typ     string
		payload any
		field   string
	}{
		{"a USMCA blanket period in year 0001", w.acme, "certificate.issue", cert(func(c *wire.Certificate) {
			c.BlanketPeriod = &wire.Period{ValidFrom: "0001-01-01T00:00:00Z", ValidUntil: "0001-12-01T00:00:00Z"}
		}), "payload.blanketPeriod.validFrom"},
		{"a USMCA blanket period starting before USMCA", w.acme, "certificate.issue", cert(func(c *wire.Certificate) {
			c.BlanketPeriod = &wire.Period{ValidFrom: "2020-06-01T00:00:00Z", ValidUntil: "2021-05-01T00:00:00Z"}
		}), "payload.blanketPeriod.validFrom"},
		{"a blanket period in year 9999", w.acme, "certificate.issue", cert(func(c *wire.Certificate) {
			c.BlanketPeriod = &wire.Period{ValidFrom: "9999-01-01T00:00:00Z", ValidUntil: "9999-06-01T00:00:00Z"}
		}), "payload.blanketPeriod.validFrom"},
		{"a shipment entered in year 1000", w.bigbox, "shipment.declare", func() wire.Shipment {
			s := w.shipmentOf("ENTRY-1000")
			s.EntryDate = "1000-01-01T00:00:00Z"
			return s
		}(), "payload.entryDate"},
		{"a shipment entered in year 9999", w.bigbox, "shipment.declare", func() wire.Shipment {
			s := w.shipmentOf("ENTRY-9999")
			s.EntryDate = "9999-01-01T00:00:00Z"
			return s
		}(), "payload.entryDate"},
		{"a license until year 9999", w.holder, "license.grant", func() wire.LicenseGrant {
			g := w.grant("L-9999", "holder-us", "maker-mx", "", []string{"US"}, []string{"6109"}, 0)
			g.ValidUntil = "9999-01-01T00:00:00Z"
			return g
		}(), "payload.validUntil"},
		{"a license from year 0001", w.holder, "license.grant", func() wire.LicenseGrant {
			g := w.grant("L-0001", "holder-us", "maker-mx", "", []string{"US"}, []string{"6109"}, 0)
			g.ValidFrom = "0001-01-01T00:00:00Z"
			return g
		}(), "payload.validFrom"},
		{"a revocation effective in year 0001", w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "DATES-1", Reason: "x", Effective: "0001-01-01T00:00:00Z"}, "payload.effective"},
		{"a right expiring in year 0001", w.cbp, "ipright.register", wire.IPRightRegister{ID: "TM-OLD", Type: "trademark", Office: "USPTO", RegistrationNumber: "1",
			Title: "Old", Holder: "participant/holder-us", ValidUntil: "0001-01-01T00:00:00Z"}, "payload.validUntil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			rc := w.reject(tc.signer, tc.typ, tc.payload, wire.CodeInvalid, tc.field)
			if !slices.ContainsFunc(rc.Reasons, func(r chain.Reason) bool { return r.Field == tc.field && strings.Contains(r.Message, "between") }) {
				t.Fatalf("the refusal must give the range: %+v", rc.Reasons)
			}
		})
	}
	t.Run("a verdict about year 0001 is refused, naming at", func(t *testing.T) {
		w.view(func(v *state.View) {
			_, err := VerifyCertificate(v, wire.CertificateQuery{ID: "DATES-1", At: "0001-03-01T00:00:00Z"})
			if err == nil || !strings.Contains(err.Error(), "at") || !strings.Contains(err.Error(), "between") {
				t.Fatalf("verdict at 0001-03-01: %v", err)
			}
		})
	})
}

func TestAnIPOfficeRegistersRightsOnlyInItsOwnTerritory(t *testing.T) {
	w := newWorld(t)
	right := func(id, office string, countries ...string) wire.IPRightRegister {
		return wire.IPRightRegister{ID: id, Type: "trademark", Office: office, RegistrationNumber: "5123456", Title: "ACME",
			Holder: "participant/holder-us", Countries: countries}
	}
	w.reject(w.cbp, "ipright.register", right("TM-USPTO-MXCA", "USPTO", "MX", "CA"), wire.CodeInvalid, "payload.countries[0]")
	w.reject(w.cbp, "ipright.register", right("TM-USPTO-USMX", "USPTO", "US", "MX"), wire.CodeInvalid, "payload.countries[1]")
	w.reject(w.cbp, "ipright.register", right("TM-NOWHERE", "Trademark Office of Nowhere", "US"), wire.CodeInvalid, "payload.office")
	w.Must(w.cbp, "ipright.register", right("TM-USPTO", "USPTO", "US"))
	w.Must(w.cbp, "ipright.register", right("TM-USPTO-DEFAULT", "USPTO"))
	w.Must(w.cbp, "ipright.register", right("TM-MADRID", "WIPO", "US", "MX", "CA"))
}

func TestTwoAmendmentsOfTheSameVersionHaveExactlyOneWinner(t *testing.T) {
	w := newWorld(t)
	w.issue("RACE-1")
	a, b := w.usmca("RACE-1"), w.usmca("RACE-1")
	a.Goods[0].HSCode, b.Goods[0].HSCode = "847150", "847160"
	// Both amend version 1, in the same block.
	res := w.BlockOf(
		w.Sign(w.acme, "certificate.amend", wire.CertificateAmend{ID: "RACE-1", Supersedes: 1, Reason: "first", Certificate: a}),
		w.Sign(w.acme, "certificate.amend", wire.CertificateAmend{ID: "RACE-1", Supersedes: 1, Reason: "second", Certificate: b}),
	)
	if res.Receipts[0].Status != chain.Accepted || res.Receipts[1].Status != chain.Rejected ||
		!hasReason(res.Receipts[1].Reasons, wire.CodeConflict, "payload.supersedes") {
		t.Fatalf("receipts %+v / %+v", res.Receipts[0], res.Receipts[1])
	}
	if !strings.Contains(res.Receipts[1].Reasons[0].Message, "version 2") {
		t.Fatalf("the conflict must name the current version: %+v", res.Receipts[1].Reasons)
	}
	w.view(func(v *state.View) {
		h, _, _ := CertificateWithVersions(v, "RACE-1")
		if h.Record.Current != 2 || h.Versions[1].Reason != "first" {
			t.Fatalf("current %d, v2 %+v", h.Record.Current, h.Versions[1])
		}
	})
	// An amendment must say which version it replaces.
	w.reject(w.acme, "certificate.amend", wire.CertificateAmend{ID: "RACE-1", Reason: "no guard", Certificate: b}, wire.CodeInvalid, "payload.supersedes")
	w.Must(w.acme, "certificate.amend", wire.CertificateAmend{ID: "RACE-1", Supersedes: 2, Reason: "second, rebased", Certificate: b})
}

func TestTheHSCodeErrorSuggestsARealSubheading(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct{ code, want string }{{"8703", "870323"}, {"8471", "847130"}, {"6109", "610910"}, {"84", "847130"}, {"8704", "847130"}} {
		ct := w.usmca("HS-" + tc.code)
		ct.Goods[0].HSCode = tc.code
		rc := w.Submit(w.acme, "certificate.issue", ct)
		var msg string
		for _, r := range rc.Reasons {
			if r.Field == "payload.goods[0].hsCode" {
				msg = r.Message
			}
		}
		padded := tc.code + strings.Repeat("0", 6-min(6, len(tc.code)))
		if !strings.Contains(msg, tc.want) || strings.Contains(msg, padded) && padded != tc.want {
			t.Errorf("HS %s: %q: want the example %s, never %s", tc.code, msg, tc.want, padded)
		}
	}
}

func TestALicenseUnderARevokedParentIsShownAsNotInForce(t *testing.T) {
	w := newIPWorld(t)
	w.Must(w.holder, "license.revoke", wire.LicenseRevoke{ID: "L0", Reason: "quality audit failed"})
	w.view(func(v *state.View) {
		l, _, _ := LookupLicense(v, "L1")
		eff, err := EffectiveStatusOf(v, l, w.Now)
		if err != nil {
			t.Fatal(err)
		}
		if l.Status != wire.StatusActive || eff.Status != wire.EffectiveParentRevoked || eff.License != "L0" || !strings.Contains(eff.Reason, "quality audit failed") {
			t.Fatalf("L1 own status %s, effective %+v", l.Status, eff)
		}
		root, _, _ := LookupLicense(v, "L0")
		if eff, _ := EffectiveStatusOf(v, root, w.Now); eff.Status != wire.StatusRevoked {
			t.Fatalf("L0 effective %+v", eff)
		}
		if eff, _ := EffectiveStatusOf(v, l, w.start.Add(-time.Hour)); eff.Status != wire.EffectiveNotYetValid {
			t.Fatalf("L1 before its term: %+v", eff)
		}
	})
}

func TestPagingCursorsAreOpaqueShellSafeAndABadOneIsAnError(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 5; i++ {
		w.issue("PAGE-" + string(rune('A'+i)))
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	var seen []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		var page *wire.CertificatePage
		w.view(func(v *state.View) {
			var err error
			if page, err = ListCertificates(v, wire.CertificateFilter{Importer: "bigbox-us", After: after, Limit: 2}); err != nil {
				t.Fatal(err)
			}
		})
		for _, c := range page.Certificates {
			seen = append(seen, c.ID)
		}
		if page.Next == "" {
			break
		}
		if !safe.MatchString(page.Next) {
			t.Fatalf("cursor %q is not shell-safe", page.Next)
		}
		after = page.Next
	}
	if len(seen) != 5 || !slices.IsSorted(seen) {
		t.Fatalf("pages gave %v", seen)
	}
	var first *wire.CertificatePage
	w.view(func(v *state.View) {
		first, _ = ListCertificates(v, wire.CertificateFilter{Importer: "bigbox-us", Limit: 2})
	})
	for _, bad := range []string{"importer\x00participant/bigbox-us\x00PAGE-B", "PAGE-B", "not base64!", first.Next + "x"} {
		w.view(func(v *state.View) {
			_, err := ListCertificates(v, wire.CertificateFilter{Importer: "bigbox-us", After: bad, Limit: 2})
			if !hasReasonErr(err, wire.CodeInvalid, "after") {
				t.Fatalf("cursor %q: %v, want an error naming after", bad, err)
			}
		})
	}
	// A cursor of another listing is refused too.
	w.view(func(v *state.View) {
		_, err := ListCertificates(v, wire.CertificateFilter{HS: "8471", After: first.Next})
		if !hasReasonErr(err, wire.CodeInvalid, "after") {
			t.Fatalf("another listing's cursor: %v", err)
		}
	})
}

func hasReasonErr(err error, code, field string) bool {
	rej, ok := err.(*wire.Rejection)
	return ok && hasReason(rej.Reasons, code, field)
}
