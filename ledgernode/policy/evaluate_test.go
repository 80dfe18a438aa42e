package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func compileRules(t *testing.T, enforcement string, rules ...Rule) *Compiled {
	t.Helper()
	p := validPolicy()
	p.Enforcement = enforcement
	p.Rules = rules
	c, errs := Compile(p)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return c
}

func shrimp() Input {
	return Input{
		Record: Subject{ID: "cert-1", Type: "certificate", Program: "USMCA", HSCodes: []string{"030617"}, OriginCountries: []string{"MX"}, DestinationCountries: []string{"US"}},
		Doc: map[string]any{"originCriterion": "C", "value": 2500.5, "lines": 3,
			"producer": map[string]any{"name": "Various"},
			"goods":    []any{map[string]any{"hsCode": "030617", "description": "frozen shrimp"}}},
		Parties:     map[string]any{"exporter": map[string]any{"name": "Mariscos SA", "country": "MX"}, "importer": map[string]any{"name": "Gulf Foods", "country": "US"}},
		LicensePath: []any{map[string]any{"licensee": "Gulf Foods", "territory": []any{"US", "CA"}}},
		At:          at,
	}
}

func TestRuleOutcomes(t *testing.T) {
	cases := []struct {
		name, expr, result, message string
	}{
		{"true passes", `doc.originCriterion == 'C'`, ResultPass, ""},
		{"false fails with the rendered message", `doc.producer.name != 'Various'`, ResultFail, "producer Various for HS 030617"},
		{"missing key errors", `doc.certifier.name == 'x'`, ResultError, "no such key: certifier"},
		{"non-bool result errors", `dyn(doc.value)`, ResultError, "returned double, not a bool"},
		{"integral JSON numbers are ints", `doc.lines == 3 && type(doc.lines) == int`, ResultPass, ""},
		{"numbers compare across types", `doc.value > 2500`, ResultPass, ""},
		{"block time is the clock", `at == timestamp('2026-03-01T12:00:00Z') && at.getHours() == 12`, ResultPass, ""},
		{"parties by role", `parties.importer.country == 'US'`, ResultPass, ""},
		{"license path", `licensePath.all(l, 'US' in l.territory)`, ResultPass, ""},
		{"record holds the scope attributes", `record.hsCodes == ['030617'] && record.program == 'USMCA' && record.id == 'cert-1'`, ResultPass, ""},
		{"agency is the owner", `agency.id == 'us-fda' && agency.name == 'U.S. Food and Drug Administration'`, ResultPass, ""},
		{"optional fields", `doc.?certifier.name.orValue('none') == 'none'`, ResultPass, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp := compileRules(t, Enforce, Rule{Name: "r", Expression: c.expr, Message: "producer {{doc.producer.name}} for HS {{doc.goods[0].hsCode}}"})
			in := shrimp()
			in.TrackCost = true
			v := comp.Evaluate(Prepare(in), Agency{Name: "U.S. Food and Drug Administration"})
			o := v.Outcomes[0]
			if o.Result != c.result || !strings.Contains(o.Message, c.message) {
				t.Fatalf("outcome = %+v, want %s %q", o, c.result, c.message)
			}
			if o.Cost == 0 && o.Result != ResultError {
				t.Fatal("no cost recorded")
			}
			// Without cost tracking (the ledger's way on inputs within the
			// estimate's sizes) the outcome is the same.
			fast := comp.Evaluate(Prepare(shrimp()), Agency{Name: "U.S. Food and Drug Administration"}).Outcomes[0]
			if fast.Cost != 0 || fast.Result != o.Result || fast.Message != o.Message {
				t.Fatalf("untracked outcome %+v differs from %+v", fast, o)
			}
		})
	}
}

func TestVerdictDecisionByEnforcement(t *testing.T) {
	cases := []struct {
		enforcement string
		rejects     bool
		decision    string
	}{
		{Enforce, true, "reject"},
		{Audit, false, "accept (audit: would reject)"},
		{DryRun, false, "accept (dry run: would reject)"},
	}
	for _, c := range cases {
		v := compileRules(t, c.enforcement, Rule{Name: "pass", Expression: "true"}, Rule{Name: "fail", Expression: "false"}).Evaluate(Prepare(shrimp()), Agency{})
		if v.Rejects() != c.rejects || v.Decision() != c.decision || !v.Failed() {
			t.Errorf("%s: rejects %v, decision %q", c.enforcement, v.Rejects(), v.Decision())
		}
		f := v.Findings()
		if len(f) != 2 || f[0].Result != ResultPass || f[1].Result != ResultFail || f[1].Message != "rule fail is not satisfied" ||
			f[0].Source != "policy/us-fda-fish" || f[0].Enforcement != c.enforcement {
			t.Errorf("%s: findings %+v", c.enforcement, f)
		}
	}
	ok := compileRules(t, Enforce, Rule{Name: "pass", Expression: "true"}).Evaluate(Prepare(shrimp()), Agency{})
	if ok.Rejects() || ok.Decision() != "accept" {
		t.Fatal("passing Enforce policy rejects")
	}
}

