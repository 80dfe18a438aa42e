package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Header is the hashed part of a block. Times use tx.TimeLayout; hashes are
// lower-case hex. The block hash is SHA-256 of the header's canonical JSON.
type Header struct {
	Network    string `json:"network"`
	Height     uint64 `json:"height"`
	Prev       string `json:"prev"` // hash of the previous block (genesis hash for block 1)
	Time       string `json:"time"` // set by the leader, strictly increasing
	Proposer   string `json:"proposer"`
	TxCount    int    `json:"txCount"`
	TreeSize   uint64 `json:"treeSize"`   // ledger-wide leaves after this block
	LedgerRoot string `json:"ledgerRoot"` // root of the ledger-wide tree at TreeSize
	StateHash  string `json:"stateHash"`  // hash chain over every state write up to this block
}

// Hash returns the block hash.
func (h *Header) Hash() (string, error) {
	c, err := tx.Canonicalize(h)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// Block is a header, its hash, the canonical envelopes and their receipts.
type Block struct {
	Header   Header            `json:"header"`
	Hash     string            `json:"hash"`
	Txs      []json.RawMessage `json:"txs"`
	Receipts []Receipt         `json:"receipts"`
}
