package controllers

import (
	"strings"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
)

// buildPolicyDocument is the ledger's form of a CertificatePolicy (pure): the
// payload of policy.publish and policy.update.
func buildPolicyDocument(cp *ledgerv1.CertificatePolicy, agencyID string) *policy.Policy {
	d := &policy.Policy{ID: cp.Name, Agency: agencyID, Description: cp.Spec.Description, Enforcement: string(cp.Spec.Enforcement),
		Scope: policy.Scope{Programs: cp.Spec.Scope.Programs, HSPrefixes: cp.Spec.Scope.HSPrefixes, OriginCountries: cp.Spec.Scope.OriginCountries,
			DestinationCountries: cp.Spec.Scope.DestinationCountries, DocumentTypes: cp.Spec.Scope.DocumentTypes}}
	for _, r := range cp.Spec.Rules {
		d.Rules = append(d.Rules, policy.Rule{Name: r.Name, Expression: r.Expression, Message: r.Message})
	}
	return d
}

// PolicyCompiler compiles a policy with the engine the nodes use, so that
// an invalid policy is reported in status before anything is signed.
type PolicyCompiler interface {
	Compile(doc *policy.Policy) []ledgerv1.CompileError
}

// EngineCompiler is the nodes' own engine (ledgernode/policy): the same
// declarations, cost limits and messages, so what it accepts the ledger
// accepts.
type EngineCompiler struct{}

// Compile implements PolicyCompiler.
func (EngineCompiler) Compile(doc *policy.Policy) []ledgerv1.CompileError {
	_, errs := policy.Compile(doc)
	out := make([]ledgerv1.CompileError, 0, len(errs))
	for _, e := range errs {
		msg := e.Message
		if e.Rule == "" && e.Field != "" && !strings.HasPrefix(msg, e.Field) {
			msg = e.Field + ": " + msg // a scope or enforcement problem: say which field
		}
		out = append(out, ledgerv1.CompileError{Rule: e.Rule, Line: int32(e.Line), Column: int32(e.Column), Message: msg})
	}
	return out
}
