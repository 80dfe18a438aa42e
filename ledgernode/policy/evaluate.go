package policy

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Subject is what decides whether a policy is in scope for a document. It
// is also the input variable `record`.
type Subject struct {
	ID                   string   `json:"id,omitempty"`
	Type                 string   `json:"type,omitempty"`    // certificate, shipment, license
	Program              string   `json:"program,omitempty"` // USMCA, CAFTA-DR, NAFTA, IPR
	HSCodes              []string `json:"hsCodes,omitempty"`
	OriginCountries      []string `json:"originCountries,omitempty"`
	DestinationCountries []string `json:"destinationCountries,omitempty"`
}

// Matches says whether the scope covers the subject.
func (s Scope) Matches(sub Subject) bool { return s.Mismatch(sub) == "" }

// Mismatch explains why the scope does not cover the subject ("" when it
// does).
func (s Scope) Mismatch(sub Subject) string {
	if len(s.DocumentTypes) > 0 && !contains(s.DocumentTypes, sub.Type) {
		return fmt.Sprintf("document type %q is not in %v", sub.Type, s.DocumentTypes)
	}
	if len(s.Programs) > 0 && !contains(s.Programs, sub.Program) {
		return fmt.Sprintf("program %q is not in %v", sub.Program, s.Programs)
	}
	if len(s.HSPrefixes) > 0 && !anyPrefix(sub.HSCodes, s.HSPrefixes) {
		return fmt.Sprintf("no HS code of %v starts with one of %v", sub.HSCodes, s.HSPrefixes)
	}
	if len(s.OriginCountries) > 0 && !anyIn(sub.OriginCountries, s.OriginCountries) {
		return fmt.Sprintf("no country of origin of %v is in %v", sub.OriginCountries, s.OriginCountries)
	}
	if len(s.DestinationCountries) > 0 && !anyIn(sub.DestinationCountries, s.DestinationCountries) {
		return fmt.Sprintf("no country of destination of %v is in %v", sub.DestinationCountries, s.DestinationCountries)
	}
	return ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func anyIn(vals, list []string) bool {
	for _, v := range vals {
		if contains(list, v) {
			return true
		}
	}
	return false
}

func anyPrefix(codes, prefixes []string) bool {
	for _, c := range codes {
		for _, p := range prefixes {
			if strings.HasPrefix(c, p) {
				return true
			}
		}
	}
	return false
}

// Input is what rules read about one document (DESIGN.md, "Inputs", gives
// the shape each document type has). Doc, Parties, LicensePath and Context
// may be any JSON-encodable values (structs, maps, raw JSON); they are
// normalized once by Prepare.
type Input struct {
	Record      Subject
	Doc         any // a JSON object; nil means {}
	Parties     any // a JSON object keyed by role; nil means {}
	LicensePath any // a JSON array; nil means []
	// Context is what the transaction adds around the document (action,
	// version, previous version, referenced records): a JSON object; nil
	// means {}.
	Context any
	At      time.Time
	// TrackCost measures every rule's cost (Outcome.Cost), as `ledgerctl
	// policy test` shows it. The ledger leaves it off: rules then run with
	// cost tracking only when the inputs exceed the sizes the compile-time
	// estimate assumes.
	TrackCost bool
}

// Agency is what a rule sees as `agency`: the policy's owner.
type Agency struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Country  string   `json:"country,omitempty"`
	Programs []string `json:"programs,omitempty"`
}

// native is the agency as a JSON object (the fields its JSON encoding has).
func (a Agency) native() map[string]any {
	m := map[string]any{"id": a.ID}
	if a.Name != "" {
		m["name"] = a.Name
	}
	if a.Country != "" {
		m["country"] = a.Country
	}
	if len(a.Programs) > 0 {
		ps := make([]any, len(a.Programs))
		for i, p := range a.Programs {
			ps[i] = p
		}
		m["programs"] = ps
	}
	return m
}

