// Package policystate puts the policy engine (package policy) on the
// ledger: the transaction types policy.publish, policy.update and
// policy.withdraw, the state.Evaluator that every node runs when a domain
// handler calls c.Evaluate, and the queries over the stored policies and
// evaluation histories.
//
// Like the rest of the state machine it must never read the wall clock
// (the block time is c.Time), iterate a Go map into state or a receipt, or
// depend on anything but the block and the state: policies are read in
// key (id) order and the compiled-policy cache is keyed by stored content.
package policystate
