package chain

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Head is a node's signed statement of the ledger at a height: the tree size
// and root a verifier checks inclusion and consistency proofs against.
type Head struct {
	Network   string `json:"network"`
	Height    uint64 `json:"height"`
	TreeSize  uint64 `json:"treeSize"`
	Root      string `json:"root"`
	BlockHash string `json:"blockHash"`
	Time      string `json:"time"` // block time of Height
	Node      string `json:"node"`
	Signer    string `json:"signer"` // node key id
	Sig       string `json:"sig,omitempty"`
}

// SigningBytes is the canonical JSON of the head without its signature.
func (h Head) SigningBytes() ([]byte, error) {
	h.Sig = ""
	return tx.Canonicalize(h)
}

// Sign sets Signer and Sig with the node key.
func (h *Head) Sign(priv ed25519.PrivateKey) error {
	h.Signer = tx.KeyID(priv.Public().(ed25519.PublicKey))
	msg, err := h.SigningBytes()
	if err != nil {
		return err
	}
	h.Sig = base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, msg))
	return nil
}

// ErrHeadSignature is returned when a head's signature does not verify.
var ErrHeadSignature = errors.New("head signature does not verify")

// VerifySignature checks the head's signature with its Signer key. Whether
// that key is trusted is the caller's decision (see package verify).
func (h *Head) VerifySignature() error {
	pub, err := tx.ParseKeyID(h.Signer)
	if err != nil {
		return fmt.Errorf("head signer: %w", err)
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(h.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("head sig: not a base64url Ed25519 signature: %w", ErrHeadSignature)
	}
	msg, err := h.SigningBytes()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return ErrHeadSignature
	}
	return nil
}
