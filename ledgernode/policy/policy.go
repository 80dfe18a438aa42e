package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// Enforcement modes.
const (
	// Enforce: a failing rule (or one that cannot be evaluated) rejects the
	// transaction.
	Enforce = "Enforce"
	// Audit: the transaction is accepted; every outcome is recorded.
	Audit = "Audit"
	// DryRun: like Audit, for a policy being tried out: the findings say
	// what Enforce would have done.
	DryRun = "DryRun"
)

// Rule outcomes, as recorded in receipt findings.
const (
	ResultPass  = "pass"
	ResultFail  = "fail"
	ResultError = "error"
)

// Limits of a policy. They are part of the consensus rules: every node must
// apply the same ones (changing them is a coordinated upgrade).
const (
	// RuleCostLimit bounds the CEL cost of one rule, both the compile-time
	// worst-case estimate (publication refuses rules that could exceed it)
	// and the cost actually spent at run time (an evaluation that reaches
	// it stops with an error, which fails closed under Enforce).
	RuleCostLimit = 1_000_000
	// EstimatedInputSize, EstimatedNestedSize, EstimatedParties and
	// EstimatedLicensePathLength are what the compile-time estimate assumes
	// about the inputs: every list, map and string of an input holds at
	// most EstimatedInputSize items or characters, those inside the items
	// of a list or map at most EstimatedNestedSize, parties has at most
	// EstimatedParties roles and the license path at most
	// EstimatedLicensePathLength steps. Larger inputs are still evaluated;
	// the run-time limit applies to them.
	EstimatedInputSize         = 1024
	EstimatedNestedSize        = 256
	EstimatedParties           = 16
	EstimatedLicensePathLength = 16
	// MaxRules is the most rules one policy may have.
	MaxRules = 64
	// MaxExpressionBytes bounds a rule's CEL expression.
	MaxExpressionBytes = 4096
	// MaxMessageBytes bounds a rule's message template.
	MaxMessageBytes = 512
	// MaxScopeEntries bounds each list of a scope.
	MaxScopeEntries = 256
	// MaxDescriptionBytes bounds a policy's description.
	MaxDescriptionBytes = 1024
)

