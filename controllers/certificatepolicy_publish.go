package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// annPublishAttempt records, before a publication is sent, the generation
// it is for and the creation time and nonce it is signed with
// ("generation;created;nonce"): a pass that acts on a stale copy of the
// object either fails to write it (conflict) or sends the very same
// transaction again (Ed25519 signatures are deterministic), which the
// ledger answers with the original receipt. Nothing is published twice.
const annPublishAttempt = "ledger.tradeledger.io/publish-attempt"

// agencySigner opens the ledger of the agency's network with the agency's
// current key.
func (r *CertificatePolicyReconciler) agencySigner(ctx context.Context, am *ledgerv1.AgencyMember) (signer, error) {
	if am.Spec.Keys.Managed == nil {
		return signer{}, degraded("AgencyKeyNotManaged", "AgencyMember %s holds no private key (spec.keys.publicKeys): the agency publishes its policies itself with ledgerctl", am.Name)
	}
	if !am.Status.Registered {
		return signer{}, waitFor("AgencyNotRegistered", "AgencyMember %s is not registered on the ledger yet", am.Name)
	}
	sec := &corev1.Secret{}
	if err := r.Get(ctx, key(am, keySecretName(am)), sec); err != nil {
		return signer{}, fmt.Errorf("agency key Secret %s: %w", keySecretName(am), err)
	}
	k, err := tx.UnmarshalKey(sec.Data[agencyKey])
	if err != nil {
		return signer{}, degraded("InvalidKeySecret", "Secret %s key %s: %v", sec.Name, agencyKey, err)
	}
	net := &ledgerv1.LedgerNetwork{}
	if err := r.Get(ctx, networkRef(am), net); err != nil {
		return signer{}, err
	}
	target, err := networkTarget(ctx, r.Client, net)
	if err != nil {
		return signer{}, err
	}
	l, err := dialBounded(ctx, r.Dialer, target, r.Intervals.LedgerCall)
	if err != nil {
		return signer{}, err
	}
	return signer{ledger: l, net: net, key: k}, nil
}

// openSigner opens the agency's ledger with its key, when this generation
// is not in force yet; when it is, the pass is complete.
func (r *CertificatePolicyReconciler) openSigner(ctx context.Context, s *policyScope, _ *policy.Policy) error {
	if inForce(s.cp) {
		return errPassComplete
	}
	sg, err := r.agencySigner(ctx, s.agency)
	if err != nil {
		return err
	}
	s.signer = &sg
	return nil
}

// claimPublication takes the attempt this generation is published with
// from the object, or records a new one on it first (an update that fails
// on a stale copy).
func (r *CertificatePolicyReconciler) claimPublication(ctx context.Context, s *policyScope, _ *signer) error {
	a, ok := claimed(s.cp)
	if !ok {
		var err error
		if a, err = r.writeClaim(ctx, s.cp); err != nil {
			return err
		}
	}
	s.claim = &a
	return nil
}

// claimed is the attempt recorded on the object for its generation.
func claimed(cp *ledgerv1.CertificatePolicy) (attempt, bool) {
	parts := strings.Split(cp.Annotations[annPublishAttempt], ";")
	if len(parts) != 3 || parts[0] != strconv.FormatInt(cp.Generation, 10) {
		return attempt{}, false
	}
	t, err := tx.ParseTime(parts[1])
	if err != nil {
		return attempt{}, false
	}
	return attempt{created: t, nonce: parts[2]}, true
}

// writeClaim records a new attempt for the object's generation on the
// object: an update of a copy, so that what this pass wrote in the status
// stays for the status patch.
func (r *CertificatePolicyReconciler) writeClaim(ctx context.Context, cp *ledgerv1.CertificatePolicy) (attempt, error) {
	nonce, err := tx.NewNonce()
	if err != nil {
		return attempt{}, err
	}
	// Stored as the envelope writes it (microseconds), so the attempt
	// read back signs to the very same transaction.
	created := tx.FormatTime(time.Now())
	t, err := tx.ParseTime(created)
	if err != nil {
		return attempt{}, err
	}
	claim := cp.DeepCopy()
	if claim.Annotations == nil {
		claim.Annotations = map[string]string{}
	}
	claim.Annotations[annPublishAttempt] = strconv.FormatInt(cp.Generation, 10) + ";" + created + ";" + nonce
	if err := r.Update(ctx, claim); err != nil {
		return attempt{}, fmt.Errorf("claim the publication of generation %d: %w", cp.Generation, err)
	}
	cp.ObjectMeta = claim.ObjectMeta
	return attempt{created: t, nonce: nonce}, nil
}

// publish puts the current generation on the ledger with the claimed
// attempt: policy.publish the first time, then policy.update (a new
// version) on each change.
func (r *CertificatePolicyReconciler) publish(ctx context.Context, s *policyScope, a *attempt) error {
	cp := s.cp
	typ, doc := policy.TxPublish, *s.doc
	if cp.Status.PublishedVersion > 0 {
		// Compare-and-set: the update creates exactly the next version.
		typ, doc.Version = policy.TxUpdate, int(cp.Status.PublishedVersion+1)
	}
	rc, err := r.submitPolicy(ctx, s, typ, doc, a)
	var refused *refusal
	if errors.As(err, &refused) && typ == policy.TxPublish && refused.rejectedFor("conflict") {
		// Published before the object was (re)created: publish a new version.
		typ, doc.Version = policy.TxUpdate, 0
		rc, err = r.submitPolicy(ctx, s, typ, doc, a)
	}
	if errors.Is(err, errAttemptExpired) {
		// Signed too long ago to be accepted, and not recorded: sign anew.
		if _, err := r.writeClaim(ctx, cp); err != nil {
			return err
		}
		return waitFor("Publishing", "signing the publication of generation %d again", cp.Generation)
	}
	if err != nil {
		return err
	}
	var res struct {
		Version int64 `json:"version"`
	}
	if json.Unmarshal(rc.Result, &res) != nil || res.Version == 0 {
		res.Version = cp.Status.PublishedVersion + 1
	}
	cp.Status.PublishedVersion, cp.Status.PublishedGeneration = res.Version, cp.Generation
	cp.Status.TxID, cp.Status.Height = rc.TxID, int64(rc.Height)
	r.Recorder.Eventf(cp, nil, corev1.EventTypeNormal, "PolicyPublished", "Publish", "published version %d of %s signed by %s (tx %s, height %d)",
		res.Version, cp.Name, identityOf(s.agency), rc.TxID, rc.Height)
	return nil
}

func (r *CertificatePolicyReconciler) submitPolicy(ctx context.Context, s *policyScope, typ string, doc policy.Policy, a *attempt) (*chain.Receipt, error) {
	what := "publish policy " + doc.ID
	if typ == policy.TxUpdate {
		what = "publish a new version of policy " + doc.ID
	}
	return submitSigned(ctx, *s.signer, r.Metrics.Publications, ledgerWrite{typ: typ, payload: doc, what: what,
		refused: reasonPublishRejected, attempt: a})
}
