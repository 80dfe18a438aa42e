package controllers

import (
	"fmt"

	"github.com/google/cel-go/cel"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// policyDocument is a policy as the ledger's policy.publish and
// policy.update carry it ({"policy": {...}}).
type policyDocument struct {
	ID          string         `json:"id"`
	Agency      string         `json:"agency"` // the agency id, without "agency/"
	Version     int64          `json:"version,omitempty"`
	Description string         `json:"description,omitempty"`
	Scope       policyScope    `json:"scope"`
	Enforcement string         `json:"enforcement"`
	Rules       []policyRuleTx `json:"rules"`
}

type policyScope struct {
	Programs             []string `json:"programs,omitempty"`
	HSPrefixes           []string `json:"hsPrefixes,omitempty"`
	OriginCountries      []string `json:"originCountries,omitempty"`
	DestinationCountries []string `json:"destinationCountries,omitempty"`
	DocumentTypes        []string `json:"documentTypes,omitempty"`
}

type policyRuleTx struct {
	Name       string `json:"name"`
	Expression string `json:"expression"`
	Message    string `json:"message,omitempty"`
}

// buildPolicyDocument is the ledger's form of a CertificatePolicy (pure).
func buildPolicyDocument(cp *ledgerv1.CertificatePolicy, agencyID string) *policyDocument {
	d := &policyDocument{ID: cp.Name, Agency: agencyID, Description: cp.Spec.Description, Enforcement: string(cp.Spec.Enforcement),
		Scope: policyScope{Programs: cp.Spec.Scope.Programs, HSPrefixes: cp.Spec.Scope.HSPrefixes, OriginCountries: cp.Spec.Scope.OriginCountries,
			DestinationCountries: cp.Spec.Scope.DestinationCountries, DocumentTypes: cp.Spec.Scope.DocumentTypes}}
	for _, r := range cp.Spec.Rules {
		d.Rules = append(d.Rules, policyRuleTx{Name: r.Name, Expression: r.Expression, Message: r.Message})
	}
	return d
}

// PolicyCompiler compiles a policy with the engine the nodes use, so that
// an invalid policy is reported in status before anything is signed.
type PolicyCompiler interface {
	Compile(doc *policyDocument) []ledgerv1.CompileError
}

// CELSyntaxCompiler checks that every rule parses as CEL and says where it
// does not. It stands in until ledgernode/policy (the nodes' engine, with
// its declarations and cost limits) is on main; the ledger still refuses
// what this lets through.
type CELSyntaxCompiler struct{}

// Compile implements PolicyCompiler.
func (CELSyntaxCompiler) Compile(doc *policyDocument) []ledgerv1.CompileError {
	env, err := cel.NewEnv()
	if err != nil {
		return []ledgerv1.CompileError{{Message: fmt.Sprintf("rule environment: %v", err)}}
	}
	var out []ledgerv1.CompileError
	for _, r := range doc.Rules {
		_, iss := env.Parse(r.Expression)
		for _, e := range iss.Errors() {
			out = append(out, ledgerv1.CompileError{Rule: r.Name, Line: int32(e.Location.Line()),
				Column: int32(e.Location.Column() + 1), Message: e.Message})
		}
	}
	return out
}
