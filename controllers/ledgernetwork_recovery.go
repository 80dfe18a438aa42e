package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// Reasons of a recovery.
const (
	reasonRecovering      = "Recovering"
	reasonRecoveryRefused = "RecoveryRefused"
	reasonRecoveryFailed  = "RecoveryFailed"
)

// recoveryActive says whether a recovery is under way (its steps run
// whatever the annotation says now).
func recoveryActive(n *ledgerv1.LedgerNetwork) bool {
	r := n.Status.Recovery
	return r != nil && r.Phase != ledgerv1.RecoveryCompleted && r.Phase != ledgerv1.RecoveryFailed
}

// recoveryStopsNodes: while a recovery has not yet rewritten the survivor's
// configuration, no node pod may run (statefulSetReplicas is 0).
func recoveryStopsNodes(n *ledgerv1.LedgerNetwork) bool {
	if !recoveryActive(n) {
		return false
	}
	switch n.Status.Recovery.Phase {
	case ledgerv1.RecoveryStoppingNodes, ledgerv1.RecoveryClearingVolumes, ledgerv1.RecoveryRecovering:
		return true
	}
	return false
}

// judgeRecoveryRequest decides on a request to recover from a member:
// accepted only while the quorum is lost and the member is one that
// answers. It returns the survivor, or why the request is refused (with
// the fix).
func judgeRecoveryRequest(n *ledgerv1.LedgerNetwork, from string) (*ledgerv1.QuorumMember, string) {
	undo := fmt.Sprintf("kubectl annotate ledgernetwork %s -n %s %s-", n.Name, n.Namespace, ledgerv1.AnnotationRecoverFrom)
	q := n.Status.Quorum
	if q == nil || !q.Lost {
		why := "the ledger has a leader"
		if q != nil {
			why = fmt.Sprintf("no leader since %s, but the quorum is not lost (voters still answer or come back: see status.quorum)",
				q.NoLeaderSince.UTC().Format(time.RFC3339))
		}
		return nil, fmt.Sprintf("not recovering from %q: %s. A recovery makes one member the only voter and is only for a quorum lost for good; remove the request: %s",
			from, why, undo)
	}
	alive := survivors(q)
	var names []string
	for i := range alive {
		if alive[i].Name == from {
			return &alive[i], ""
		}
		names = append(names, alive[i].Name)
	}
	if len(alive) == 0 {
		return nil, fmt.Sprintf("not recovering from %q: no member answers, so there is nothing to recover from; restore from a backup "+
			"(docs/operations.md, \"Backup and restore\") and remove the request: %s", from, undo)
	}
	return nil, fmt.Sprintf("not recovering from %q: it is not a surviving member (surviving: %s). Name one, the most advanced first: "+
		"kubectl annotate --overwrite ledgernetwork %s -n %s %s=%s",
		from, strings.Join(names, ", "), n.Name, n.Namespace, ledgerv1.AnnotationRecoverFrom, alive[0].Name)
}

// lossStatement says what a recovery from survivor may lose: entries
// beyond its commit index that another member held (answering now, or
// as last seen from a leader).
func lossStatement(n *ledgerv1.LedgerNetwork, survivor ledgerv1.QuorumMember) (highest int64, msg string) {
	highest, who := survivor.CommitIndex, survivor.Name
	for _, m := range n.Status.Quorum.Members {
		if m.Answers && m.CommitIndex > highest {
			highest, who = m.CommitIndex, m.Name
		}
	}
	for _, m := range n.Status.Members {
		if m.AppliedIndex > highest {
			highest, who = m.AppliedIndex, m.Name+" (last seen by the operator)"
		}
	}
	if highest <= survivor.CommitIndex {
		return highest, fmt.Sprintf("recovering from %s (commit index %d, height %d): no member reported an entry beyond it; nothing acknowledged is lost",
			survivor.Name, survivor.CommitIndex, survivor.Height)
	}
	return highest, fmt.Sprintf("recovering from %s (commit index %d, height %d): %s reported index %d, so entries %d-%d may be lost; "+
		"none of them was acknowledged to a client if %s was in the last quorum",
		survivor.Name, survivor.CommitIndex, survivor.Height, who, highest, survivor.CommitIndex+1, highest, survivor.Name)
}

