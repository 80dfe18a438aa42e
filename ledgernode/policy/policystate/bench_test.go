package policystate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
)

// benchPolicy is one of ten realistic policies, all in scope for the
// benchmark documents: a facility registration check, an origin-criterion
// check over the goods lines and a sanctions screen over the parties.
func benchPolicy(i int) policy.Policy {
	return policy.Policy{ID: fmt.Sprintf("bench-%02d", i), Agency: "us-fda", Enforcement: []string{policy.Enforce, policy.Audit}[i%2],
		Scope: policy.Scope{HSPrefixes: []string{"03", "16"}, DestinationCountries: []string{"US"}, DocumentTypes: []string{"certificate"}},
		Rules: []policy.Rule{
			{Name: "registered-facility", Expression: `'fda-ffr' in parties.?producer.?identifiers.orValue({})`,
				Message: "producer {{parties.producer.name}} has no FDA registration"},
			{Name: "criterion-c-producer", Expression: `!doc.goods.exists(g, g.originCriterion == 'C') || doc.producer.name != 'Various'`,
				Message: "criterion C with producer {{doc.producer.name}}"},
			{Name: "sanctions", Expression: fmt.Sprintf(`parties.all(r, !(parties[r].?country.orValue('') in ['CU', 'IR', 'KP', 'SY'])) && %d >= 0`, i)},
		}}
}

func benchDoc(i int) testDocument {
	d := fishDoc(fmt.Sprintf("bench-cert-%06d", i), true)
	d.Doc["goods"] = []any{
		map[string]any{"hsCode": "030617", "description": "frozen shrimp", "originCriterion": "A"},
		map[string]any{"hsCode": "160521", "description": "prepared shrimp", "originCriterion": "B"},
	}
	d.Parties = map[string]any{
		"producer": map[string]any{"name": "Camarones del Pacifico", "country": "MX", "identifiers": map[string]any{"fda-ffr": "12345678901"}},
		"exporter": map[string]any{"name": "Mariscos del Golfo", "country": "MX"},
		"importer": map[string]any{"name": "Gulf Coast Foods", "country": "US"},
	}
	return d
}

// BenchmarkPolicyEvaluationPerTx applies the same documents, in blocks of
// 100, to a ledger without policies and to one with 10 policies in scope
// (30 rules per document), and reports the time per transaction of each
// side by side, with the difference: the cost of the agency rules.
// Signatures are verified in both runs (as on every node).
func BenchmarkPolicyEvaluationPerTx(b *testing.B) {
	const perBlock = 100
	setup := func(policies int) (*fixture, func(i int) []byte) {
		f := newFixture(b)
		fda := f.enrol("agency/us-fda")
		shipper := f.enrol("participant/acme")
		for i := 0; i < policies; i++ {
			f.accepted(fda, policystate.TypePublish, benchPolicy(i))
		}
		return f, func(i int) []byte { return f.sign(shipper, "test.document", benchDoc(i)) }
	}
	plain, signPlain := setup(0)
	with, signWith := setup(10)
	rawPlain := make([][]byte, b.N)
	rawWith := make([][]byte, b.N)
	for i := 0; i < b.N; i++ {
		rawPlain[i], rawWith[i] = signPlain(i), signWith(i)
	}
	b.ResetTimer()
	var tPlain, tWith time.Duration
	var last *struct{ plain, with []chain.Receipt }
	for i := 0; i < b.N; i += perBlock {
		j := min(i+perBlock, b.N)
		start := time.Now()
		rp := plain.Block(rawPlain[i:j]...)
		mid := time.Now()
		rw := with.Block(rawWith[i:j]...)
		tWith += time.Since(mid)
		tPlain += mid.Sub(start)
		last = &struct{ plain, with []chain.Receipt }{rp.Receipts, rw.Receipts}
	}
	b.StopTimer()
	if rc := last.with[len(last.with)-1]; rc.Status != chain.Accepted || len(rc.Findings) != 30 {
		b.Fatalf("with policies: %s, %d findings", rc.Status, len(rc.Findings))
	}
	if rc := last.plain[len(last.plain)-1]; rc.Status != chain.Accepted || len(rc.Findings) != 0 {
		b.Fatalf("without policies: %s, %d findings", rc.Status, len(rc.Findings))
	}
	n := float64(b.N)
	b.ReportMetric(float64(tPlain.Nanoseconds())/n, "ns/tx-no-policies")
	b.ReportMetric(float64(tWith.Nanoseconds())/n, "ns/tx-10-policies")
	b.ReportMetric(float64((tWith-tPlain).Nanoseconds())/n, "ns/tx-policy-cost")
	b.ReportMetric(0, "ns/op") // both runs are in one op; the figures above are per transaction
}

