package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// backupFacts is what the backup phase found: the condition it says
// (nil: the network has no spec.backup, the condition goes).
type backupFacts struct {
	condition *metav1.Condition
}

// reconcileBackups keeps a network's backups: status.backup.lastBackup
// from its LedgerBackups, and with spec.backup a LedgerBackup at each time
// of the schedule (never while another backup of the network runs: the
// due one waits for it), the oldest deleted beyond the retention, and a
// requeue at the next time. The clock is the injected one.
func (r *LedgerNetworkReconciler) reconcileBackups(ctx context.Context, s *networkScope) error {
	n := s.net
	var list ledgerv1.LedgerBackupList
	if err := r.List(ctx, &list, client.InNamespace(n.Namespace)); err != nil {
		return err
	}
	var mine, scheduled []ledgerv1.LedgerBackup
	for _, b := range list.Items {
		if b.Spec.Network != n.Name {
			continue
		}
		mine = append(mine, b)
		if isScheduledBackup(&b, n) && b.DeletionTimestamp.IsZero() {
			scheduled = append(scheduled, b)
		}
	}
	running := blockingBackup(mine, n)
	last, finished := newestBackups(mine)
	st := n.Status.Backup
	if st == nil {
		st = &ledgerv1.NetworkBackupStatus{}
	}
	st.LastBackup = nil
	if last != nil {
		st.LastBackup = &ledgerv1.LastBackup{Name: last.Name, Time: *last.Status.CompletionTime, Height: last.Status.Height,
			HeadHash: last.Status.HeadHash, File: last.Status.File}
	}
	r.Metrics.observeBackup(n, st.LastBackup)
	spec := n.Spec.Backup
	if spec == nil {
		st.LastScheduleTime, st.NextScheduleTime = nil, nil
		n.Status.Backup = nil
		if st.LastBackup != nil {
			n.Status.Backup = st
		}
		s.backups = &backupFacts{}
		return nil
	}
	n.Status.Backup = st
	s.backups = &backupFacts{condition: backupCondition(finished)}
	sched, err := parseBackupSchedule(spec.Schedule)
	if err != nil {
		st.NextScheduleTime = nil
		s.backups.condition = &metav1.Condition{Type: ledgerv1.ConditionBackupSucceeded, Status: metav1.ConditionFalse, Reason: "InvalidSchedule",
			Message: fmt.Sprintf("spec.backup.schedule %q: %v: no backup is made until it is fixed. Use 5 cron fields (minute hour day-of-month month day-of-week, UTC), e.g. \"0 2 * * *\" for 02:00 daily, or @daily", spec.Schedule, err)}
		return nil
	}
	now := r.Clock.Now()
	since := n.CreationTimestamp.Time
	if st.LastScheduleTime != nil {
		since = st.LastScheduleTime.Time
	}
	due, next := backupDue(sched, since, now)
	if fromBackup(n) != nil && (!restoreDone(n) || !hasRun(n)) {
		// A network being restored has nothing to back up yet: the due
		// time stays due, and runs once the restored ledger answers.
		due = time.Time{}
	}
	if !due.IsZero() {
		if running == "" {
			b := buildScheduledBackup(n, due)
			if err := r.Create(ctx, b); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create LedgerBackup %s: %w", b.Name, err)
			}
			r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "BackupScheduled", "CreateBackup", "LedgerBackup %s for the backup due at %s",
				b.Name, due.UTC().Format("2006-01-02T15:04Z"))
			st.LastScheduleTime = &metav1.Time{Time: due}
		} else if c := s.backups.condition; c.Status != metav1.ConditionFalse {
			// The due backup waits for the running one (which wakes this
			// network when it ends).
			c.Message += fmt.Sprintf("; the backup due at %s waits for LedgerBackup %s to end", due.UTC().Format("2006-01-02T15:04Z"), running)
		}
	}
	st.NextScheduleTime = &metav1.Time{Time: next}
	s.requeueAfter(next.Sub(now))
	for _, name := range expiredBackups(scheduled, int(spec.Retention)) {
		b := &ledgerv1.LedgerBackup{ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: name}}
		if err := r.Delete(ctx, b, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete LedgerBackup %s beyond spec.backup.retention: %w", name, err)
		}
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "BackupExpired", "DeleteBackup", "LedgerBackup %s deleted: beyond spec.backup.retention (%d)", name, spec.Retention)
	}
	return nil
}