// Prepared is an Input converted once into CEL values, shared by every
// policy evaluated on the same document. Safe for concurrent reads.
type Prepared struct {
	vals   map[string]ref.Val
	native map[string]any
	err    error
	// inBounds: every input is within the sizes the compile-time estimate
	// assumes, so no rule can exceed its estimated cost and rules run
	// without cost tracking (the same result, faster). Otherwise they run
	// with the run-time limit.
	inBounds  bool
	trackCost bool
}

// Err is why the input cannot be evaluated (nil when it can); every rule
// evaluated on it ends in an error.
func (p *Prepared) Err() error { return p.err }

// Prepare normalizes and converts an input.
func Prepare(in Input) *Prepared {
	p := &Prepared{vals: map[string]ref.Val{}, native: map[string]any{}}
	total := 0
	norm := func(name string, v any, def any, kind string) {
		if p.err != nil {
			return
		}
		n, size, err := normalize(v)
		if err == nil && n == nil { // absent or JSON null (a nil map or slice included)
			n = def
		}
		total += size
		if err == nil && total > MaxInputBytes {
			err = fmt.Errorf("inputs are %d bytes of JSON together; at most %d can be evaluated", total, MaxInputBytes)
		}
		if err != nil {
			p.err = fmt.Errorf("input %s: %w", name, err)
			return
		}
		switch kind {
		case "object":
			if _, ok := n.(map[string]any); !ok {
				p.err = fmt.Errorf("input %s must be a JSON object, not %s", name, jsonKindOf(n))
				return
			}
		case "array":
			if _, ok := n.([]any); !ok {
				p.err = fmt.Errorf("input %s must be a JSON array, not %s", name, jsonKindOf(n))
				return
			}
		}
		p.native[name] = n
		p.vals[name] = toVal(n)
	}
	norm("record", in.Record, nil, "object")
	norm("doc", in.Doc, map[string]any{}, "object")
	norm("parties", in.Parties, map[string]any{}, "object")
	norm("licensePath", in.LicensePath, []any{}, "array")
	norm("context", in.Context, map[string]any{}, "object")
	at := in.At.UTC()
	p.vals["at"] = types.Timestamp{Time: at}
	p.native["at"] = tx.FormatTime(at)
	p.trackCost = in.TrackCost
	if p.err == nil {
		p.inBounds = withinEstimate(p.native)
	}
	return p
}

// withinEstimate says whether the inputs are no larger than the
// compile-time estimate assumes, whatever path a rule takes to a value:
// top-level inputs within their own bounds (licensePath and parties
// EstimatedLicensePathLength and EstimatedParties, the others
// EstimatedInputSize), everything inside them within EstimatedNestedSize
// (the smallest bound any path gets).
func withinEstimate(native map[string]any) bool {
	for name, v := range native {
		limit := EstimatedInputSize
		switch name {
		case "licensePath":
			limit = EstimatedLicensePathLength
		case "parties":
			limit = EstimatedParties
		case "at":
			continue
		}
		if sizeOf(v) > limit {
			return false
		}
		if !nestedWithin(v, 0) {
			return false
		}
	}
	return true
}

