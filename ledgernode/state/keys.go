package state

import (
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Buckets of the key registry.
const (
	BucketKeys       = "keys"       // key id -> Key
	BucketOwnerKeys  = "ownerkeys"  // owner + "\x00" + key id -> ""
	BucketIdentities = "identities" // identity id -> Identity
)

// LookupKey returns a registered key.
func LookupKey(r Reader, keyID string) (*wire.Key, bool, error) {
	var k wire.Key
	ok, err := GetJSON(r, BucketKeys, keyID, &k)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &k, true, nil
}

// LookupIdentity returns an identity.
func LookupIdentity(r Reader, id string) (*wire.Identity, bool, error) {
	var i wire.Identity
	ok, err := GetJSON(r, BucketIdentities, id, &i)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &i, true, nil
}

// KeysOf lists an owner's keys (all of them, past and present) by key id.
func KeysOf(r Reader, owner string) ([]*wire.Key, error) {
	var ids []string
	r.Scan(BucketOwnerKeys, owner+"\x00", func(k string, _ []byte) bool {
		ids = append(ids, k[len(owner)+1:])
		return true
	})
	out := make([]*wire.Key, 0, len(ids))
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
func PutIdentity(kv KV, id *wire.Identity) error { return PutJSON(kv, BucketIdentities, id.ID, id) }

// RegisterKey adds a new key for owner, valid from `from`. A key id can be
// registered once, ever: reusing a retired or revoked key is refused.
func RegisterKey(kv KV, keyID, owner, kind string, from time.Time, txID string) (*wire.Key, error) {
	pub, err := tx.ParseKeyID(keyID)
	if err != nil {
		return nil, wire.Reject(wire.CodeInvalid, "publicKey", "%v", err)
	}
	if existing, ok, err := LookupKey(kv, keyID); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "publicKey", "key %s is already registered to %s; generate a new key", existing.Fingerprint, existing.Owner)
	}
	at := tx.FormatTime(from)
	k := &wire.Key{KeyID: keyID, Fingerprint: tx.Fingerprint(pub), Owner: owner, Kind: kind, ValidFrom: at,
		History: []wire.KeyEvent{{Time: at, Event: "registered", TxID: txID}}}
	if err := PutJSON(kv, BucketKeys, keyID, k); err != nil {
		return nil, err
	}
	kv.Put(BucketOwnerKeys, owner+"\x00"+keyID, nil)
	return k, nil
}

// RetireKey ends a key's normal validity at `at` (rotation).
func RetireKey(kv KV, k *wire.Key, at time.Time, txID, detail string) error {
	if k.RetiredAt != "" {
		return wire.Reject(wire.CodeConflict, "keyId", "key %s was already retired at %s", k.Fingerprint, k.RetiredAt)
	}
	k.RetiredAt = tx.FormatTime(at)
	k.History = append(k.History, wire.KeyEvent{Time: k.RetiredAt, Event: "retired", TxID: txID, Detail: detail})
	return PutJSON(kv, BucketKeys, k.KeyID, k)
}

// RevokeKey marks a key compromised from `effective`, which may be in the
// past: signatures at or after it are invalid, earlier ones stay valid.
// Revoking again may only move the effective time earlier.
func RevokeKey(kv KV, k *wire.Key, effective time.Time, reason, txID string) error {
	return revokeKey(kv, k, effective, reason, txID, time.Time{}, "")
}

func revokeKey(kv KV, k *wire.Key, effective time.Time, reason, txID string, recorded time.Time, by string) error {
	at := tx.FormatTime(effective)
	if k.RevokedAt != "" && k.RevokedAt <= at {
		return wire.Reject(wire.CodeConflict, "effective", "key %s is already revoked from %s", k.Fingerprint, k.RevokedAt)
	}
	k.RevokedAt = at
	k.RevokeReason = reason
	if !recorded.IsZero() {
		k.RevokedRecordedAt, k.RevokedBy = tx.FormatTime(recorded), by
	}
	k.History = append(k.History, wire.KeyEvent{Time: at, Event: "revoked", TxID: txID, Detail: reason})
	return PutJSON(kv, BucketKeys, k.KeyID, k)
}

// ----- core handlers: key.register, key.revoke -----

func coreHandlers() []Handler {
	return []Handler{
		{
			Type:    wire.TypeKeyRegister,
			Summary: "register a key for a node, agency or participant (network admin)",
			Signers: []string{wire.KindAdmin},
			Check:   wire.PayloadCheck(wire.TypeKeyRegister),
			Apply:   applyKeyRegister,
		},
		{
			Type:    wire.TypeKeyRevoke,
			Summary: "revoke a key from an effective time, which may be in the past (admin or owner)",
			Check:   wire.PayloadCheck(wire.TypeKeyRevoke),
			Apply:   applyKeyRevoke,
		},
		noteHandler(),
	}
}

func applyKeyRegister(c *Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.KeyRegister](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if !c.Signer.IsAdmin() {
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "only the network admin may register keys with key.register; %s is %s", c.Signer.Owner, c.Signer.Kind)
	}
	id, ok, err := LookupIdentity(c, p.Owner)
	if err != nil {
		return nil, err
	}
	if !ok {
		id = &wire.Identity{ID: p.Owner, Kind: wire.KindOf(p.Owner), Name: p.Name, Status: "active", Since: tx.FormatTime(c.Time), AddedTx: c.TxID, Country: p.Country}
		if err := PutIdentity(c, id); err != nil {
			return nil, err
		}
	} else if id.Status != "active" {
		return nil, wire.Reject(wire.CodeConflict, "payload.owner", "%s is %s; reinstate it before adding keys", id.ID, id.Status)
	}
	k, err := RegisterKey(c, p.PublicKey, p.Owner, id.Kind, c.Time, c.TxID)
	if err != nil {
		return nil, err
	}
	return map[string]string{"owner": p.Owner, "keyId": k.KeyID, "fingerprint": k.Fingerprint}, nil
}

func applyKeyRevoke(c *Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.KeyRevoke](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	k, ok, err := LookupKey(c, p.KeyID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, "payload.keyId", "no key %s is registered", tx.FingerprintOf(p.KeyID))
	}
	authority := c.Signer.IsAdmin() || (c.reg.keyAuthority != nil && c.reg.keyAuthority(c, c.Signer, k.Owner))
	if !authority && c.Signer.Owner != k.Owner {
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "only the network admin, the agency that enrolled %s or %s itself may revoke its key", k.Owner, k.Owner)
	}
	eff, _ := tx.ParseTime(p.Effective)
	// An owner may backdate its own revocation only within the network's
	// window: further back it would turn records that agencies accepted
	// into invalid ones with no agency involved.
	if window := c.Genesis.Params.SelfRevokeBackdate(); !authority && eff.Before(c.Time.Add(-window)) {
		return nil, wire.Reject(wire.CodeBackdated, "payload.effective", "%s is more than %s before the ledger time %s: a key's owner may backdate a revocation by at most %s (genesis params.selfRevokeBackdateSeconds); further back only the network admin or the agency that enrolled %s may",
			p.Effective, window, tx.FormatTime(c.Time), window, k.Owner)
	}
	if err := revokeKey(c, k, eff, p.Reason, c.TxID, c.Time, c.Signer.Owner); err != nil {
		return nil, err
	}
	return map[string]string{"keyId": k.KeyID, "revokedAt": k.RevokedAt}, nil
}