// isScheduledBackup says whether the network's schedule made b.
func isScheduledBackup(b *ledgerv1.LedgerBackup, n *ledgerv1.LedgerNetwork) bool {
	return b.Labels[LabelScheduled] == "true" && metav1.IsControlledBy(b, n)
}

// blockingBackup names the backup of the network a due scheduled backup
// waits for (the first by name), or "": one that runs (its Job exists) or
// one the schedule made that has not ended (it waits for its network or
// claim, and the next would wait the same). A one-off LedgerBackup that
// never started (a claim that does not exist) does not hold the schedule up.
func blockingBackup(backups []ledgerv1.LedgerBackup, n *ledgerv1.LedgerNetwork) string {
	blocking := ""
	for i := range backups {
		b := &backups[i]
		if backupFinished(b) || !b.DeletionTimestamp.IsZero() || (b.Status.JobName == "" && !isScheduledBackup(b, n)) {
			continue
		}
		if blocking == "" || b.Name < blocking {
			blocking = b.Name
		}
	}
	return blocking
}

// buildScheduledBackup is the LedgerBackup of a network's schedule due at
// t, owned by the network, in the schedule's directory (whose oldest files
// its --keep prunes).
func buildScheduledBackup(n *ledgerv1.LedgerNetwork, t time.Time) *ledgerv1.LedgerBackup {
	spec := n.Spec.Backup
	sub := spec.SubPath
	if sub == "" {
		sub = n.Name
	}
	retention := spec.Retention
	if retention <= 0 {
		retention = ledgerv1.DefaultBackupRetention
	}
	meta := childMeta(n, scheduledBackupName(n, t), componentBackup)
	meta.Labels[LabelScheduled] = "true"
	return &ledgerv1.LedgerBackup{ObjectMeta: meta, Spec: ledgerv1.LedgerBackupSpec{Network: n.Name,
		Storage: ledgerv1.BackupStorage{ClaimName: spec.ClaimName, SubPath: sub}, Keep: retention, Timeout: spec.Timeout}}
}

// newestBackups are a network's newest successful backup and its newest
// finished one (by completion, then name).
func newestBackups(bs []ledgerv1.LedgerBackup) (succeeded, finished *ledgerv1.LedgerBackup) {
	newer := func(a, b *ledgerv1.LedgerBackup) bool {
		if c := a.Status.CompletionTime.Compare(b.Status.CompletionTime.Time); c != 0 {
			return c > 0
		}
		return a.Name > b.Name
	}
	for i := range bs {
		b := &bs[i]
		if !backupFinished(b) || b.Status.CompletionTime == nil {
			continue
		}
		if finished == nil || newer(b, finished) {
			finished = b
		}
		if b.Status.Phase == ledgerv1.BackupSucceeded && (succeeded == nil || newer(b, succeeded)) {
			succeeded = b
		}
	}
	return succeeded, finished
}

// backupCondition says how the newest finished backup ended.
func backupCondition(finished *ledgerv1.LedgerBackup) *metav1.Condition {
	c := &metav1.Condition{Type: ledgerv1.ConditionBackupSucceeded}
	switch {
	case finished == nil:
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, "NoBackupYet", "no backup of this network has ended yet"
	case finished.Status.Phase == ledgerv1.BackupSucceeded:
		c.Status, c.Reason = metav1.ConditionTrue, reasonBackupComplete
		c.Message = fmt.Sprintf("LedgerBackup %s: height %d, %d bytes, %s, completed %s", finished.Name, finished.Status.Height,
			finished.Status.SizeBytes, finished.Status.File, finished.Status.CompletionTime.UTC().Format("2006-01-02T15:04:05Z"))
	default:
		c.Status, c.Reason = metav1.ConditionFalse, reasonBackupFailed
		msg := "see its status"
		if f := meta.FindStatusCondition(finished.Status.Conditions, ledgerv1.ConditionFailed); f != nil {
			msg = strings.TrimPrefix(f.Message, "backup failed: ")
		}
		c.Message = fmt.Sprintf("LedgerBackup %s failed: %s", finished.Name, msg)
	}
	return c
}

// summarizeBackups writes the backup phase's condition; a pass that did
// not reach the phase leaves it as it was.
func summarizeBackups(s *networkScope, conds conditions) {
	switch {
	case s.backups == nil:
	case s.backups.condition == nil:
		meta.RemoveStatusCondition(conds.list, ledgerv1.ConditionBackupSucceeded)
	default:
		c := s.backups.condition
		conds.set(c.Type, c.Status, c.Reason, c.Message)
	}
}
