package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tradeledger/tradeledger/ledgernode/api"

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

	leaders announcedLeaders
}

// networkScope is one reconcile pass over one network.
type networkScope struct {
	net      *ledgerv1.LedgerNetwork
	identity *networkIdentity
	sts      *appsv1.StatefulSet    // as found before this pass changed it; nil if absent
	pods     map[string]*corev1.Pod // the network's pods by name, as the API server has them
	// legacyNodes is the Secret that held every node's keys, still there.
	legacyNodes *corev1.Secret
	ledger      Ledger
	status      *api.Status // the ledger's view; nil when unreachable
	statusErr   error

	progressing *passNote // set by a phase that is moving the network
	degraded    *passNote // set by a phase that found something wrong
	requeue     time.Duration
}

func (s *networkScope) setProgressing(reason, format string, args ...any) {
	if s.progressing == nil {
		s.progressing = &passNote{reason, fmt.Sprintf(format, args...)}
	}
}

func (s *networkScope) setDegraded(reason, format string, args ...any) {
	if s.degraded == nil {
		s.degraded = &passNote{reason, fmt.Sprintf(format, args...)}
	}
}

func (s *networkScope) requeueAfter(d time.Duration) {
	if s.requeue == 0 || d < s.requeue {
		s.requeue = d
	}
}

// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgernetworks,verbs=get;list;watch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgernetworks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgernetworks/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=services;configmaps;secrets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile implements reconcile.Reconciler.
func (r *LedgerNetworkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	net := &ledgerv1.LedgerNetwork{}
	if err := r.Get(ctx, req.NamespacedName, net); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forgetNetwork(req.Namespace, req.Name)
			r.leaders.forget(req.Namespace, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !net.DeletionTimestamp.IsZero() {
		// Nothing to tell the ledger: the children go by garbage
		// collection, the identity stays with deletionPolicy Retain.
		return ctrl.Result{}, nil
	}

	s := &networkScope{net: net}
	base := net.DeepCopy()
	o := unfinishedPass
	defer func() {
		r.summarize(s, base, o.ok())
		r.Metrics.observeNetwork(net, s.status)
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, net, base, !equality.Semantic.DeepEqual(base.Status, net.Status)))
		if retErr == nil {
			res = ctrl.Result{RequeueAfter: s.requeue}
		}
	}()

	o = runPhases(ctx, "ledgernetwork", r.Metrics, r.Intervals, s,
		phase[*networkScope]{"identity", r.reconcileIdentity},
		phase[*networkScope]{"services", r.reconcileServices},
		phase[*networkScope]{"pods", r.observePods},
		phase[*networkScope]{"legacy-keys", r.retireLegacyNodesSecret},
		phase[*networkScope]{"storage", r.checkStorage},
		phase[*networkScope]{"ledger", r.observeLedger},
		phase[*networkScope]{"statefulset", r.reconcileStatefulSet},
		phase[*networkScope]{"membership", r.reconcileMembership},
		phase[*networkScope]{"rollout", r.reconcileRollout},
	)
	if o.waiting != nil {
		s.setProgressing(o.waiting.reason, "%s", o.waiting.message)
	}
	if d := o.degradation(); d != nil {
		s.setDegraded(d.reason, "%s", d.message)
	}
	s.requeueAfter(o.requeue)
	if s.progressing != nil {
		s.requeueAfter(r.Intervals.Wait)
	}
	s.requeueAfter(r.Intervals.Poll)
	return ctrl.Result{}, o.transient()
}

// summarize writes the pass's outcome into the status: conditions, phase,
// and observedGeneration when the pass went through.
func (r *LedgerNetworkReconciler) summarize(s *networkScope, base *ledgerv1.LedgerNetwork, passed bool) {
	net := s.net
	conds := conditions{list: &net.Status.Conditions, generation: net.Generation}
	// The two never contradict each other: a network that is stuck says
	// Progressing=False with the Degraded reason, never "Stable".
	switch {
	case s.progressing != nil:
		conds.setTrue(ledgerv1.ConditionProgressing, s.progressing.reason, s.progressing.message)
	case s.degraded != nil:
		conds.setFalse(ledgerv1.ConditionProgressing, s.degraded.reason, "stopped until this is resolved: "+s.degraded.message)
	default:
		conds.setFalse(ledgerv1.ConditionProgressing, reasonStable, "the network matches its spec")
	}
	if s.degraded != nil {
		conds.setTrue(ledgerv1.ConditionDegraded, s.degraded.reason, s.degraded.message)
	} else {
		conds.setFalse(ledgerv1.ConditionDegraded, reasonHealthy, "nothing needs attention")
	}
	// The height moves with every block: it is in status.height (the
	// HEIGHT column), not in a message that would trail it.
	conds.summarize(fmt.Sprintf("%d voters, leader %s", net.Status.Replicas, net.Status.Leader))

	switch {
	case s.degraded != nil:
		net.Status.Phase = ledgerv1.PhaseDegraded
	case s.progressing != nil:
		switch s.progressing.reason {
		case reasonScaling:
			net.Status.Phase = ledgerv1.PhaseScaling
		case reasonRollingUpdate:
			net.Status.Phase = ledgerv1.PhaseUpgrading
		case reasonPending:
			net.Status.Phase = ledgerv1.PhasePending
		default:
			// A pod restarting or an election under way in a ledger that
			// has run is no bootstrap.
			net.Status.Phase = ledgerv1.PhaseBootstrapping
			if s.progressing.reason != reasonBootstrapping && hasRun(net) {
				net.Status.Phase = ledgerv1.PhaseRunning
			}
		}
	default:
		net.Status.Phase = ledgerv1.PhaseRunning
	}
	if passed {
		net.Status.ObservedGeneration = net.Generation
	}
	if base.Status.Phase != net.Status.Phase && net.Status.Phase == ledgerv1.PhaseDegraded {
		r.Recorder.Eventf(net, nil, corev1.EventTypeWarning, "Degraded", "Reconcile", "%s", s.degraded.message)
	}
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
		Watches(&corev1.Secret{}, byLabel).
		Watches(&corev1.ConfigMap{}, byLabel).
		Watches(&corev1.Pod{}, byLabel).
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
