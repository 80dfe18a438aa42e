package controllers

import (
	"context"
	"fmt"
	"maps"
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
// current leader. A rollout is under way only while a pod runs an older
// revision: a pod that is missing or not ready while every pod runs the
// update revision is restarting, not rolling out. During a rollout: one
// pod at a time, and only when every pod exists and is ready; followers
// first (highest ordinal first), the leader last and only after it handed
// leadership to an updated pod.
func planRollout(n *ledgerv1.LedgerNetwork, replicas int, pods []corev1.Pod, updateRevision, leader string) rolloutStep {
	present := map[string]bool{}
	var stale []string
	notReady, target := "", ""
	for _, p := range pods {
		present[p.Name] = true
		old := p.Labels[appsv1.ControllerRevisionHashLabelKey] != updateRevision
		if old {
			stale = append(stale, p.Name)
		}
		if !p.DeletionTimestamp.IsZero() || !podReady(&p) {
			if notReady == "" {
				notReady = p.Name
			}
			continue
		}
		if !old && p.Name != leader && (target == "" || ordinalOf(n, p.Name) < ordinalOf(n, target)) {
			target = p.Name
		}
	}
	if len(stale) == 0 {
		return rolloutStep{action: rolloutDone}
	}
	if notReady != "" {
		return rolloutStep{action: rolloutWait, pod: notReady}
	}
	for i := range replicas {
		if pod := podName(n, i); !present[pod] {
			// Deleted and not back yet: its node may still run, and must
			// not be handed leadership or counted on.
			return rolloutStep{action: rolloutWait, pod: pod}
		}
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
func (r *LedgerNetworkReconciler) reconcileRollout(ctx context.Context, s *networkScope, v *ledgerView) error {
	n, sts := s.net, s.sts
	if sts == nil || sts.Status.UpdateRevision == "" {
		return nil
	}
	if sts.Status.ObservedGeneration < sts.Generation {
		return waitFor(reasonWaitingForPods, "waiting for the StatefulSet controller to observe generation %d", sts.Generation)
	}
	// The StatefulSet controller sets currentRevision to updateRevision
	// once every pod runs it and is ready: then nothing rolls out, and a
	// pod that is missing or not ready is merely restarting.
	if sts.Status.CurrentRevision == sts.Status.UpdateRevision {
		return nil
	}
	pods := make([]corev1.Pod, 0, len(s.pods))
	for _, name := range slices.SortedFunc(maps.Keys(s.pods), func(a, b string) int { return ordinalOf(n, a) - ordinalOf(n, b) }) {
		pods = append(pods, *s.pods[name])
	}
	step := planRollout(n, int(ptr.Deref(sts.Spec.Replicas, 0)), pods, sts.Status.UpdateRevision, v.status.Leader)
	switch step.action {
	case rolloutDone:
		return nil
	case rolloutWait:
		return waitFor(reasonRollingUpdate, "rolling out revision %s: waiting for pod %s to be ready", sts.Status.UpdateRevision, step.pod)
	case rolloutTransfer:
		if err := r.counted("transferLeadership", v.ledger.TransferLeadership(ctx, step.target)); err != nil {
			return fmt.Errorf("move leadership from %s to %s before restarting it: %w", step.pod, step.target, err)
		}
		r.Recorder.Eventf(n, podRef(n, step.pod), corev1.EventTypeNormal, "LeadershipTransferred", "RollingUpdate",
			"moved leadership from %s to the updated %s before restarting it", step.pod, step.target)
		return waitFor(reasonRollingUpdate, "rolling out revision %s: moved leadership away from %s, the last node to restart",
			sts.Status.UpdateRevision, step.pod)
	}
	pod := s.pods[step.pod]
	if err := r.Delete(ctx, pod, client.Preconditions{UID: &pod.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("restart %s: %w", step.pod, err)
	}
	r.Recorder.Eventf(n, pod, corev1.EventTypeNormal, "PodRestarted", "RollingUpdate",
		"restarting %s for revision %s (%d pods left on older revisions)", step.pod, sts.Status.UpdateRevision, step.stale-1)
	return waitFor(reasonRollingUpdate, "rolling out revision %s: restarting %s", sts.Status.UpdateRevision, step.pod)
}
