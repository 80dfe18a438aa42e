package state

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// keyAuthority follows, block by block from the genesis, which keys the
// ledger itself authorised for the network admin and for nodes: the
// genesis' admin and node keys, then every accepted key.register of an
// admin or node key signed by a valid admin key, every accepted
// key.rotate signed by the key it retires, and every accepted key.revoke
// signed by an admin or by the key's owner. Each authorising transaction's
// signature is checked here: the chain check proves only that the
// envelopes are the ones the receipts name, so a fabricated chain could
// otherwise grant itself a key; with the check every key descends from
// the genesis (the trust anchor) through signatures. A backup's head
// signed by a node added after the genesis verifies once its key was
// registered for it on the ledger (key.register owner node/<id>), and a
// restore names the admin key the ledger holds after rotations.
type keyAuthority struct {
	network string
	owner   map[string]string // valid key id -> "admin" or "node/<id>"
	ended   map[string]string // key id -> how it stopped being valid
}

func newKeyAuthority(g *chain.Genesis) *keyAuthority {
	a := &keyAuthority{network: g.Network, owner: map[string]string{}, ended: map[string]string{}}
	for _, k := range g.Admins {
		a.owner[k] = wire.KindAdmin
	}
	for _, n := range g.Nodes {
		a.owner[n.Key] = "node/" + n.ID
	}
	return a
}

func authorityOwner(owner string) bool {
	return owner == wire.KindAdmin || strings.HasPrefix(owner, wire.KindNode+"/")
}

// observe takes one stored envelope and its receipt.
func (a *keyAuthority) observe(raw []byte, rc *chain.Receipt) {
	if rc.Status != chain.Accepted || !strings.HasPrefix(rc.Type, "key.") || !bytes.Contains(raw, []byte("key.")) {
		return
	}
	st, err := tx.Decode(raw, tx.Limits{MaxEnvelopeBytes: 64 << 20})
	if err != nil || st.Network != a.network || st.Type != rc.Type || st.VerifySignature() != nil {
		return
	}
	signer := a.owner[st.Signer]
	if signer == "" {
		return
	}
	at := fmt.Sprintf("at height %d (tx %s)", rc.Height, short(rc.TxID))
	switch st.Type {
	case "key.register":
		var p wire.KeyRegister
		if tx.DecodePayload(st.Payload, &p) != nil || signer != wire.KindAdmin || !authorityOwner(p.Owner) {
			return
		}
		if _, gone := a.ended[p.PublicKey]; !gone {
			a.owner[p.PublicKey] = p.Owner
		}
	case "key.rotate":
		var p wire.KeyRotate
		if tx.DecodePayload(st.Payload, &p) != nil || a.owner[p.Retire] != signer {
			return
		}
		delete(a.owner, p.Retire)
		a.ended[p.Retire] = fmt.Sprintf("rotated to %s %s", tx.FingerprintOf(p.NewKey), at)
		if _, gone := a.ended[p.NewKey]; !gone {
			a.owner[p.NewKey] = signer
		}
	case "key.revoke":
		var p wire.KeyRevoke
		owner := ""
		if tx.DecodePayload(st.Payload, &p) == nil {
			owner = a.owner[p.KeyID]
		}
		if owner == "" || (signer != wire.KindAdmin && signer != owner) {
			return
		}
		delete(a.owner, p.KeyID)
		a.ended[p.KeyID] = "revoked " + at
	}
}

// report fills the chain report's keys, sorted.
func (a *keyAuthority) report(r *ChainReport) {
	r.NodeKeys = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(a.owner)) {
		if o := a.owner[k]; o == wire.KindAdmin {
			r.AdminKeys = append(r.AdminKeys, k)
		} else {
			r.NodeKeys[k] = strings.TrimPrefix(o, wire.KindNode+"/")
		}
	}
	r.EndedKeys = a.ended
}
