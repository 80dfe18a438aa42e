package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// LedgerNetworkReconciler runs ledger networks: it generates each
// network's identity once, keeps its StatefulSet, Services and
// PodDisruptionBudget as built, drives Raft membership through scaling
// and rolls image changes one node at a time.
type LedgerNetworkReconciler struct {
	client.Client
	Recorder  events.EventRecorder
	Dialer    LedgerDialer
	Resolver  Resolver
	Build     BuildConfig
	Metrics   *Metrics
	Intervals Intervals
	// Clock schedules backups (spec.backup).
	Clock clock.PassiveClock

	leaders         announced[string]
	quorumAnnounced announced[bool]
	// restoreAnnounced: the restore phase last announced by an event (a
	// pass may read a status that trails the previous pass's patch).
	restoreAnnounced announced[ledgerv1.RestorePhase]
	// removalAsked: a removal this operator asked the ledger for and has
	// not announced yet (its answer was lost: the call timed out while the
	// leader carried it out); announced once the leader's view lacks the
	// member.
	removalAsked announced[removalRequest]
}

// networkScope is one reconcile pass over one network: what its phases
// found, each recorded by one phase.
type networkScope struct {
	passNotes
	net *ledgerv1.LedgerNetwork
	// phaseBefore is the status's phase before this pass.
	phaseBefore ledgerv1.NetworkPhase
	// identity: the identity phase. legacyNodes: the Secret that held every
	// node's keys, still there (the identity phase finds it, the
	// legacy-keys phase deletes it once no pod mounts it).
	identity    *networkIdentity
	legacyNodes *corev1.Secret
	// caSecret, adminSecret, nodeSecrets: the identity phase, the
	// Secrets as this pass read or wrote them (the CA and admin-key
	// rotations update them).
	caSecret, adminSecret *corev1.Secret
	nodeSecrets           map[string]*corev1.Secret
	// backupClient: the ca phase, the backup client Secret (nil: none).
	backupClient *corev1.Secret
	// caRotation: the ca phase, the CARotation condition it asks for
	// (nil: leave it as it is).
	caRotation *metav1.Condition
	// caNodesAsked: how many running nodes the ca phase last asked.
	caNodesAsked int
	// pods: the pods phase, the network's pods by name as the API server
	// has them.
	pods map[string]*corev1.Pod
	// view: the ledger phase, when the ledger answered through a leader
	// whose pod runs; unanswered says why it did not.
	view       *ledgerView
	unanswered error
	// sts: the statefulset phase, the StatefulSet as this pass left it;
	// stsCreated: this pass created it.
	sts        *appsv1.StatefulSet
	stsCreated bool
	// backups: the backup phase, what it says of the network's backups.
	backups *backupFacts
}

// ledgerView is the ledger as it answered this pass.
type ledgerView struct {
	ledger Ledger
	status *wire.Status
}

func (s *networkScope) identityFact() *networkIdentity { return s.identity }
func (s *networkScope) ledgerFact() *ledgerView        { return s.view }

// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgernetworks,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgernetworks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgernetworks/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=services;configmaps;secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgerbackups,verbs=get;list;watch;create;delete

// Reconcile implements reconcile.Reconciler. A network has no finalizer:
// there is nothing to tell its ledger when it goes; the children go by
// garbage collection, the identity stays with deletionPolicy Retain.
func (r *LedgerNetworkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	d := &driver[*ledgerv1.LedgerNetwork, *networkScope]{client: r.Client, recorder: r.Recorder, metrics: r.Metrics, intervals: r.Intervals,
		name: "ledgernetwork", refresh: r.Intervals.Poll, kind: r}
	return d.reconcile(ctx, req)
}

func (r *LedgerNetworkReconciler) newObject() *ledgerv1.LedgerNetwork {
	return &ledgerv1.LedgerNetwork{}
}

func (r *LedgerNetworkReconciler) statusOf(n *ledgerv1.LedgerNetwork) (*[]metav1.Condition, *int64) {
	return &n.Status.Conditions, &n.Status.ObservedGeneration
}

func (r *LedgerNetworkReconciler) forget(k types.NamespacedName) {
	r.Metrics.forgetNetwork(k.Namespace, k.Name)
	r.leaders.forget(k.Namespace, k.Name)
	r.quorumAnnounced.forget(k.Namespace, k.Name)
	r.restoreAnnounced.forget(k.Namespace, k.Name)
	r.removalAsked.forget(k.Namespace, k.Name)
}

func (r *LedgerNetworkReconciler) finalize(context.Context, *ledgerv1.LedgerNetwork) (bool, error) {
	return true, nil
}

