// Package state is the deterministic state machine of the ledger over bbolt.
//
// ApplyBlock turns a proposed block (the leader's time stamp and the
// canonical envelopes) into a committed block: one bbolt write transaction per
// block, receipts for every transaction, the ledger-wide Merkle tree, the
// state hash chain and the applied Raft index, all at once.
//
// Transaction types are handlers in a Registry (validate + apply); adding a
// type never touches consensus. What this package must never do: read the
// wall clock, iterate a Go map into state, depend on goroutine timing, or
// import the node's transport (Raft, HTTP).
package state
