package wire

import (
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
)

// PolicyResponse answers GET /v1/policies/{id}: the current state of a
// policy and every version it had, oldest first.
type PolicyResponse struct {
	Head     policy.Head      `json:"head"`
	Versions []policy.Version `json:"versions"`
}

// PolicyList answers GET /v1/policies[?agency=ID].
type PolicyList struct {
	Policies []policy.Head `json:"policies"`
}

// PolicyScopeResponse answers GET /v1/policy-scope: the version of each
// policy in force at At (default: now) whose scope covers Subject.
type PolicyScopeResponse struct {
	Subject  policy.Subject   `json:"subject"`
	At       string           `json:"at,omitempty"`
	Policies []policy.Version `json:"policies"`
}

// EvaluationRecord is one evaluation of a document with the final outcome
// of its transaction (a handler may reject after the rules passed).
type EvaluationRecord struct {
	policy.Evaluation
	Status  chain.Status   `json:"status"`
	Reasons []chain.Reason `json:"reasons,omitempty"`
}

// EvaluationsResponse answers GET /v1/evaluations/{documentID}.
type EvaluationsResponse struct {
	DocumentID  string             `json:"documentId"`
	Evaluations []EvaluationRecord `json:"evaluations"`
}
