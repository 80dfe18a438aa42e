package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var updateVerdicts = flag.Bool("update", false, "rewrite testdata/verdicts.golden.json from the code as it is")

// TestVerdictsMatchTheGoldenFile evaluates rules that reach the inputs
// every way CEL can (lookups, presence tests, iteration and two-variable
// comprehensions over maps, equality of maps and lists in both
// directions, optional fields, conversions, errors that name values),
// with and without cost tracking, and compares every outcome (result,
// message, spent cost) with testdata/verdicts.golden.json. A verdict is
// recorded on the ledger, so how inputs are converted to CEL values may
// change only if no outcome does. The file was written by the eager
// conversion (every map converted and sorted ahead of evaluation); regenerate
// it with -update only for a change meant to alter verdicts.
func TestVerdictsMatchTheGoldenFile(t *testing.T) {
	rules := []Rule{
		{Name: "lookup", Expression: `doc.producer.name == 'Various'`},
		{Name: "index-in-list", Expression: `doc.goods[0].hsCode == '030617'`},
		{Name: "missing-key", Expression: `doc.producer.address == 'x'`},
		{Name: "missing-nested", Expression: `doc.goods[0].origin.country == 'MX'`},
		{Name: "out-of-range", Expression: `doc.goods[3].hsCode == 'x'`},
		{Name: "has", Expression: `has(doc.producer) && !has(doc.certifier) && has(doc.goods)`},
		{Name: "in-map", Expression: `'exporter' in parties && !('broker' in parties)`},
		{Name: "optional", Expression: `doc.?producer.?name.orValue('') == 'Various' && doc.?certifier.?name.orValue('none') == 'none'`},
		{Name: "optional-index", Expression: `parties[?'importer'].hasValue() && !parties[?'broker'].hasValue()`},
		{Name: "size", Expression: `size(doc) == 6 && size(parties) == 3 && size(doc.producer) == 1`},
		{Name: "keys-in-order", Expression: `doc.map(k, k) == ['extra', 'goods', 'lines', 'originCriterion', 'producer', 'value']`},
		{Name: "keys-joined", Expression: `parties.map(r, r).join(',') == 'exporter,importer,producer'`},
		{Name: "all-parties", Expression: `parties.all(r, parties[r].?country.orValue('') != 'CU')`},
		{Name: "exists-one", Expression: `parties.exists_one(r, parties[r].country == 'US')`},
		{Name: "filter", Expression: `parties.filter(r, parties[r].country == 'MX') == ['exporter', 'producer']`},
		{Name: "map-equals-literal", Expression: `doc.producer == {'name': 'Various'}`},
		{Name: "literal-equals-map", Expression: `{'name': 'Various'} == doc.producer`},
		{Name: "map-not-equal", Expression: `doc.producer != {'x': 1} && doc.producer != {'name': 'Other'}`},
		{Name: "maps-equal-each-other", Expression: `parties.exporter != parties.importer && parties.exporter == parties.exporter`},
		{Name: "map-in-list", Expression: `doc.goods[0] in doc.goods && !({'hsCode': '030617'} in doc.goods)`},
		{Name: "list-of-maps-equal", Expression: `licensePath == [licensePath[0]] && licensePath[0] != {'licensee': 'Gulf Foods'} && licensePath[0].territory == ['US', 'CA']`},
		{Name: "nested-map", Expression: `doc.extra.nested.deep.map(k, doc.extra.nested.deep[k]) == [1, 2.5, 'c']`},
		{Name: "nested-iteration-error", Expression: `doc.extra.nested.deep.all(k, doc.extra.nested.deep[k] > 0)`},
		{Name: "type-of", Expression: `type(doc) == map && type(doc.producer) == map && type(doc.goods) == list && type(doc.lines) == int`},
		{Name: "dyn-map", Expression: `dyn(doc).producer.name == 'Various'`},
		{Name: "string-of-map-errors", Expression: `string(dyn(doc.producer)) == ''`},
		{Name: "int-of-map-errors", Expression: `int(dyn(doc.producer)) == 0`},
		{Name: "map-plus-errors", Expression: `dyn(doc.producer) + dyn(doc.producer) == {}`},
		{Name: "divide-by-zero-in-order", Expression: `doc.extra.nested.deep.all(k, k == 'c' || int(doc.extra.nested.deep[k]) / 0 > 0)`},
		{Name: "record", Expression: `record.hsCodes == ['030617'] && record.program == 'USMCA' && record == record`},
		{Name: "agency", Expression: `agency.id == 'us-fda' && agency != {'id': 'us-fda'} && size(agency) == 2`},
		{Name: "context", Expression: `context.action == 'issue' && context.refs.map(k, context.refs[k]) == ['lic-1', 'cert-0']`},
		{Name: "sets", Expression: `sets.contains(doc.goods, [doc.goods[0]]) && !sets.contains(doc.goods, [{'hsCode': '030617'}])`},
		{Name: "bind", Expression: `cel.bind(p, parties.producer, p.name + '/' + p.country) == 'Various/MX'`},
		{Name: "false-renders-message", Expression: `doc.producer.name != 'Various'`, Message: "producer {{doc.producer}} in {{parties}}"},
		{Name: "fails-with-default-message", Expression: `size(parties) > 5`},
	}
	input := func() Input {
		in := shrimp()
		in.Doc.(map[string]any)["extra"] = map[string]any{"nested": map[string]any{"deep": map[string]any{"b": 2.5, "a": 1, "c": "c"}}}
		in.Parties.(map[string]any)["producer"] = map[string]any{"name": "Various", "country": "MX"}
		in.Context = map[string]any{"action": "issue", "refs": map[string]any{"previous": "cert-0", "license": "lic-1"}}
		return in
	}
	type result struct {
		Tracked   Outcome `json:"tracked"`
		Untracked Outcome `json:"untracked"`
	}
	got := map[string]result{}
	agency := Agency{Name: "U.S. Food and Drug Administration"}
	for _, r := range rules {
		c := compileRules(t, Enforce, r)
		tracked := input()
		tracked.TrackCost = true
		got[r.Name] = result{
			Tracked:   c.Evaluate(Prepare(tracked), agency).Outcomes[0],
			Untracked: c.Evaluate(Prepare(input()), agency).Outcomes[0],
		}
	}
	raw, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	raw = append(raw, '\n')
	path := filepath.Join("testdata", "verdicts.golden.json")
	if *updateVerdicts {
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with go test -run TestVerdictsMatchTheGoldenFile -update)", err)
	}
	var wantRes map[string]result
	if err := json.Unmarshal(want, &wantRes); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if g, w := got[r.Name], wantRes[r.Name]; g != w {
			t.Errorf("rule %s (%s):\n got %+v\nwant %+v", r.Name, r.Expression, g, w)
		}
	}
	if len(wantRes) != len(rules) || !bytes.Equal(raw, want) {
		t.Errorf("%s differs from the outcomes (%d rules in the file, %d here)", path, len(wantRes), len(rules))
	}
}

// TestOnePreparedInputServesConcurrentEvaluations: the ledger evaluates
// the policies in scope of a document on one prepared input, possibly at
// once; its maps convert and sort on first use, which must give every
// evaluation the same outcome (and, under -race, no data race).
func TestOnePreparedInputServesConcurrentEvaluations(t *testing.T) {
	c := compileRules(t, Enforce,
		Rule{Name: "keys", Expression: `parties.map(r, r).join(',') == 'exporter,importer'`},
		Rule{Name: "equal", Expression: `parties.exporter == parties.exporter && doc.producer == {'name': 'Various'}`},
		Rule{Name: "lookup", Expression: `doc.goods[0].hsCode == '030617'`})
	prep := Prepare(shrimp())
	const workers = 8
	verdicts := make([]*Verdict, workers)
	var wg sync.WaitGroup
	for i := range verdicts {
		wg.Add(1)
		go func(i int) { defer wg.Done(); verdicts[i] = c.Evaluate(prep, Agency{}) }(i)
	}
	wg.Wait()
	for i, v := range verdicts {
		if v.Failed() {
			t.Fatalf("evaluation %d: %+v", i, v.Outcomes)
		}
	}
}
