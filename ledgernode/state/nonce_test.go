package state_test

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// resign gives e a new nonce (or keeps it) and signs it again with k.
func resign(t *testing.T, e tx.Envelope, nonce string, k ed25519.PrivateKey) *tx.Signed {
	t.Helper()
	e.Nonce = nonce
	st, err := e.Sign(k)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A nonce is used once per signer, for ever: a second transaction by the
// same key with the same nonce is refused before consensus and rejected in
// a block, even when the rest differs; another key may use the same nonce;
// a rejected transaction changes no state and so does not spend its nonce.
func TestNonceIsUsedOncePerSigner(t *testing.T) {
	f := newFixture(t)
	alice, bob := f.Enrol("participant/alice"), f.Enrol("participant/bob")
	first := f.Sign(alice, "note.put", note("a", 1))
	if rc := f.One(first); rc.Status != chain.Accepted {
		t.Fatalf("first: %+v", rc.Reasons)
	}
	other := f.Sign(alice, "note.put", note("b", 2))
	same := resign(t, other.Envelope, first.Nonce, alice)
	if same.IDHex() == first.IDHex() {
		t.Fatal("setup: the reusing envelope must be a different transaction")
	}
	_, err := f.Store.Precheck(same, f.Now)
	var rej *wire.Rejection
	if !errors.As(err, &rej) || rej.Reasons[0].Code != wire.CodeNonceReused || rej.Reasons[0].Field != "nonce" {
		t.Fatalf("precheck of a reused nonce: %v, want %s on nonce", err, wire.CodeNonceReused)
	}
	if rc := f.One(same); rc.Status != chain.Rejected || rc.Reasons[0].Code != wire.CodeNonceReused {
		t.Fatalf("reused nonce in a block: %s %+v", rc.Status, rc.Reasons)
	}
	if rc := f.One(resign(t, f.Sign(bob, "note.put", note("c", 3)).Envelope, first.Nonce, bob)); rc.Status != chain.Accepted {
		t.Fatalf("another signer with the same nonce: %+v", rc.Reasons)
	}
	// Two in one block: the second is rejected.
	x := f.Sign(alice, "note.put", note("d", 4))
	y := resign(t, f.Sign(alice, "note.put", note("e", 5)).Envelope, x.Nonce, alice)
	res := f.Block(x.Canonical, y.Canonical)
	if res.Receipts[0].Status != chain.Accepted || res.Receipts[1].Status != chain.Rejected || res.Receipts[1].Reasons[0].Code != wire.CodeNonceReused {
		t.Fatalf("same nonce twice in one block: %+v", res.Receipts)
	}
	// A transaction rejected by its handler does not spend its nonce.
	stranger, _ := tx.GenerateKey()
	bad := f.Sign(alice, "key.register", wire.KeyRegister{Owner: "participant/carol", PublicKey: tx.KeyID(stranger.Public().(ed25519.PublicKey))})
	if rc := f.One(bad); rc.Status != chain.Rejected || rc.Reasons[0].Code == wire.CodeNonceReused {
		t.Fatalf("setup: want a rejection for another reason, got %+v", rc)
	}
	if rc := f.One(resign(t, f.Sign(alice, "note.put", note("f", 6)).Envelope, bad.Nonce, alice)); rc.Status != chain.Accepted {
		t.Fatalf("nonce of a rejected transaction used again: %+v", rc.Reasons)
	}
}
