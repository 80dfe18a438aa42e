// Package controllers holds the operator's reconcilers, one per kind
// (LedgerNetwork, AgencyMember, CertificatePolicy), the pure builders of
// the objects they own, and the small interface through which they reach
// a ledger (Ledger, opened by a LedgerDialer).
//
// One driver (driver.go) runs every reconciler's passes: get the object
// (gone: forget it), handle deletion (finalizers only where the ledger must
// be told), ensure the finalizer, defer one status patch that stamps
// observedGeneration only when the pass settled, run the kind's phases over
// its scope struct, then decide the requeue. Each kind says only what
// differs (the kind interface): its phases, its own conditions, its
// deletion. Every write to a ledger goes through submitSigned.
//
// It must never import the node's internals (consensus, server, state
// writes): it talks to a ledger only through ledgernode/client, as any
// other client would.
package controllers
