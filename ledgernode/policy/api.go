package policy

import "github.com/tradeledger/tradeledger/ledgernode/chain"

// The policy records as the node's HTTP API answers them; the server and
// the Go client share these types.

// Response answers GET /v1/policies/{id}: the current state of a
// policy and every version it had, oldest first.
type Response struct {
	Head     Head      `json:"head"`
	Versions []Version `json:"versions"`
}

// List answers GET /v1/policies[?agency=ID].
type List struct {
	Policies []Head `json:"policies"`
}

// ScopeResponse answers GET /v1/policy-scope: the version of each
// policy in force at At (default: now) whose scope covers Subject.
type ScopeResponse struct {
	Subject  Subject   `json:"subject"`
	At       string    `json:"at,omitempty"`
	Policies []Version `json:"policies"`
}

// EvaluationRecord is one evaluation of a document with the final outcome
// of its transaction (a handler may reject after the rules passed).
type EvaluationRecord struct {
	Evaluation
	Status  chain.Status   `json:"status"`
	Reasons []chain.Reason `json:"reasons,omitempty"`
}

// EvaluationsResponse answers GET /v1/evaluations/{documentID}.
type EvaluationsResponse struct {
	DocumentID  string             `json:"documentId"`
	Evaluations []EvaluationRecord `json:"evaluations"`
}
