package state

import (
	"regexp"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Buckets of the key registry.
const (
	BucketKeys       = "keys"       // key id -> Key
	BucketOwnerKeys  = "ownerkeys"  // owner + "\x00" + key id -> ""
	BucketIdentities = "identities" // identity id -> Identity
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

// LookupKey returns a registered key.
func LookupKey(r Reader, keyID string) (*Key, bool, error) {
	var k Key
	ok, err := GetJSON(r, BucketKeys, keyID, &k)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &k, true, nil
}

// LookupIdentity returns an identity.
func LookupIdentity(r Reader, id string) (*Identity, bool, error) {
	var i Identity
	ok, err := GetJSON(r, BucketIdentities, id, &i)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &i, true, nil
}

// KeysOf lists an owner's keys (all of them, past and present) by key id.
func KeysOf(r Reader, owner string) ([]*Key, error) {
	var ids []string
	r.Scan(BucketOwnerKeys, owner+"\x00", func(k string, _ []byte) bool {
		ids = append(ids, k[len(owner)+1:])
		return true
	})
	out := make([]*Key, 0, len(ids))
	for _, id := range ids {
		k, ok, err := LookupKey(r, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, k)
		}
	}
	return out, nil
}

// PutIdentity stores an identity.
func PutIdentity(kv KV, id *Identity) error { return PutJSON(kv, BucketIdentities, id.ID, id) }

// RegisterKey adds a new key for owner, valid from `from`. A key id can be
// registered once, ever: reusing a retired or revoked key is refused.
func RegisterKey(kv KV, keyID, owner, kind string, from time.Time, txID string) (*Key, error) {
	pub, err := tx.ParseKeyID(keyID)
	if err != nil {
		return nil, Reject(CodeInvalid, "publicKey", "%v", err)
	}
	if existing, ok, err := LookupKey(kv, keyID); err != nil {
		return nil, err
	} else if ok {
		return nil, Reject(CodeConflict, "publicKey", "key %s is already registered to %s; generate a new key", existing.Fingerprint, existing.Owner)
	}
	at := tx.FormatTime(from)
	k := &Key{KeyID: keyID, Fingerprint: tx.Fingerprint(pub), Owner: owner, Kind: kind, ValidFrom: at,
		History: []KeyEvent{{Time: at, Event: "registered", TxID: txID}}}
	if err := PutJSON(kv, BucketKeys, keyID, k); err != nil {
		return nil, err
	}
	kv.Put(BucketOwnerKeys, owner+"\x00"+keyID, nil)
	return k, nil
}

// RetireKey ends a key's normal validity at `at` (rotation).
func RetireKey(kv KV, k *Key, at time.Time, txID, detail string) error {
	if k.RetiredAt != "" {
		return Reject(CodeConflict, "keyId", "key %s was already retired at %s", k.Fingerprint, k.RetiredAt)
	}
	k.RetiredAt = tx.FormatTime(at)
	k.History = append(k.History, KeyEvent{Time: k.RetiredAt, Event: "retired", TxID: txID, Detail: detail})
	return PutJSON(kv, BucketKeys, k.KeyID, k)
}

// RevokeKey marks a key compromised from `effective`, which may be in the
// past: signatures at or after it are invalid, earlier ones stay valid.
// Revoking again may only move the effective time earlier.
func RevokeKey(kv KV, k *Key, effective time.Time, reason, txID string) error {
	return revokeKey(kv, k, effective, reason, txID, time.Time{}, "")
}

func revokeKey(kv KV, k *Key, effective time.Time, reason, txID string, recorded time.Time, by string) error {
	at := tx.FormatTime(effective)
	if k.RevokedAt != "" && k.RevokedAt <= at {
		return Reject(CodeConflict, "effective", "key %s is already revoked from %s", k.Fingerprint, k.RevokedAt)
	}
	k.RevokedAt = at
	k.RevokeReason = reason
	if !recorded.IsZero() {
		k.RevokedRecordedAt, k.RevokedBy = tx.FormatTime(recorded), by
	}
	k.History = append(k.History, KeyEvent{Time: at, Event: "revoked", TxID: txID, Detail: reason})
	return PutJSON(kv, BucketKeys, k.KeyID, k)
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

// ----- core handlers: key.register, key.revoke -----

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

func coreHandlers() []Handler {
	return []Handler{
		{
			Type:    "key.register",
			Summary: "register a key for a node, agency or participant (network admin)",
			Signers: []string{KindAdmin},
			Check:   CheckAs[KeyRegister](),
			Apply:   applyKeyRegister,
		},
		{
			Type:    "key.revoke",
			Summary: "revoke a key from an effective time, which may be in the past (admin or owner)",
			Check:   CheckAs[KeyRevoke](),
			Apply:   applyKeyRevoke,
		},
		noteHandler(),
	}
}

func applyKeyRegister(c *Context) (any, error) {
	p, err := DecodeAndCheck[KeyRegister](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if !c.Signer.IsAdmin() {
		return nil, Reject(CodeUnauthorized, "signer", "only the network admin may register keys with key.register; %s is %s", c.Signer.Owner, c.Signer.Kind)
	}
	id, ok, err := LookupIdentity(c, p.Owner)
	if err != nil {
		return nil, err
	}
	if !ok {
		id = &Identity{ID: p.Owner, Kind: KindOf(p.Owner), Name: p.Name, Status: "active", Since: tx.FormatTime(c.Time), AddedTx: c.TxID, Country: p.Country}
		if err := PutIdentity(c, id); err != nil {
			return nil, err
		}
	} else if id.Status != "active" {
		return nil, Reject(CodeConflict, "payload.owner", "%s is %s; reinstate it before adding keys", id.ID, id.Status)
	}
	k, err := RegisterKey(c, p.PublicKey, p.Owner, id.Kind, c.Time, c.TxID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"owner": p.Owner, "keyId": k.KeyID, "fingerprint": k.Fingerprint}, nil
}

func applyKeyRevoke(c *Context) (any, error) {
	p, err := DecodeAndCheck[KeyRevoke](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	k, ok, err := LookupKey(c, p.KeyID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, Reject(CodeNotFound, "payload.keyId", "no key %s is registered", tx.FingerprintOf(p.KeyID))
	}
	authority := c.Signer.IsAdmin() || (c.reg.keyAuthority != nil && c.reg.keyAuthority(c, c.Signer, k.Owner))
	if !authority && c.Signer.Owner != k.Owner {
		return nil, Reject(CodeUnauthorized, "signer", "only the network admin, the agency that enrolled %s or %s itself may revoke its key", k.Owner, k.Owner)
	}
	eff, _ := tx.ParseTime(p.Effective)
	// An owner may backdate its own revocation only within the network's
	// window: further back it would turn records that agencies accepted
	// into invalid ones with no agency involved.
	if window := c.Genesis.Params.SelfRevokeBackdate(); !authority && eff.Before(c.Time.Add(-window)) {
		return nil, Reject(CodeBackdated, "payload.effective", "%s is more than %s before the ledger time %s: a key's owner may backdate a revocation by at most %s (genesis params.selfRevokeBackdateSeconds); further back only the network admin or the agency that enrolled %s may",
			p.Effective, window, tx.FormatTime(c.Time), window, k.Owner)
	}
	if err := revokeKey(c, k, eff, p.Reason, c.TxID, c.Time, c.Signer.Owner); err != nil {
		return nil, err
	}
	return map[string]string{"keyId": k.KeyID, "revokedAt": k.RevokedAt}, nil
}
