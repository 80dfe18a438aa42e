package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tradeledger/tradeledger/ledgernode/policy"

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

// policyScope is one reconcile pass over one CertificatePolicy: what its
// phases found, each recorded by one phase.
type policyScope struct {
	passNotes
	cp *ledgerv1.CertificatePolicy
	// agency: the agency phase.
	agency *ledgerv1.AgencyMember
	// compiled: the compile phase ran (status.compileErrors is this
	// generation's); doc: the ledger's form of the policy, when it compiles.
	compiled bool
	doc      *policy.Policy
	// signer: the signer phase, when this generation is not in force yet.
	signer *signer
	// claim: the claim phase, the attempt this generation is published with.
	claim *attempt
}

func (s *policyScope) agencyFact() *ledgerv1.AgencyMember { return s.agency }
func (s *policyScope) docFact() *policy.Policy            { return s.doc }
func (s *policyScope) signerFact() *signer                { return s.signer }
func (s *policyScope) claimFact() *attempt                { return s.claim }

// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=certificatepolicies,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=certificatepolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=certificatepolicies/finalizers,verbs=update
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=agencymembers,verbs=get;list;watch

// Reconcile implements reconcile.Reconciler. A published policy is looked
// at again only when it or its agency changes.
func (r *CertificatePolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	d := &driver[*ledgerv1.CertificatePolicy, *policyScope]{client: r.Client, recorder: r.Recorder, metrics: r.Metrics, intervals: r.Intervals,
		name: "certificatepolicy", finalizer: policyFinalizer, kind: r}
	return d.reconcile(ctx, req)
}

func (r *CertificatePolicyReconciler) newObject() *ledgerv1.CertificatePolicy {
	return &ledgerv1.CertificatePolicy{}
}

func (r *CertificatePolicyReconciler) statusOf(cp *ledgerv1.CertificatePolicy) (*[]metav1.Condition, *int64) {
	return &cp.Status.Conditions, &cp.Status.ObservedGeneration
}

func (r *CertificatePolicyReconciler) forget(types.NamespacedName) {}

// begin: the rules are compiled before anything is signed, and a
// publication is claimed on the object before it is sent.
func (r *CertificatePolicyReconciler) begin(cp *ledgerv1.CertificatePolicy) (*policyScope, []phase[*policyScope]) {
	return &policyScope{cp: cp}, []phase[*policyScope]{
		{"agency", r.resolveAgency},
		{"compile", after((*policyScope).agencyFact, r.compile)},
		{"signer", after((*policyScope).docFact, r.openSigner)},
		{"claim", after((*policyScope).signerFact, r.claimPublication)},
		{"publish", after((*policyScope).claimFact, r.publish)},
	}
}

// Reasons of the Published condition.
const (
	reasonPublished       = "Published"
	reasonNotPublished    = "NotPublished"
	reasonPublishRejected = "PublishRejected"
)

// summarize writes Compiled (when this pass compiled the rules) and
// Published; Ready requires both.
func (r *CertificatePolicyReconciler) summarize(s *policyScope, v verdict, conds conditions) readiness {
	cp := s.cp
	if s.compiled {
		if errs := cp.Status.CompileErrors; len(errs) > 0 {
			conds.setFalse(ledgerv1.ConditionCompiled, "CompileFailed", describeCompileErrors(errs)+"; nothing was published")
		} else {
			conds.setTrue(ledgerv1.ConditionCompiled, "Compiled", fmt.Sprintf("%d rules compile", len(cp.Spec.Rules)))
		}
	}
	switch c := conds.get(ledgerv1.ConditionPublished); {
	case inForce(cp):
		conds.setTrue(ledgerv1.ConditionPublished, reasonPublished, fmt.Sprintf("version %d is in force (tx %s, height %d)",
			cp.Status.PublishedVersion, cp.Status.TxID, cp.Status.Height))
	case v.refusal != nil:
		conds.setFalse(ledgerv1.ConditionPublished, reasonPublishRejected, v.refusal.Error())
	case c != nil && c.Reason == reasonPublishRejected && c.ObservedGeneration == cp.Generation:
		// The refusal of this generation stands until a publication goes
		// through (a later pass may end before it publishes).
	default:
		msg := fmt.Sprintf("generation %d is not published yet", cp.Generation)
		if cp.Status.PublishedVersion > 0 {
			msg += fmt.Sprintf("; version %d (generation %d) stays in force", cp.Status.PublishedVersion, cp.Status.PublishedGeneration)
		}
		conds.setFalse(ledgerv1.ConditionPublished, reasonNotPublished, msg)
	}
	return readiness{stable: "nothing is under way", ready: fmt.Sprintf("version %d of %s is in force", cp.Status.PublishedVersion, cp.Name),
		required: []string{ledgerv1.ConditionCompiled, ledgerv1.ConditionPublished}}
}