func TestMapIterationIsInKeyOrder(t *testing.T) {
	// Go randomises map iteration; rules must not see it. Run many times:
	// a leak would show up as different outcomes.
	keys := []string{"kiwi", "apple", "mango", "banana", "cherry", "date", "fig", "grape"}
	doc := map[string]any{}
	for i, k := range keys {
		doc[k] = i
	}
	comp := compileRules(t, Enforce,
		Rule{Name: "order", Expression: `doc.map(k, k) == ['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'kiwi', 'mango']`},
		Rule{Name: "first-error", Expression: `doc.all(k, doc[k] / (doc[k] - doc[k]) > 0)`, Message: "{{doc}}"})
	var first string
	for i := 0; i < 50; i++ {
		v := comp.Evaluate(Prepare(Input{Doc: doc, At: at}), Agency{})
		raw, _ := json.Marshal(v)
		if i == 0 {
			first = string(raw)
			if v.Outcomes[0].Result != ResultPass || v.Outcomes[1].Result != ResultError {
				t.Fatalf("outcomes = %+v", v.Outcomes)
			}
			continue
		}
		if string(raw) != first {
			t.Fatalf("run %d differs:\n%s\n%s", i, raw, first)
		}
	}
}

func TestRuntimeCostLimitStopsOversizedInputs(t *testing.T) {
	// Within the estimate for license paths of the assumed length (16), but
	// this one is far longer: the run-time limit ends it with an error.
	comp := compileRules(t, Enforce, Rule{Name: "scan", Expression: `licensePath.all(a, licensePath.exists(b, a == b))`})
	path := make([]any, 3000)
	for i := range path {
		path[i] = i
	}
	v := comp.Evaluate(Prepare(Input{LicensePath: path, At: at}), Agency{})
	if o := v.Outcomes[0]; o.Result != ResultError || !strings.Contains(o.Message, "cost limit exceeded") {
		t.Fatalf("outcome = %+v", o)
	}
	if !v.Rejects() {
		t.Fatal("an error must fail closed under Enforce")
	}
}

func TestInputsBeyondTheEstimatedSizesRunWithTheCostLimit(t *testing.T) {
	long := strings.Repeat("x", EstimatedNestedSize+1)
	cases := []struct {
		name     string
		in       Input
		inBounds bool
	}{
		{"typical certificate", shrimp(), true},
		{"long string inside the document", Input{Doc: map[string]any{"goods": []any{map[string]any{"description": long}}}}, false},
		{"long top-level field", Input{Doc: map[string]any{"remarks": long}}, false},
		{"many parties", Input{Parties: func() map[string]any {
			m := map[string]any{}
			for i := 0; i <= EstimatedParties; i++ {
				m[strings.Repeat("r", i+1)] = map[string]any{}
			}
			return m
		}()}, false},
		{"long license path", Input{LicensePath: make([]any, EstimatedLicensePathLength+1)}, false},
	}
	for _, c := range cases {
		if got := Prepare(c.in).inBounds; got != c.inBounds {
			t.Errorf("%s: in bounds %v, want %v", c.name, got, c.inBounds)
		}
	}
}

func TestUnusableInputErrorsEveryRule(t *testing.T) {
	comp := compileRules(t, Audit, Rule{Name: "a", Expression: "true"}, Rule{Name: "b", Expression: "true"})
	cases := []struct {
		name string
		in   Input
		want string
	}{
		{"doc is not an object", Input{Doc: []int{1}}, "input doc must be a JSON object, not an array"},
		{"license path is not a list", Input{LicensePath: "x"}, "input licensePath must be a JSON array"},
		{"not JSON", Input{Doc: map[string]any{"f": func() {}}}, "not JSON-encodable"},
		{"too large", Input{Doc: map[string]any{"blob": strings.Repeat("x", MaxInputBytes)}}, "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Prepare(c.in)
			if p.Err() == nil {
				t.Fatal("no error")
			}
			v := comp.Evaluate(p, Agency{})
			for _, o := range v.Outcomes {
				if o.Result != ResultError || !strings.Contains(o.Message, c.want) {
					t.Fatalf("outcome = %+v", o)
				}
			}
		})
	}
}

