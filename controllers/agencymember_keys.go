package controllers

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// keySecretName is the Secret holding a managed agency key.
func keySecretName(am *ledgerv1.AgencyMember) string {
	if m := am.Spec.Keys.Managed; m != nil && m.SecretName != "" {
		return m.SecretName
	}
	return am.Name + "-agency-key"
}

// Annotations of the agency key Secret: the rotation bookkeeping is
// written in the same update as the key it describes, so that a reconcile
// reading a status that trails the Secret never rotates twice.
const (
	annActiveSince     = "ledger.tradeledger.io/active-since"
	annRotationRequest = "ledger.tradeledger.io/rotation-request"
	rotationTimeFormat = time.RFC3339Nano
)

// annAgency names the agency a key Secret's key belongs to, so that a
// Secret is never taken for another agency's.
const annAgency = "ledger.tradeledger.io/agency"

// componentAgencyKey is the LabelComponent of managed agency key Secrets.
const componentAgencyKey = "agency-key"

// buildAgencyKeySecret holds a managed agency key (a ledgerctl key file);
// since is when the key takes over. The Secret has no owner reference: it
// outlives its AgencyMember, as a LedgerNetwork's identity outlives it with
// deletionPolicy Retain, so that an AgencyMember deleted and applied again
// (a GitOps prune, a re-sync) resumes the agency instead of burning its id.
func buildAgencyKeySecret(am *ledgerv1.AgencyMember, k ed25519.PrivateKey, since time.Time) (*corev1.Secret, error) {
	data, err := tx.MarshalKey(k, identityOf(am))
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: keySecretName(am), Namespace: am.Namespace,
			Annotations: map[string]string{annActiveSince: since.UTC().Format(rotationTimeFormat), annAgency: am.Spec.AgencyID},
			Labels:      map[string]string{LabelName: "tradeledger", LabelComponent: componentAgencyKey, LabelManagedBy: ManagedBy, LabelInstance: am.Name}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{agencyKey: data},
	}, nil
}

// retainKeySecret makes a key Secret outlive its AgencyMember: it drops
// the owner references to AgencyMembers that Secrets made by earlier
// versions of the operator carry (the garbage collector would delete the
// key with its AgencyMember), and stamps the agency it belongs to.
func (r *AgencyMemberReconciler) retainKeySecret(ctx context.Context, am *ledgerv1.AgencyMember, sec *corev1.Secret) error {
	refs := slices.DeleteFunc(slices.Clone(sec.OwnerReferences), func(o metav1.OwnerReference) bool {
		return o.Kind == "AgencyMember" && o.APIVersion == ledgerv1.GroupVersion.String()
	})
	if len(refs) == len(sec.OwnerReferences) && sec.Annotations[annAgency] != "" {
		return nil
	}
	updated := sec.DeepCopy()
	updated.OwnerReferences = refs
	if updated.Annotations == nil {
		updated.Annotations = map[string]string{}
	}
	if updated.Annotations[annAgency] == "" {
		updated.Annotations[annAgency] = am.Spec.AgencyID
	}
	if err := r.Update(ctx, updated); err != nil {
		return fmt.Errorf("keep Secret %s beyond its AgencyMember: %w", sec.Name, err)
	}
	*sec = *updated
	return nil
}

