package controllers

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// Annotations of the admin Secret (<network>-admin): the generation its
// admin.key answers, the one a rotation under way brings (its key waits in
// pending.key), and the rotation's transaction and time. Written in the
// same update as the keys they describe.
const (
	annAdminKeyGeneration = "ledger.tradeledger.io/admin-key-generation"
	annAdminKeyRotatingTo = "ledger.tradeledger.io/admin-key-rotating-to"
	annAdminKeyRotationTx = "ledger.tradeledger.io/admin-key-rotation-tx"
	annAdminKeyRotatedAt  = "ledger.tradeledger.io/admin-key-rotated-at"
)

// adminIdentity is the ledger identity the network admin keys belong to.
const adminIdentity = wire.KindAdmin

// reconcileAdminKey rotates the network admin key when
// spec.adminKeyGeneration is raised, exactly once, in three steps each
// saved before the next: (1) the new key is written into the admin Secret
// beside the old one (pending.key); (2) key.rotate, signed by the old key,
// is recorded on the ledger; (3) the new key becomes admin.key. A pass
// interrupted after (1) sends the same rotation again; one interrupted
// after (2) finds the ledger holding the new key (its resend is refused:
// the old key is retired) and finishes (3). The key is never lost: it is
// in the Secret before the ledger hears of it.
//
// It runs before the ledger is observed and dials on its own: after (2)
// the ledger refuses every request the old key signs, reads included, so
// the switch must come first.
func (r *LedgerNetworkReconciler) reconcileAdminKey(ctx context.Context, s *networkScope, id *networkIdentity) error {
	n := s.net
	if s.adminSecret == nil {
		return nil
	}
	gen, err := annotationInt(s.adminSecret, annAdminKeyGeneration)
	if err != nil {
		return degraded("InvalidIdentity", "%v", err)
	}
	defer func() { r.recordAdminKey(n, s.adminSecret, id) }()
	want := n.Spec.AdminKeyGeneration
	if id.PendingAdmin == nil {
		if want <= gen {
			return nil
		}
		k, err := tx.GenerateKey()
		if err != nil {
			return err
		}
		data, err := tx.MarshalKey(k, fmt.Sprintf("network admin of %s, generation %d (pending rotation)", networkID(n), want))
		if err != nil {
			return err
		}
		if err := r.updateAdminSecret(ctx, s, func(sec *corev1.Secret) {
			sec.Data[pendingKey] = data
			sec.Annotations[annAdminKeyRotatingTo] = strconv.FormatInt(want, 10)
		}); err != nil {
			return fmt.Errorf("save the new admin key in Secret %s: %w", adminSecretName(n), err)
		}
		id.PendingAdmin = k
	}
	to, err := annotationInt(s.adminSecret, annAdminKeyRotatingTo)
	if err != nil || to == 0 {
		to = max(want, gen+1)
	}
	newID, oldID := publicKeyID(id.PendingAdmin), publicKeyID(id.AdminKey)
	oldLedger, err := dialBounded(ctx, r.Dialer, id.target(n), r.Intervals.LedgerCall)
	if err != nil {
		return err
	}
	pendingTarget := id.target(n)
	pendingTarget.AdminKey = id.PendingAdmin
	newLedger, err := dialBounded(ctx, r.Dialer, pendingTarget, r.Intervals.LedgerCall)
	if err != nil {
		return err
	}

	// The ledger not answering holds nothing else up (a quorum loss must
	// still be recoverable): the rotation waits, saying so.
	waitLedger := func(err error) error {
		s.noteProgressing("AdminKeyRotation", "rotating the network admin key to generation %d (new key saved in Secret %s): waiting for the ledger: %v",
			to, adminSecretName(n), err)
		s.requeueAfter(r.Intervals.Wait)
		return nil
	}
	txID, recorded, err := adminRotationOnLedger(ctx, newLedger, newID)
	if err != nil {
		return waitLedger(err)
	}
	if !recorded {
		// Signed by the old key: only a current admin key may name its
		// successor.
		rc, err := submitSigned(ctx, signer{ledger: oldLedger, net: n, key: id.AdminKey}, r.Metrics.LedgerCalls, ledgerWrite{
			typ: wire.TypeKeyRotate, payload: wire.KeyRotate{NewKey: newID, Retire: oldID},
			what: "rotate the network admin key", refused: "AdminKeyRotationRejected"})
		if err != nil {
			// A resend after a lost answer is refused (the old key is
			// retired): the ledger decides whether it holds the new key.
			if txID, recorded, _ = adminRotationOnLedger(ctx, newLedger, newID); !recorded {
				var refused *refusal
				if errors.As(err, &refused) {
					return err
				}
				return waitLedger(err)
			}
		} else {
			txID = rc.TxID
		}
	}
	now := time.Now().UTC()
	old := tx.Fingerprint(id.AdminKey.Public().(ed25519.PublicKey))
	if err := r.updateAdminSecret(ctx, s, func(sec *corev1.Secret) {
		sec.Data[adminKeyKey] = sec.Data[pendingKey]
		delete(sec.Data, pendingKey)
		sec.Annotations[annAdminKeyGeneration] = strconv.FormatInt(to, 10)
		delete(sec.Annotations, annAdminKeyRotatingTo)
		sec.Annotations[annAdminKeyRotationTx] = txID
		sec.Annotations[annAdminKeyRotatedAt] = now.Format(time.RFC3339)
	}); err != nil {
		return fmt.Errorf("make the new admin key current in Secret %s (the ledger recorded the rotation in tx %s): %w", adminSecretName(n), txID, err)
	}
	id.AdminKey, id.PendingAdmin = id.PendingAdmin, nil
	r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "AdminKeyRotated", "RotateAdminKey",
		"rotated the network admin key to generation %d: %s replaces %s (key.rotate in tx %s); what the old key signed before stays verifiable",
		to, tx.Fingerprint(id.AdminKey.Public().(ed25519.PublicKey)), old, txID)
	return nil
}

