package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/overloads"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// Compiled is a policy whose rules compiled: ready to evaluate, safe for
// concurrent use.
type Compiled struct {
	Policy Policy
	// Hash identifies the policy's content (sha256 of its JSON encoding,
	// version included).
	Hash  string
	Rules []*CompiledRule
}

// CompiledRule is one rule with its program and cost estimate.
type CompiledRule struct {
	Rule
	// MaxCost is the compile-time worst-case cost estimate (at most
	// RuleCostLimit).
	MaxCost uint64
	// tracked runs with the run-time cost limit; fast runs without cost
	// tracking and is used only on inputs within the sizes the estimate
	// assumes, where the cost cannot exceed MaxCost <= RuleCostLimit.
	tracked, fast cel.Program
	msg           template
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
)

// celEnv is the one CEL environment every node and the operator compile
// with. Library versions are pinned so that a cel-go upgrade cannot change
// what a rule means without a deliberate change here.
func celEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			cel.VariableWithDoc("doc", cel.MapType(cel.StringType, cel.DynType), "the document being applied (certificate, shipment, license) as JSON"),
			cel.VariableWithDoc("parties", cel.MapType(cel.StringType, cel.DynType), "the parties by role: exporter, producer, importer, certifier, ..."),
			cel.VariableWithDoc("licensePath", cel.ListType(cel.DynType), "the license chain from the importer's license up to the rights holder"),
			cel.VariableWithDoc("context", cel.MapType(cel.StringType, cel.DynType), "what the transaction adds around the document: action, version, previous version, referenced records"),
			cel.VariableWithDoc("agency", cel.MapType(cel.StringType, cel.DynType), "the agency that owns the policy: id, name"),
			cel.VariableWithDoc("record", cel.MapType(cel.StringType, cel.DynType), "the document's scope attributes: id, type, program, hsCodes, originCountries, destinationCountries"),
			cel.VariableWithDoc("at", cel.TimestampType, "the block time (the only clock a rule sees)"),
			ext.Strings(ext.StringsVersion(5)),
			ext.Lists(ext.ListsVersion(3), ext.ListsMaxRangeSize(EstimatedInputSize)),
			ext.Sets(),
			ext.Bindings(ext.BindingsVersion(1)),
			cel.OptionalTypes(cel.OptionalTypesVersion(2)),
			cel.DefaultUTCTimeZone(true),
			cel.CrossTypeNumericComparisons(true),
			cel.ParserExpressionSizeLimit(MaxExpressionBytes),
			cel.ASTValidators(cel.ValidateRegexLiterals(), cel.ValidateTimestampLiterals(), cel.ValidateDurationLiterals()),
		)
	})
	return env, envErr
}

