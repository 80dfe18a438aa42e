package trade

import (
	"slices"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (w *ipWorld) shipment(id string, lines ...wire.ShipmentLine) wire.Shipment {
	return wire.Shipment{ID: id, Importer: "participant/bigbox-us", EntryDate: ts(w.Now), DestinationCountry: "US", Lines: lines}
}

func TestShipmentVerdictCombinesCertificateAndLicensePerLine(t *testing.T) {
	w := newIPWorld(t)
	w.issue("SC-1")
	w.issue("SC-REVOKED")
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "SC-REVOKED", Reason: "false origin"})
	s := w.shipment("ENTRY-1",
		wire.ShipmentLine{Line: 1, Description: "ACME T-shirts", HSCode: "6109100012", OriginCountry: "MX", Certificate: "SC-1", Licenses: []string{"L1"}},
		wire.ShipmentLine{Line: 2, Description: "Laptops", HSCode: "847130", OriginCountry: "MX", Certificate: "SC-REVOKED"},
		wire.ShipmentLine{Line: 3, Description: "ACME sweaters", HSCode: "611020", OriginCountry: "MX", Licenses: []string{"L1"}},
		wire.ShipmentLine{Line: 4, Description: "Samples", HSCode: "847150", OriginCountry: "MX", ValueUSD: 120},
	)
	w.Must(w.bigbox, "shipment.declare", s)
	var vd *wire.ShipmentVerdict
	w.view(func(v *state.View) {
		var err error
		if vd, err = VerifyShipment(v, wire.ShipmentQuery{ID: "ENTRY-1"}); err != nil {
			t.Fatal(err)
		}
	})
	got := []string{}
	for _, l := range vd.Lines {
		got = append(got, l.Verdict)
	}
	if vd.Verdict != wire.VerdictInvalid || strings.Join(got, ",") != "pass,fail,fail,pass" || !vd.Declared {
		t.Fatalf("verdict %s lines %v", vd.Verdict, got)
	}
	if !strings.Contains(vd.Lines[1].Reasons[0], "revoked") || !strings.Contains(vd.Lines[2].Reasons[0], "covers HS 6109, not 611020") {
		t.Fatalf("reasons: %q / %q", vd.Lines[1].Reasons, vd.Lines[2].Reasons)
	}
	if len(vd.Evidence) == 0 || vd.Evidence[0].Evidence.Proof.TreeSize == 0 {
		t.Fatalf("evidence without proofs: %+v", vd.Evidence)
	}
	// The same shipment given in full (not declared) gets the same lines.
	w.view(func(v *state.View) {
		vd2, err := VerifyShipment(v, wire.ShipmentQuery{Shipment: &s})
		if err != nil || vd2.Declared || vd2.Lines[0].Verdict != wire.ResultPass || vd2.Lines[1].Verdict != wire.ResultFail {
			t.Fatalf("%+v %v", vd2, err)
		}
	})
}

func TestShipmentDeclareRules(t *testing.T) {
	w := newIPWorld(t)
	line := wire.ShipmentLine{Line: 1, Description: "T-shirts", HSCode: "610910", OriginCountry: "MX"}
	cases := []struct {
		name        string
		signer      func() ed25519Key
		edit        func(s *wire.Shipment)
		code, field string
	}{
		{"another participant cannot declare for the importer", func() ed25519Key { return w.dist }, func(s *wire.Shipment) {}, wire.CodeUnauthorized, "payload.importer"},
		{"an agency of another country cannot declare", func() ed25519Key { return w.sat }, func(s *wire.Shipment) {}, CodeJurisdiction, "signer"},
		{"unknown certificate references are rejected", func() ed25519Key { return w.bigbox }, func(s *wire.Shipment) { s.Lines[0].Certificate = "NOPE" }, CodeUnknownReference, "payload.lines[0].certificate"},
		{"unknown license references are rejected", func() ed25519Key { return w.bigbox }, func(s *wire.Shipment) { s.Lines[0].Licenses = []string{"NOPE"} }, CodeUnknownReference, "payload.lines[0].licenses[0]"},
		{"tariff lines are 6, 8 or 10 digits", func() ed25519Key { return w.bigbox }, func(s *wire.Shipment) { s.Lines[0].HSCode = "6109" }, wire.CodeInvalid, "payload.lines[0].hsCode"},
		{"line numbers are unique", func() ed25519Key { return w.bigbox }, func(s *wire.Shipment) { s.Lines = append(s.Lines, s.Lines[0]) }, wire.CodeInvalid, "payload.lines[1].line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			s := w.shipment("E-X", line)
			tc.edit(&s)
			w.reject(tc.signer(), "shipment.declare", s, tc.code, tc.field)
		})
	}
	w.Must(w.cbp, "shipment.declare", w.shipment("E-BY-CBP", line))
}

// recorder is a rule engine that records what it is asked and rejects
// documents whose id starts with "DENY".
type recorder struct{ docs []*state.Document }

