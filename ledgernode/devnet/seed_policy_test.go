package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func seedCluster(t *testing.T, registry func() *state.Registry) (*testcluster.Cluster, *Seed) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := testcluster.Start(ctx, t, 1, func(o *testcluster.Config) { o.Registry = registry })
	return c, &Seed{Client: c.Client(), Network: c.Genesis.Network, Admin: c.Admin, KeysDir: t.TempDir(), Out: io.Discard}
}

func TestPolicySeederPublishesDemoPoliciesOfThreeAgencies(t *testing.T) {
	_, s := seedCluster(t, node.DefaultRegistry)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := seedTrade(ctx, s); err != nil { // registers us-cbp and us-fda with their keys
		t.Fatal(err)
	}
	if err := seedPolicies(ctx, s); err != nil {
		t.Fatal(err)
	}
	list, err := s.Client.Policies(ctx, "", client.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agencies := map[string]bool{}
	for _, h := range list {
		agencies[h.Agency] = true
	}
	if len(list) != 3 || len(agencies) != 3 {
		t.Fatalf("policies = %+v", list)
	}
	cbp, err := s.Client.Identity(ctx, "agency/us-cbp")
	if err != nil || len(cbp.Keys) != 1 {
		t.Fatalf("us-cbp should sign its policy with the key it already has: %+v %v", cbp, err)
	}
	checkRuledDocuments(ctx, t, s.Client)
	// Resuming after an interruption publishes and submits nothing twice.
	if err := seedPolicies(ctx, s); err != nil {
		t.Fatalf("second run: %v", err)
	}
	for _, id := range []string{demoRejectedCert, demoRegisteredCert, demoAuditedCert} {
		if h, err := s.Client.Evaluations(ctx, id, client.ReadOptions{}); err != nil || len(h.Evaluations) != 1 {
			t.Fatalf("%s after a second run: %+v %v", id, h, err)
		}
	}
}

// checkRuledDocuments holds the README tour's promises about the agency
// rules on the ledger: the rejection (policy history names FDA's policy and
// rule; the certificate is not recorded), the accepted registered producer,
// and CBP's Audit finding on an accepted certificate.
func checkRuledDocuments(ctx context.Context, t *testing.T, cl *client.Client) {
	t.Helper()
	finding := func(e policy.EvaluationRecord, source, rule string) *chain.Finding {
		for i, f := range e.Findings {
			if f.Source == source && (rule == "" || f.Rule == rule) {
				return &e.Findings[i]
			}
		}
		return nil
	}
	history := func(id string) policy.EvaluationRecord {
		t.Helper()
		h, err := cl.Evaluations(ctx, id, client.ReadOptions{})
		if err != nil || len(h.Evaluations) != 1 {
			t.Fatalf("history of %s: %+v %v", id, h, err)
		}
		return h.Evaluations[0]
	}

	rej := history(demoRejectedCert)
	fda := finding(rej, "policy/us-fda-seafood-facility", "registered-facility")
	if rej.Status != chain.Rejected || !rej.Rejected || fda == nil || fda.Result != policy.ResultFail || fda.Rule != "registered-facility" ||
		!strings.Contains(fda.Message, "Camarones del Pacifico") || len(rej.Reasons) != 1 || rej.Reasons[0].Code != policystate.CodePolicyViolation ||
		!strings.Contains(rej.Reasons[0].Message, "us-fda-seafood-facility") || !strings.Contains(rej.Reasons[0].Message, "registered-facility") {
		t.Fatalf("%s should be rejected by FDA's rule, named in the reason: %+v", demoRejectedCert, rej)
	}
	if _, err := cl.Certificate(ctx, demoRejectedCert, client.ReadOptions{}); !client.IsNotFound(err) {
		t.Fatalf("a rejected certificate must not be recorded: %v", err)
	}

	ok := history(demoRegisteredCert)
	if ok.Status != chain.Accepted || ok.Rejected || len(ok.Findings) == 0 {
		t.Fatalf("%s should be accepted: %+v", demoRegisteredCert, ok)
	}
	for _, f := range ok.Findings {
		if f.Result != policy.ResultPass {
			t.Fatalf("%s: every rule should pass: %+v", demoRegisteredCert, f)
		}
	}
	if f := finding(ok, "policy/us-fda-seafood-facility", "registered-facility"); f == nil {
		t.Fatalf("%s: the FDA rule should have been evaluated: %+v", demoRegisteredCert, ok)
	}

	aud := history(demoAuditedCert)
	cbp := finding(aud, "policy/us-cbp-usmca-criterion-c-producer", "")
	if aud.Status != chain.Accepted || aud.Rejected || cbp == nil || cbp.Result != policy.ResultFail || cbp.Enforcement != policy.Audit ||
		!strings.Contains(cbp.Message, `"Various"`) {
		t.Fatalf("%s should be accepted with CBP's Audit finding: %+v", demoAuditedCert, aud)
	}
	if f := finding(aud, "policy/us-fda-seafood-facility", ""); f != nil {
		t.Fatalf("%s: the FDA policy is out of scope for T-shirts: %+v", demoAuditedCert, f)
	}
	if h, err := cl.Certificate(ctx, demoAuditedCert, client.ReadOptions{}); err != nil || h.Record.Status != "active" {
		t.Fatalf("%s should be recorded: %+v %v", demoAuditedCert, h, err)
	}
}

// TestTourPolicyDecisions keeps the README tour honest: the demo inputs
// get the decisions the tour promises.
func TestTourPolicyDecisions(t *testing.T) {
	cases := []struct {
		policy, input, decision string
		inScope                 bool
	}{
		{"us-fda-seafood-facility", "shrimp-unregistered", "reject", true},
		{"us-fda-seafood-facility", "shrimp-registered", "accept", true},
		{"us-fda-seafood-facility", "usmca-criterion-c-various", "", false},
		{"us-cbp-usmca-criterion-c", "usmca-criterion-c-various", "accept (audit: would reject)", true},
		{"us-cbp-usmca-criterion-c", "shrimp-unregistered", "accept", true},
		{"us-ofac-sanctions", "shrimp-registered", "accept", true},
	}
	for _, c := range cases {
		raw, err := demoPolicies.ReadFile("policies/" + c.policy + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		p, err := policy.ParseFile(raw)
		if err != nil {
			t.Fatal(err)
		}
		comp, errs := policy.Compile(p)
		if errs != nil {
			t.Fatal(errs)
		}
		rawIn, err := os.ReadFile(filepath.Join("policies", "inputs", c.input+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		in, err := policy.ParseTestInput(rawIn)
		if err != nil {
			t.Fatal(err)
		}
		if p.Scope.Matches(in.Record) != c.inScope {
			t.Errorf("%s on %s: in scope %v", c.policy, c.input, !c.inScope)
			continue
		}
		if !c.inScope {
			continue
		}
		v := comp.Evaluate(policy.Prepare(policy.Input{Record: in.Record, Doc: in.Doc, Parties: in.Parties, LicensePath: in.LicensePath,
			Context: in.Context, At: in.AtTime(time.Time{})}), policy.Agency{})
		if v.Decision() != c.decision {
			t.Errorf("%s on %s: %s (%+v)", c.policy, c.input, v.Decision(), v.Outcomes)
		}
	}
}

// TestTourInputsHaveTheLedgersShape keeps the offline inputs of the tour
// honest: their doc and parties decode strictly into what the trade
// handlers pass to the rules (a certificate as signed, participant
// records), so a rule that works on them works on the ledger.
func TestTourInputsHaveTheLedgersShape(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("policies", "inputs", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("inputs: %v %v", files, err)
	}
	strict := func(v, into any) error {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		return dec.Decode(into)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in, err := policy.ParseTestInput(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if in.Record.Type != "certificate" {
			t.Fatalf("%s: only certificate inputs are checked here; add the shape of %q", f, in.Record.Type)
		}
		var ct wire.Certificate
		if err := strict(in.Doc, &ct); err != nil {
			t.Errorf("%s: doc is not a certificate as the ledger passes it: %v", f, err)
			continue
		}
		if err := ct.Validate(); err != nil {
			t.Errorf("%s: doc is not a valid certificate: %v", f, err)
		}
		if ct.ID != in.Record.ID || ct.Program != in.Record.Program || !slices.Equal(ct.HSCodes(), in.Record.HSCodes) ||
			!slices.Equal([]string{ct.ImportCountry}, in.Record.DestinationCountries) {
			t.Errorf("%s: record %+v does not match the certificate", f, in.Record)
		}
		for role, p := range in.Parties {
			var part wire.Participant
			if err := strict(p, &part); err != nil {
				t.Errorf("%s: parties.%s is not a participant record: %v", f, role, err)
			}
			if part.Identity != "participant/"+part.ID || part.Country == "" || len(part.Roles) == 0 {
				t.Errorf("%s: parties.%s: %+v", f, role, part)
			}
		}
		for k := range in.Context {
			if k != "action" && k != "version" && k != "reason" && k != "previous" {
				t.Errorf("%s: context.%s is not what a certificate transaction passes", f, k)
			}
		}
	}
}