// begin: the identity comes first (nothing starts without it), the pods
// and the ledger are observed before the StatefulSet is sized, and the
// membership and the rollout act only on the ledger's answer.
func (r *LedgerNetworkReconciler) begin(n *ledgerv1.LedgerNetwork) (*networkScope, []phase[*networkScope]) {
	answered := (*networkScope).ledgerFact
	return &networkScope{net: n, phaseBefore: n.Status.Phase}, []phase[*networkScope]{
		{"identity", r.reconcileIdentity},
		{"backups", r.reconcileBackups},
		{"services", r.reconcileServices},
		{"pods", r.observePods},
		{"legacy-keys", r.retireLegacyNodesSecret},
		{"ca", after((*networkScope).identityFact, r.reconcileCA)},
		{"admin-key", after((*networkScope).identityFact, r.reconcileAdminKey)},
		{"storage", r.checkStorage},
		{"restore", after((*networkScope).identityFact, func(ctx context.Context, s *networkScope, _ *networkIdentity) error {
			return r.reconcileRestore(ctx, s)
		})},
		{"ledger", after((*networkScope).identityFact, r.observeLedger)},
		{"quorum", r.checkQuorum},
		{"statefulset", r.reconcileStatefulSet},
		{"recovery", r.reconcileRecovery},
		{"ledger-answers", r.requireLedger},
		{"has-run", after(answered, r.markNetworkHasRun)},
		{"restore-verified", after(answered, r.verifyRestoredHead)},
		{"membership", after(answered, r.reconcileMembership)},
		{"rollout", after(answered, r.reconcileRollout)},
	}
}

// summarize sets the network's phase from the pass's verdict (a Warning
// event when it turns Degraded) and records the ledger's series.
func (r *LedgerNetworkReconciler) summarize(s *networkScope, v verdict, conds conditions) readiness {
	net := s.net
	net.Status.Phase = networkPhase(net, v)
	if s.phaseBefore != net.Status.Phase && net.Status.Phase == ledgerv1.PhaseDegraded {
		r.Recorder.Eventf(net, nil, corev1.EventTypeWarning, "Degraded", "Reconcile", "%s", v.degraded.message)
	}
	var st *wire.Status
	if s.view != nil {
		st = s.view.status
	}
	r.Metrics.observeNetwork(net, st)
	summarizeBackups(s, conds)
	if c := s.caRotation; c != nil {
		conds.set(c.Type, c.Status, c.Reason, c.Message)
	}
	summarizeRestore(net, conds)
	// The height moves with every block: it is in status.height (the
	// HEIGHT column), not in a message that would trail it.
	return readiness{stable: "the network matches its spec", ready: fmt.Sprintf("%d voters, leader %s", net.Status.Replicas, net.Status.Leader)}
}

// networkPhase is what the status's phase says after a pass: Degraded
// while something needs a person, else what is under way, else Running;
// a pass that did not settle and noted nothing leaves it as it was.
func networkPhase(n *ledgerv1.LedgerNetwork, v verdict) ledgerv1.NetworkPhase {
	switch {
	case v.degraded != nil:
		return ledgerv1.PhaseDegraded
	case v.progressing != nil:
		switch v.progressing.reason {
		case reasonScaling:
			return ledgerv1.PhaseScaling
		case reasonRollingUpdate:
			return ledgerv1.PhaseUpgrading
		case reasonPending:
			return ledgerv1.PhasePending
		case reasonRestoring:
			if !restoreDone(n) {
				return ledgerv1.PhaseRestoring
			}
		}
		// A pod restarting or an election under way in a ledger that
		// has run is no bootstrap.
		if v.progressing.reason != reasonBootstrapping && hasRun(n) {
			return ledgerv1.PhaseRunning
		}
		return ledgerv1.PhaseBootstrapping
	case v.settled:
		return ledgerv1.PhaseRunning
	}
	return n.Status.Phase
}

// Reasons of the network's conditions.
const (
	reasonPending       = "Pending"
	reasonBootstrapping = "Bootstrapping"
	reasonScaling       = "Scaling"
	reasonRollingUpdate = "RollingUpdate"
	// reasonWaitingForPods: pods are starting or restarting.
	reasonWaitingForPods = "WaitingForPods"
	// reasonLeaderElection: the leader's pod went away; the others elect.
	reasonLeaderElection = "LeaderElection"
)

// hasRun says whether the operator has seen the ledger answer with a
// leader (it records the head hash then).
func hasRun(n *ledgerv1.LedgerNetwork) bool { return n.Status.HeadHash != "" }

// SetupWithManager registers the controller: it owns the StatefulSet,
// Services and PodDisruptionBudget, and finds the identity objects and the
// pods by their network label.
func (r *LedgerNetworkReconciler) SetupWithManager(mgr ctrl.Manager) error {
	byLabel := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		name := o.GetLabels()[LabelNetwork]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&ledgerv1.LedgerNetwork{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&batchv1.Job{}).
		Watches(&corev1.Secret{}, byLabel).
		Watches(&corev1.ConfigMap{}, byLabel).
		Watches(&corev1.Pod{}, byLabel).
		// A backup of the network that starts or ends: its status.backup,
		// and the next scheduled backup that waited for it.
		Watches(&ledgerv1.LedgerBackup{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			b, ok := o.(*ledgerv1.LedgerBackup)
			if !ok || b.Spec.Network == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.Network}}}
		})).
		// Volume claims carry the pods' selector labels (no network label).
		Watches(&corev1.PersistentVolumeClaim{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			l := o.GetLabels()
			if l[LabelName] != "tradeledger" || l[LabelComponent] != "ledger-node" || l[LabelInstance] == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: l[LabelInstance]}}}
		})).
		Named("ledgernetwork").
		Complete(r)
}

// key is the object key of a child in the network's namespace.
func key(n metav1.Object, name string) client.ObjectKey {
	return client.ObjectKey{Namespace: n.GetNamespace(), Name: name}
}
