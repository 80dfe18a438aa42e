package policystate_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestAgencyCannotUpdateOrWithdrawAnotherAgencysPolicy(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	cbp := f.enrol("agency/us-cbp")
	p := fishPolicy("fda-fish", policy.Enforce)
	f.accepted(fda, policystate.TypePublish, p)

	changed := p
	changed.Enforcement = policy.Audit
	hijack := changed
	hijack.Agency = "us-cbp"
	cases := []struct {
		name    string
		typ     string
		payload any
	}{
		{"update signed by another agency", policystate.TypeUpdate, changed},
		{"update claiming the other agency as owner", policystate.TypeUpdate, hijack},
		{"withdraw signed by another agency", policystate.TypeWithdraw, policystate.Withdraw{ID: "fda-fish", Reason: "we do not like it"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := f.one(cbp, c.typ, c.payload)
			if rc.Status != chain.Rejected || rc.Reasons[0].Code != wire.CodeUnauthorized || rc.Reasons[0].Field != "signer" {
				t.Fatalf("receipt = %+v, want unauthorized", rc)
			}
			if !strings.Contains(rc.Reasons[0].Message, "agency/us-fda") {
				t.Fatalf("message does not name the owner: %s", rc.Reasons[0].Message)
			}
		})
	}
	t.Run("the admin is not the owner either", func(t *testing.T) {
		rc := f.one(f.Admin, policystate.TypeWithdraw, policystate.Withdraw{ID: "fda-fish", Reason: "admin override"})
		if rc.Status != chain.Rejected || rc.Reasons[0].Code != wire.CodeUnauthorized {
			t.Fatalf("receipt = %+v", rc)
		}
	})
	f.view(func(v *state.View) error {
		h, vs, err := policystate.Get(v, "fda-fish")
		if err != nil {
			return err
		}
		if h.Version != 1 || h.Status != policy.StatusActive || h.Enforcement != policy.Enforce || len(vs) != 1 {
			t.Fatalf("policy changed by another agency: %+v, %d versions", h, len(vs))
		}
		return nil
	})
	// The owner can do both.
	f.accepted(fda, policystate.TypeUpdate, changed)
	f.accepted(fda, policystate.TypeWithdraw, policystate.Withdraw{ID: "fda-fish", Reason: "replaced by fda-fish-2"})
}

func TestPublishMustBeSignedByTheOwningAgency(t *testing.T) {
	f := newFixture(t)
	f.enrol("agency/us-fda")
	cbp := f.enrol("agency/us-cbp")
	shipper := f.enrol("participant/acme")
	cases := []struct {
		name string
		rc   chain.Receipt
	}{
		{"another agency", f.one(cbp, policystate.TypePublish, fishPolicy("p1", policy.Enforce))},
		{"a participant", f.one(shipper, policystate.TypePublish, fishPolicy("p2", policy.Enforce))},
		{"the admin", f.one(f.Admin, policystate.TypePublish, fishPolicy("p3", policy.Enforce))},
	}
	for _, c := range cases {
		if c.rc.Status != chain.Rejected || c.rc.Reasons[0].Code != wire.CodeUnauthorized {
			t.Errorf("publish signed by %s: %+v", c.name, c.rc)
		}
	}
}

func TestRuleThatCanExceedTheCostLimitIsRefusedAtPublication(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	p := fishPolicy("fda-quadratic", policy.Enforce)
	p.Rules = append(p.Rules, policy.Rule{Name: "no-duplicate-lines",
		Expression: `doc.goods.all(g, doc.goods.filter(h, h.hsCode == g.hsCode && h.description == g.description).size() == 1)`})
	rc := f.one(fda, policystate.TypePublish, p)
	if rc.Status != chain.Rejected {
		t.Fatal("a rule that can exceed the cost limit was published")
	}
	r := rc.Reasons[0]
	if r.Code != policystate.CodePolicyInvalid || r.Field != "payload.rules[1].expression" ||
		!strings.Contains(r.Message, `rule "no-duplicate-lines"`) || !strings.Contains(r.Message, "exceeds the limit of 1000000") {
		t.Fatalf("reason = %+v", r)
	}
	f.view(func(v *state.View) error {
		if _, ok, _ := policystate.GetHead(v, "fda-quadratic"); ok {
			t.Fatal("refused policy stored")
		}
		return nil
	})
	// The same refusal happens before consensus (Precheck runs Check).
	st, _ := tx.BuildSigned(f.Genesis.Network, policystate.TypePublish, p, f.Now, fda)
	if _, err := f.Store.Precheck(st, f.Now); err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("precheck: %v", err)
	}
}

