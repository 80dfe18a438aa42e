package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// ensureChild creates desired, or brings the existing object's labels,
// owner reference and owned fields (copied by update) to it. It writes
// only when something changed.
func ensureChild[T client.Object](ctx context.Context, c client.Client, desired T, update func(existing, desired T)) (T, error) {
	existing := desired.DeepCopyObject().(T)
	if err := c.Get(ctx, client.ObjectKeyFromObject(desired), existing); apierrors.IsNotFound(err) {
		return desired, c.Create(ctx, desired)
	} else if err != nil {
		return existing, err
	}
	before := existing.DeepCopyObject().(T)
	labels := maps.Clone(existing.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, desired.GetLabels())
	existing.SetLabels(labels)
	refs := existing.GetOwnerReferences()
	for _, want := range desired.GetOwnerReferences() {
		if !slices.ContainsFunc(refs, func(o metav1.OwnerReference) bool { return o.UID == want.UID }) {
			refs = append(slices.Clone(refs), want)
		}
	}
	existing.SetOwnerReferences(refs)
	update(existing, desired)
	if equality.Semantic.DeepEqual(before, existing) {
		return existing, nil
	}
	return existing, c.Update(ctx, existing)
}

// reconcileServices keeps the headless and client Services and the
// PodDisruptionBudget as built.
func (r *LedgerNetworkReconciler) reconcileServices(ctx context.Context, s *networkScope) error {
	updateService := func(existing, desired *corev1.Service) {
		existing.Spec.Ports = desired.Spec.Ports
		existing.Spec.Selector = desired.Spec.Selector
		existing.Spec.PublishNotReadyAddresses = desired.Spec.PublishNotReadyAddresses
	}
	for _, svc := range []*corev1.Service{buildHeadlessService(s.net), buildClientService(s.net)} {
		if _, err := ensureChild(ctx, r.Client, svc, updateService); err != nil {
			return fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	_, err := ensureChild(ctx, r.Client, buildPDB(s.net), func(existing, desired *policyv1.PodDisruptionBudget) {
		existing.Spec.MinAvailable = desired.Spec.MinAvailable
		existing.Spec.MaxUnavailable = nil
		existing.Spec.Selector = desired.Spec.Selector
	})
	if err != nil {
		return fmt.Errorf("poddisruptionbudget: %w", err)
	}
	return nil
}

// statefulSetReplicas is how many pods the StatefulSet should run: the
// spec's count, but never fewer than the highest ordinal still in the Raft
// configuration (a pod goes away only after its member left), and never
// fewer than found runs while the ledger cannot be asked (st is nil); 0
// while a recovery needs every node stopped.
func statefulSetReplicas(n *ledgerv1.LedgerNetwork, found *appsv1.StatefulSet, st *wire.Status) int32 {
	if recoveryStopsNodes(n) {
		return 0
	}
	want := n.Spec.Replicas
	if st == nil {
		if found != nil && found.Spec.Replicas != nil {
			return max(want, *found.Spec.Replicas)
		}
		return want
	}
	for _, m := range st.Members {
		if o := ordinalOf(n, m.ID); o >= 0 {
			want = max(want, int32(o+1))
		}
	}
	return want
}

// reconcileStatefulSet keeps the node StatefulSet as built, with the
// replica count the membership allows.
func (r *LedgerNetworkReconciler) reconcileStatefulSet(ctx context.Context, s *networkScope) error {
	n := s.net
	var found *appsv1.StatefulSet
	cur := &appsv1.StatefulSet{}
	if err := r.Get(ctx, key(n, statefulSetName(n)), cur); err == nil {
		found = cur
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	var st *wire.Status
	if s.view != nil {
		st = s.view.status
	}
	desired := buildStatefulSet(n, r.Build, statefulSetReplicas(n, found, st))
	sts, err := ensureChild(ctx, r.Client, desired, func(existing, desired *appsv1.StatefulSet) {
		existing.Spec.Replicas = desired.Spec.Replicas
		// The API server fills defaults into the template: compare only
		// what the builder sets.
		if !equality.Semantic.DeepDerivative(desired.Spec.Template, existing.Spec.Template) {
			existing.Spec.Template = desired.Spec.Template
		}
		existing.Spec.UpdateStrategy = desired.Spec.UpdateStrategy
		existing.Spec.PersistentVolumeClaimRetentionPolicy = desired.Spec.PersistentVolumeClaimRetentionPolicy
		existing.Spec.RevisionHistoryLimit = desired.Spec.RevisionHistoryLimit
	})
	if err != nil {
		return fmt.Errorf("statefulset %s: %w", desired.Name, err)
	}
	s.sts, s.stsCreated = sts, found == nil
	n.Status.Selector = metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: selectorLabels(n)})
	if s.stsCreated {
		r.Recorder.Eventf(n, sts, corev1.EventTypeNormal, "StatefulSetCreated", "Create", "created StatefulSet %s with %d nodes", sts.Name, ptr.Deref(sts.Spec.Replicas, 0))
	}
	return nil
}

// requireLedger ends the pass unless the ledger answered: the phases after
// it act on its answer. A ledger that has not answered yet is starting; one
// whose leader's pod went away is electing; one whose pods restart waits
// for them; otherwise it is unreachable, which needs a person.
func (r *LedgerNetworkReconciler) requireLedger(_ context.Context, s *networkScope) error {
	n := s.net
	if s.view != nil {
		return nil
	}
	var gone *leaderGoneError
	restarting := restartingPods(s)
	if err := quorumLost(n); err != nil {
		return err
	}
	switch {
	case s.stsCreated || !hasRun(n):
		return waitFor(reasonBootstrapping, "waiting for the %d nodes to start and elect a leader (%d of %d pods ready)",
			n.Spec.Replicas, n.Status.ReadyReplicas, n.Spec.Replicas)
	case errors.As(s.unanswered, &gone):
		// An election takes about a second: look again then, not after the
		// usual wait, so that the status names the new leader at once.
		s.requeueAfter(leaderElectionRecheck)
		return waitFor(reasonLeaderElection, "%s led, but %s: waiting for the other voters to elect a new leader", gone.pod, gone.why)
	case len(restarting) > 0:
		return waitFor(reasonWaitingForPods, "the ledger does not answer while pods restart (%s); %d of %d pods ready",
			strings.Join(restarting, ", "), n.Status.ReadyReplicas, n.Spec.Replicas)
	}
	return degraded("LedgerUnreachable", "the ledger does not answer (%v); %d of %d pods ready", s.unanswered, n.Status.ReadyReplicas, n.Spec.Replicas)
}

// leaderElectionRecheck is how soon a pass that found the leader's pod gone
// looks again (the nodes' election timeout is one second).
const leaderElectionRecheck = time.Second

// restartingPods lists the pods of the StatefulSet that are not alive
// (absent, being deleted, not running), with why.
func restartingPods(s *networkScope) []string {
	var out []string
	if s.sts == nil {
		return nil
	}
	for i := range int(ptr.Deref(s.sts.Spec.Replicas, 0)) {
		pod := podName(s.net, i)
		if why := podGone(s.pods[pod]); why != "" {
			out = append(out, pod+": "+why)
		}
	}
	return out
}
