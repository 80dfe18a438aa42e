package devnet

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
)

func seedCluster(t *testing.T, registry func() *state.Registry) (*testcluster.Cluster, *Seed) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := testcluster.New(ctx, testcluster.Options{Nodes: 1, Dir: t.TempDir(), Registry: registry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
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
	// Resuming after an interruption publishes nothing twice.
	if err := seedPolicies(ctx, s); err != nil {
		t.Fatalf("second run: %v", err)
	}
}

func TestPolicySeederSkipsWithoutAgencyRegister(t *testing.T) {
	_, s := seedCluster(t, func() *state.Registry { // a ledger without the trade records
		r := state.NewRegistry()
		policystate.Register(r)
		return r
	})
	var out strings.Builder
	s.Out = &out
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := seedPolicies(ctx, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "skipped") {
		t.Fatalf("output = %q", out.String())
	}
	if list, err := s.Client.Policies(ctx, "", client.ReadOptions{}); err != nil || len(list) != 0 {
		t.Fatalf("policies = %+v %v", list, err)
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
		v := comp.Evaluate(policy.Prepare(policy.Input{Record: in.Record, Doc: in.Doc, Parties: in.Parties, At: in.AtTime(time.Time{})}), policy.Agency{})
		if v.Decision() != c.decision {
			t.Errorf("%s on %s: %s (%+v)", c.policy, c.input, v.Decision(), v.Outcomes)
		}
	}
}
