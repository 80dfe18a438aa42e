package controllers

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// policyFinalizer holds a CertificatePolicy until the ledger withdrew it.
const policyFinalizer = "ledger.tradeledger.io/withdraw-policy"

// indexAgencyRef indexes CertificatePolicies by their AgencyMember's name.
const indexAgencyRef = "spec.agencyRef.name"

// CertificatePolicyReconciler compiles agencies' rules, publishes valid
// ones signed by the agency's key (a new version on each change) and
// withdraws them when deleted.
type CertificatePolicyReconciler struct {
	client.Client
	Recorder  events.EventRecorder
	Dialer    LedgerDialer
	Compiler  PolicyCompiler
	Metrics   *Metrics
	Intervals Intervals
}

// policyPass is one reconcile pass over one CertificatePolicy.
type policyPass struct {
	cp     *ledgerv1.CertificatePolicy
	base   *ledgerv1.CertificatePolicy // as read, for the status patch
	agency *ledgerv1.AgencyMember
	doc    *policy.Policy
}

// annPublishAttempt records, before a publication is sent, the generation
// it is for and the creation time and nonce it is signed with
// ("generation;created;nonce"): a pass that acts on a stale copy of the
// object either fails to write it (conflict) or sends the very same
// transaction again (Ed25519 signatures are deterministic), which the
// ledger answers with the original receipt. Nothing is published twice.
const annPublishAttempt = "ledger.tradeledger.io/publish-attempt"

// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=certificatepolicies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=certificatepolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=certificatepolicies/finalizers,verbs=update
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=agencymembers,verbs=get;list;watch

// Reconcile implements reconcile.Reconciler.
func (r *CertificatePolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	cp := &ledgerv1.CertificatePolicy{}
	if err := r.Get(ctx, req.NamespacedName, cp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !cp.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, cp)
	}
	if controllerutil.AddFinalizer(cp, policyFinalizer) {
		if err := r.Update(ctx, cp); err != nil {
			return ctrl.Result{}, err
		}
	}

	p := &policyPass{cp: cp, base: cp.DeepCopy()}
	o := unfinishedPass
	defer func() {
		r.summarize(p, o)
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, cp, p.base, !equality.Semantic.DeepEqual(p.base.Status, cp.Status)))
		if retErr == nil {
			res = ctrl.Result{RequeueAfter: o.requeue}
		}
	}()

	o = runPhases(ctx, "certificatepolicy", r.Metrics, r.Intervals, p,
		phase[*policyPass]{"agency", r.resolveAgency},
		phase[*policyPass]{"compile", r.compile},
		phase[*policyPass]{"publish", r.publish},
	)
	return ctrl.Result{}, o.transient()
}

func (r *CertificatePolicyReconciler) summarize(p *policyPass, o passOutcome) {
	cp := p.cp
	conds := conditions{list: &cp.Status.Conditions, generation: cp.Generation}
	setProgressingAndDegraded(conds, o, "nothing is under way")
	if cp.Status.PublishedGeneration == cp.Generation && cp.Status.PublishedVersion > 0 {
		conds.setTrue(ledgerv1.ConditionPublished, "Published", fmt.Sprintf("version %d is in force (tx %s, height %d)",
			cp.Status.PublishedVersion, cp.Status.TxID, cp.Status.Height))
	} else if c := conds.get(ledgerv1.ConditionPublished); c == nil || c.Status == metav1.ConditionTrue || c.ObservedGeneration != cp.Generation {
		// (A PublishRejected set by this pass for this generation stays.)
		msg := fmt.Sprintf("generation %d is not published yet", cp.Generation)
		if cp.Status.PublishedVersion > 0 {
			msg += fmt.Sprintf("; version %d (generation %d) stays in force", cp.Status.PublishedVersion, cp.Status.PublishedGeneration)
		}
		conds.setFalse(ledgerv1.ConditionPublished, "NotPublished", msg)
	}
	conds.summarize(fmt.Sprintf("version %d of %s is in force", cp.Status.PublishedVersion, cp.Name), ledgerv1.ConditionCompiled, ledgerv1.ConditionPublished)
	if o.ok() {
		cp.Status.ObservedGeneration = cp.Generation
	}
}

