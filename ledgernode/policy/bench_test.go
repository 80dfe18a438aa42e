package policy

import "testing"

// BenchmarkPrepare converts one certificate's inputs for evaluation (once
// per document, shared by every policy in scope).
func BenchmarkPrepare(b *testing.B) {
	in := shrimp()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if p := Prepare(in); p.Err() != nil {
			b.Fatal(p.Err())
		}
	}
}

// BenchmarkEvaluatePolicy evaluates a three-rule policy on a prepared
// certificate, as the ledger does (no cost tracking within the estimated
// sizes), and with cost tracking (as `ledgerctl policy test` does).
func BenchmarkEvaluatePolicy(b *testing.B) {
	p := validPolicy()
	p.Rules = []Rule{
		{Name: "registered-facility", Expression: `'fda-ffr' in parties.?producer.?identifiers.orValue({})`, Message: "producer {{parties.producer.name}}"},
		{Name: "criterion-c", Expression: `!doc.goods.exists(g, g.?originCriterion.orValue('') == 'C') || doc.producer.name != 'Various'`},
		{Name: "sanctions", Expression: `parties.all(r, !(parties[r].?country.orValue('') in ['CU', 'IR', 'KP', 'SY']))`},
	}
	c, errs := Compile(p)
	if errs != nil {
		b.Fatal(errs)
	}
	for _, tracked := range []bool{false, true} {
		name := "ledger"
		if tracked {
			name = "cost-tracked"
		}
		b.Run(name, func(b *testing.B) {
			in := shrimp()
			in.TrackCost = tracked
			prep := Prepare(in)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Evaluate(prep, Agency{ID: "us-fda"})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(c.Rules)), "ns/rule")
		})
	}
}