func TestScopeMatching(t *testing.T) {
	s := Scope{Programs: []string{"USMCA"}, HSPrefixes: []string{"03", "1602"}, OriginCountries: []string{"MX"}, DocumentTypes: []string{"certificate"}}
	base := Subject{Type: "certificate", Program: "USMCA", HSCodes: []string{"847130", "160232"}, OriginCountries: []string{"CA", "MX"}}
	cases := []struct {
		name   string
		change func(*Subject)
		want   string // "" = matches
	}{
		{"every dimension matches", func(*Subject) {}, ""},
		{"program differs", func(s *Subject) { s.Program = "NAFTA" }, "program"},
		{"no HS code under a prefix", func(s *Subject) { s.HSCodes = []string{"160100"} }, "HS code"},
		{"no origin listed", func(s *Subject) { s.OriginCountries = []string{"US"} }, "origin"},
		{"document type differs", func(s *Subject) { s.Type = "license" }, "document type"},
	}
	for _, c := range cases {
		sub := base
		c.change(&sub)
		got := s.Mismatch(sub)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) || s.Matches(sub) != (got == "") {
			t.Errorf("%s: mismatch %q", c.name, got)
		}
	}
	if !(Scope{}).Matches(Subject{}) {
		t.Error("an empty scope must match everything")
	}
}

func TestTemplates(t *testing.T) {
	vars := map[string]any{"doc": map[string]any{"name": "Acme\nCorp", "goods": []any{map[string]any{"hs": "0306"}}, "n": int64(3),
		"obj": map[string]any{"b": 1, "a": true}, "long": strings.Repeat("é", 200)}, "at": "2026-03-01T12:00:00.000000Z"}
	cases := []struct{ tmpl, want string }{
		{"plain text", "plain text"},
		{"{{doc.name}} ships {{ doc.goods[0].hs }}", "Acme Corp ships 0306"},
		{"n={{doc.n}} obj={{doc.obj}} at {{at}}", `n=3 obj={"a":true,"b":1} at 2026-03-01T12:00:00.000000Z`},
		{"{{doc.missing}} {{doc.goods[5].hs}} {{doc.name.first}} {{parties.x}}", "<missing> <missing> <missing> <missing>"},
		{"{{doc.long}}", strings.Repeat("é", 58) + "…"},
	}
	for _, c := range cases {
		tm, err := parseTemplate(c.tmpl)
		if err != nil {
			t.Fatalf("%q: %v", c.tmpl, err)
		}
		if got := tm.render(vars); got != c.want {
			t.Errorf("%q rendered %q, want %q", c.tmpl, got, c.want)
		}
	}
	bad := []struct {
		tmpl string
		col  int
	}{{"x {{}}", 5}, {"ab\n{{doc.}}", 7}, {"{{doc[x]}}", 7}, {"{{doc + 1}}", 6}, {"{{now}}", 3}}
	for _, b := range bad {
		_, err := parseTemplate(b.tmpl)
		if err == nil || err.Column != b.col {
			t.Errorf("%q: error %+v, want column %d", b.tmpl, err, b.col)
		}
	}
}

func TestParseFileReadsYAMLAndJSONStrictly(t *testing.T) {
	yml := `
id: us-fda-fish
agency: us-fda
enforcement: Enforce
scope:
  hsPrefixes: ["03", "16"]
rules:
  - name: registered-facility
    expression: has(doc.producer.fdaRegistration)
    message: producer {{doc.producer.name}} is not registered
`
	p, err := ParseFile([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(p)
	q, err := ParseFile(raw)
	if err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("JSON round trip: %+v %v", q, err)
	}
	if _, errs := Compile(p); errs != nil {
		t.Fatal(errs)
	}
	bad := []struct{ name, file, want string }{
		{"misspelt field", strings.Replace(yml, "enforcement", "enforcment", 1), "enforcment: unknown field"},
		{"wrong type", strings.Replace(yml, `hsPrefixes: ["03", "16"]`, `hsPrefixes: "03"`, 1), "scope.hsPrefixes: wrong type"},
		{"not YAML", "id: [", "not valid YAML"},
		{"empty", " \n", "empty"},
	}
	for _, b := range bad {
		if _, err := ParseFile([]byte(b.file)); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v", b.name, err)
		}
	}
}

func TestParseTestInput(t *testing.T) {
	in, err := ParseTestInput([]byte(`{"record":{"type":"certificate","hsCodes":["030617"]},"doc":{"a":1},"at":"2026-03-01T12:00:00Z"}`))
	if err != nil || in.AtTime(time.Time{}) != at || in.Record.HSCodes[0] != "030617" {
		t.Fatalf("%+v %v", in, err)
	}
	if _, err := ParseTestInput([]byte(`{"doc":{},"at":"yesterday"}`)); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("bad time: %v", err)
	}
}
