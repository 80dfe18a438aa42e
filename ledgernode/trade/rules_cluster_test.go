package trade_test

import (
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The agencies' rules on the real trade handlers: a 3-node cluster with the
// product registry, the demo policies of the dev network (read from
// ledgernode/devnet/policies) and a few written here, certificates,
// shipments and licenses submitted through every node. (This is an
// external test package: the trade package itself never imports the rule
// engine.)

// demoPolicy reads one of the dev network's demo policies.
func demoPolicy(t testing.TB, name string) policy.Policy {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "devnet", "policies", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.ParseFile(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return *p
}

// findingsOf returns the findings of one policy in a receipt.
func findingsOf(rc *chain.Receipt, policyID string) []chain.Finding {
	var out []chain.Finding
	for _, f := range rc.Findings {
		if f.Source == "policy/"+policyID {
			out = append(out, f)
		}
	}
	return out
}

type rulesWorld struct {
	*clusterFx
	keys map[string]ed25519.PrivateKey
	now  time.Time
	txs  []string // every transaction submitted, to compare receipts across nodes
}

func (w *rulesWorld) send(signer, typ string, payload any) *chain.Receipt {
	w.t.Helper()
	rc := w.submit(w.keys[signer], typ, payload)
	w.txs = append(w.txs, rc.TxID)
	return rc
}

func (w *rulesWorld) accepted(signer, typ string, payload any) *chain.Receipt {
	w.t.Helper()
	rc := w.send(signer, typ, payload)
	if rc.Status != chain.Accepted {
		w.t.Fatalf("%s by %s rejected: %+v", typ, signer, rc.Reasons)
	}
	return rc
}

func (w *rulesWorld) rejected(signer, typ string, payload any) *chain.Receipt {
	w.t.Helper()
	rc := w.send(signer, typ, payload)
	if rc.Status != chain.Rejected {
		w.t.Fatalf("%s by %s accepted, want a rejection; findings %+v", typ, signer, rc.Findings)
	}
	return rc
}

func newRulesWorld(t *testing.T) *rulesWorld {
	w := &rulesWorld{clusterFx: newCluster(t, 3), keys: map[string]ed25519.PrivateKey{"admin": nil}, now: time.Now().UTC()}
	w.keys["admin"] = w.c.Admin
	for _, a := range []wire.AgencyRegister{
		{ID: "us-cbp", Name: "U.S. Customs and Border Protection", Country: "US", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "IPR"}},
		{ID: "us-fda", Name: "U.S. Food and Drug Administration", Country: "US", Programs: []string{"USMCA"}},
		{ID: "mx-sat", Name: "Servicio de Administración Tributaria", Country: "MX", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "IPR"}},
		{ID: "ca-cbsa", Name: "Canada Border Services Agency", Country: "CA", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA"}},
	} {
		k := newKey(t)
		a.PublicKeys = []string{pub(k)}
		w.accepted("admin", "agency.register", a)
		w.keys[a.ID] = k
	}
	producer := []string{"exporter", "producer", "certifier"}
	for _, p := range []struct {
		agency string
		enrol  wire.ParticipantEnrol
	}{
		{"mx-sat", wire.ParticipantEnrol{ID: "camarones-mx", Name: "Camarones del Pacifico", Country: "MX", Roles: producer,
			Identifiers: []wire.Identifier{{Scheme: "RFC", Value: "CPA010101AB1"}}}},
		{"mx-sat", wire.ParticipantEnrol{ID: "mariscos-mx", Name: "Mariscos de Sinaloa", Country: "MX", Roles: producer,
			Identifiers: []wire.Identifier{{Scheme: "RFC", Value: "MSI020202CD2"}, {Scheme: "fda-ffr", Value: "12345678901"}}}},
		{"mx-sat", wire.ParticipantEnrol{ID: "acme-mx", Name: "ACME Exportaciones", Country: "MX", Roles: []string{"exporter", "certifier", "licensee"}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "gulf-us", Name: "Gulf Coast Foods", Country: "US", Roles: []string{"importer", "licensee"}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "holder-us", Name: "ACME Brands", Country: "US", Roles: []string{"rightsholder"}}},
	} {
		k := newKey(t)
		p.enrol.PublicKeys = []string{pub(k)}
		w.accepted(p.agency, "participant.enrol", p.enrol)
		w.keys[p.enrol.ID] = k
	}
	return w
}

func (w *rulesWorld) shrimp(id, producer string) wire.Certificate {
	return wire.Certificate{ID: id, Program: "USMCA", CertifierRole: "producer",
		Certifier: wire.Party{ID: "participant/" + producer, Name: producer, Title: "Director"},
		Importer:  &wire.Party{ID: "participant/gulf-us", Name: "Gulf Coast Foods"}, ExportCountry: "MX", ImportCountry: "US",
		Goods:    []wire.GoodsItem{{Description: "Frozen shrimp", HSCode: "030617", OriginCriterion: "A", CountryOfOrigin: "MX"}},
		SignedAt: tx.FormatTime(w.now.Add(-time.Hour)), Language: "es"}
}

// criterionC claims origin criterion C with the producer "Various".
func (w *rulesWorld) criterionC(id string) wire.Certificate {
	return wire.Certificate{ID: id, Program: "USMCA", CertifierRole: "exporter",
		Certifier: wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones", Title: "Director"},
		Producer:  &wire.Party{Name: wire.ProducerVarious},
		Importer:  &wire.Party{ID: "participant/gulf-us", Name: "Gulf Coast Foods"}, ExportCountry: "MX", ImportCountry: "US",
		Goods:         []wire.GoodsItem{{Description: "Cotton T-shirts", HSCode: "610910", OriginCriterion: "C", CountryOfOrigin: "MX"}},
		BlanketPeriod: &wire.Period{ValidFrom: tx.FormatTime(w.now.AddDate(0, -1, 0)), ValidUntil: tx.FormatTime(w.now.AddDate(0, 11, 0))},
		SignedAt:      tx.FormatTime(w.now.Add(-time.Hour)), Language: "es"}
}

func TestAgencyRulesDecideOnTradeDocumentsIdenticallyOnThreeNodes(t *testing.T) {
	w := newRulesWorld(t)

	// The demo policies, and a few that exercise the other inputs.
	fda, cbpC, ofac := demoPolicy(t, "us-fda-seafood-facility"), demoPolicy(t, "us-cbp-usmca-criterion-c"), demoPolicy(t, "us-ofac-sanctions")
	dry := policy.Policy{ID: "us-cbp-certificate-hygiene", Agency: "us-cbp", Enforcement: policy.DryRun,
		Scope: policy.Scope{DocumentTypes: []string{"certificate"}, DestinationCountries: []string{"US"}},
		Rules: []policy.Rule{
			{Name: "blanket-period", Expression: `has(doc.blanketPeriod)`, Message: "{{record.id}} has no blanket period"},
			{Name: "amendment-keeps-criteria", Expression: `context.action != 'amend' || context.previous.goods.map(g, g.originCriterion) == doc.goods.map(g, g.originCriterion)`,
				Message: "amendment {{context.version}} ({{context.reason}}) changes the origin criterion from {{context.previous.goods[0].originCriterion}} to {{doc.goods[0].originCriterion}}"},
		}}
	// Everything it could see would fail it; it must never be evaluated on
	// documents bound for the US.
	canada := policy.Policy{ID: "ca-cbsa-everything", Agency: "ca-cbsa", Enforcement: policy.Enforce,
		Scope: policy.Scope{DestinationCountries: []string{"CA"}},
		Rules: []policy.Rule{{Name: "nothing-passes", Expression: `false`, Message: "CBSA refuses {{record.id}}"}}}
	entries := policy.Policy{ID: "us-cbp-entry-origin", Agency: "us-cbp", Enforcement: policy.Enforce,
		Scope: policy.Scope{DocumentTypes: []string{"shipment"}, DestinationCountries: []string{"US"}},
		Rules: []policy.Rule{{Name: "origin-matches-certificate",
			Expression: `doc.lines.all(l, !has(l.certificate) || context.certificates[l.certificate].exportCountry == l.originCountry)`,
			Message:    "entry {{doc.id}} by {{parties.importer.name}}: line {{doc.lines[0].line}} from {{doc.lines[0].originCountry}} claims certificate {{doc.lines[0].certificate}}, which covers goods exported from another country"}}}
	licenses := policy.Policy{ID: "us-cbp-license-chain", Agency: "us-cbp", Enforcement: policy.Audit,
		Scope: policy.Scope{DocumentTypes: []string{"license"}, Programs: []string{"IPR"}},
		Rules: []policy.Rule{{Name: "chain-reaches-holder",
			Expression: `size(licensePath) == 0 ? doc.licensor == context.right.holder : licensePath[0].id == doc.parent && licensePath[size(licensePath) - 1].licensor == context.right.holder && parties.licensor.identity == doc.licensor`,
			Message:    "{{doc.id}} does not lead back to {{context.right.holder}}"}}}
	for _, p := range []struct {
		agency string
		p      policy.Policy
	}{{"us-fda", fda}, {"us-cbp", cbpC}, {"us-cbp", dry}, {"us-cbp", entries}, {"us-cbp", licenses}, {"ca-cbsa", canada}} {
		w.accepted(p.agency, policystate.TypePublish, p.p)
	}
	ofacKey := newKey(t)
	w.accepted("admin", "agency.register", wire.AgencyRegister{ID: "us-ofac", Name: "Office of Foreign Assets Control", Country: "US",
		Programs: []string{"USMCA"}, PublicKeys: []string{pub(ofacKey)}})
	w.keys["us-ofac"] = ofacKey
	w.accepted("us-ofac", policystate.TypePublish, ofac)
	cl := w.c.Client(0)

	t.Run("an Enforce rule that fails rejects the certificate, naming the policy and the rule", func(t *testing.T) {
		rc := w.rejected("camarones-mx", "certificate.issue", w.shrimp("SHRIMP-1", "camarones-mx"))
		if len(rc.Reasons) != 1 || rc.Reasons[0].Code != policystate.CodePolicyViolation || rc.Reasons[0].Field != "policy/us-fda-seafood-facility" ||
			!strings.Contains(rc.Reasons[0].Message, "rule registered-facility") || !strings.Contains(rc.Reasons[0].Message, "Camarones del Pacifico") {
			t.Fatalf("reasons %+v", rc.Reasons)
		}
		if _, err := cl.Certificate(w.ctx, "SHRIMP-1", client.ReadOptions{Strong: true}); !client.IsNotFound(err) {
			t.Fatalf("a rejected certificate was recorded: %v", err)
		}
		h, err := cl.Evaluations(w.ctx, "SHRIMP-1", client.ReadOptions{Strong: true})
		if err != nil || len(h.Evaluations) != 1 || !h.Evaluations[0].Rejected || h.Evaluations[0].Status != chain.Rejected {
			t.Fatalf("the history must keep the rejection: %+v %v", h, err)
		}
		// A producer who is only a name cannot be checked at all.
		various := w.shrimp("SHRIMP-VARIOUS", "acme-mx")
		various.CertifierRole, various.Producer = "exporter", &wire.Party{Name: wire.ProducerVarious}
		rc = w.rejected("acme-mx", "certificate.issue", various)
		if len(rc.Reasons) != 1 || !strings.Contains(rc.Reasons[0].Message, `rule producer-identified: the producer "Various" is not an enrolled participant`) {
			t.Fatalf("reasons %+v", rc.Reasons)
		}
	})

	var shrimp2 *chain.Receipt
	t.Run("a registered producer passes; DryRun records what it would have done and changes nothing", func(t *testing.T) {
		shrimp2 = w.accepted("mariscos-mx", "certificate.issue", w.shrimp("SHRIMP-2", "mariscos-mx"))
		if f := findingsOf(shrimp2, "us-fda-seafood-facility"); len(f) != 2 || f[0].Result != policy.ResultPass || f[1].Result != policy.ResultPass ||
			f[1].Rule != "registered-facility" || f[1].Enforcement != policy.Enforce {
			t.Fatalf("FDA findings %+v", f)
		}
		f := findingsOf(shrimp2, "us-cbp-certificate-hygiene")
		if len(f) != 2 || f[0].Rule != "blanket-period" || f[0].Result != policy.ResultFail || f[0].Enforcement != policy.DryRun ||
			f[0].Message != "SHRIMP-2 has no blanket period" || f[1].Result != policy.ResultPass {
			t.Fatalf("DryRun findings %+v", f)
		}
		h, err := cl.Certificate(w.ctx, "SHRIMP-2", client.ReadOptions{Strong: true})
		if err != nil || h.Record.Status != wire.StatusActive || h.Record.Current != 1 {
			t.Fatalf("certificate %+v %v", h, err)
		}
	})

	t.Run("an amendment is evaluated with the version it replaces", func(t *testing.T) {
		amended := w.shrimp("SHRIMP-2", "mariscos-mx")
		amended.Goods[0].OriginCriterion = "B"
		rc := w.accepted("mariscos-mx", "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "SHRIMP-2", Reason: "criterion reviewed", Certificate: amended})
		f := findingsOf(rc, "us-cbp-certificate-hygiene")
		if len(f) != 2 || f[1].Result != policy.ResultFail || f[1].Message != "amendment 2 (criterion reviewed) changes the origin criterion from A to B" {
			t.Fatalf("DryRun findings on the amendment %+v", f)
		}
	})

	var auditedTx string
	t.Run("an Audit rule that fails records a finding and the certificate is accepted", func(t *testing.T) {
		rc := w.accepted("acme-mx", "certificate.issue", w.criterionC("TEES-1"))
		auditedTx = rc.TxID
		f := findingsOf(rc, "us-cbp-usmca-criterion-c-producer")
		if len(f) != 1 || f[0].Result != policy.ResultFail || f[0].Enforcement != policy.Audit || f[0].Version != 1 ||
			!strings.Contains(f[0].Message, `the producer is "Various"`) {
			t.Fatalf("Audit findings %+v", f)
		}
		if len(findingsOf(rc, "us-fda-seafood-facility")) != 0 {
			t.Fatal("the FDA policy (HS 03, 16) was evaluated on T-shirts")
		}
	})

	t.Run("a policy out of scope is not evaluated", func(t *testing.T) {
		for _, id := range w.txs {
			ev, err := cl.Tx(w.ctx, id, false, client.ReadOptions{Strong: true})
			if err != nil {
				t.Fatal(err)
			}
			if f := findingsOf(&ev.Receipt, "ca-cbsa-everything"); len(f) != 0 {
				t.Fatalf("CBSA's policy (destination CA) was evaluated on %s: %+v", ev.Receipt.Type, f)
			}
		}
		h, err := cl.Evaluations(w.ctx, "TEES-1", client.ReadOptions{Strong: true})
		if err != nil || len(h.Evaluations) != 1 {
			t.Fatalf("history %+v %v", h, err)
		}
		var sources []string
		for _, f := range h.Evaluations[0].Findings {
			sources = append(sources, f.Source)
		}
		sources = slices.Compact(sources)
		want := []string{"policy/us-cbp-certificate-hygiene", "policy/us-cbp-usmca-criterion-c-producer", "policy/us-ofac-sanctions"}
		if !slices.Equal(sources, want) {
			t.Fatalf("evaluated %v, want exactly %v (in id order)", sources, want)
		}
	})

	t.Run("a shipment is evaluated with the certificates it claims", func(t *testing.T) {
		entry := func(id, origin string) wire.Shipment {
			return wire.Shipment{ID: id, Importer: "participant/gulf-us", EntryDate: tx.FormatTime(w.now), DestinationCountry: "US",
				Lines: []wire.ShipmentLine{{Line: 1, Description: "Frozen shrimp", HSCode: "0306170010", OriginCountry: origin, ExportCountry: "MX",
					ValueUSD: 18250.5, Certificate: "SHRIMP-2"}}}
		}
		rc := w.rejected("gulf-us", "shipment.declare", entry("ENTRY-BAD", "VN"))
		if len(rc.Reasons) != 1 || rc.Reasons[0].Field != "policy/us-cbp-entry-origin" || !strings.Contains(rc.Reasons[0].Message, "rule origin-matches-certificate") ||
			!strings.Contains(rc.Reasons[0].Message, "entry ENTRY-BAD by Gulf Coast Foods: line 1 from VN claims certificate SHRIMP-2") {
			t.Fatalf("reasons %+v", rc.Reasons)
		}
		if _, err := cl.Shipment(w.ctx, "ENTRY-BAD", client.ReadOptions{Strong: true}); !client.IsNotFound(err) {
			t.Fatalf("a rejected entry was recorded: %v", err)
		}
		rc = w.accepted("gulf-us", "shipment.declare", entry("ENTRY-OK", "MX"))
		if f := findingsOf(rc, "us-cbp-entry-origin"); len(f) != 1 || f[0].Result != policy.ResultPass {
			t.Fatalf("entry findings %+v", rc.Findings)
		}
		if f := findingsOf(rc, "us-ofac-sanctions"); len(f) != 2 || f[0].Result != policy.ResultPass {
			t.Fatalf("OFAC findings on the entry %+v", rc.Findings)
		}
	})

	t.Run("a license grant is evaluated with its path up to the rights holder", func(t *testing.T) {
		w.accepted("us-cbp", "ipright.register", wire.IPRightRegister{ID: "TM-ACME", Type: "trademark", Office: "WIPO", RegistrationNumber: "1523456",
			Title: "ACME", Holder: "participant/holder-us", Countries: []string{"US", "MX"}})
		for _, g := range []struct {
			signer string
			grant  wire.LicenseGrant
		}{
			{"holder-us", license("LIC-ROOT", "holder-us", "acme-mx", "", 1, w.now)},
			{"acme-mx", license("LIC-SUB", "acme-mx", "gulf-us", "LIC-ROOT", 0, w.now)},
		} {
			rc := w.accepted(g.signer, "license.grant", g.grant)
			if f := findingsOf(rc, "us-cbp-license-chain"); len(f) != 1 || f[0].Result != policy.ResultPass {
				t.Fatalf("%s: findings %+v", g.grant.ID, rc.Findings)
			}
		}
	})

	t.Run("a policy update takes effect from its block on; earlier verdicts are unchanged", func(t *testing.T) {
		before, err := cl.Tx(w.ctx, auditedTx, false, client.ReadOptions{Strong: true})
		if err != nil {
			t.Fatal(err)
		}
		strict := cbpC
		strict.Enforcement = policy.Enforce
		rc := w.accepted("us-cbp", policystate.TypeUpdate, strict)
		var res struct{ Version int }
		if err := json.Unmarshal(rc.Result, &res); err != nil || res.Version != 2 {
			t.Fatalf("update result %s %v", rc.Result, err)
		}
		rc = w.rejected("acme-mx", "certificate.issue", w.criterionC("TEES-2"))
		if len(rc.Reasons) != 1 || !strings.Contains(rc.Reasons[0].Message, "policy us-cbp-usmca-criterion-c-producer v2 of agency us-cbp, rule criterion-c-names-producer") {
			t.Fatalf("reasons %+v", rc.Reasons)
		}
		after, err := cl.Tx(w.ctx, auditedTx, false, client.ReadOptions{Strong: true})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(before.Receipt)
		a, _ := json.Marshal(after.Receipt)
		if string(a) != string(b) || after.Receipt.Status != chain.Accepted {
			t.Fatalf("the earlier receipt changed:\n%s\n%s", b, a)
		}
		h, err := cl.Evaluations(w.ctx, "TEES-1", client.ReadOptions{Strong: true})
		if err != nil || len(h.Evaluations) != 1 || h.Evaluations[0].Rejected {
			t.Fatalf("the earlier verdict changed: %+v %v", h, err)
		}
		if _, err := cl.Certificate(w.ctx, "TEES-1", client.ReadOptions{Strong: true}); err != nil {
			t.Fatalf("TEES-1 must stay recorded: %v", err)
		}
	})
	if t.Failed() {
		return
	}

	// Every node holds the same state and gives byte-identical receipts
	// (findings included) and evaluation histories.
	states, err := w.c.WaitConverged(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states[1:] {
		if s.Digest != states[0].Digest || s.StateHash != states[0].StateHash {
			t.Fatalf("node %s: digest %s state %s; node %s: %s %s", s.ID, s.Digest, s.StateHash, states[0].ID, states[0].Digest, states[0].StateHash)
		}
	}
	same := func(what string, get func(n int) (any, error)) {
		t.Helper()
		var first []byte
		for n := range w.c.Members {
			v, err := get(n)
			if err != nil {
				t.Fatalf("%s on node %d: %v", what, n, err)
			}
			raw, _ := json.Marshal(v)
			if n == 0 {
				first = raw
			} else if string(raw) != string(first) {
				t.Fatalf("%s differs on node %d:\n%s\n%s", what, n, raw, first)
			}
		}
	}
	for _, id := range w.txs {
		same("receipt of "+id, func(n int) (any, error) {
			ev, err := w.c.Client(n).Tx(w.ctx, id, false, client.ReadOptions{})
			if err != nil {
				return nil, err
			}
			return ev.Receipt, nil
		})
	}
	for _, doc := range []string{"SHRIMP-1", "SHRIMP-2", "TEES-1", "TEES-2", "ENTRY-BAD", "ENTRY-OK", "LIC-SUB"} {
		same("history of "+doc, func(n int) (any, error) { return w.c.Client(n).Evaluations(w.ctx, doc, client.ReadOptions{}) })
	}
	t.Logf("%d transactions, identical receipts and histories on %d nodes at height %d", len(w.txs), len(states), states[0].Height)
}

// What suspension means for an agency's rules: a suspended agency has no
// authority on the ledger, so its rules are suspended with it (not
// evaluated, whatever their enforcement) and apply again on reinstatement;
// the network admin may withdraw a suspended agency's policies (it cannot
// touch an active agency's). Also: a verdict shows the Audit findings
// recorded with the version it judges, and a producer that certifies as
// exporter is the producer party the rules see.
func TestASuspendedAgencysRulesAreSuspendedWithItAndTheAdminCanWithdrawThem(t *testing.T) {
	w := newRulesWorld(t)
	ofacKey := newKey(t)
	w.accepted("admin", "agency.register", wire.AgencyRegister{ID: "us-ofac", Name: "Office of Foreign Assets Control", Country: "US",
		Programs: []string{"USMCA"}, PublicKeys: []string{pub(ofacKey)}})
	w.keys["us-ofac"] = ofacKey
	block := policy.Policy{ID: "us-ofac-block-all", Agency: "us-ofac", Enforcement: policy.Enforce,
		Scope: policy.Scope{DocumentTypes: []string{"certificate"}, DestinationCountries: []string{"US"}},
		Rules: []policy.Rule{{Name: "nothing-passes", Expression: `false`, Message: "OFAC blocks {{record.id}}"}}}
	audit := policy.Policy{ID: "us-ofac-audit-all", Agency: "us-ofac", Enforcement: policy.Audit,
		Scope: policy.Scope{DocumentTypes: []string{"certificate"}, DestinationCountries: []string{"US"}},
		Rules: []policy.Rule{{Name: "noted", Expression: `false`, Message: "OFAC notes {{record.id}}"}}}
	cbpRule := policy.Policy{ID: "us-cbp-nothing", Agency: "us-cbp", Enforcement: policy.Audit,
		Scope: policy.Scope{DocumentTypes: []string{"shipment"}}, Rules: []policy.Rule{{Name: "ok", Expression: `true`, Message: "never"}}}
	w.accepted("us-ofac", policystate.TypePublish, block)
	w.accepted("us-ofac", policystate.TypePublish, audit)
	w.accepted("us-cbp", policystate.TypePublish, cbpRule)
	cl := w.c.Client(0)

	w.rejected("acme-mx", "certificate.issue", w.criterionC("SUSP-1"))
	w.accepted("admin", "agency.suspend", wire.AgencySuspend{ID: "us-ofac", Reason: "keys compromised"})
	rc := w.accepted("acme-mx", "certificate.issue", w.criterionC("SUSP-2"))
	if f := append(findingsOf(rc, "us-ofac-block-all"), findingsOf(rc, "us-ofac-audit-all")...); len(f) != 0 {
		t.Fatalf("a suspended agency's rules were evaluated: %+v", f)
	}
	// The agency cannot sign; the admin withdraws its blocking policy, not
	// another agency's.
	w.rejected("admin", policystate.TypeWithdraw, policystate.Withdraw{ID: "us-cbp-nothing", Reason: "not the admin's"})
	w.accepted("admin", policystate.TypeWithdraw, policystate.Withdraw{ID: "us-ofac-block-all", Reason: "agency suspended: keys compromised"})
	pr, err := cl.Policy(w.ctx, "us-ofac-block-all", client.ReadOptions{Strong: true})
	if err != nil || pr.Head.Status != policy.StatusWithdrawn {
		t.Fatalf("withdrawn by the admin: %+v %v", pr, err)
	}
	// Reinstated, its remaining rules apply again; the withdrawn one stays
	// withdrawn.
	w.accepted("admin", "agency.reinstate", wire.AgencyReinstate{ID: "us-ofac"})
	rc = w.accepted("acme-mx", "certificate.issue", w.criterionC("SUSP-3"))
	if len(findingsOf(rc, "us-ofac-block-all")) != 0 || len(findingsOf(rc, "us-ofac-audit-all")) != 1 {
		t.Fatalf("after reinstatement: findings %+v", rc.Findings)
	}

	// verify certificate shows the Audit finding recorded with SUSP-3.
	vd, err := cl.VerifyCertificate(w.ctx, wire.CertificateQuery{ID: "SUSP-3"}, client.ReadOptions{Strong: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range vd.Warnings {
		found = found || c.Code == wire.CodeAgencyFinding && strings.Contains(c.Message, "policy/us-ofac-audit-all") && strings.Contains(c.Message, "OFAC notes SUSP-3")
	}
	if vd.Verdict != wire.VerdictValid || !found {
		t.Fatalf("verdict %s warnings %+v", vd.Verdict, vd.Warnings)
	}

	// A producer that certifies as exporter and names itself as producer
	// passes FDA's facility rule (it is parties.producer).
	fda := demoPolicy(t, "us-fda-seafood-facility")
	w.accepted("us-fda", policystate.TypePublish, fda)
	self := w.shrimp("SHRIMP-SELF", "mariscos-mx")
	self.CertifierRole = "exporter"
	self.Producer = &wire.Party{ID: "participant/mariscos-mx", Name: "Mariscos de Sinaloa"}
	rc = w.accepted("mariscos-mx", "certificate.issue", self)
	if f := findingsOf(rc, "us-fda-seafood-facility"); len(f) != 2 || f[0].Result != policy.ResultPass || f[1].Result != policy.ResultPass {
		t.Fatalf("FDA findings %+v", f)
	}
}