func TestCompileErrorsAtPublicationNameRuleLineAndColumn(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	p := fishPolicy("fda-typo", policy.Enforce)
	p.Rules = []policy.Rule{
		{Name: "ok", Expression: `true`},
		{Name: "typo", Expression: "has(doc.producer) &&\n  doc.producer.name ==== 'x'"},
		{Name: "unknown-variable", Expression: `certificate.producer != ''`},
	}
	rc := f.one(fda, policystate.TypePublish, p)
	if rc.Status != chain.Rejected || len(rc.Reasons) != 2 {
		t.Fatalf("receipt = %+v", rc)
	}
	if r := rc.Reasons[0]; r.Field != "payload.rules[1].expression" || !strings.Contains(r.Message, `rule "typo" (rules[1].expression) line 2, column 23`) {
		t.Fatalf("syntax error reason = %+v", r)
	}
	if r := rc.Reasons[1]; !strings.Contains(r.Message, `rule "unknown-variable"`) || !strings.Contains(r.Message, "undeclared reference to 'certificate'") {
		t.Fatalf("unknown variable reason = %+v", r)
	}
}

func TestEnforceRuleThatFailsRejectsNamingPolicyAndRule(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	f.accepted(fda, policystate.TypePublish, fishPolicy("fda-fish", policy.Enforce))

	rc := f.one(shipper, "test.document", fishDoc("cert-1", false))
	if rc.Status != chain.Rejected {
		t.Fatal("unregistered facility accepted under Enforce")
	}
	r := rc.Reasons[0]
	if r.Code != policystate.CodePolicyViolation || r.Field != "policy/fda-fish" ||
		r.Message != "policy fda-fish v1 of agency us-fda, rule registered-facility: producer Camarones del Pacifico has no FDA food facility registration" {
		t.Fatalf("reason = %+v", r)
	}
	want := chain.Finding{Source: "policy/fda-fish", Version: 1, Rule: "registered-facility", Enforcement: policy.Enforce, Result: policy.ResultFail,
		Message: "producer Camarones del Pacifico has no FDA food facility registration"}
	if len(rc.Findings) != 1 || rc.Findings[0] != want {
		t.Fatalf("findings = %+v", rc.Findings)
	}
	if f.testDoc("cert-1") {
		t.Fatal("rejected document stored")
	}
	ok := f.accepted(shipper, "test.document", fishDoc("cert-2", true))
	if len(ok.Findings) != 1 || ok.Findings[0].Result != policy.ResultPass {
		t.Fatalf("findings = %+v", ok.Findings)
	}
}

