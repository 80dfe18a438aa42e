package chain

import (
	"crypto/sha256"
	"encoding/json"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Status is the outcome of one transaction in a block.
type Status string

const (
	// Accepted: the transaction's effects are in the state.
	Accepted Status = "accepted"
	// Rejected: recorded with its reasons; it changed no state.
	Rejected Status = "rejected"
)

// Reason explains a rejection. Code is stable for programs, Field names the
// offending input, Message says what is wrong and how to fix it.
type Reason struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Finding is one evaluated rule (e.g. an agency policy) recorded with a
// transaction, whether or not it changed the outcome.
type Finding struct {
	Source      string `json:"source"`            // e.g. "policy/cbp-fda-facility"
	Version     int    `json:"version,omitempty"` // version of the source evaluated
	Rule        string `json:"rule,omitempty"`
	Enforcement string `json:"enforcement,omitempty"` // Enforce, Audit, DryRun
	Result      string `json:"result"`                // pass, fail, error
	Message     string `json:"message,omitempty"`
}

// Receipt is what the ledger says about one transaction. Its canonical JSON is
// the leaf of the ledger-wide Merkle tree, so a receipt plus an inclusion
// proof plus a signed head proves the outcome to anyone.
type Receipt struct {
	TxID      string          `json:"txId"`
	Type      string          `json:"type"`
	Signer    string          `json:"signer"`
	Height    uint64          `json:"height"`
	Index     int             `json:"index"`     // position in the block
	LeafIndex uint64          `json:"leafIndex"` // position in the ledger-wide tree
	Time      string          `json:"time"`      // block time
	Status    Status          `json:"status"`
	Reasons   []Reason        `json:"reasons,omitempty"`
	Findings  []Finding       `json:"findings,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
}

// LeafData is the canonical JSON (RFC 8785) of the receipt: the Merkle leaf.
func (r *Receipt) LeafData() ([]byte, error) {
	if b, ok := r.appendCanonical(make([]byte, 0, 512)); ok {
		return b, nil
	}
	return tx.Canonicalize(r)
}

// LeafHash is the RFC 6962 leaf hash of the receipt.
func (r *Receipt) LeafHash() ([]byte, error) {
	data, err := r.LeafData()
	if err != nil {
		return nil, err
	}
	return Hasher.HashLeaf(data), nil
}

// Hasher is the RFC 6962 SHA-256 hasher used for every tree of the ledger.
var Hasher = rfc6962.DefaultHasher

// TxID computes the transaction id of canonical envelope bytes.
func TxID(canonical []byte) [32]byte { return sha256.Sum256(canonical) }