// outOfScopePolicy is one of the 225 other policies of a 47-agency network
// (47 agencies x 5 policies): realistic scopes by HS chapter, program and
// country, none covering the benchmark documents (fish and prepared fish,
// chapters 03 and 16, USMCA, Mexico to the US).
func outOfScopePolicy(agency string, i int) policy.Policy {
	chapters := []string{"01", "02", "04", "06", "07", "08", "10", "12", "22", "24", "28", "29", "30", "33", "38", "39", "44", "61", "62", "64", "72", "84", "85", "87", "90", "93", "95"}
	first, second := chapters[i%len(chapters)], chapters[(i+1+i/len(chapters))%len(chapters)]
	s := policy.Scope{HSPrefixes: []string{first}, DocumentTypes: []string{"certificate"}}
	if second != first {
		s.HSPrefixes = append(s.HSPrefixes, second)
	}
	switch i % 4 {
	case 0:
		s.Programs, s.DestinationCountries = []string{"USMCA"}, []string{"US"}
	case 1:
		s.Programs, s.DestinationCountries = []string{"CAFTA-DR"}, []string{"US"}
	case 2:
		s.OriginCountries = []string{"CA", "MX"}
	case 3:
		s.Programs = []string{"USMCA", "NAFTA"}
	}
	return policy.Policy{ID: fmt.Sprintf("%s-p%d", agency, i), Agency: agency, Enforcement: policy.Enforce, Scope: s,
		Rules: []policy.Rule{{Name: "declared", Expression: `doc.goods.all(g, size(g.description) > 0)`, Message: "goods need a description"}}}
}

// BenchmarkPolicyEvaluation47Agencies applies the same documents to a
// ledger with the 10 policies in scope for them and to one with the same
// 10 among 235 (47 agencies x 5 policies, the rest out of scope), and
// reports the time per transaction of each and their ratio: what the
// policies out of scope cost (issue 14: at most 2x).
func BenchmarkPolicyEvaluation47Agencies(b *testing.B) {
	const perBlock = 100
	setup := func(others int) (*fixture, func(i int) []byte) {
		f := newFixture(b)
		fda := f.enrol("agency/us-fda")
		shipper := f.enrol("participant/acme")
		for i := 0; i < 10; i++ {
			f.accepted(fda, policystate.TypePublish, benchPolicy(i))
		}
		for a := 0; a < others/5; a++ {
			agency := fmt.Sprintf("us-a%02d", a)
			k := f.enrol("agency/" + agency)
			for p := 0; p < 5; p++ {
				f.accepted(k, policystate.TypePublish, outOfScopePolicy(agency, a*5+p))
			}
		}
		return f, func(i int) []byte { return f.sign(shipper, "test.document", benchDoc(i)) }
	}
	ten, signTen := setup(0)
	many, signMany := setup(225)
	rawTen := make([][]byte, b.N)
	rawMany := make([][]byte, b.N)
	for i := 0; i < b.N; i++ {
		rawTen[i], rawMany[i] = signTen(i), signMany(i)
	}
	b.ResetTimer()
	var tTen, tMany time.Duration
	var lastTen, lastMany []chain.Receipt
	for i := 0; i < b.N; i += perBlock {
		j := min(i+perBlock, b.N)
		start := time.Now()
		lastTen = ten.Block(rawTen[i:j]...).Receipts
		mid := time.Now()
		lastMany = many.Block(rawMany[i:j]...).Receipts
		tMany += time.Since(mid)
		tTen += mid.Sub(start)
	}
	b.StopTimer()
	for name, rcs := range map[string][]chain.Receipt{"10 policies": lastTen, "235 policies": lastMany} {
		if rc := rcs[len(rcs)-1]; rc.Status != chain.Accepted || len(rc.Findings) != 30 {
			b.Fatalf("%s: %s, %d findings (want the 30 of the 10 policies in scope)", name, rc.Status, len(rc.Findings))
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(tTen.Nanoseconds())/n, "ns/tx-10-policies")
	b.ReportMetric(float64(tMany.Nanoseconds())/n, "ns/tx-235-policies")
	b.ReportMetric(float64(tMany)/float64(tTen), "ratio")
	b.ReportMetric(0, "ns/op")
}