// Compile checks a policy and compiles its rules. The node (at publication
// and before evaluation) and the operator (for status) call it alike, so a
// policy that compiles for one compiles for the other, with the same
// errors. It reports every error it finds, not only the first.
func Compile(p *Policy) (*Compiled, []CompileError) {
	if p == nil {
		return nil, []CompileError{{Message: "no policy"}}
	}
	e, err := celEnv()
	if err != nil {
		return nil, []CompileError{{Message: "rule environment: " + err.Error()}}
	}
	cp := clonePolicy(p)
	errs := cp.validate()
	c := &Compiled{Policy: *cp}
	for i := range cp.Rules {
		r := cp.Rules[i]
		if strings.TrimSpace(r.Expression) == "" || len(r.Expression) > MaxExpressionBytes {
			continue // reported by validate
		}
		cr, rerrs := compileRule(e, i, r)
		errs = append(errs, rerrs...)
		if cr != nil {
			c.Rules = append(c.Rules, cr)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	raw, err := json.Marshal(cp)
	if err != nil {
		return nil, []CompileError{{Message: "encode policy: " + err.Error()}}
	}
	sum := sha256.Sum256(raw)
	c.Hash = hex.EncodeToString(sum[:])
	return c, nil
}

func compileRule(e *cel.Env, i int, r Rule) (*CompiledRule, []CompileError) {
	field := fmt.Sprintf("rules[%d].expression", i)
	var errs []CompileError
	add := func(f string, line, col int, format string, args ...any) {
		errs = append(errs, CompileError{Rule: r.Name, Field: f, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
	}
	msg, terr := parseTemplate(r.Message)
	if terr != nil {
		add(fmt.Sprintf("rules[%d].message", i), terr.Line, terr.Column, "%s", terr.Message)
	}
	checked, iss := e.Compile(r.Expression)
	if iss != nil && iss.Err() != nil {
		for _, ce := range iss.Errors() {
			line, col := ce.Location.Line(), ce.Location.Column()+1
			if line <= 0 {
				line, col = 0, 0
			}
			add(field, line, col, "%s", strings.TrimSuffix(ce.Message, " (in container '')"))
		}
		return nil, errs
	}
	out := checked.OutputType()
	if !out.IsExactType(cel.BoolType) && !out.IsExactType(cel.DynType) {
		add(field, 1, 1, "the rule evaluates to %s; a rule must be a condition (bool) that is true when the document passes", cel.FormatCELType(out))
	}
	errs = append(errs, determinismChecks(checked, r.Name, field)...)
	if len(errs) > 0 {
		return nil, errs
	}
	est, err := e.EstimateCost(checked, estimator{})
	if err != nil {
		add(field, 1, 1, "cost estimate failed: %v", err)
		return nil, errs
	}
	if est.Max > RuleCostLimit {
		add(field, 1, 1, "estimated worst-case cost %s exceeds the limit of %d per rule (the estimate assumes input lists, maps and strings of up to %d items or characters, %d inside list items, %d parties and license paths of up to %d steps); avoid loops nested over input lists, and expensive string functions inside loops",
			costString(est.Max), RuleCostLimit, EstimatedInputSize, EstimatedNestedSize, EstimatedParties, EstimatedLicensePathLength)
		return nil, errs
	}
	tracked, err := e.Program(checked, cel.CostLimit(RuleCostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		add(field, 1, 1, "%v", err)
		return nil, errs
	}
	fast, err := e.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		add(field, 1, 1, "%v", err)
		return nil, errs
	}
	return &CompiledRule{Rule: r, MaxCost: est.Max, tracked: tracked, fast: fast, msg: msg}, nil
}

func costString(c uint64) string {
	if c >= 1<<50 {
		return "(unbounded: a size the estimate cannot bound, e.g. a list built by a function)"
	}
	return fmt.Sprint(c)
}

// tzOverloads read a time in a named time zone: the answer depends on the
// time zone database installed on each node, which may differ.
var tzOverloads = map[string]bool{
	overloads.TimestampToYearWithTz:                true,
	overloads.TimestampToMonthWithTz:               true,
	overloads.TimestampToDayOfYearWithTz:           true,
	overloads.TimestampToDayOfMonthZeroBasedWithTz: true,
	overloads.TimestampToDayOfMonthOneBasedWithTz:  true,
	overloads.TimestampToDayOfWeekWithTz:           true,
	overloads.TimestampToHoursWithTz:               true,
	overloads.TimestampToMinutesWithTz:             true,
	overloads.TimestampToSecondsWithTz:             true,
	overloads.TimestampToMillisecondsWithTz:        true,
}

// determinismChecks refuse constructs whose result could differ between
// nodes: map literals of several entries (CEL iterates them in Go map
// order; {} and {k: v} have one order) and time zone names (each node's
// time zone database).
func determinismChecks(checked *cel.Ast, rule, field string) []CompileError {
	native := checked.NativeRep()
	info := native.SourceInfo()
	var errs []CompileError
	at := func(id int64, msg string) {
		loc := info.GetStartLocation(id)
		line, col := loc.Line(), loc.Column()+1
		if line <= 0 {
			line, col = 1, 1
		}
		errs = append(errs, CompileError{Rule: rule, Field: field, Line: line, Column: col, Message: msg})
	}
	ast.PostOrderVisit(native.Expr(), ast.NewExprVisitor(func(ex ast.Expr) {
		switch ex.Kind() {
		case ast.MapKind:
			if ex.AsMap().Size() > 1 {
				at(ex.ID(), "map literals with more than one entry are not allowed in rules: their iteration order is not the same on every node; use a list (x in ['a', 'b']) or a chain of conditions")
			}
		case ast.StructKind:
			at(ex.ID(), "message literals are not allowed in rules; compare fields of the inputs instead")
		case ast.ComprehensionKind:
			comp := ex.AsComprehension()
			for _, v := range []string{comp.IterVar(), comp.IterVar2(), comp.AccuVar()} {
				if isVariable(v) {
					at(ex.ID(), fmt.Sprintf("the loop or cel.bind variable %q hides the input of that name; choose another name", v))
					break
				}
			}
		case ast.CallKind:
			for _, o := range native.GetOverloadIDs(ex.ID()) {
				if tzOverloads[o] {
					at(ex.ID(), "time zone arguments are not allowed: time zone databases differ between nodes; use the UTC accessors without a time zone (e.g. at.getHours())")
					break
				}
			}
		}
	}))
	return errs
}

// estimator bounds the inputs for the compile-time cost estimate (see
// EstimatedInputSize and its neighbours). Values whose size the estimate
// cannot bound stay unbounded, and a rule that depends on them is refused.
type estimator struct{}

func (estimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if est := estimatedSize(n.Path(), n.Type()); est != nil || n.Path() != nil {
		return est
	}
	// Optional access (doc.?a.?b.orValue({})) and indexing lose the path
	// the checker tracks; the value still comes from an input.
	if root, selected, indexed := fromInput(n.Expr(), 0); root != "" {
		switch {
		case indexed:
			return &checker.SizeEstimate{Max: EstimatedNestedSize}
		case selected:
			return &checker.SizeEstimate{Max: EstimatedInputSize}
		}
		return estimatedSize([]string{root}, nil)
	}
	return nil
}

func estimatedSize(p []string, t *types.Type) *checker.SizeEstimate {
	if t != nil {
		switch t.Kind() {
		case types.StringKind, types.BytesKind, types.ListKind, types.MapKind, types.DynKind, types.AnyKind, types.TypeParamKind:
		default:
			return &checker.SizeEstimate{Min: 1, Max: 1} // scalars, types, timestamps: no size to bound
		}
	}
	if len(p) == 0 || !isVariable(p[0]) || p[0] == "at" {
		return nil
	}
	if len(p) == 1 {
		switch p[0] {
		case "licensePath":
			return &checker.SizeEstimate{Max: EstimatedLicensePathLength}
		case "parties":
			return &checker.SizeEstimate{Max: EstimatedParties}
		}
	}
	for _, e := range p[1:] {
		if e == "@items" || e == "@values" || e == "@keys" {
			return &checker.SizeEstimate{Max: EstimatedNestedSize}
		}
	}
	return &checker.SizeEstimate{Max: EstimatedInputSize}
}

// fromInput finds the input variable e is reached from through selects,
// indexes, optional selects and orValue with a small literal default ("" if
// none), and whether the way went through a field or an element.
func fromInput(e ast.Expr, depth int) (root string, selected, indexed bool) {
	if depth > 64 {
		return "", false, false
	}
	switch e.Kind() {
	case ast.IdentKind:
		if name := e.AsIdent(); isVariable(name) && name != "at" {
			return name, false, false
		}
	case ast.SelectKind:
		root, _, indexed = fromInput(e.AsSelect().Operand(), depth+1)
		return root, true, indexed
	case ast.CallKind:
		call := e.AsCall()
		args := call.Args()
		switch call.FunctionName() {
		case operators.Index, operators.OptIndex:
			if len(args) == 2 {
				root, selected, _ = fromInput(args[0], depth+1)
				return root, selected, true
			}
		case operators.OptSelect:
			if len(args) == 2 {
				root, _, indexed = fromInput(args[0], depth+1)
				return root, true, indexed
			}
		case "orValue":
			if call.IsMemberFunction() && len(args) == 1 && smallLiteral(args[0]) {
				return fromInput(call.Target(), depth+1)
			}
		case "value":
			if call.IsMemberFunction() {
				return fromInput(call.Target(), depth+1)
			}
		}
	}
	return "", false, false
}

// smallLiteral: a constant, or an empty list or map literal.
func smallLiteral(e ast.Expr) bool {
	switch e.Kind() {
	case ast.LiteralKind:
		if str, ok := e.AsLiteral().(types.String); ok {
			return len(str) <= EstimatedInputSize
		}
		return true
	case ast.ListKind:
		return e.AsList().Size() == 0
	case ast.MapKind:
		return e.AsMap().Size() == 0
	}
	return false
}

func (estimator) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	return nil
}

func clonePolicy(p *Policy) *Policy {
	cp := *p
	cp.Scope = Scope{
		Programs:             append([]string(nil), p.Scope.Programs...),
		HSPrefixes:           append([]string(nil), p.Scope.HSPrefixes...),
		OriginCountries:      append([]string(nil), p.Scope.OriginCountries...),
		DestinationCountries: append([]string(nil), p.Scope.DestinationCountries...),
		DocumentTypes:        append([]string(nil), p.Scope.DocumentTypes...),
	}
	cp.Rules = append([]Rule(nil), p.Rules...)
	return &cp
}