// loadKeys reads (or, before registration, creates) the managed key pair.
func (r *AgencyMemberReconciler) loadKeys(ctx context.Context, s *agencyScope) error {
	am := s.am
	if am.Spec.Keys.Managed == nil {
		return nil
	}
	sec := &corev1.Secret{}
	err := r.Get(ctx, key(am, keySecretName(am)), sec)
	if apierrors.IsNotFound(err) {
		if am.Status.Registered {
			return degraded("KeySecretMissing", "Secret %s with the agency's private key is gone: the operator will not make a new key for a registered agency "+
				"(only the current key may sign its rotation). Restore the Secret from a backup, or rotate with ledgerctl and switch spec.keys to publicKeys", keySecretName(am))
		}
		k, err := tx.GenerateKey()
		if err != nil {
			return err
		}
		if sec, err = buildAgencyKeySecret(am, k, r.Clock.Now()); err != nil {
			return err
		}
		if err := r.Create(ctx, sec); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return degraded("SecretNotManaged", "Secret %s exists without the label %s=%s: the operator will not use it; delete it or name another in spec.keys.managed.secretName",
					sec.Name, LabelManagedBy, ManagedBy)
			}
			return err
		}
		r.Recorder.Eventf(am, sec, corev1.EventTypeNormal, "KeyCreated", "CreateKey", "created signing key %s in Secret %s",
			tx.Fingerprint(k.Public().(ed25519.PublicKey)), sec.Name)
	} else if err != nil {
		return err
	} else if other := sec.Annotations[annAgency]; other != "" && other != am.Spec.AgencyID {
		return degraded("KeySecretOfAnotherAgency", "Secret %s holds the key of agency %s, not %s: name another Secret in spec.keys.managed.secretName",
			sec.Name, other, am.Spec.AgencyID)
	} else if err := r.retainKeySecret(ctx, am, sec); err != nil {
		return err
	}
	cur, err := tx.UnmarshalKey(sec.Data[agencyKey])
	if err != nil {
		return degraded("InvalidKeySecret", "Secret %s key %s: %v", sec.Name, agencyKey, err)
	}
	s.keys, s.current, s.pending = sec, cur, nil
	if p, ok := sec.Data[pendingKey]; ok {
		if s.pending, err = tx.UnmarshalKey(p); err != nil {
			return degraded("InvalidKeySecret", "Secret %s key %s: %v", sec.Name, pendingKey, err)
		}
	}
	// The Secret's bookkeeping wins over a status that may trail it.
	if t, ok := annotationTime(sec, annActiveSince); ok {
		am.Status.ActiveKeySince = &t
	}
	if t, ok := annotationTime(sec, annRotationRequest); ok {
		am.Status.HandledRotationRequest = &t
	}
	return nil
}

func annotationTime(sec *corev1.Secret, name string) (metav1.Time, bool) {
	t, err := time.Parse(rotationTimeFormat, sec.Annotations[name])
	if err != nil {
		return metav1.Time{}, false
	}
	return metav1.NewTime(t), true
}

// nextRotation is when spec.keyRotation.every rotates the key next.
func nextRotation(am *ledgerv1.AgencyMember) *metav1.Time {
	rot := am.Spec.KeyRotation
	if rot == nil || rot.Every == nil || am.Status.ActiveKeySince == nil {
		return nil
	}
	t := metav1.NewTime(am.Status.ActiveKeySince.Add(rot.Every.Duration))
	return &t
}

// rotationDue says whether the key must rotate at now, and why: a request
// (spec.keyRotation.requestedAt, newer than the last honoured one and not
// in the future) or the schedule (spec.keyRotation.every).
func rotationDue(am *ledgerv1.AgencyMember, now time.Time) (bool, string) {
	rot := am.Spec.KeyRotation
	if rot == nil {
		return false, ""
	}
	if req := rot.RequestedAt; req != nil && !now.Before(req.Time) {
		if h := am.Status.HandledRotationRequest; h == nil || req.After(h.Time) {
			return true, "requested at " + req.UTC().Format(time.RFC3339)
		}
	}
	if next := nextRotation(am); next != nil && !now.Before(next.Time) {
		return true, "scheduled every " + rot.Every.Duration.String()
	}
	return false, ""
}