func (r *recorder) Evaluate(c *state.Context, d *state.Document) error {
	r.docs = append(r.docs, d)
	c.AddFinding(chain.Finding{Source: "policy/test", Result: "pass", Message: d.Type + " " + d.ID})
	if strings.HasPrefix(d.ID, "DENY") {
		return wire.Reject("policy_failed", "", "policy/test rejects %s", d.ID)
	}
	return nil
}

func TestAgencyRulesAreEvaluatedOnCertificatesLicensesAndShipments(t *testing.T) {
	rec := &recorder{}
	w := &ipWorld{world: newWorld(t)}
	w.Store.Registry().SetEvaluator(rec)
	w.start, w.end = w.Now.Add(-1e9), w.Now.AddDate(1, 0, 0)
	w.Must(w.cbp, "ipright.register", wire.IPRightRegister{ID: "TM-ACME", Type: "trademark", Office: "USPTO", RegistrationNumber: "1", Title: "ACME", Holder: "participant/holder-us"})

	rc := w.Must(w.acme, "certificate.issue", w.usmca("EVAL-1"))
	if len(rc.Findings) != 1 || rc.Findings[0].Message != "certificate EVAL-1" {
		t.Fatalf("findings %+v", rc.Findings)
	}
	w.reject(w.acme, "certificate.issue", w.usmca("DENY-1"), "policy_failed", "")
	w.Must(w.acme, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "EVAL-1", Reason: "fix", Certificate: w.usmca("EVAL-1")})
	w.Must(w.holder, "license.grant", w.grant("LIC-E", "holder-us", "bigbox-us", "", []string{"US"}, []string{"6109"}, 0))
	w.Must(w.bigbox, "shipment.declare", w.shipment("ENT-E", wire.ShipmentLine{Line: 1, Description: "x", HSCode: "610910", OriginCountry: "MX", Certificate: "EVAL-1", Licenses: []string{"LIC-E"}}))
	// Rejected by the rules: nothing written.
	w.view(func(v *state.View) {
		if _, ok, _ := LookupCertificate(v, "DENY-1"); ok {
			t.Fatal("a certificate the rules rejected was stored")
		}
	})
	var kinds []string
	for _, d := range rec.docs {
		kinds = append(kinds, d.Type+":"+d.ID)
	}
	want := []string{"certificate:EVAL-1", "certificate:DENY-1", "certificate:EVAL-1", "license:LIC-E", "shipment:ENT-E"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("evaluated %v, want %v", kinds, want)
	}
	cert, amend, lic, ship := rec.docs[0], rec.docs[2], rec.docs[3], rec.docs[4]
	if cert.Program != "USMCA" || !slices.Equal(cert.HSCodes, []string{"610910", "847130"}) || !slices.Equal(cert.OriginCountries, []string{"MX"}) ||
		!slices.Equal(cert.DestinationCountries, []string{"US"}) || cert.Input["doc"].(map[string]any)["id"] != "EVAL-1" ||
		cert.Input["parties"].(map[string]any)["certifier"].(map[string]any)["identity"] != "participant/acme-mx" {
		t.Fatalf("certificate document %+v", cert)
	}
	ctx := func(d *state.Document) map[string]any { return d.Input["context"].(map[string]any) }
	if ctx(cert)["action"] != "issue" || ctx(cert)["version"] != 1 {
		t.Fatalf("certificate context %+v", ctx(cert))
	}
	if ctx(amend)["action"] != "amend" || ctx(amend)["previous"] == nil || ctx(amend)["version"] != 2 || ctx(amend)["reason"] != "fix" {
		t.Fatalf("amend document %+v", amend.Input)
	}
	if lic.Program != wire.ProgramIPR || ctx(lic)["right"].(map[string]any)["holder"] != "participant/holder-us" ||
		lic.Input["licensePath"] == nil || lic.Input["parties"].(map[string]any)["licensee"].(map[string]any)["identity"] != "participant/bigbox-us" {
		t.Fatalf("license document %+v", lic)
	}
	if ship.Program != "USMCA" || ctx(ship)["certificates"].(map[string]any)["EVAL-1"] == nil || ctx(ship)["licenses"].(map[string]any)["LIC-E"] == nil ||
		ship.Input["parties"].(map[string]any)["importer"].(map[string]any)["identity"] != "participant/bigbox-us" {
		t.Fatalf("shipment document %+v", ship)
	}
	// Only the inputs the rule engine reads (ledgernode/policy/DESIGN.md,
	// "Inputs"): anything else would look checked without being seen.
	for _, d := range rec.docs {
		for k := range d.Input {
			if !slices.Contains([]string{inputDoc, inputParties, inputLicensePath, inputContext}, k) {
				t.Errorf("%s %s passes input %q, which no rule can read", d.Type, d.ID, k)
			}
		}
	}
}