// inForce says whether the ledger holds this generation of the policy.
func inForce(cp *ledgerv1.CertificatePolicy) bool {
	return cp.Status.PublishedGeneration == cp.Generation && cp.Status.PublishedVersion > 0
}

// resolveAgency finds the owning AgencyMember.
func (r *CertificatePolicyReconciler) resolveAgency(ctx context.Context, s *policyScope) error {
	cp := s.cp
	am := &ledgerv1.AgencyMember{}
	if err := r.Get(ctx, key(cp, cp.Spec.AgencyRef.Name), am); apierrors.IsNotFound(err) {
		return waitFor("AgencyNotFound", "AgencyMember %s does not exist in namespace %s (yet)", cp.Spec.AgencyRef.Name, cp.Namespace)
	} else if err != nil {
		return err
	}
	s.agency = am
	cp.Status.PolicyID = cp.Name
	cp.Status.Agency = identityOf(am)
	return nil
}

// compile checks the rules with the nodes' engine. Errors go to status
// and, once per distinct set, to an event, and end the pass: nothing is
// published.
func (r *CertificatePolicyReconciler) compile(_ context.Context, s *policyScope, am *ledgerv1.AgencyMember) error {
	cp := s.cp
	doc := buildPolicyDocument(cp, am.Spec.AgencyID)
	errs := r.Compiler.Compile(doc)
	s.compiled = true
	if len(errs) == 0 {
		cp.Status.CompileErrors = nil
		s.doc = doc
		return nil
	}
	changed := !equality.Semantic.DeepEqual(cp.Status.CompileErrors, errs)
	cp.Status.CompileErrors = errs
	if changed {
		r.Recorder.Eventf(cp, nil, corev1.EventTypeWarning, "PolicyRejected", "Compile", "%s; nothing was published", describeCompileErrors(errs))
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

// finalize withdraws a published policy, then lets the object go. Without
// the agency's key or its network there is nobody left to sign.
func (r *CertificatePolicyReconciler) finalize(ctx context.Context, cp *ledgerv1.CertificatePolicy) (bool, error) {
	if cp.Status.PublishedVersion > 0 {
		if err := r.withdraw(ctx, cp); err != nil {
			return false, err
		}
	}
	return true, nil
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
	sg, err := r.agencySigner(ctx, am)
	var we *waitError
	var de *degradedError
	if apierrors.IsNotFound(err) || errors.As(err, &we) || errors.As(err, &de) {
		return skip(err)
	} else if err != nil {
		return err
	}
	rc, err := submitSigned(ctx, sg, r.Metrics.Publications, ledgerWrite{typ: policy.TxWithdraw,
		payload: policy.Withdraw{ID: cp.Name, Reason: fmt.Sprintf("CertificatePolicy %s/%s was deleted", cp.Namespace, cp.Name)},
		what:    "withdraw policy " + cp.Name, refused: "WithdrawRejected"})
	if err != nil {
		return err
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
