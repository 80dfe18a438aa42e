package controllers

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"regexp"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// agencyFinalizer holds an AgencyMember until the ledger suspended the agency.
const agencyFinalizer = "ledger.tradeledger.io/suspend-agency"

// indexNetworkRef indexes AgencyMembers by "namespace/name" of their network.
const indexNetworkRef = "spec.networkRef"

// AgencyMemberReconciler registers agencies on their network's ledger,
// keeps their programs in sync, rotates managed keys on schedule or on
// request, and suspends an agency whose AgencyMember is deleted.
type AgencyMemberReconciler struct {
	client.Client
	Recorder  events.EventRecorder
	Dialer    LedgerDialer
	Clock     clock.PassiveClock // schedules key rotations
	Metrics   *Metrics
	Intervals Intervals
}

// agencyScope is one reconcile pass over one AgencyMember: what its
// phases found, each recorded by one phase.
type agencyScope struct {
	passNotes
	am *ledgerv1.AgencyMember
	// network: the network phase, when the AgencyMember may join it.
	network *agencyNetwork
	// The keys phase, managed keys only: the Secret, the key that signs
	// now, and the new key of a rotation under way.
	keys    *corev1.Secret
	current ed25519.PrivateKey
	pending ed25519.PrivateKey
	// reinstated: this pass reinstated the agency on the ledger.
	reinstated bool
}

// agencyNetwork is the AgencyMember's network, open with its admin key.
type agencyNetwork struct {
	net   *ledgerv1.LedgerNetwork
	admin signer
}

func (s *agencyScope) networkFact() *agencyNetwork { return s.network }

// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=agencymembers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=agencymembers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=agencymembers/finalizers,verbs=update
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgernetworks,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile implements reconcile.Reconciler.
func (r *AgencyMemberReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	d := &driver[*ledgerv1.AgencyMember, *agencyScope]{client: r.Client, recorder: r.Recorder, metrics: r.Metrics, intervals: r.Intervals,
		name: "agencymember", finalizer: agencyFinalizer, refresh: r.Intervals.Poll, kind: r}
	return d.reconcile(ctx, req)
}

func (r *AgencyMemberReconciler) newObject() *ledgerv1.AgencyMember { return &ledgerv1.AgencyMember{} }

func (r *AgencyMemberReconciler) statusOf(am *ledgerv1.AgencyMember) (*[]metav1.Condition, *int64) {
	return &am.Status.Conditions, &am.Status.ObservedGeneration
}

func (r *AgencyMemberReconciler) forget(k types.NamespacedName) {
	r.Metrics.forgetAgency(k.Namespace, k.Name)
}

func (r *AgencyMemberReconciler) begin(am *ledgerv1.AgencyMember) (*agencyScope, []phase[*agencyScope]) {
	network := (*agencyScope).networkFact
	return &agencyScope{am: am}, []phase[*agencyScope]{
		{"network", r.resolveNetwork},
		{"keys", r.loadKeys},
		{"register", after(network, r.register)},
		{"sync", after(network, r.syncRecord)},
		{"rotate", after(network, r.rotateKey)},
		{"mirror", after(network, r.mirrorKeys)},
	}
}

// summarize says whether the agency is registered; Ready requires it.
func (r *AgencyMemberReconciler) summarize(s *agencyScope, _ verdict, conds conditions) readiness {
	am := s.am
	if am.Status.Registered {
		conds.setTrue(ledgerv1.ConditionRegistered, "Registered", fmt.Sprintf("%s is registered at height %d", am.Status.Identity, am.Status.RegistrationHeight))
	} else {
		conds.setFalse(ledgerv1.ConditionRegistered, "NotRegistered", fmt.Sprintf("%s is not registered yet", identityOf(am)))
	}
	r.Metrics.observeAgency(am)
	fp := "(none)"
	if am.Status.ActiveKey != nil {
		fp = am.Status.ActiveKey.Fingerprint
	}
	return readiness{stable: "the ledger holds what the spec says", ready: fmt.Sprintf("%s signs with key %s", am.Status.Identity, fp),
		required: []string{ledgerv1.ConditionRegistered}}
}

// identityOf is the agency's ledger identity.
func identityOf(am *ledgerv1.AgencyMember) string { return "agency/" + am.Spec.AgencyID }

