package state_test

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The keys a backup's head may be signed by, and the admin keys a restore
// may be given, descend from the genesis through signatures the walk
// checks itself: an accepted receipt alone (a fabricated chain can write
// any) grants nothing.
func TestKeyAuthorityFollowsOnlySignedAuthorisationsFromTheGenesis(t *testing.T) {
	g, admin, _ := newGenesis(t)
	id := func(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }
	gen := func() ed25519.PrivateKey { k, _ := tx.GenerateKey(); return k }
	admin2, nodeA, nodeB, nodeC, stranger := gen(), gen(), gen(), gen(), gen()
	height := uint64(0)
	step := func(a *state.KeyAuthorityWalk, signer ed25519.PrivateKey, typ string, payload any, status chain.Status, tamper func([]byte) []byte) {
		t.Helper()
		st, err := tx.BuildSigned(g.Network, typ, payload, t0.Add(time.Duration(height)*time.Second), signer)
		if err != nil {
			t.Fatal(err)
		}
		raw := st.Canonical
		if tamper != nil {
			raw = tamper(append([]byte(nil), raw...))
		}
		height++
		a.Observe(raw, &chain.Receipt{TxID: st.IDHex(), Type: typ, Height: height, Status: status})
	}
	reg := func(owner string, k ed25519.PrivateKey) wire.KeyRegister {
		return wire.KeyRegister{Owner: owner, PublicKey: id(k)}
	}

	a := state.NewKeyAuthority(g)
	step(a, admin, "key.register", reg("node/a", nodeA), chain.Accepted, nil)
	step(a, stranger, "key.register", reg("node/b", nodeB), chain.Accepted, nil) // not an admin
	step(a, admin, "key.register", reg("node/c", nodeC), chain.Rejected, nil)    // the ledger refused it
	step(a, admin, "key.register", reg("node/x", stranger), chain.Accepted, func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "node/x", "node/y", 1)) // signature no longer verifies
	})
	step(a, admin, "key.register", reg("participant/p", stranger), chain.Accepted, nil) // not a node or admin key
	step(a, admin, "key.rotate", wire.KeyRotate{NewKey: id(admin2), Retire: id(admin)}, chain.Accepted, nil)
	step(a, admin, "key.register", reg("node/b", nodeB), chain.Accepted, nil) // the retired admin key
	step(a, admin2, "key.register", reg("node/c", nodeC), chain.Accepted, nil)
	step(a, admin2, "key.revoke", wire.KeyRevoke{KeyID: id(nodeA), Effective: tx.FormatTime(t0), Reason: "compromised"}, chain.Accepted, nil)

	var rep state.ChainReport
	a.Report(&rep)
	if len(rep.AdminKeys) != 1 || rep.AdminKeys[0] != id(admin2) {
		t.Errorf("admin keys %v, want only the rotated one", rep.AdminKeys)
	}
	for k, want := range map[string]string{g.Nodes[0].Key: "n0", id(nodeC): "c"} {
		if rep.NodeKeys[k] != want {
			t.Errorf("node key of %s: %q", want, rep.NodeKeys[k])
		}
	}
	if len(rep.NodeKeys) != 2 {
		t.Errorf("node keys %v: want the genesis node's and c's only", rep.NodeKeys)
	}
	if !strings.HasPrefix(rep.EndedKeys[id(admin)], "rotated to "+tx.FingerprintOf(id(admin2))) || !strings.HasPrefix(rep.EndedKeys[id(nodeA)], "revoked at height 9") {
		t.Errorf("ended keys %v", rep.EndedKeys)
	}
}
