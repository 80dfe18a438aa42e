// Package verify checks ledger evidence offline: a transaction, its receipt,
// an inclusion proof and a signed head, or a consistency proof between two
// heads. A border officer's tool imports it without the node: it needs only
// the evidence and the set of node keys it trusts.
package verify
