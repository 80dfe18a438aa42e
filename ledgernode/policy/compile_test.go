package policy

import (
	"strings"
	"testing"
)

func validPolicy() *Policy {
	return &Policy{ID: "us-fda-fish", Agency: "us-fda", Enforcement: Enforce,
		Scope: Scope{Programs: []string{"USMCA"}, HSPrefixes: []string{"03", "16"}, DestinationCountries: []string{"US"}, DocumentTypes: []string{"certificate"}},
		Rules: []Rule{{Name: "registered-facility", Expression: `has(doc.producer.fdaRegistration)`, Message: "producer {{doc.producer.name}} is not registered"}}}
}

func TestValidPolicyCompiles(t *testing.T) {
	c, errs := Compile(validPolicy())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(c.Rules) != 1 || c.Rules[0].MaxCost == 0 || c.Rules[0].MaxCost > RuleCostLimit || len(c.Hash) != 64 {
		t.Fatalf("compiled = %+v", c)
	}
	again, _ := Compile(validPolicy())
	if again.Hash != c.Hash {
		t.Fatal("hash is not a function of the content")
	}
}

func TestCompileRefusesWithRuleFieldAndPosition(t *testing.T) {
	cases := []struct {
		name   string
		change func(p *Policy)
		want   CompileError // Message is matched as a substring
	}{
		{"syntax error", func(p *Policy) { p.Rules[0].Expression = "doc.a ==\n  == 1" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Line: 2, Column: 3, Message: "Syntax error"}},
		{"unknown variable", func(p *Policy) { p.Rules[0].Expression = "certificate.x == 1" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Line: 1, Column: 1, Message: "undeclared reference to 'certificate'"}},
		{"unknown function", func(p *Policy) { p.Rules[0].Expression = "doc.name.shout()" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Line: 1, Column: 15, Message: "undeclared reference to 'shout'"}},
		{"not a condition", func(p *Policy) { p.Rules[0].Expression = "size(doc)" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Line: 1, Column: 1, Message: "evaluates to int"}},
		{"map literal", func(p *Policy) { p.Rules[0].Expression = "doc.a == 1 || {'x': 1, 'y': 2}.exists(k, k == 'x')" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Line: 1, Column: 15, Message: "map literals with more than one entry are not allowed"}},
		{"time zone", func(p *Policy) { p.Rules[0].Expression = "at.getHours('Europe/Paris') < 18" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Line: 1, Column: 12, Message: "time zone arguments are not allowed"}},
		{"loop variable hides an input", func(p *Policy) { p.Rules[0].Expression = "doc.goods.all(doc, doc.x == 1)" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Message: `variable "doc" hides the input`}},
		{"bad regex literal", func(p *Policy) { p.Rules[0].Expression = "doc.name.matches('[')" },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Message: "invalid matches argument"}},
		{"cost over the limit", func(p *Policy) {
			p.Rules[0].Expression = "doc.goods.all(a, doc.goods.all(b, a.hsCode != b.hsCode || a == b))"
		}, CompileError{Rule: "registered-facility", Field: "rules[0].expression", Line: 1, Column: 1, Message: "exceeds the limit of 1000000 per rule"}},
		{"unbounded cost", func(p *Policy) {
			p.Rules[0].Expression = "lists.range(size(doc.goods) * 1000).all(i, i >= 0)"
		}, CompileError{Rule: "registered-facility", Field: "rules[0].expression", Message: "exceeds the limit"}},
		{"empty expression", func(p *Policy) { p.Rules[0].Expression = "  " },
			CompileError{Rule: "registered-facility", Field: "rules[0].expression", Message: "required"}},
		{"unknown template variable", func(p *Policy) { p.Rules[0].Message = "see {{certificate.id}}" },
			CompileError{Rule: "registered-facility", Field: "rules[0].message", Line: 1, Column: 7, Message: `unknown variable "certificate"`}},
		{"unclosed placeholder", func(p *Policy) { p.Rules[0].Message = "see {{doc.id" },
			CompileError{Rule: "registered-facility", Field: "rules[0].message", Line: 1, Column: 5, Message: "not closed"}},
		{"duplicate rule name", func(p *Policy) { p.Rules = append(p.Rules, p.Rules[0]) },
			CompileError{Rule: "registered-facility", Field: "rules[1].name", Message: "names must be unique"}},
		{"bad rule name", func(p *Policy) { p.Rules[0].Name = "1st rule" },
			CompileError{Rule: "1st rule", Field: "rules[0].name", Message: "must be 1-63 letters"}},
		{"no rules", func(p *Policy) { p.Rules = nil }, CompileError{Field: "rules", Message: "at least one rule"}},
		{"bad enforcement", func(p *Policy) { p.Enforcement = "enforce" }, CompileError{Field: "enforcement", Message: "must be Enforce, Audit or DryRun"}},
		{"bad id", func(p *Policy) { p.ID = "US FDA" }, CompileError{Field: "id", Message: "lower-case"}},
		{"bad agency", func(p *Policy) { p.Agency = "agency/us-fda" }, CompileError{Field: "agency", Message: "the name after agency/"}},
		{"HS prefix with letters", func(p *Policy) { p.Scope.HSPrefixes = []string{"84A1"} }, CompileError{Field: "scope.hsPrefixes[0]", Message: "2, 4 or 6 digits"}},
		{"HS chapter 98", func(p *Policy) { p.Scope.HSPrefixes = []string{"98"} }, CompileError{Field: "scope.hsPrefixes[0]", Message: "01 to 97"}},
		{"lower-case country", func(p *Policy) { p.Scope.OriginCountries = []string{"mx"} }, CompileError{Field: "scope.originCountries[0]", Message: "ISO 3166-1"}},
		{"duplicate program", func(p *Policy) { p.Scope.Programs = []string{"USMCA", "USMCA"} }, CompileError{Field: "scope.programs[1]", Message: "listed twice"}},
		{"document type in capitals", func(p *Policy) { p.Scope.DocumentTypes = []string{"Certificate"} }, CompileError{Field: "scope.documentTypes[0]", Message: "lower case"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := validPolicy()
			c.change(p)
			got, errs := Compile(p)
			if got != nil || len(errs) == 0 {
				t.Fatal("compiled, want an error")
			}
			e := errs[0]
			if e.Rule != c.want.Rule || e.Field != c.want.Field || !strings.Contains(e.Message, c.want.Message) ||
				(c.want.Line != 0 && (e.Line != c.want.Line || e.Column != c.want.Column)) {
				t.Fatalf("error = %+v\nwant   %+v", e, c.want)
			}
			if e.Error() == "" || !strings.Contains(e.Error(), c.want.Message) {
				t.Fatalf("Error() = %q", e.Error())
			}
		})
	}
}

