// Package controllers holds the operator's reconcilers, one per kind
// (LedgerNetwork, AgencyMember, CertificatePolicy), the pure builders of
// the objects they own, and the small interface through which they reach
// a ledger (Ledger, opened by a LedgerDialer).
//
// Each reconciler follows one skeleton: get the object (gone: nothing to
// do), handle deletion (finalizers only where the ledger must be told),
// ensure the finalizer, defer one status patch that stamps
// observedGeneration only when the pass succeeded, run a list of small
// phases over a scope struct, then decide the requeue.
//
// It must never import the node's internals (consensus, server, state
// writes): it talks to a ledger only through ledgernode/client, as any
// other client would.
package controllers