func TestRuleThatErrorsFailsClosedInEnforceAndIsRecordedInAudit(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	// doc.producer.name on a document without a producer is a run-time error.
	strict := fishPolicy("fda-strict", policy.Enforce)
	strict.Rules = []policy.Rule{{Name: "producer-named", Expression: `doc.producer.name != ''`}}
	audit := strict
	audit.ID, audit.Enforcement = "fda-audit", policy.Audit
	f.accepted(fda, policystate.TypePublish, audit)

	d := fishDoc("cert-1", true)
	delete(d.Doc, "producer")
	rc := f.accepted(shipper, "test.document", d)
	if len(rc.Findings) != 1 || rc.Findings[0].Result != policy.ResultError || !strings.Contains(rc.Findings[0].Message, "no such key: producer") {
		t.Fatalf("audit findings = %+v", rc.Findings)
	}

	f.accepted(fda, policystate.TypePublish, strict)
	d.ID = "cert-2"
	rc = f.one(shipper, "test.document", d)
	if rc.Status != chain.Rejected {
		t.Fatal("a rule that errors was accepted under Enforce")
	}
	if len(rc.Reasons) != 1 || rc.Reasons[0].Code != policystate.CodePolicyError || rc.Reasons[0].Field != "policy/fda-strict" ||
		!strings.Contains(rc.Reasons[0].Message, "policy fda-strict v1 of agency us-fda, rule producer-named could not be evaluated and fails closed") {
		t.Fatalf("reasons = %+v", rc.Reasons)
	}
	// Both policies were evaluated, in id order, and recorded.
	if len(rc.Findings) != 2 || rc.Findings[0].Source != "policy/fda-audit" || rc.Findings[1].Source != "policy/fda-strict" {
		t.Fatalf("findings = %+v", rc.Findings)
	}
}

func TestAuditRecordsFindingsButAccepts(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	f.accepted(fda, policystate.TypePublish, fishPolicy("fda-fish", policy.Audit))
	rc := f.accepted(shipper, "test.document", fishDoc("cert-1", false))
	want := chain.Finding{Source: "policy/fda-fish", Version: 1, Rule: "registered-facility", Enforcement: policy.Audit, Result: policy.ResultFail,
		Message: "producer Camarones del Pacifico has no FDA food facility registration"}
	if len(rc.Findings) != 1 || rc.Findings[0] != want {
		t.Fatalf("findings = %+v", rc.Findings)
	}
	if !f.testDoc("cert-1") {
		t.Fatal("document not stored under Audit")
	}
	h := f.history("cert-1")
	if len(h) != 1 || h[0].Rejected || h[0].TxID != rc.TxID || h[0].Height != rc.Height || !reflect.DeepEqual(h[0].Findings, rc.Findings) {
		t.Fatalf("history = %+v", h)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	// The same blocks on two ledgers, one with a failing DryRun policy:
	// the document is accepted on both and the domain state is the same.
	run := func(withPolicy bool) (*fixture, chain.Receipt) {
		f := newFixture(t)
		fda := f.enrol("agency/us-fda")
		shipper := f.enrol("participant/acme")
		if withPolicy {
			f.accepted(fda, policystate.TypePublish, fishPolicy("fda-fish", policy.DryRun))
		}
		return f, f.accepted(shipper, "test.document", fishDoc("cert-1", false))
	}
	plain, rcPlain := run(false)
	dry, rcDry := run(true)
	if rcDry.Status != rcPlain.Status || string(rcDry.Result) != string(rcPlain.Result) {
		t.Fatalf("dry run changed the outcome: %+v vs %+v", rcDry, rcPlain)
	}
	if len(rcDry.Findings) != 1 || rcDry.Findings[0].Enforcement != policy.DryRun || rcDry.Findings[0].Result != policy.ResultFail {
		t.Fatalf("dry run findings = %+v", rcDry.Findings)
	}
	var a, b []byte
	plain.view(func(v *state.View) error { a = v.Get(bucketTestDocs, "cert-1"); return nil })
	dry.view(func(v *state.View) error { b = v.Get(bucketTestDocs, "cert-1"); return nil })
	if a == nil || string(a) != string(b) {
		t.Fatalf("stored document differs: %s vs %s", a, b)
	}
}

func TestPolicyOutOfScopeIsNotEvaluated(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	p := fishPolicy("fda-fish", policy.Enforce)
	p.Scope.Programs = []string{"USMCA"}
	p.Scope.OriginCountries = []string{"MX", "CA"}
	f.accepted(fda, policystate.TypePublish, p)
	cases := []struct {
		name   string
		change func(d *testDocument)
	}{
		{"another HS chapter", func(d *testDocument) { d.HSCodes = []string{"847130"} }},
		{"no HS code", func(d *testDocument) { d.HSCodes = nil }},
		{"another program", func(d *testDocument) { d.Program = "CAFTA-DR" }},
		{"another origin", func(d *testDocument) { d.Origin = []string{"GT"} }},
		{"another destination", func(d *testDocument) { d.Destination = []string{"CA"} }},
		{"another document type", func(d *testDocument) { d.Type = "shipment" }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := fishDoc("out-"+string(rune('a'+i)), false) // would fail the rule if evaluated
			c.change(&d)
			rc := f.accepted(shipper, "test.document", d)
			if len(rc.Findings) != 0 {
				t.Fatalf("out-of-scope policy evaluated: %+v", rc.Findings)
			}
			if h := f.history(d.ID); len(h) != 0 {
				t.Fatalf("history = %+v", h)
			}
		})
	}
	// In scope: one of several HS codes matching is enough.
	d := fishDoc("in-1", false)
	d.HSCodes = []string{"847130", "160232"}
	if rc := f.one(shipper, "test.document", d); rc.Status != chain.Rejected {
		t.Fatalf("in-scope document accepted: %+v", rc)
	}
}

