package wire

import (
	"regexp"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Identity kinds known to the core.
const (
	KindAdmin       = "admin"
	KindNode        = "node"
	KindAgency      = "agency"
	KindParticipant = "participant"
)

// Identity is who holds keys. Domain packages keep richer records of their
// own (agencies, participants) under the same id.
type Identity struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`
	Status  string `json:"status"` // active, suspended
	Since   string `json:"since"`
	AddedTx string `json:"addedTx,omitempty"`
	// Country is the jurisdiction (ISO 3166-1 alpha-2) of an agency, or a
	// participant's country. An agency's rules apply only to documents
	// that touch its country.
	Country string `json:"country,omitempty"`
}

// Key is one registered public key with its whole history. A signature by
// the key is valid at time t when ValidFrom <= t, t < RetiredAt (if set) and
// t < RevokedAt (if set). Records are never deleted: old signatures stay
// verifiable after rotation.
type Key struct {
	KeyID        string `json:"keyId"`
	Fingerprint  string `json:"fingerprint"`
	Owner        string `json:"owner"`
	Kind         string `json:"kind"`
	ValidFrom    string `json:"validFrom"`
	RetiredAt    string `json:"retiredAt,omitempty"`
	RevokedAt    string `json:"revokedAt,omitempty"`
	RevokeReason string `json:"revokeReason,omitempty"`
	// RevokedRecordedAt is the block time of the revocation; when it is
	// after RevokedAt the revocation was backdated, by RevokedBy.
	RevokedRecordedAt string     `json:"revokedRecordedAt,omitempty"`
	RevokedBy         string     `json:"revokedBy,omitempty"`
	History           []KeyEvent `json:"history"`
}

// KeyEvent is one change to a key, with the transaction that made it.
type KeyEvent struct {
	Time   string `json:"time"`
	Event  string `json:"event"` // registered, retired, revoked
	TxID   string `json:"txId,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// ValidAt returns nil when the key may sign at t, or the reason it may not.
func (k *Key) ValidAt(t time.Time) *Rejection {
	at := tx.FormatTime(t)
	if at < k.ValidFrom {
		return Reject(CodeKeyInvalid, "signer", "key %s is valid only from %s; the transaction is judged at %s", k.Fingerprint, k.ValidFrom, at)
	}
	if k.RevokedAt != "" && at >= k.RevokedAt {
		return Reject(CodeKeyInvalid, "signer", "key %s was revoked with effect from %s (%s); the transaction is judged at %s", k.Fingerprint, k.RevokedAt, k.RevokeReason, at)
	}
	if k.RetiredAt != "" && at >= k.RetiredAt {
		return Reject(CodeKeyInvalid, "signer", "key %s was retired at %s; sign with the owner's current key", k.Fingerprint, k.RetiredAt)
	}
	return nil
}

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

var identityPattern = regexp.MustCompile(`^(admin|(node|agency|participant)/[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?)$`)

// ValidIdentityID says whether id has the form kind/name.
func ValidIdentityID(id string) bool { return identityPattern.MatchString(id) }

// KindOf returns the kind part of an identity id.
func KindOf(id string) string {
	for i := 0; i < len(id); i++ {
		if id[i] == '/' {
			return id[:i]
		}
	}
	return id
}

// KeyRegister is the payload of key.register (network admin only): it
// creates the identity if needed and registers a key for it.
type KeyRegister struct {
	Owner     string `json:"owner"` // e.g. participant/acme-exports or node/ledger-3
	Name      string `json:"name,omitempty"`
	PublicKey string `json:"publicKey"`
	// Country (ISO 3166-1 alpha-2) of an identity this creates; for an
	// agency, its jurisdiction. Agencies normally come with agency.register.
	Country string `json:"country,omitempty"`
}

// Validate checks the payload's shape.
func (p KeyRegister) Validate() error {
	if !ValidIdentityID(p.Owner) || KindOf(p.Owner) == KindAdmin {
		return tx.Fieldf("payload.owner", p.Owner, "must be node/<name>, agency/<name> or participant/<name> (lower case)")
	}
	if len(p.Name) > 200 {
		return tx.Fieldf("payload.name", "", "at most 200 bytes")
	}
	if p.Country != "" && !countryPattern.MatchString(p.Country) {
		return tx.Fieldf("payload.country", p.Country, "must be an ISO 3166-1 alpha-2 code in upper case, e.g. US")
	}
	if _, err := tx.ParseKeyID(p.PublicKey); err != nil {
		return tx.Fieldf("payload.publicKey", p.PublicKey, "must be an Ed25519 public key, base64url without padding")
	}
	return nil
}

// KeyRevoke is the payload of key.revoke: by the admin, or by the key's
// owner signing with another of its valid keys.
type KeyRevoke struct {
	KeyID     string `json:"keyId"`
	Effective string `json:"effective"`
	Reason    string `json:"reason"`
}

// Validate checks the payload's shape.
func (p KeyRevoke) Validate() error {
	if _, err := tx.ParseKeyID(p.KeyID); err != nil {
		return tx.Fieldf("payload.keyId", p.KeyID, "must be a key id (base64url Ed25519 public key)")
	}
	if _, err := tx.ParseTime(p.Effective); err != nil {
		return tx.Fieldf("payload.effective", p.Effective, "%v", err)
	}
	if p.Reason == "" || len(p.Reason) > 500 {
		return tx.Fieldf("payload.reason", "", "required, at most 500 bytes: say why the key is revoked")
	}
	return nil
}
