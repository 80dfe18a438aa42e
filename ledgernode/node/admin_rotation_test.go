package node_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The network admin key is rotated on the ledger (docs/operations.md,
// "Rotating the admin key"): key.rotate signed by the current admin key.
// Afterwards the new key signs admin writes and admin-signed requests for
// the cluster routes, the old key is refused naming the retirement, and a
// transaction the old key signed before the rotation still verifies.
func TestAdminKeyRotationIsRecordedAndOldSignaturesStayValid(t *testing.T) {
	c := newCluster(t, 1)
	ctx := ctxT(t, time.Minute)
	cl := c.Client()
	oldAdmin := c.Admin
	// A write of the old admin key, before the rotation.
	before, err := c.Sign(oldAdmin, "note.put", notePayload("before-rotation", 1))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := cl.Submit(ctx, before, client.SubmitOptions{}); err != nil || resp.Receipt.Status != chain.Accepted {
		t.Fatalf("setup: old admin write: %+v %v", resp, err)
	}

	newAdmin, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	oldID, newID := tx.KeyID(oldAdmin.Public().(ed25519.PublicKey)), tx.KeyID(newAdmin.Public().(ed25519.PublicKey))
	rot, err := c.Sign(oldAdmin, "key.rotate", wire.KeyRotate{NewKey: newID, Retire: oldID})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cl.Submit(ctx, rot, client.SubmitOptions{})
	if err != nil || resp.Receipt.Status != chain.Accepted {
		t.Fatalf("key.rotate by the admin: %+v %v", resp, err)
	}

	// The new key writes as the admin (a participant enrolment is
	// admin-only); the old key is refused, naming the retirement.
	k, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	enrol := func(signer ed25519.PrivateKey, owner string) error {
		st, err := c.Sign(signer, "key.register", wire.KeyRegister{Owner: owner, PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))})
		if err != nil {
			t.Fatal(err)
		}
		r, err := cl.Submit(ctx, st, client.SubmitOptions{})
		if err == nil && r.Receipt.Status != chain.Accepted {
			t.Fatalf("enrolment by %s rejected: %+v", owner, r.Receipt.Reasons)
		}
		return err
	}
	if err := enrol(newAdmin, "participant/after-rotation"); err != nil {
		t.Fatalf("enrolment signed by the new admin key: %v", err)
	}
	err = enrol(oldAdmin, "participant/by-old-key")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 403 || ce.Code != "key_not_valid" {
		t.Fatalf("enrolment signed by the retired admin key: %v, want 403 key_not_valid", err)
	}
	// Admin-signed requests for the cluster routes follow the key too.
	if _, err := c.ClientWith(client.Config{SignKey: newAdmin, Retry: time.Second}).Status(ctx, true); err != nil {
		t.Fatalf("cluster status signed by the new admin key: %v", err)
	}
	_, err = c.ClientWith(client.Config{SignKey: oldAdmin, Retry: time.Second}).Status(ctx, true)
	if !errors.As(err, &ce) || ce.Status != 403 || !strings.Contains(err.Error(), "was retired at") {
		t.Fatalf("cluster status signed by the retired admin key: %v, want 403 naming the retirement", err)
	}

	// The old key's earlier write still verifies, with its proof.
	ev, err := cl.Tx(ctx, before.IDHex(), true, client.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.Receipt(ev, c.Trust()); err != nil {
		t.Fatalf("a transaction the old admin key signed before the rotation: %v", err)
	}
}