// adminRotationOnLedger says whether the ledger holds keyID as an admin
// key, and the transaction that registered it, asking with a ledger that
// signs its reads with that very key: a ledger that does not hold it
// refuses the read (401/403), which answers the question too.
func adminRotationOnLedger(ctx context.Context, l Ledger, keyID string) (string, bool, error) {
	ident, err := l.Identity(ctx, adminIdentity)
	var ce *client.Error
	if errors.As(err, &ce) && (ce.Status == http.StatusUnauthorized || ce.Status == http.StatusForbidden) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read the admin keys on the ledger: %w", err)
	}
	for _, k := range ident.Keys {
		if k.KeyID != keyID {
			continue
		}
		for _, e := range k.History {
			if e.Event == "registered" {
				return e.TxID, true, nil
			}
		}
		return "", true, nil
	}
	return "", false, nil
}

// updateAdminSecret changes the admin Secret (with its resourceVersion).
func (r *LedgerNetworkReconciler) updateAdminSecret(ctx context.Context, s *networkScope, change func(*corev1.Secret)) error {
	sec := s.adminSecret.DeepCopy()
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	change(sec)
	if err := r.Update(ctx, sec); err != nil {
		return err
	}
	s.adminSecret = sec
	return nil
}

// recordAdminKey puts the admin key in use into status.adminKey.
func (r *LedgerNetworkReconciler) recordAdminKey(n *ledgerv1.LedgerNetwork, sec *corev1.Secret, id *networkIdentity) {
	gen, _ := annotationInt(sec, annAdminKeyGeneration)
	st := &ledgerv1.AdminKeyStatus{Generation: gen, KeyID: publicKeyID(id.AdminKey), RotationTx: sec.Annotations[annAdminKeyRotationTx]}
	if t, err := time.Parse(time.RFC3339, sec.Annotations[annAdminKeyRotatedAt]); err == nil {
		mt := metav1.NewTime(t)
		st.RotatedAt = &mt
	}
	n.Status.AdminKey = st
}