// reconcileRecovery carries out a recovery the annotation asked for, one
// step per pass, each observed before the next, every step derived from
// what the API server shows (so an operator restart resumes it):
//
//  1. StoppingNodes: the StatefulSet is scaled to 0 (statefulSetReplicas)
//     and its template gets LEDGERNODE_NO_BOOTSTRAP; wait until no node pod
//     exists: `ledgernode recover` needs the survivor stopped, and no
//     other node may run an old configuration.
//  2. ClearingVolumes: delete every node volume claim but the survivor's
//     (their data belongs to the old configuration; their pods come back
//     empty and join); wait until they are gone.
//  3. Recovering: a Job runs `ledgernode recover` on the survivor's claim;
//     wait for it to succeed.
//  4. Restarting: the StatefulSet grows back to spec.replicas; the survivor
//     starts alone with --no-bootstrap and leads; the others start empty
//     and wait. Once the survivor leads: Completed, the annotation is
//     removed, and the membership phase adds the others back.
func (r *LedgerNetworkReconciler) reconcileRecovery(ctx context.Context, s *networkScope) error {
	n := s.net
	from := n.Annotations[ledgerv1.AnnotationRecoverFrom]
	if !recoveryActive(n) {
		// A request is judged once: one refused stays refused (a request
		// made while all was well must not start a recovery on its own
		// when the quorum is lost later), until it is removed or names
		// another member.
		if ref := n.Status.RecoveryRefused; ref != nil && ref.From != from {
			n.Status.RecoveryRefused = nil
		}
		if from == "" {
			return nil
		}
		if ref := n.Status.RecoveryRefused; ref != nil {
			s.noteDegraded(reasonRecoveryRefused, "%s (refused at %s; to ask again, remove the annotation first)", ref.Message,
				ref.At.UTC().Format(time.RFC3339))
			return nil
		}
		survivor, refused := judgeRecoveryRequest(n, from)
		if refused != "" {
			n.Status.RecoveryRefused = &ledgerv1.RecoveryRefusal{From: from, At: metav1.Now(), Message: refused}
			r.Recorder.Eventf(n, nil, corev1.EventTypeWarning, reasonRecoveryRefused, "Recover", "%s", refused)
			s.noteDegraded(reasonRecoveryRefused, "%s", refused)
			return nil
		}
		highest, loss := lossStatement(n, *survivor)
		now := metav1.Now()
		n.Status.Recovery = &ledgerv1.RecoveryStatus{From: from, Phase: ledgerv1.RecoveryStoppingNodes, RequestedAt: now,
			SurvivorCommitIndex: survivor.CommitIndex, SurvivorHeight: survivor.Height, HighestCommitIndex: highest,
			Job: fmt.Sprintf("%s-recover-%s", n.Name, strconv.FormatInt(now.Unix(), 36)), Message: loss}
		r.Recorder.Eventf(n, podRef(n, from), corev1.EventTypeWarning, "RecoveryStarted", "Recover",
			"recovery requested: stopping every node, then making %s the only voter; %s", from, loss)
		// Scale to 0 now rather than on the next pass.
		if err := r.reconcileStatefulSet(ctx, s); err != nil {
			return err
		}
	}
	rec := n.Status.Recovery
	waiting := func(format string, args ...any) error {
		return waitFor(reasonRecovering, "recovering from %s (%s): %s", rec.From, rec.Phase, fmt.Sprintf(format, args...))
	}
	switch rec.Phase {
	case ledgerv1.RecoveryStoppingNodes:
		if len(s.pods) > 0 {
			// The StatefulSet phase (after this one) scales to 0.
			return waiting("waiting for %d node pods to stop", len(s.pods))
		}
		rec.Phase = ledgerv1.RecoveryClearingVolumes
		fallthrough
	case ledgerv1.RecoveryClearingVolumes:
		left, err := r.clearVolumes(ctx, s, rec.From)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return waiting("deleting the volume claims of the lost members: %s", strings.Join(left, ", "))
		}
		rec.Phase = ledgerv1.RecoveryRecovering
		fallthrough
	case ledgerv1.RecoveryRecovering:
		done, err := r.runRecoverJob(ctx, s, rec)
		if err != nil || !done {
			return err
		}
		rec.Phase = ledgerv1.RecoveryRestarting
		if err := r.reconcileStatefulSet(ctx, s); err != nil {
			return err
		}
		r.Recorder.Eventf(n, podRef(n, rec.From), corev1.EventTypeNormal, "RecoveryRewroteConfiguration", "Recover",
			"job %s made %s the only voter; starting it alone", rec.Job, rec.From)
		return waiting("starting %s alone", rec.From)
	case ledgerv1.RecoveryRestarting:
		if s.view == nil || s.view.status.Leader != rec.From {
			return waiting("waiting for %s to lead alone", rec.From)
		}
		rec.Phase, rec.CompletedAt = ledgerv1.RecoveryCompleted, ptr.To(metav1.Now())
		if err := r.dropRecoverAnnotation(ctx, n); err != nil {
			return err
		}
		r.Recorder.Eventf(n, podRef(n, rec.From), corev1.EventTypeNormal, "RecoveryCompleted", "Recover",
			"%s leads alone; the other members join back empty through the normal membership path. %s", rec.From, rec.Message)
	}
	return nil
}

