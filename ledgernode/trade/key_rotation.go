package trade

import (
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func applyKeyRotate(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.KeyRotate](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	owner := c.Signer.Owner
	if c.Signer.Kind == wire.KindNode {
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "node keys sign ledger heads and are trusted through the genesis; they are not rotated with key.rotate")
	}
	old, ok, err := state.LookupKey(c, p.Retire)
	if err != nil {
		return nil, err
	}
	if !ok || old.Owner != owner {
		return nil, wire.Reject(wire.CodeNotFound, "payload.retire", "%q: %s holds no such key (ledgerctl keys get shows a key's owner)", tx.FingerprintOf(p.Retire), owner)
	}
	if rej := old.ValidAt(c.Time); rej != nil {
		return nil, wire.Reject(wire.CodeConflict, "payload.retire", "key %s cannot be rotated: %s", old.Fingerprint, rej.Reasons[0].Message)
	}
	at, err := effectiveTime(c, "payload.retireAt", p.RetireAt, true)
	if err != nil {
		return nil, err
	}
	nk, err := state.RegisterKey(c, p.NewKey, owner, c.Signer.Kind, c.Time, c.TxID)
	if err != nil {
		return nil, fieldOf(err, "payload.newKey")
	}
	if err := state.RetireKey(c, old, at, c.TxID, "rotated to "+nk.Fingerprint); err != nil {
		return nil, fieldOf(err, "payload.retire")
	}
	return map[string]any{"owner": owner, "newKey": nk.KeyID, "newFingerprint": nk.Fingerprint, "validFrom": nk.ValidFrom,
		"retired": old.KeyID, "retiredFingerprint": old.Fingerprint, "retiredAt": old.RetiredAt}, nil
}