func TestPolicyUpdateTakesEffectFromItsBlockAndEarlierVerdictsAreUnchanged(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	p := fishPolicy("fda-fish", policy.Enforce)
	f.accepted(fda, policystate.TypePublish, p)

	before := f.one(shipper, "test.document", fishDoc("cert-1", false))
	if before.Status != chain.Rejected {
		t.Fatal("v1 should reject")
	}
	// v2 relaxes the rule: a producer in the FDA's voluntary programme passes too.
	v2 := p
	v2.Rules = []policy.Rule{{Name: "registered-facility",
		Expression: `has(doc.producer.fdaRegistration) || doc.producer.?vqip.orValue(false) == true`,
		Message:    "producer {{doc.producer.name}} has no FDA registration and is not in VQIP"}}
	vqip := func(id string) testDocument {
		d := fishDoc(id, false)
		d.Doc["producer"].(map[string]any)["vqip"] = true
		return d
	}
	// One block: a document, the update, the same kind of document. Block
	// order decides: the first is judged by v1, the second by v2.
	res := f.Block(f.sign(shipper, "test.document", vqip("cert-2a")), f.sign(fda, policystate.TypeUpdate, v2), f.sign(shipper, "test.document", vqip("cert-2b")))
	if res.Receipts[1].Status != chain.Accepted || string(res.Receipts[1].Result) != `{"agency":"us-fda","hash":"`+headHash(f, "fda-fish")+`","id":"fda-fish","version":2}` {
		t.Fatalf("update: %+v %s", res.Receipts[1], res.Receipts[1].Result)
	}
	if early := res.Receipts[0]; early.Status != chain.Rejected || early.Findings[0].Version != 1 {
		t.Fatalf("document before the update in its block: %+v", early)
	}
	after := res.Receipts[2]
	if after.Status != chain.Accepted || len(after.Findings) != 1 || after.Findings[0].Version != 2 || after.Findings[0].Result != policy.ResultPass {
		t.Fatalf("document after the update: %+v", after)
	}
	// The earlier verdict stands: its receipt is unchanged and still says v1.
	f.view(func(v *state.View) error {
		rec, err := v.TxByID(before.TxID)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(rec.Receipt, before) || rec.Receipt.Findings[0].Version != 1 {
			t.Fatalf("earlier receipt changed: %+v", rec.Receipt)
		}
		_, vs, err := policystate.Get(v, "fda-fish")
		if err != nil || len(vs) != 2 || vs[0].Policy.Version != 1 || vs[1].Policy.Version != 2 || vs[0].Height >= vs[1].Height {
			t.Fatalf("versions = %+v, %v", vs, err)
		}
		// The scope query at the time of the first verdict finds v1.
		at, _ := tx.ParseTime(before.Time)
		got, err := policystate.InScope(v, policystate.SubjectOf(&state.Document{Type: "certificate", HSCodes: []string{"030617"}, DestinationCountries: []string{"US"}}), tx.FormatTime(at))
		if err != nil || len(got) != 1 || got[0].Policy.Version != 1 {
			t.Fatalf("in scope at %s: %+v %v", before.Time, got, err)
		}
		return nil
	})
	if h := f.history("cert-1"); len(h) != 1 || !h[0].Rejected || h[0].Findings[0].Version != 1 {
		t.Fatalf("history of the rejected document = %+v", h)
	}
}

