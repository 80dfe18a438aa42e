// Package tx defines the signed transaction envelope of the ledger: its wire
// form, its canonical bytes (RFC 8785 JSON), its Ed25519 signature, its id
// and the limits applied to outside input.
//
// The package is pure: it never reads the clock, the network or the disk
// (apart from the key-file helpers, which the caller invokes explicitly), and
// it imports nothing from the node's transport or state.
package tx