// Policy is one agency's set of rules with the documents it applies to.
// Policies are published, updated and withdrawn on the ledger by the owning
// agency only; every node evaluates them identically.
type Policy struct {
	// ID names the policy on the ledger, e.g. "us-fda-registered-facility".
	ID string `json:"id"`
	// Agency is the owning agency's id: the policy is signed by a key of
	// the identity "agency/<Agency>".
	Agency string `json:"agency"`
	// Version is assigned by the ledger (1 at publication, +1 per update).
	// In an update payload a non-zero Version must be the version the
	// update creates (compare-and-set).
	Version     int    `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	Scope       Scope  `json:"scope"`
	// Enforcement is Enforce, Audit or DryRun.
	Enforcement string `json:"enforcement"`
	Rules       []Rule `json:"rules"`
}

// Scope says which documents a policy applies to. Every non-empty list must
// match (an empty list matches anything): the document's type and program
// must be listed, and at least one of its HS codes, countries of origin and
// countries of destination must match the corresponding list.
type Scope struct {
	Programs             []string `json:"programs,omitempty"`             // USMCA, CAFTA-DR, NAFTA, IPR
	HSPrefixes           []string `json:"hsPrefixes,omitempty"`           // 2, 4 or 6 digits: "03", "1601", "030617"
	OriginCountries      []string `json:"originCountries,omitempty"`      // ISO 3166-1 alpha-2
	DestinationCountries []string `json:"destinationCountries,omitempty"` // ISO 3166-1 alpha-2
	DocumentTypes        []string `json:"documentTypes,omitempty"`        // certificate, shipment, license
}

// Rule is one CEL expression that must evaluate to true for a document to
// pass. Message is shown when it does not; it may quote input values with
// {{path}} placeholders (see template.go).
type Rule struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	Message    string `json:"message,omitempty"`
}

// CompileError is one reason a policy does not compile: the rule (if any),
// the field at fault, the position inside the expression or message
// (1-based; 0 when not about a position) and what is wrong.
type CompileError struct {
	Rule    string `json:"rule,omitempty"`
	Field   string `json:"field,omitempty"` // e.g. "rules[2].expression", "scope.hsPrefixes[0]"
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (e CompileError) Error() string {
	var b strings.Builder
	switch {
	case e.Rule != "":
		fmt.Fprintf(&b, "rule %q", e.Rule)
		if e.Field != "" {
			fmt.Fprintf(&b, " (%s)", e.Field)
		}
	case e.Field != "":
		b.WriteString(e.Field)
	default:
		b.WriteString("policy")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d, column %d", e.Line, e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

var (
	idPattern      = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$`)
	agencyPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)
	ruleNamePat    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)
	programPattern = regexp.MustCompile(`^[A-Z][A-Z0-9-]{0,15}$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	hsPattern      = regexp.MustCompile(`^[0-9]{2}([0-9]{2}){0,2}$`)
	docTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// ValidID says whether id can name a policy.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// ValidAgency says whether id can name an agency (the part after "agency/").
func ValidAgency(id string) bool { return agencyPattern.MatchString(id) }

// validate checks everything but the expressions and templates.
func (p *Policy) validate() []CompileError {
	var errs []CompileError
	add := func(field, format string, args ...any) {
		errs = append(errs, CompileError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !ValidID(p.ID) {
		add("id", "%q: must be 1-64 lower-case letters, digits, '.' or '-', starting and ending with a letter or digit", short(p.ID))
	}
	if !ValidAgency(p.Agency) {
		add("agency", "%q: must be an agency id such as us-fda (the name after agency/)", short(p.Agency))
	}
	if p.Version < 0 {
		add("version", "%d: must not be negative (the ledger assigns versions)", p.Version)
	}
	if len(p.Description) > MaxDescriptionBytes {
		add("description", "at most %d bytes", MaxDescriptionBytes)
	}
	switch p.Enforcement {
	case Enforce, Audit, DryRun:
	default:
		add("enforcement", "%q: must be Enforce, Audit or DryRun", short(p.Enforcement))
	}
	scopeList := func(name string, vals []string, pat *regexp.Regexp, want string) {
		if len(vals) > MaxScopeEntries {
			add("scope."+name, "at most %d entries", MaxScopeEntries)
			return
		}
		seen := map[string]bool{}
		for i, v := range vals {
			f := fmt.Sprintf("scope.%s[%d]", name, i)
			if !pat.MatchString(v) {
				add(f, "%q: must be %s", short(v), want)
			} else if seen[v] {
				add(f, "%q: listed twice", v)
			}
			seen[v] = true
		}
	}
	scopeList("programs", p.Scope.Programs, programPattern, "a program code in capitals such as USMCA, CAFTA-DR, NAFTA or IPR")
	scopeList("hsPrefixes", p.Scope.HSPrefixes, hsPattern, "2, 4 or 6 digits of an HS code, e.g. 03 or 1601")
	for i, v := range p.Scope.HSPrefixes {
		if hsPattern.MatchString(v) && (v[:2] == "00" || v[:2] > "97") {
			add(fmt.Sprintf("scope.hsPrefixes[%d]", i), "%q: HS chapters run from 01 to 97", v)
		}
	}
	scopeList("originCountries", p.Scope.OriginCountries, countryPattern, "an ISO 3166-1 alpha-2 code in capitals, e.g. MX")
	scopeList("destinationCountries", p.Scope.DestinationCountries, countryPattern, "an ISO 3166-1 alpha-2 code in capitals, e.g. US")
	scopeList("documentTypes", p.Scope.DocumentTypes, docTypePattern, "a document type in lower case: certificate, shipment or license")
	if len(p.Rules) == 0 {
		add("rules", "at least one rule is required")
	}
	if len(p.Rules) > MaxRules {
		add("rules", "%d rules: at most %d", len(p.Rules), MaxRules)
	}
	names := map[string]bool{}
	for i, r := range p.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		ruleErr := func(field, format string, args ...any) {
			errs = append(errs, CompileError{Rule: r.Name, Field: f + "." + field, Message: fmt.Sprintf(format, args...)})
		}
		if !ruleNamePat.MatchString(r.Name) {
			ruleErr("name", "%q: must be 1-63 letters, digits, '_' or '-', starting with a letter", short(r.Name))
		} else if names[r.Name] {
			ruleErr("name", "%q: two rules have this name; names must be unique in a policy", r.Name)
		}
		names[r.Name] = true
		if strings.TrimSpace(r.Expression) == "" {
			ruleErr("expression", "required: a CEL expression that is true when the document passes")
		} else if len(r.Expression) > MaxExpressionBytes {
			ruleErr("expression", "%d bytes: at most %d", len(r.Expression), MaxExpressionBytes)
		}
		if len(r.Message) > MaxMessageBytes {
			ruleErr("message", "%d bytes: at most %d", len(r.Message), MaxMessageBytes)
		}
	}
	return errs
}

func short(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