// finalize suspends the agency on the ledger, then lets the AgencyMember
// go. Suspension keeps the agency's history; nothing is erased. Policies of
// the agency being deleted at the same time are withdrawn first, while the
// agency may still sign. When the network itself is gone there is no
// ledger left to tell.
func (r *AgencyMemberReconciler) finalize(ctx context.Context, am *ledgerv1.AgencyMember) (bool, error) {
	var policies ledgerv1.CertificatePolicyList
	if err := r.List(ctx, &policies, client.InNamespace(am.Namespace), client.MatchingFields{indexAgencyRef: am.Name}); err != nil {
		return false, err
	}
	for _, cp := range policies.Items {
		if !cp.DeletionTimestamp.IsZero() && controllerutil.ContainsFinalizer(&cp, policyFinalizer) {
			return false, nil
		}
	}
	// The key stays, so that the agency can be resumed: a Secret made by an
	// earlier version of the operator is still owned by the AgencyMember,
	// and the garbage collector would delete it.
	if am.Spec.Keys.Managed != nil {
		sec := &corev1.Secret{}
		if err := r.Get(ctx, key(am, keySecretName(am)), sec); err == nil {
			if err := r.retainKeySecret(ctx, am, sec); err != nil {
				return false, err
			}
		} else if !apierrors.IsNotFound(err) {
			return false, err
		}
	}
	if am.Status.Registered {
		if err := r.suspend(ctx, am); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (r *AgencyMemberReconciler) suspend(ctx context.Context, am *ledgerv1.AgencyMember) error {
	net, err := r.network(ctx, am)
	if apierrors.IsNotFound(err) || (err == nil && !net.DeletionTimestamp.IsZero()) {
		r.Recorder.Eventf(am, nil, corev1.EventTypeWarning, "SuspendSkipped", "Suspend",
			"LedgerNetwork %s is gone: there is no ledger to suspend %s on", networkKey(am), identityOf(am))
		return nil
	}
	if err != nil {
		return err
	}
	target, err := networkTarget(ctx, r.Client, net)
	if err != nil {
		r.Recorder.Eventf(am, nil, corev1.EventTypeWarning, "SuspendSkipped", "Suspend",
			"cannot sign as the network admin (%v): %s stays active on the ledger; suspend it with ledgerctl", err, identityOf(am))
		return nil
	}
	l, err := dialBounded(ctx, r.Dialer, target, r.Intervals.LedgerCall)
	if err != nil {
		return err
	}
	rc, err := submitSigned(ctx, signer{ledger: l, net: net, key: target.AdminKey}, r.Metrics.LedgerCalls, ledgerWrite{
		typ: wire.TypeAgencySuspend, payload: wire.AgencySuspend{ID: am.Spec.AgencyID, Reason: suspendReason(am)},
		what: "suspend " + identityOf(am), refused: "SuspendRejected"})
	if err != nil {
		return err
	}
	r.Recorder.Eventf(am, nil, corev1.EventTypeNormal, "AgencySuspended", "Suspend",
		"suspended %s at height %d; its history stays on the ledger", identityOf(am), rc.Height)
	return nil
}

// suspendReason is what the operator records when it suspends an agency
// because its AgencyMember was deleted; an AgencyMember applied again
// reinstates only an agency suspended so (suspendedOnDeletion).
func suspendReason(am *ledgerv1.AgencyMember) string {
	return fmt.Sprintf("AgencyMember %s/%s was deleted", am.Namespace, am.Name)
}

// suspendedOnDeletion says whether a suspension's reason is the one the
// operator records on deletion, rather than a network admin's decision.
func suspendedOnDeletion(reason string) bool { return suspendedOnDeletionRE.MatchString(reason) }

var suspendedOnDeletionRE = regexp.MustCompile(`^AgencyMember [a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]* was deleted$`)

// networkRef is the object key of the AgencyMember's network (its own
// namespace unless the reference names another).
func networkRef(am *ledgerv1.AgencyMember) client.ObjectKey {
	ns := am.Spec.NetworkRef.Namespace
	if ns == "" {
		ns = am.Namespace
	}
	return client.ObjectKey{Namespace: ns, Name: am.Spec.NetworkRef.Name}
}

// networkKey is the AgencyMember's network as "namespace/name".
func networkKey(am *ledgerv1.AgencyMember) string { return networkRef(am).String() }

func (r *AgencyMemberReconciler) network(ctx context.Context, am *ledgerv1.AgencyMember) (*ledgerv1.LedgerNetwork, error) {
	net := &ledgerv1.LedgerNetwork{}
	err := r.Get(ctx, networkRef(am), net)
	return net, err
}

// SetupFieldIndexes registers the cache indexes the controllers look
// objects up by; call it once, before SetupWithManager.
func SetupFieldIndexes(ctx context.Context, mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(ctx, &ledgerv1.AgencyMember{}, indexNetworkRef, func(o client.Object) []string {
		return []string{networkKey(o.(*ledgerv1.AgencyMember))}
	}); err != nil {
		return err
	}
	return mgr.GetFieldIndexer().IndexField(ctx, &ledgerv1.CertificatePolicy{}, indexAgencyRef, func(o client.Object) []string {
		return []string{o.(*ledgerv1.CertificatePolicy).Spec.AgencyRef.Name}
	})
}

// SetupWithManager registers the controller. It looks again when the
// network changes (its namespace selector, its readiness) and when a
// namespace's labels change.
func (r *AgencyMemberReconciler) SetupWithManager(mgr ctrl.Manager) error {
	members := func(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
		var list ledgerv1.AgencyMemberList
		if err := r.List(ctx, &list, opts...); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, am := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&am)})
		}
		return reqs
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&ledgerv1.AgencyMember{}).
		// Key Secrets carry no owner reference (they outlive their
		// AgencyMember): they are found by their labels.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			l := o.GetLabels()
			if l[LabelComponent] != componentAgencyKey || l[LabelInstance] == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: l[LabelInstance]}}}
		})).
		Watches(&ledgerv1.LedgerNetwork{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return members(ctx, client.MatchingFields{indexNetworkRef: o.GetNamespace() + "/" + o.GetName()})
		})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return members(ctx, client.InNamespace(o.GetName()))
		})).
		Named("agencymember").
		Complete(r)
}