// clearVolumes deletes the node volume claims of every member but the
// survivor and returns those still there.
func (r *LedgerNetworkReconciler) clearVolumes(ctx context.Context, s *networkScope, survivor string) ([]string, error) {
	n := s.net
	var claims corev1.PersistentVolumeClaimList
	if err := r.List(ctx, &claims, client.InNamespace(n.Namespace), client.MatchingLabels(selectorLabels(n))); err != nil {
		return nil, err
	}
	var left []string
	for i := range claims.Items {
		c := &claims.Items[i]
		pod, ok := strings.CutPrefix(c.Name, "data-")
		if !ok || pod == survivor || ordinalOf(n, pod) < 0 {
			continue
		}
		left = append(left, c.Name)
		if c.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, c, client.Preconditions{UID: &c.UID}); client.IgnoreNotFound(err) != nil {
				return nil, fmt.Errorf("delete volume claim %s: %w", c.Name, err)
			}
			r.Recorder.Eventf(n, podRef(n, pod), corev1.EventTypeNormal, "RecoveryDeletedVolume", "Recover",
				"deleted volume claim %s: its data belongs to the lost configuration; %s joins back empty", c.Name, pod)
		}
	}
	return left, nil
}

// runRecoverJob makes sure the Job that recovers the survivor exists and
// says whether it succeeded. A failed Job fails the recovery (a person
// reads its logs).
func (r *LedgerNetworkReconciler) runRecoverJob(ctx context.Context, s *networkScope, rec *ledgerv1.RecoveryStatus) (bool, error) {
	n := s.net
	job := &batchv1.Job{}
	err := r.Get(ctx, key(n, rec.Job), job)
	if apierrors.IsNotFound(err) {
		job = buildRecoverJob(n, r.Build, rec.From, rec.Job)
		if err := r.Create(ctx, job); err != nil {
			return false, fmt.Errorf("create job %s: %w", rec.Job, err)
		}
		r.Recorder.Eventf(n, podRef(n, rec.From), corev1.EventTypeNormal, "RecoveryJobCreated", "Recover",
			"job %s runs 'ledgernode recover' on volume claim %s", rec.Job, dataClaimName(rec.From))
		return false, waitFor(reasonRecovering, "recovering from %s (%s): job %s runs 'ledgernode recover'", rec.From, rec.Phase, rec.Job)
	}
	if err != nil {
		return false, err
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, nil
		case batchv1.JobFailed:
			rec.Phase = ledgerv1.RecoveryFailed
			rec.Message = fmt.Sprintf("job %s failed (%s: %s); nothing was started. Read its log (kubectl logs -n %s job/%s), fix the cause, "+
				"then ask again: kubectl annotate --overwrite ledgernetwork %s -n %s %s=%s", rec.Job, c.Reason, c.Message, n.Namespace, rec.Job,
				n.Name, n.Namespace, ledgerv1.AnnotationRecoverFrom, rec.From)
			r.Recorder.Eventf(n, nil, corev1.EventTypeWarning, reasonRecoveryFailed, "Recover", "%s", rec.Message)
			// The request is spent: asking again is a person's decision.
			if err := r.dropRecoverAnnotation(ctx, n); err != nil {
				return false, err
			}
			return false, degraded(reasonRecoveryFailed, "%s", rec.Message)
		}
	}
	return false, waitFor(reasonRecovering, "recovering from %s (%s): job %s runs 'ledgernode recover'", rec.From, rec.Phase, rec.Job)
}

// dropRecoverAnnotation removes the request once it is carried out, so
// that it cannot start another recovery later.
func (r *LedgerNetworkReconciler) dropRecoverAnnotation(ctx context.Context, n *ledgerv1.LedgerNetwork) error {
	if _, ok := n.Annotations[ledgerv1.AnnotationRecoverFrom]; !ok {
		return nil
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, ledgerv1.AnnotationRecoverFrom)
	cur := n.DeepCopy()
	if err := r.Patch(ctx, cur, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("remove annotation %s: %w", ledgerv1.AnnotationRecoverFrom, err)
	}
	return nil
}