func headHash(f *fixture, id string) string {
	var h *policy.Head
	f.view(func(v *state.View) (err error) { h, _, err = policystate.GetHead(v, id); return err })
	return h.Hash
}

func TestUpdateAndWithdrawRules(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	p := fishPolicy("fda-fish", policy.Enforce)
	f.accepted(fda, policystate.TypePublish, p)
	withVersion := p
	withVersion.Version = 7
	audit := p
	audit.Enforcement = policy.Audit
	wrongCAS := audit
	wrongCAS.Version = 3
	rightCAS := audit
	rightCAS.Version = 2
	cases := []struct {
		name, typ, code, field string
		payload                any
	}{
		{"publishing an existing id", policystate.TypePublish, wire.CodeConflict, "payload.id", p},
		{"publishing with a version", policystate.TypePublish, wire.CodeInvalid, "payload.version", withVersion},
		{"updating without a change", policystate.TypeUpdate, wire.CodeConflict, "payload", p},
		{"updating from a stale version", policystate.TypeUpdate, wire.CodeConflict, "payload.version", wrongCAS},
		{"updating an unknown policy", policystate.TypeUpdate, wire.CodeNotFound, "payload.id", fishPolicy("nope", policy.Enforce)},
		{"withdrawing without a reason", policystate.TypeWithdraw, wire.CodeInvalid, "payload.reason", map[string]string{"id": "fda-fish"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := f.one(fda, c.typ, c.payload)
			if rc.Status != chain.Rejected || rc.Reasons[0].Code != c.code || rc.Reasons[0].Field != c.field {
				t.Fatalf("receipt = %+v, want %s on %s", rc, c.code, c.field)
			}
		})
	}
	f.accepted(fda, policystate.TypeUpdate, rightCAS)
	f.accepted(fda, policystate.TypeWithdraw, policystate.Withdraw{ID: "fda-fish", Reason: "superseded"})
	if rc := f.one(fda, policystate.TypeUpdate, p); rc.Status != chain.Rejected || rc.Reasons[0].Code != wire.CodeConflict {
		t.Fatalf("update after withdrawal: %+v", rc)
	}
	// A withdrawn policy is no longer evaluated.
	if rc := f.accepted(shipper, "test.document", fishDoc("cert-1", false)); len(rc.Findings) != 0 {
		t.Fatalf("withdrawn policy evaluated: %+v", rc.Findings)
	}
	f.view(func(v *state.View) error {
		h, vs, err := policystate.Get(v, "fda-fish")
		if err != nil || h.Status != policy.StatusWithdrawn || h.Reason != "superseded" || len(vs) != 2 {
			t.Fatalf("head = %+v, %d versions, %v", h, len(vs), err)
		}
		return nil
	})
}

