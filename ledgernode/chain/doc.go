// Package chain defines what the ledger records and proves: blocks linked by
// hash, the receipt of every transaction, the ledger-wide RFC 6962 Merkle tree
// over all receipts, inclusion and consistency proofs, and the signed ledger
// head.
//
// The package is pure and importable by verifiers: it reads node hashes
// through the small NodeStore interface and never touches bbolt, Raft or
// HTTP itself.
package chain