// sizeOf is CEL's size(): characters of a string, items of a list or map.
func sizeOf(v any) int {
	switch x := v.(type) {
	case string:
		return utf8.RuneCountInString(x)
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return 0
}

// nestedWithin checks every value inside v (not v itself).
func nestedWithin(v any, depth int) bool {
	check := func(e any) bool {
		if sizeOf(e) > EstimatedNestedSize {
			return false
		}
		return nestedWithin(e, depth+1)
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if !check(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range x {
			if utf8.RuneCountInString(k) > EstimatedNestedSize || !check(e) {
				return false
			}
		}
	}
	return true
}

func jsonKindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// activation resolves the input variables for one policy's rules.
type activation struct {
	p      *Prepared
	agency ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	if name == "agency" {
		return a.agency, true
	}
	v, ok := a.p.vals[name]
	return v, ok
}

func (a *activation) Parent() interpreter.Activation { return nil }

// Outcome is the result of one rule.
type Outcome struct {
	Rule    string `json:"rule"`
	Result  string `json:"result"` // pass, fail, error
	Message string `json:"message,omitempty"`
	Cost    uint64 `json:"cost"` // CEL cost actually spent
}

// Verdict is the result of one policy on one document.
type Verdict struct {
	Policy      string    `json:"policy"`
	Agency      string    `json:"agency"`
	Version     int       `json:"version"`
	Enforcement string    `json:"enforcement"`
	Outcomes    []Outcome `json:"outcomes"`
}

// Failed says whether any rule failed or could not be evaluated.
func (v *Verdict) Failed() bool {
	for _, o := range v.Outcomes {
		if o.Result != ResultPass {
			return true
		}
	}
	return false
}

// Rejects says whether the verdict rejects the document: an Enforce
// policy with a rule that failed or could not be evaluated (fail closed).
func (v *Verdict) Rejects() bool { return v.Enforcement == Enforce && v.Failed() }

// Decision is one word for the verdict: "accept", "reject", or for Audit
// and DryRun policies whose rules failed, "accept (audit: would reject)"
// and "accept (dry run: would reject)".
func (v *Verdict) Decision() string {
	switch {
	case !v.Failed():
		return "accept"
	case v.Enforcement == Enforce:
		return "reject"
	case v.Enforcement == DryRun:
		return "accept (dry run: would reject)"
	}
	return "accept (audit: would reject)"
}

// Findings are the verdict as receipt findings, one per rule, in rule
// order.
func (v *Verdict) Findings() []chain.Finding {
	out := make([]chain.Finding, len(v.Outcomes))
	for i, o := range v.Outcomes {
		out[i] = chain.Finding{Source: "policy/" + v.Policy, Version: v.Version, Rule: o.Rule, Enforcement: v.Enforcement,
			Result: o.Result, Message: o.Message}
	}
	return out
}

// Evaluate runs every rule on the prepared input, in rule order. It is a
// pure function of the policy, the input and the agency: no clock, no
// randomness, no I/O.
func (c *Compiled) Evaluate(in *Prepared, agency Agency) *Verdict {
	v := &Verdict{Policy: c.Policy.ID, Agency: c.Policy.Agency, Version: c.Policy.Version, Enforcement: c.Policy.Enforcement,
		Outcomes: make([]Outcome, 0, len(c.Rules))}
	if in.err != nil {
		for _, r := range c.Rules {
			v.Outcomes = append(v.Outcomes, Outcome{Rule: r.Name, Result: ResultError, Message: cut("cannot evaluate: "+in.err.Error(), MaxRenderedMessage)})
		}
		return v
	}
	if agency.ID == "" {
		agency.ID = c.Policy.Agency
	}
	agencyNative := agency.native()
	act := &activation{p: in, agency: toVal(agencyNative)}
	var vars map[string]any // for messages, built on the first failure
	for _, r := range c.Rules {
		o := r.eval(act)
		if o.Result == ResultFail {
			if vars == nil {
				vars = make(map[string]any, len(in.native)+1)
				for k, x := range in.native {
					vars[k] = x
				}
				vars["agency"] = agencyNative
			}
			o.Message = r.failMessage(vars)
		}
		v.Outcomes = append(v.Outcomes, o)
	}
	return v
}

func (r *CompiledRule) eval(act *activation) (o Outcome) {
	o.Rule = r.Name
	prog := r.tracked
	if act.p.inBounds && !act.p.trackCost {
		prog = r.fast
	}
	out, det, err := prog.Eval(act)
	if det != nil && det.ActualCost() != nil {
		o.Cost = *det.ActualCost()
	}
	if err != nil {
		o.Result, o.Message = ResultError, cut("evaluation error (the rule fails closed under Enforce): "+err.Error(), MaxRenderedMessage)
		return o
	}
	b, ok := out.(types.Bool)
	if !ok {
		o.Result, o.Message = ResultError, fmt.Sprintf("the rule returned %s, not a bool; make it a condition", out.Type().TypeName())
		return o
	}
	if b {
		o.Result = ResultPass
	} else {
		o.Result = ResultFail
	}
	return o
}

func (r *CompiledRule) failMessage(vars map[string]any) string {
	if len(r.msg) == 0 {
		return fmt.Sprintf("rule %s is not satisfied", r.Name)
	}
	return r.msg.render(vars)
}
