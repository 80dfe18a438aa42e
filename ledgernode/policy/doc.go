// Package policy is the rule engine of tradeledger: agencies' validation
// rules written in CEL (github.com/google/cel-go), compiled and evaluated
// identically by every ledger node and by the operator.
//
// A Policy belongs to one agency, applies to the documents in its Scope
// and holds Rules (CEL conditions that must be true, with message
// templates). Compile checks a policy and returns every error with the
// rule, line and column; the node refuses to publish what does not compile,
// and the operator shows the same errors in a CertificatePolicy's status.
// Compiled.Evaluate runs the rules on a Prepared input (doc, parties,
// licensePath, context, agency, record, at) and returns a Verdict.
//
// What this package must never do: read the wall clock (the only time a
// rule sees is `at`, the block time), use randomness or the network, let
// Go map iteration order reach a result, or run a rule without a cost
// limit. Rules whose worst-case cost could exceed RuleCostLimit are refused
// at compile time. The package imports nothing from the node's state,
// consensus or transport: the ledger integration lives in
// ledgernode/policy/policystate.
package policy