// resolveAgency finds the owning AgencyMember.
func (r *CertificatePolicyReconciler) resolveAgency(ctx context.Context, p *policyPass) error {
	am := &ledgerv1.AgencyMember{}
	if err := r.Get(ctx, key(p.cp, p.cp.Spec.AgencyRef.Name), am); apierrors.IsNotFound(err) {
		return waitFor("AgencyNotFound", "AgencyMember %s does not exist in namespace %s (yet)", p.cp.Spec.AgencyRef.Name, p.cp.Namespace)
	} else if err != nil {
		return err
	}
	p.agency = am
	p.cp.Status.PolicyID = p.cp.Name
	p.cp.Status.Agency = identityOf(am)
	return nil
}

// compile checks the rules with the nodes' engine. Errors go to status and
// an event, and end the pass: nothing is published.
func (r *CertificatePolicyReconciler) compile(_ context.Context, p *policyPass) error {
	cp := p.cp
	p.doc = buildPolicyDocument(cp, p.agency.Spec.AgencyID)
	errs := r.Compiler.Compile(p.doc)
	conds := conditions{list: &cp.Status.Conditions, generation: cp.Generation}
	if len(errs) == 0 {
		cp.Status.CompileErrors = nil
		conds.setTrue(ledgerv1.ConditionCompiled, "Compiled", fmt.Sprintf("%d rules compile", len(cp.Spec.Rules)))
		return nil
	}
	changed := !equality.Semantic.DeepEqual(cp.Status.CompileErrors, errs)
	cp.Status.CompileErrors = errs
	msg := describeCompileErrors(errs)
	conds.setFalse(ledgerv1.ConditionCompiled, "CompileFailed", msg+"; nothing was published")
	if changed {
		r.Recorder.Eventf(cp, nil, corev1.EventTypeWarning, "PolicyRejected", "Compile", "%s; nothing was published", msg)
	}
	return errPassComplete
}

// describeCompileErrors says where each error is, for conditions and events.
func describeCompileErrors(errs []ledgerv1.CompileError) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		where := "policy"
		if e.Rule != "" {
			where = "rule " + e.Rule
		}
		if e.Line > 0 {
			where += fmt.Sprintf(" line %d column %d", e.Line, e.Column)
		}
		parts = append(parts, where+": "+e.Message)
	}
	return strings.Join(parts, "; ")
}

// agencySigner opens the ledger of the agency's network with the agency's
// current key.
func (r *CertificatePolicyReconciler) agencySigner(ctx context.Context, am *ledgerv1.AgencyMember) (Ledger, *ledgerv1.LedgerNetwork, ed25519.PrivateKey, error) {
	if am.Spec.Keys.Managed == nil {
		return nil, nil, nil, degraded("AgencyKeyNotManaged", "AgencyMember %s holds no private key (spec.keys.publicKeys): the agency publishes its policies itself with ledgerctl", am.Name)
	}
	if !am.Status.Registered {
		return nil, nil, nil, waitFor("AgencyNotRegistered", "AgencyMember %s is not registered on the ledger yet", am.Name)
	}
	sec := &corev1.Secret{}
	if err := r.Get(ctx, key(am, keySecretName(am)), sec); err != nil {
		return nil, nil, nil, fmt.Errorf("agency key Secret %s: %w", keySecretName(am), err)
	}
	k, err := tx.UnmarshalKey(sec.Data[agencyKey])
	if err != nil {
		return nil, nil, nil, degraded("InvalidKeySecret", "Secret %s key %s: %v", sec.Name, agencyKey, err)
	}
	net := &ledgerv1.LedgerNetwork{}
	if err := r.Get(ctx, networkRef(am), net); err != nil {
		return nil, nil, nil, err
	}
	target, err := networkTarget(ctx, r.Client, net)
	if err != nil {
		return nil, nil, nil, err
	}
	l, err := dialBounded(ctx, r.Dialer, target, r.Intervals.LedgerCall)
	if err != nil {
		return nil, nil, nil, err
	}
	return l, net, k, nil
}

