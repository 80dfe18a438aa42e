package policystate_test

import (
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
)

// The scope index follows every change of the policies in force, in the
// block that makes it: a scope moved to another HS chapter stops covering
// the old chapter and covers the new one at once, a policy without HS
// prefixes covers every chapter, and a withdrawn policy covers nothing.
func TestScopeIndexFollowsPublishUpdateAndWithdraw(t *testing.T) {
	f := newFixture(t)
	fda := f.enrol("agency/us-fda")
	shipper := f.enrol("participant/acme")
	findings := func(id string, hs ...string) int {
		t.Helper()
		d := fishDoc(id, false) // fails the fish rule when evaluated
		d.HSCodes = hs
		rc := f.one(shipper, "test.document", d)
		return len(rc.Findings)
	}
	p := fishPolicy("fda-fish", policy.Audit) // chapters 03 and 16; Audit: accepted with findings
	f.accepted(fda, policystate.TypePublish, p)
	if n := findings("a", "030617"); n != 1 {
		t.Fatalf("chapter 03 under a chapter-03 policy: %d findings, want 1", n)
	}
	if n := findings("b", "847130"); n != 0 {
		t.Fatalf("chapter 84 under a chapter-03 policy: %d findings, want 0", n)
	}
	p.Scope.HSPrefixes = []string{"8471"}
	p.Version = 2
	f.accepted(fda, policystate.TypeUpdate, p)
	if n := findings("c", "030617"); n != 0 {
		t.Fatalf("chapter 03 after the scope moved to 8471: %d findings, want 0 (a stale index)", n)
	}
	if n := findings("d", "847130"); n != 1 {
		t.Fatalf("8471 after the scope moved there: %d findings, want 1", n)
	}
	if n := findings("e", "847330"); n != 0 {
		t.Fatalf("8473 is in chapter 84 but not under 8471: %d findings, want 0", n)
	}
	any := fishPolicy("fda-any", policy.Audit)
	any.Scope.HSPrefixes = nil
	f.accepted(fda, policystate.TypePublish, any)
	if n := findings("f", "950300", "030617"); n != 1 {
		t.Fatalf("a policy without HS prefixes: %d findings, want 1", n)
	}
	f.accepted(fda, policystate.TypeWithdraw, policystate.Withdraw{ID: "fda-any", Reason: "test"})
	f.accepted(fda, policystate.TypeWithdraw, policystate.Withdraw{ID: "fda-fish", Reason: "test"})
	if rc := f.one(shipper, "test.document", fishDoc("g", false)); rc.Status != chain.Accepted || len(rc.Findings) != 0 {
		t.Fatalf("after both were withdrawn: %s with %d findings, want accepted with none", rc.Status, len(rc.Findings))
	}
}