func TestPoliciesAreEvaluatedInIDOrderAndHistoryKeepsRejections(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	cbp := f.enrol("agency/us-cbp")
	shipper := f.enrol("participant/acme")
	origin := policy.Policy{ID: "cbp-origin-c", Agency: "us-cbp", Enforcement: policy.Enforce,
		Scope: policy.Scope{Programs: []string{"USMCA"}, DestinationCountries: []string{"US"}},
		Rules: []policy.Rule{{Name: "criterion-c-producer", Expression: `doc.originCriterion != 'C' || doc.producer.name != 'Various'`,
			Message: "origin criterion C needs a named producer, not {{doc.producer.name}}"}}}
	// Published in reverse id order; evaluated by id.
	f.accepted(fda, policystate.TypePublish, fishPolicy("zz-fda-fish", policy.Audit))
	f.accepted(cbp, policystate.TypePublish, origin)
	f.accepted(fda, policystate.TypePublish, fishPolicy("aa-fda-fish", policy.DryRun))

	d := fishDoc("cert-9", false)
	d.Doc["originCriterion"] = "C"
	d.Doc["producer"] = map[string]any{"name": "Various"}
	rc := f.one(shipper, "test.document", d)
	var sources []string
	for _, fi := range rc.Findings {
		sources = append(sources, fi.Source)
	}
	if want := []string{"policy/aa-fda-fish", "policy/cbp-origin-c", "policy/zz-fda-fish"}; !reflect.DeepEqual(sources, want) {
		t.Fatalf("order = %v, want %v", sources, want)
	}
	if rc.Status != chain.Rejected || len(rc.Reasons) != 1 || rc.Reasons[0].Field != "policy/cbp-origin-c" ||
		!strings.HasSuffix(rc.Reasons[0].Message, "origin criterion C needs a named producer, not Various") {
		t.Fatalf("receipt = %+v", rc)
	}
	// Fixed and resubmitted: accepted, and the history shows both.
	d.Doc["producer"] = map[string]any{"name": "Camarones del Pacifico", "fdaRegistration": "1"}
	ok := f.accepted(shipper, "test.document", d)
	h := f.history("cert-9")
	if len(h) != 2 || !h[0].Rejected || h[1].Rejected || h[0].TxID != rc.TxID || h[1].TxID != ok.TxID || h[0].TxType != "test.document" {
		t.Fatalf("history = %+v", h)
	}
	f.view(func(v *state.View) error {
		all, _ := policystate.List(v, "")
		mine, _ := policystate.List(v, "us-fda")
		if len(all) != 3 || len(mine) != 2 || mine[0].ID != "aa-fda-fish" || mine[1].ID != "zz-fda-fish" {
			t.Fatalf("list: all %d, us-fda %+v", len(all), mine)
		}
		return nil
	})
}