// publish puts the current generation on the ledger: policy.publish the
// first time, then policy.update (a new version) on each change.
func (r *CertificatePolicyReconciler) publish(ctx context.Context, p *policyPass) error {
	cp := p.cp
	if cp.Status.PublishedGeneration == cp.Generation && cp.Status.PublishedVersion > 0 {
		return nil
	}
	l, net, k, err := r.agencySigner(ctx, p.agency)
	if err != nil {
		return err
	}
	attempt, err := r.publishAttempt(ctx, p, false)
	if err != nil {
		return err
	}
	typ, doc := policy.TxPublish, *p.doc
	if cp.Status.PublishedVersion > 0 {
		// Compare-and-set: the update creates exactly the next version.
		typ, doc.Version = policy.TxUpdate, int(cp.Status.PublishedVersion+1)
	}
	rc, err := r.submitPolicy(ctx, l, net, k, typ, doc, attempt)
	if errors.Is(err, errAttemptExpired) {
		// Signed too long ago to be accepted, and not recorded: sign anew.
		_, err = r.publishAttempt(ctx, p, true)
		if err == nil {
			err = waitFor("Publishing", "signing the publication of generation %d again", cp.Generation)
		}
		return err
	}
	if err != nil {
		return err
	}
	if rc.Status != chain.Accepted && typ == policy.TxPublish && rejectedAs(rc, "conflict") {
		// Published before the object was (re)created: publish a new version.
		typ, doc.Version = policy.TxUpdate, 0
		if rc, err = r.submitPolicy(ctx, l, net, k, typ, doc, attempt); err != nil {
			return err
		}
	}
	if rc.Status != chain.Accepted {
		r.Recorder.Eventf(cp, nil, corev1.EventTypeWarning, "PolicyPublishFailed", "Publish", "the ledger refused %s of %s: %s", typ, cp.Name, rejection(rc))
		conditions{list: &cp.Status.Conditions, generation: cp.Generation}.setFalse(ledgerv1.ConditionPublished, "PublishRejected",
			fmt.Sprintf("the ledger refused %s (tx %s): %s", typ, rc.TxID, rejection(rc)))
		return degraded("PublishRejected", "the ledger refused %s (tx %s): %s", typ, rc.TxID, rejection(rc))
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
		res.Version, cp.Name, identityOf(p.agency), rc.TxID, rc.Height)
	return nil
}

// attempt is what makes a publication's envelope the same each time it is
// built: its creation time and nonce.
type attempt struct {
	created time.Time
	nonce   string
}

// publishAttempt returns the attempt to sign this generation's publication
// with, recording a new one on the object first (an update that fails on a
// stale copy) when there is none for this generation, or when renew is set.
func (r *CertificatePolicyReconciler) publishAttempt(ctx context.Context, p *policyPass, renew bool) (attempt, error) {
	cp := p.cp
	gen := strconv.FormatInt(cp.Generation, 10)
	if parts := strings.Split(cp.Annotations[annPublishAttempt], ";"); len(parts) == 3 && !renew && parts[0] == gen {
		if t, err := tx.ParseTime(parts[1]); err == nil {
			return attempt{created: t, nonce: parts[2]}, nil
		}
	}
	nonce, err := tx.NewNonce()
	if err != nil {
		return attempt{}, err
	}
	// Stored as the envelope writes it (microseconds), so the attempt
	// read back signs to the very same transaction.
	created := tx.FormatTime(time.Now())
	if cp.Annotations == nil {
		cp.Annotations = map[string]string{}
	}
	cp.Annotations[annPublishAttempt] = gen + ";" + created + ";" + nonce
	if err := r.Update(ctx, cp); err != nil {
		return attempt{}, err
	}
	p.base.ObjectMeta = *cp.ObjectMeta.DeepCopy()
	t, err := tx.ParseTime(created)
	return attempt{created: t, nonce: nonce}, err
}

// errAttemptExpired: a publication signed too long ago that the ledger
// never recorded.
var errAttemptExpired = errors.New("publication attempt expired")

