package policy

import (
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Transaction types of the policy lifecycle. The payload of publish and
// update is a Policy; of withdraw, a Withdraw. The ledger side is in
// package policystate; clients (ledgerctl, the operator) need only these.
const (
	TxPublish  = "policy.publish"
	TxUpdate   = "policy.update"
	TxWithdraw = "policy.withdraw"
)

// Withdraw is the payload of policy.withdraw.
type Withdraw struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Validate checks the payload's shape.
func (w Withdraw) Validate() error {
	if !ValidID(w.ID) {
		return tx.Fieldf("payload.id", w.ID, "must be a policy id (lower-case letters, digits, '.' or '-')")
	}
	if w.Reason == "" || len(w.Reason) > 500 {
		return tx.Fieldf("payload.reason", "", "required, at most 500 bytes: say why the policy is withdrawn")
	}
	return nil
}

// Policy statuses on the ledger.
const (
	StatusActive    = "active"
	StatusWithdrawn = "withdrawn"
)

// Head is the ledger's current view of a policy: its latest version and
// whether it is still in force. The ledger stores it; queries return it.
type Head struct {
	ID          string `json:"id"`
	Agency      string `json:"agency"`
	Version     int    `json:"version"`
	Status      string `json:"status"` // active, withdrawn
	Enforcement string `json:"enforcement"`
	Scope       Scope  `json:"scope"`
	Hash        string `json:"hash"` // content hash of the current version
	Published   string `json:"published"`
	PublishedTx string `json:"publishedTx"`
	Updated     string `json:"updated"` // block time of the current version
	UpdatedTx   string `json:"updatedTx"`
	Withdrawn   string `json:"withdrawn,omitempty"`
	WithdrawnTx string `json:"withdrawnTx,omitempty"`
	Reason      string `json:"reason,omitempty"` // why it was withdrawn
}

// Version is one version of a policy as published: the whole policy with
// the transaction that made it. Versions are never changed or deleted.
type Version struct {
	Policy Policy `json:"policy"`
	Hash   string `json:"hash"`
	TxID   string `json:"txId"`
	Height uint64 `json:"height"`
	Time   string `json:"time"` // block time: in force from here on
	Signer string `json:"signer"`
}

// Evaluation is one evaluation of a document, kept in the document's
// evaluation history whether or not its transaction was accepted.
type Evaluation struct {
	DocumentID   string          `json:"documentId"`
	DocumentType string          `json:"documentType,omitempty"`
	TxID         string          `json:"txId"`
	TxType       string          `json:"txType"`
	Height       uint64          `json:"height"`
	Index        int             `json:"index"` // position of the transaction in its block
	Time         string          `json:"time"`  // block time
	Findings     []chain.Finding `json:"findings"`
	// Rejected says whether the policies rejected the transaction (an
	// Enforce rule failed or could not be evaluated).
	Rejected bool `json:"rejected"`
}