func TestReplayIntoFreshStoreGivesSameStateAndReceipts(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	f.accepted(fda, policystate.TypePublish, fishPolicy("fda-fish", policy.Enforce))
	audit := fishPolicy("fda-audit", policy.Audit)
	audit.Rules = append(audit.Rules, policy.Rule{Name: "keys", Expression: `doc.producer.map(k, k)[0] == 'fdaRegistration'`,
		Message: "first key of {{doc.producer}}"})
	f.accepted(fda, policystate.TypePublish, audit)
	for i := 0; i < 10; i++ {
		d := fishDoc("cert-"+string(rune('a'+i)), i%2 == 0)
		d.Doc["producer"].(map[string]any)["zeta"] = i
		d.Doc["producer"].(map[string]any)["alpha"] = i
		f.Block(f.sign(shipper, "test.document", d), []byte("garbage"))
	}
	fresh := f.Open(filepath.Join(t.TempDir(), "replay.db"))
	m := f.Store.Meta()
	for h := uint64(1); h <= m.Height; h++ {
		var b *chain.Block
		f.view(func(v *state.View) (err error) { b, err = v.Block(h); return err })
		res, err := fresh.ApplyBlock(&state.Proposal{Time: b.Header.Time, Proposer: b.Header.Proposer, Txs: b.Txs}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Hash != b.Hash {
			t.Fatalf("block %d: hash %s, replay %s", h, b.Hash, res.Hash)
		}
		for i := range res.Receipts {
			x, _ := json.Marshal(res.Receipts[i])
			y, _ := json.Marshal(b.Receipts[i])
			if string(x) != string(y) {
				t.Fatalf("block %d receipt %d differs:\n%s\n%s", h, i, x, y)
			}
		}
	}
	d1, _ := f.Store.Digest()
	d2, _ := fresh.Digest()
	if d1 != d2 {
		t.Fatal("digest differs after replay")
	}
}

func TestEvaluateNeedsADocumentID(t *testing.T) {
	f := newFixture(t)
	shipper := f.enrol("participant/acme")
	d := fishDoc(strings.Repeat("x", policystate.MaxDocumentID+1), true)
	rc := f.one(shipper, "test.document", d)
	if rc.Status != chain.Rejected || rc.Reasons[0].Field != "document.id" {
		t.Fatalf("receipt = %+v", rc)
	}
}

func TestRulesReadWhatTheTransactionAddsAsContext(t *testing.T) {
	f := newFixture(t)
	cbp := f.enrol("agency/us-cbp")
	shipper := f.enrol("participant/acme")
	p := policy.Policy{ID: "cbp-amendments", Agency: "us-cbp", Enforcement: policy.Enforce, Scope: policy.Scope{DocumentTypes: []string{"certificate"}},
		Rules: []policy.Rule{{Name: "keeps-criterion", Expression: `context.?action.orValue('') != 'amend' || context.previous.originCriterion == doc.originCriterion`,
			Message: "amendment {{context.version}} changes the origin criterion from {{context.previous.originCriterion}} to {{doc.originCriterion}}"}}}
	f.accepted(cbp, policystate.TypePublish, p)
	d := fishDoc("cert-ctx", true)
	d.Context = map[string]any{"action": "issue", "version": 1}
	f.accepted(shipper, "test.document", d)
	d.ID = "cert-ctx-2"
	d.Context = map[string]any{"action": "amend", "version": 2, "previous": map[string]any{"originCriterion": "B"}}
	rc := f.one(shipper, "test.document", d)
	if rc.Status != chain.Rejected || !strings.Contains(rc.Reasons[0].Message, "amendment 2 changes the origin criterion from B to A") {
		t.Fatalf("receipt = %+v", rc)
	}
}

func TestDocumentInputUnderAKeyNoRuleReadsIsRefused(t *testing.T) {
	f := newFixture(t)
	shipper := f.enrol("participant/acme")
	d := fishDoc("cert-stray", true)
	d.Stray = map[string]any{"previous": "looks checked, is not"}
	rc := f.one(shipper, "test.document", d)
	if rc.Status != chain.Rejected || rc.Reasons[0].Code != wire.CodeInternal || rc.Reasons[0].Field != "document.input" ||
		!strings.Contains(rc.Reasons[0].Message, `"stray"`) || !strings.Contains(rc.Reasons[0].Message, "context") {
		t.Fatalf("receipt = %+v", rc)
	}
}

func TestAgencyRulesReachOnlyDocumentsTouchingItsCountry(t *testing.T) {
	f := newFixture(t)
	cbsa := f.enrol("agency/ca-cbsa") // jurisdiction CA
	shipper := f.enrol("participant/acme")
	// A catch-all Enforce policy: with no scope it would reject everything.
	p := policy.Policy{ID: "ca-block-all", Agency: "ca-cbsa", Enforcement: policy.Enforce,
		Rules: []policy.Rule{{Name: "never", Expression: "false", Message: "blocked"}}}
	f.accepted(cbsa, policystate.TypePublish, p)
	mxToUS := f.one(shipper, "test.document", testDocument{ID: "mx-us", Type: "certificate", Program: "USMCA", Origin: []string{"MX"}, Destination: []string{"US"}, Doc: map[string]any{}})
	if mxToUS.Status != chain.Accepted || len(mxToUS.Findings) != 0 {
		t.Fatalf("CBSA's rule reached a Mexico-US document: %+v", mxToUS)
	}
	mxToCA := f.one(shipper, "test.document", testDocument{ID: "mx-ca", Type: "certificate", Program: "USMCA", Origin: []string{"MX"}, Destination: []string{"CA"}, Doc: map[string]any{}})
	if mxToCA.Status != chain.Rejected {
		t.Fatalf("CBSA's rule did not apply to a document bound for Canada: %+v", mxToCA)
	}
}