func (r *CertificatePolicyReconciler) submitPolicy(ctx context.Context, l Ledger, net *ledgerv1.LedgerNetwork, k ed25519.PrivateKey,
	typ string, doc policy.Policy, a attempt) (*chain.Receipt, error) {
	e, err := tx.Build(networkID(net), typ, doc, a.created)
	if err != nil {
		return nil, err
	}
	e.Nonce = a.nonce
	st, err := e.Sign(k)
	if err != nil {
		return nil, err
	}
	rc, err := l.Submit(ctx, st)
	r.Metrics.Publications.WithLabelValues(typ, result(err)).Inc()
	if errors.Is(err, ErrTxExpired) {
		if rc, lerr := l.Receipt(ctx, st.IDHex()); lerr == nil {
			return rc, nil
		}
		return nil, errAttemptExpired
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", typ, doc.ID, err)
	}
	return rc, nil
}

// rejectedAs says whether a receipt was rejected with a given code.
func rejectedAs(rc *chain.Receipt, code string) bool {
	for _, r := range rc.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// finalize withdraws a published policy, then lets the object go. Without
// the agency's key or its network there is nobody left to sign.
func (r *CertificatePolicyReconciler) finalize(ctx context.Context, cp *ledgerv1.CertificatePolicy) error {
	if !controllerutil.ContainsFinalizer(cp, policyFinalizer) {
		return nil
	}
	if cp.Status.PublishedVersion > 0 {
		if err := r.withdraw(ctx, cp); err != nil {
			return err
		}
	}
	controllerutil.RemoveFinalizer(cp, policyFinalizer)
	return client.IgnoreNotFound(r.Update(ctx, cp))
}

func (r *CertificatePolicyReconciler) withdraw(ctx context.Context, cp *ledgerv1.CertificatePolicy) error {
	skip := func(why error) error {
		r.Recorder.Eventf(cp, nil, corev1.EventTypeWarning, "WithdrawSkipped", "Withdraw",
			"cannot sign for AgencyMember %s (%v): policy %s stays in force on the ledger; withdraw it with ledgerctl", cp.Spec.AgencyRef.Name, why, cp.Name)
		return nil
	}
	am := &ledgerv1.AgencyMember{}
	if err := r.Get(ctx, key(cp, cp.Spec.AgencyRef.Name), am); apierrors.IsNotFound(err) {
		return skip(errors.New("it is gone"))
	} else if err != nil {
		return err
	}
	l, net, k, err := r.agencySigner(ctx, am)
	var we *waitError
	var de *degradedError
	if apierrors.IsNotFound(err) || errors.As(err, &we) || errors.As(err, &de) {
		return skip(err)
	} else if err != nil {
		return err
	}
	st, err := signNow(net, policy.TxWithdraw, policy.Withdraw{ID: cp.Name,
		Reason: fmt.Sprintf("CertificatePolicy %s/%s was deleted", cp.Namespace, cp.Name)}, k)
	if err != nil {
		return err
	}
	rc, err := l.Submit(ctx, st)
	r.Metrics.Publications.WithLabelValues(policy.TxWithdraw, result(err)).Inc()
	if err != nil {
		return fmt.Errorf("withdraw %s: %w", cp.Name, err)
	}
	if rc.Status != chain.Accepted {
		// The ledger's answer is final (e.g. already withdrawn): record it.
		r.Recorder.Eventf(cp, nil, corev1.EventTypeWarning, "WithdrawRejected", "Withdraw", "the ledger refused to withdraw %s: %s", cp.Name, rejection(rc))
		return nil
	}
	r.Recorder.Eventf(cp, nil, corev1.EventTypeNormal, "PolicyWithdrawn", "Withdraw", "withdrew %s (version %d) at height %d; its history stays on the ledger",
		cp.Name, cp.Status.PublishedVersion, rc.Height)
	return nil
}

// SetupWithManager registers the controller; a change of the agency
// (registration, key rotation) wakes its policies.
func (r *CertificatePolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&ledgerv1.CertificatePolicy{}).
		Watches(&ledgerv1.AgencyMember{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			var list ledgerv1.CertificatePolicyList
			if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexAgencyRef: o.GetName()}); err != nil {
				return nil
			}
			reqs := make([]reconcile.Request, 0, len(list.Items))
			for _, cp := range list.Items {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&cp)})
			}
			return reqs
		})).
		Named("certificatepolicy").
		Complete(r)
}