func TestCompileReportsEveryBrokenRule(t *testing.T) {
	p := validPolicy()
	p.Rules = []Rule{{Name: "a", Expression: "doc.x ==="}, {Name: "b", Expression: "true"}, {Name: "c", Expression: "nope"}}
	_, errs := Compile(p)
	rules := map[string]bool{}
	for _, e := range errs {
		rules[e.Rule] = true
	}
	if len(rules) != 2 || !rules["a"] || !rules["c"] || errs[len(errs)-1].Message != "undeclared reference to 'nope'" {
		t.Fatalf("errors = %+v", errs)
	}
	if got := errs[0].Error(); !strings.HasPrefix(got, `rule "a" (rules[0].expression) line 1, column`) {
		t.Fatalf("Error() = %q", got)
	}
}

func TestCompileDoesNotChangeItsInput(t *testing.T) {
	p := validPolicy()
	p.Version = 3
	before := *p
	c, _ := Compile(p)
	c.Policy.Scope.HSPrefixes[0] = "99"
	if p.Scope.HSPrefixes[0] != before.Scope.HSPrefixes[0] || p.Version != 3 {
		t.Fatal("Compile shares or changes the caller's policy")
	}
}

func TestTypicalRulesStayWellInsideTheCostLimit(t *testing.T) {
	rules := []string{
		`doc.goods.all(g, g.hsCode.startsWith('03') ? has(doc.producer.fdaRegistration) : true)`,
		`doc.goods.all(g, g.description.lowerAscii().contains('shrimp'))`,
		`doc.originCriterion != 'C' || doc.?producer.name.orValue('Various') != 'Various'`,
		`!(doc.exporter.name in ['Sanctioned Trading Co', 'Blocked Exports SA'])`,
		`licensePath.all(l, l.territory.exists(c, c == 'US'))`,
		`parties.all(role, !(parties[role].?country.orValue('') in ['KP', 'IR', 'SY', 'CU']))`,
		`timestamp(doc.validUntil) - timestamp(doc.validFrom) <= duration('8784h')`,
		`at < timestamp(doc.signed) + duration('35064h')`,
		`cel.bind(hs, doc.goods.map(g, g.hsCode), hs.exists(h, h.startsWith('16')))`,
		`sets.intersects(record.originCountries, ['MX', 'CA'])`,
		`'fda-ffr' in parties.?producer.?identifiers.orValue({})`,
		`{'only': doc.a}.only == 1`,
		`doc.?goods.orValue([]).exists(g, g.?originCriterion.orValue('') == 'C')`,
		`!(parties.?producer.?name.orValue('').lowerAscii() in ['various'])`,
	}
	for _, r := range rules {
		p := validPolicy()
		p.Rules[0].Expression = r
		c, errs := Compile(p)
		if len(errs) > 0 {
			t.Errorf("%s: %v", r, errs)
			continue
		}
		if c.Rules[0].MaxCost > RuleCostLimit/2 {
			t.Errorf("%s: estimated %d", r, c.Rules[0].MaxCost)
		}
	}
}
