package controllers

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// rolloutAction is what a rolling update does next.
type rolloutAction int

const (
	rolloutDone     rolloutAction = iota // every pod runs the update revision
	rolloutWait                          // a pod is not ready: wait for it
	rolloutTransfer                      // the leader is next: move leadership first
	rolloutRestart                       // delete the pod so the StatefulSet recreates it
)

// rolloutStep is the next step of a rolling update.
type rolloutStep struct {
	action rolloutAction
	pod    string // the pod to wait for, restart, or move leadership from
	target string // rolloutTransfer: an updated, ready pod to lead next
	stale  int    // pods still on an old revision
}

// planRollout decides the next step of a rolling update from the pods
// (replicas of them expected), the revision they should run and the
// current leader: one pod at a time, and only when every pod exists and is
// ready; followers first (highest ordinal first), the leader last and only
// after it handed leadership to an updated pod.
func planRollout(n *ledgerv1.LedgerNetwork, replicas int, pods []corev1.Pod, updateRevision, leader string) rolloutStep {
	present := map[string]bool{}
	var stale []string
	target := ""
	for _, p := range pods {
		present[p.Name] = true
		if !p.DeletionTimestamp.IsZero() || !podReady(&p) {
			return rolloutStep{action: rolloutWait, pod: p.Name}
		}
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] != updateRevision {
			stale = append(stale, p.Name)
		} else if p.Name != leader && (target == "" || ordinalOf(n, p.Name) < ordinalOf(n, target)) {
			target = p.Name
		}
	}
	for i := range replicas {
		if pod := podName(n, i); !present[pod] {
			// Deleted and not back yet: its node may still run, and must
			// not be handed leadership or counted on.
			return rolloutStep{action: rolloutWait, pod: pod}
		}
	}
	if len(stale) == 0 {
		return rolloutStep{action: rolloutDone}
	}
	slices.SortFunc(stale, func(a, b string) int {
		if (a == leader) != (b == leader) {
			if a == leader {
				return 1
			}
			return -1
		}
		return ordinalOf(n, b) - ordinalOf(n, a)
	})
	next := stale[0]
	if next == leader {
		if target == "" {
			return rolloutStep{action: rolloutWait, pod: next}
		}
		return rolloutStep{action: rolloutTransfer, pod: next, target: target, stale: len(stale)}
	}
	return rolloutStep{action: rolloutRestart, pod: next, stale: len(stale)}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// reconcileRollout rolls a changed pod template (image, batching, ...) out
// node by node. The StatefulSet's OnDelete strategy leaves the pace to the
// operator: it deletes one pod, waits for its replacement to pass /readyz,
// and restarts the leader last, after moving leadership to an updated node.
func (r *LedgerNetworkReconciler) reconcileRollout(ctx context.Context, s *networkScope) error {
	n, sts := s.net, s.sts
	if sts == nil || sts.Status.UpdateRevision == "" {
		return nil
	}
	if sts.Status.ObservedGeneration < sts.Generation {
		return waitFor(reasonRollingUpdate, "waiting for the StatefulSet controller to observe generation %d", sts.Generation)
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(n.Namespace), client.MatchingLabels(selectorLabels(n))); err != nil {
		return err
	}
	step := planRollout(n, int(ptr.Deref(sts.Spec.Replicas, 0)), pods.Items, sts.Status.UpdateRevision, s.status.Leader)
	switch step.action {
	case rolloutDone:
		return nil
	case rolloutWait:
		if sts.Status.UpdatedReplicas < sts.Status.Replicas {
			return waitFor(reasonRollingUpdate, "rolling out revision %s: waiting for pod %s to be ready", sts.Status.UpdateRevision, step.pod)
		}
		return nil
	case rolloutTransfer:
		ctx, cancel := context.WithTimeout(ctx, ledgerCallTimeout)
		defer cancel()
		err := s.ledger.TransferLeadership(ctx, step.target)
		r.Metrics.LedgerCalls.WithLabelValues("transferLeadership", result(err)).Inc()
		if err != nil {
			return fmt.Errorf("move leadership from %s to %s before restarting it: %w", step.pod, step.target, err)
		}
		r.Recorder.Eventf(n, podRef(n, step.pod), corev1.EventTypeNormal, "LeadershipTransferred", "RollingUpdate",
			"moved leadership from %s to the updated %s before restarting it", step.pod, step.target)
		return waitFor(reasonRollingUpdate, "rolling out revision %s: moved leadership away from %s, the last node to restart",
			sts.Status.UpdateRevision, step.pod)
	}
	pod := &corev1.Pod{}
	if err := r.Get(ctx, key(n, step.pod), pod); err != nil {
		return client.IgnoreNotFound(err)
	}
	if err := r.Delete(ctx, pod, client.Preconditions{UID: &pod.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("restart %s: %w", step.pod, err)
	}
	r.Recorder.Eventf(n, pod, corev1.EventTypeNormal, "PodRestarted", "RollingUpdate",
		"restarting %s for revision %s (%d pods left on older revisions)", step.pod, sts.Status.UpdateRevision, step.stale-1)
	return waitFor(reasonRollingUpdate, "rolling out revision %s: restarting %s", sts.Status.UpdateRevision, step.pod)
}