// rotateKey rotates a managed key when due. The new key is saved in the
// Secret (as pending) before the ledger hears of it, and becomes the
// current key only once the ledger recorded the rotation: an interrupted
// rotation is finished on the next pass, never lost.
func (r *AgencyMemberReconciler) rotateKey(ctx context.Context, s *agencyScope, n *agencyNetwork) error {
	am := s.am
	if s.current == nil {
		return nil
	}
	now := r.Clock.Now()
	am.Status.NextRotation = nextRotation(am)
	why := "resuming an interrupted rotation"
	if s.pending == nil {
		var due bool
		if due, why = rotationDue(am, now); !due {
			if next := am.Status.NextRotation; next != nil {
				s.requeueAfter(next.Sub(now))
			}
			if req := am.Spec.KeyRotation; req != nil && req.RequestedAt != nil && now.Before(req.RequestedAt.Time) {
				s.requeueAfter(req.RequestedAt.Sub(now))
			}
			return nil
		}
		k, err := tx.GenerateKey()
		if err != nil {
			return err
		}
		data, err := tx.MarshalKey(k, identityOf(am)+" (pending rotation)")
		if err != nil {
			return err
		}
		sec := s.keys.DeepCopy()
		sec.Data[pendingKey] = data
		if err := r.Update(ctx, sec); err != nil {
			return fmt.Errorf("save the new key in Secret %s: %w", sec.Name, err)
		}
		s.keys, s.pending = sec, k
	}

	payload := wire.KeyRotate{NewKey: publicKeyID(s.pending), Retire: publicKeyID(s.current)}
	if g := am.Spec.KeyRotation; g != nil && g.GracePeriod != nil && g.GracePeriod.Duration > 0 {
		payload.RetireAt = tx.FormatTime(time.Now().Add(g.GracePeriod.Duration))
	}
	// Signed by the current key: only it may name its successor.
	_, err := submitSigned(ctx, signer{ledger: n.admin.ledger, net: n.net, key: s.current}, r.Metrics.LedgerCalls, ledgerWrite{
		typ: wire.TypeKeyRotate, payload: payload, what: "rotate the key of " + identityOf(am), refused: "KeyRotationRejected"})
	var refused *refusal
	if errors.As(err, &refused) {
		// A rotation recorded before a lost write is rejected when sent
		// again: the ledger already holds the new key.
		ident, lerr := n.admin.ledger.Identity(ctx, identityOf(am))
		if lerr == nil && holdsKey(ident, payload.NewKey) {
			err = nil
		} else {
			r.Metrics.KeyRotations.WithLabelValues("rejected").Inc()
		}
	}
	if err != nil {
		return err
	}
	old := tx.Fingerprint(s.current.Public().(ed25519.PublicKey))
	sec := s.keys.DeepCopy()
	sec.Data[agencyKey] = sec.Data[pendingKey]
	delete(sec.Data, pendingKey)
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	sec.Annotations[annActiveSince] = now.UTC().Format(rotationTimeFormat)
	rot := am.Spec.KeyRotation
	if rot != nil && rot.RequestedAt != nil && !now.Before(rot.RequestedAt.Time) {
		sec.Annotations[annRotationRequest] = rot.RequestedAt.UTC().Format(rotationTimeFormat)
	}
	if err := r.Update(ctx, sec); err != nil {
		return fmt.Errorf("make the new key current in Secret %s: %w", sec.Name, err)
	}
	s.keys, s.current, s.pending = sec, s.pending, nil
	since := metav1.NewTime(now)
	am.Status.ActiveKeySince = &since
	if t, ok := annotationTime(sec, annRotationRequest); ok {
		am.Status.HandledRotationRequest = &t
	}
	am.Status.NextRotation = nextRotation(am)
	if next := am.Status.NextRotation; next != nil {
		s.requeueAfter(next.Sub(now))
	}
	r.Metrics.KeyRotations.WithLabelValues("ok").Inc()
	retired := "at once"
	if payload.RetireAt != "" {
		retired = "at " + payload.RetireAt
	}
	r.Recorder.Eventf(am, nil, corev1.EventTypeNormal, "KeyRotated", "RotateKey", "rotated the key of %s from %s to %s (%s); the old key retires %s, its past signatures stay valid",
		identityOf(am), old, tx.Fingerprint(s.current.Public().(ed25519.PublicKey)), why, retired)
	return nil
}

// holdsKey says whether the ledger registered keyID to the identity.
func holdsKey(ident *wire.IdentityResponse, keyID string) bool {
	if ident == nil {
		return false
	}
	for _, k := range ident.Keys {
		if k.KeyID == keyID {
			return true
		}
	}
	return false
}
