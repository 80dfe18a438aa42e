package wire

import (
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// KeyRotate is the payload of key.rotate: signed by a currently valid key of
// the owner, it registers NewKey for the same owner from block time and
// retires Retire at RetireAt (default: block time; never earlier).
// Signatures by the old key before RetireAt stay valid forever: every
// signature is judged at its own block time against the key's history.
type KeyRotate struct {
	NewKey   string `json:"newKey"`
	Retire   string `json:"retire"`
	RetireAt string `json:"retireAt,omitempty"`
}

// Validate checks the payload's shape.
func (p KeyRotate) Validate() error {
	var pr Problems
	if _, err := tx.ParseKeyID(p.NewKey); err != nil {
		pr.invalid("payload.newKey", p.NewKey, "must be an Ed25519 public key id, base64url without padding (ledgerctl keys show FILE)")
	}
	if _, err := tx.ParseKeyID(p.Retire); err != nil {
		pr.invalid("payload.retire", p.Retire, "must be the key id of the key to retire")
	}
	if p.NewKey != "" && p.NewKey == p.Retire {
		pr.invalid("payload.newKey", p.NewKey, "is the key being retired; generate a new key")
	}
	pr.time("payload.retireAt", p.RetireAt, false, datesKeys)
	return pr.err()
}
