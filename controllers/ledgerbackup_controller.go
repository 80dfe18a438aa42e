package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// LedgerBackupReconciler runs each LedgerBackup once: a Job running
// `ledgerctl backup create` against the network (a follower first), the
// figures read back from the pod's termination message. It does not use
// the driver: a LedgerBackup is one-off, and its Complete and Failed
// conditions are final, as a Job's are (kubectl wait --for=condition=Complete).
type LedgerBackupReconciler struct {
	client.Client
	Recorder  events.EventRecorder
	Build     BuildConfig
	Clock     clock.PassiveClock
	Intervals Intervals
}

// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgerbackups,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=ledger.tradeledger.io,resources=ledgerbackups/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=get;list;watch

// Reasons of a LedgerBackup's conditions.
const (
	reasonNetworkNotFound  = "NetworkNotFound"
	reasonNetworkNotReady  = "NetworkNotReady"
	reasonClaimNotFound    = "ClaimNotFound"
	reasonWaitingForBackup = "WaitingForBackup"
	reasonJobCreated       = "JobCreated"
	reasonRunning          = "Running"
	reasonBackupComplete   = "BackupComplete"
	reasonBackupFailed     = "BackupFailed"
)

// Reconcile implements reconcile.Reconciler.
func (r *LedgerBackupReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &ledgerv1.LedgerBackup{}
	if err := r.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !b.DeletionTimestamp.IsZero() || backupFinished(b) {
		return ctrl.Result{}, nil
	}
	base := b.DeepCopy()
	res, err := r.run(ctx, b)
	if perr := r.Status().Patch(ctx, b, client.MergeFrom(base)); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, errors.Join(err, fmt.Errorf("patch status: %w", perr))
	}
	return res, err
}

// backupFinished: Succeeded and Failed are final.
func backupFinished(b *ledgerv1.LedgerBackup) bool {
	return b.Status.Phase == ledgerv1.BackupSucceeded || b.Status.Phase == ledgerv1.BackupFailed
}

func (r *LedgerBackupReconciler) run(ctx context.Context, b *ledgerv1.LedgerBackup) (ctrl.Result, error) {
	conds := conditions{list: &b.Status.Conditions, generation: b.Generation}
	b.Status.File = backupFile(b)
	var job batchv1.Job
	err := r.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: backupJobName(b)}, &job)
	switch {
	case apierrors.IsNotFound(err):
		return r.start(ctx, b, conds)
	case err != nil:
		return ctrl.Result{}, err
	}
	if !metav1.IsControlledBy(&job, b) {
		return r.pending(b, conds, "JobNameTaken", "Job %s exists and is not this LedgerBackup's: delete it, or create the LedgerBackup under another name", job.Name)
	}
	b.Status.JobName = job.Name
	if b.Status.StartTime == nil {
		b.Status.StartTime = &job.CreationTimestamp
	}
	pod, err := r.backupPod(ctx, b)
	if err != nil {
		return ctrl.Result{}, err
	}
	switch jobEnd(&job) {
	case batchv1.JobComplete:
		r.succeed(b, &job, pod, conds)
		return ctrl.Result{}, nil
	case batchv1.JobFailed:
		r.fail(b, &job, pod, conds)
		return ctrl.Result{}, nil
	}
	if pod != nil && pod.Status.Phase == corev1.PodRunning {
		b.Status.Phase = ledgerv1.BackupRunning
		conds.setFalse(ledgerv1.ConditionComplete, reasonRunning, fmt.Sprintf("pod %s is copying the ledger to %s on PersistentVolumeClaim %s", pod.Name, b.Status.File, b.Spec.Storage.ClaimName))
		conds.setFalse(ledgerv1.ConditionFailed, reasonRunning, "the backup is running")
		return ctrl.Result{RequeueAfter: r.Intervals.Poll}, nil
	}
	b.Status.Phase = ledgerv1.BackupPending
	msg := fmt.Sprintf("Job %s has not started its pod yet", job.Name)
	if pod != nil {
		msg = fmt.Sprintf("pod %s is %s%s", pod.Name, pod.Status.Phase, podWaitingReason(pod, backupContainer))
	}
	conds.setFalse(ledgerv1.ConditionComplete, reasonJobCreated, msg)
	conds.setFalse(ledgerv1.ConditionFailed, reasonJobCreated, "the backup has not ended")
	return ctrl.Result{RequeueAfter: r.Intervals.Poll}, nil
}

// pending records what the backup waits for; it is looked at again.
func (r *LedgerBackupReconciler) pending(b *ledgerv1.LedgerBackup, conds conditions, reason, format string, args ...any) (ctrl.Result, error) {
	msg := fmt.Sprintf(format, args...)
	b.Status.Phase = ledgerv1.BackupPending
	conds.setFalse(ledgerv1.ConditionComplete, reason, msg)
	conds.setFalse(ledgerv1.ConditionFailed, reason, "the backup has not started: "+msg)
	return ctrl.Result{RequeueAfter: r.Intervals.Poll}, nil
}

// start creates the Job once the network, its identity and the claim are
// there and no other backup of the network runs.
func (r *LedgerBackupReconciler) start(ctx context.Context, b *ledgerv1.LedgerBackup, conds conditions) (ctrl.Result, error) {
	n := &ledgerv1.LedgerNetwork{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.Network}, n); err != nil {
		if apierrors.IsNotFound(err) {
			return r.pending(b, conds, reasonNetworkNotFound, "spec.network: LedgerNetwork %q does not exist in namespace %s (kubectl get lnet -n %s): "+
				"create it, or delete this LedgerBackup and create one naming an existing network (spec is immutable)", b.Spec.Network, b.Namespace, b.Namespace)
		}
		return ctrl.Result{}, err
	}
	if !hasRun(n) {
		return r.pending(b, conds, reasonNetworkNotReady, "LedgerNetwork %s has not served a ledger head yet (phase %q): the backup starts once it has", n.Name, n.Status.Phase)
	}
	var pvc corev1.PersistentVolumeClaim
	if err := r.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Spec.Storage.ClaimName}, &pvc); err != nil {
		if apierrors.IsNotFound(err) {
			return r.pending(b, conds, reasonClaimNotFound, "spec.storage.claimName: PersistentVolumeClaim %q does not exist in namespace %s: create it "+
				"(ReadWriteMany lets the backup pod run on any node), or delete this LedgerBackup and create one naming an existing claim", b.Spec.Storage.ClaimName, b.Namespace)
		}
		return ctrl.Result{}, err
	}
	if !pvc.DeletionTimestamp.IsZero() {
		return r.pending(b, conds, reasonClaimNotFound, "spec.storage.claimName: PersistentVolumeClaim %q is being deleted: name another claim in a new LedgerBackup", pvc.Name)
	}
	if other, err := r.runningBackup(ctx, b); err != nil {
		return ctrl.Result{}, err
	} else if other != "" {
		return r.pending(b, conds, reasonWaitingForBackup, "the backup of LedgerNetwork %s by LedgerBackup %s is running: one backup of a network runs at a time; this one starts after it", n.Name, other)
	}
	if err := r.ensureBackupClient(ctx, n); err != nil {
		return ctrl.Result{}, err
	}
	job := buildBackupJob(b, n, r.Build)
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, fmt.Errorf("create Job %s: %w", job.Name, err)
	}
	now := metav1.NewTime(r.Clock.Now())
	b.Status.JobName, b.Status.StartTime, b.Status.Phase = job.Name, &now, ledgerv1.BackupPending
	conds.setFalse(ledgerv1.ConditionComplete, reasonJobCreated, fmt.Sprintf("Job %s runs ledgerctl backup create into %s on PersistentVolumeClaim %s", job.Name, b.Status.File, b.Spec.Storage.ClaimName))
	conds.setFalse(ledgerv1.ConditionFailed, reasonJobCreated, "the backup has not ended")
	r.Recorder.Eventf(b, job, corev1.EventTypeNormal, "BackupStarted", "CreateJob", "Job %s backs up LedgerNetwork %s to %s on PersistentVolumeClaim %s",
		job.Name, n.Name, b.Status.File, b.Spec.Storage.ClaimName)
	return ctrl.Result{RequeueAfter: r.Intervals.Poll}, nil
}

// runningBackup names another backup of the same network whose Job has
// not ended, or "".
func (r *LedgerBackupReconciler) runningBackup(ctx context.Context, b *ledgerv1.LedgerBackup) (string, error) {
	var jobs batchv1.JobList
	if err := r.List(ctx, &jobs, client.InNamespace(b.Namespace), client.MatchingLabels{LabelInstance: b.Spec.Network,
		LabelComponent: componentBackup, LabelManagedBy: ManagedBy}); err != nil {
		return "", err
	}
	for _, j := range jobs.Items {
		if owner := j.Labels[LabelBackup]; owner != b.Name && jobEnd(&j) == "" && j.DeletionTimestamp.IsZero() {
			return owner, nil
		}
	}
	return "", nil
}

// ensureBackupClient issues the admin client certificate backup pods read
// with, when it is missing, from another CA or due.
func (r *LedgerBackupReconciler) ensureBackupClient(ctx context.Context, n *ledgerv1.LedgerNetwork) error {
	var caSec corev1.Secret
	if err := r.Get(ctx, key(n, caSecretName(n)), &caSec); err != nil {
		return fmt.Errorf("network %s: Secret %s: %w", n.Name, caSecretName(n), err)
	}
	_, err := ensureBackupClientSecret(ctx, r.Client, n, &caSec, true)
	return err
}

// ensureBackupClientSecret (re)issues the backup client Secret from the
// issuing CA when it is due (backupClientDue); without create, only one
// that exists (a CA rotation keeps it current; a backup makes it). It
// returns the Secret as it is now (nil: none).
func ensureBackupClientSecret(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, caSec *corev1.Secret, create bool) (*corev1.Secret, error) {
	var sec corev1.Secret
	err := c.Get(ctx, key(n, backupClientSecretName(n)), &sec)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	exists := err == nil
	if !exists && !create {
		return nil, nil
	}
	cas, err := decodeCASecret(caSec)
	if err != nil {
		return nil, err
	}
	// Certificates are dated by the real clock: the nodes check them against it.
	now := time.Now()
	if exists && !backupClientDue(&sec, cas.TrustPEM, cas.Issuer.Cert, now) {
		return &sec, nil
	}
	want, err := buildBackupClientSecret(n, cas.Issuer, cas.TrustPEM, now)
	if err != nil {
		return nil, err
	}
	if !exists {
		return want, client.IgnoreAlreadyExists(c.Create(ctx, want))
	}
	sec.Data, sec.Labels = want.Data, want.Labels
	return &sec, c.Update(ctx, &sec)
}

// backupPod is the newest pod of the backup's Job.
func (r *LedgerBackupReconciler) backupPod(ctx context.Context, b *ledgerv1.LedgerBackup) (*corev1.Pod, error) {
	return newestPod(ctx, r.Client, b.Namespace, client.MatchingLabels{LabelBackup: b.Name, LabelManagedBy: ManagedBy})
}

// newestPod is the newest of the pods in namespace ns with labels, or nil
// when there is none.
func newestPod(ctx context.Context, c client.Reader, ns string, labels client.MatchingLabels) (*corev1.Pod, error) {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(ns), labels); err != nil {
		return nil, err
	}
	var newest *corev1.Pod
	for i := range pods.Items {
		if p := &pods.Items[i]; newest == nil || newest.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest = p
		}
	}
	return newest, nil
}

// jobEnd is JobComplete or JobFailed once the Job has ended, else "".
func jobEnd(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return c.Type
		}
	}
	return ""
}

// terminationMessage is what a Job pod's container left when it ended.
func terminationMessage(pod *corev1.Pod, container string) (string, bool) {
	if pod == nil {
		return "", false
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == container && cs.State.Terminated != nil {
			return cs.State.Terminated.Message, true
		}
	}
	return "", false
}

// podWaitingReason says why a Job pod's container waits, if it does.
func podWaitingReason(pod *corev1.Pod, container string) string {
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; cs.Name == container && w != nil && w.Reason != "" {
			return fmt.Sprintf(" (%s: %s)", w.Reason, w.Message)
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return fmt.Sprintf(" (not scheduled: %s)", c.Message)
		}
	}
	return ""
}

// completionTime is when the Job ended, by its status, else now.
func (r *LedgerBackupReconciler) completionTime(job *batchv1.Job) *metav1.Time {
	if job.Status.CompletionTime != nil {
		return job.Status.CompletionTime
	}
	now := metav1.NewTime(r.Clock.Now())
	return &now
}

// succeed records a Job that completed, with the figures of its summary.
func (r *LedgerBackupReconciler) succeed(b *ledgerv1.LedgerBackup, job *batchv1.Job, pod *corev1.Pod, conds conditions) {
	b.Status.Phase = ledgerv1.BackupSucceeded
	b.Status.CompletionTime = r.completionTime(job)
	msg, _ := terminationMessage(pod, backupContainer)
	s, err := parseBackupSummary(msg)
	if err == nil && s.Error != "" {
		err = errors.New(s.Error)
	}
	text := fmt.Sprintf("the backup is whole: %s on PersistentVolumeClaim %s", b.Status.File, b.Spec.Storage.ClaimName)
	if err != nil {
		text += fmt.Sprintf("; its figures are unknown (%v): check the file with ledgerctl backup verify", err)
	} else {
		b.Status.Height, b.Status.HeadHash, b.Status.SizeBytes, b.Status.Node = s.Height, s.BlockHash, s.Bytes, s.Node
		b.Status.Duration = &metav1.Duration{Duration: time.Duration(s.Seconds * float64(time.Second)).Round(time.Millisecond)}
		text += fmt.Sprintf(", height %d, head %s, %d bytes in %s, served by %s", s.Height, s.BlockHash, s.Bytes, b.Status.Duration.Duration, s.Node)
	}
	conds.setTrue(ledgerv1.ConditionComplete, reasonBackupComplete, text)
	conds.setFalse(ledgerv1.ConditionFailed, reasonBackupComplete, "the backup succeeded")
	r.Recorder.Eventf(b, job, corev1.EventTypeNormal, "BackupSucceeded", "Backup", "%s", text)
}

// fail records a Job that failed, with ledgerctl's error (or the pod's
// log, or the Job's reason) and the fix.
func (r *LedgerBackupReconciler) fail(b *ledgerv1.LedgerBackup, job *batchv1.Job, pod *corev1.Pod, conds conditions) {
	b.Status.Phase = ledgerv1.BackupFailed
	b.Status.CompletionTime = r.completionTime(job)
	cause := ""
	if msg, ok := terminationMessage(pod, backupContainer); ok {
		if s, err := parseBackupSummary(msg); err == nil && s.Error != "" {
			cause = s.Error
		} else if m := trimMessage(msg); m != "" {
			cause = m
		}
	}
	for _, c := range job.Status.Conditions {
		if cause == "" && c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			cause = fmt.Sprintf("Job %s failed (%s): %s", job.Name, c.Reason, c.Message)
		}
	}
	if cause == "" {
		cause = fmt.Sprintf("Job %s failed and its pod left no message", job.Name)
	}
	text := fmt.Sprintf("backup failed: %s. Fix: %s", cause, backupFailureFix(b, cause))
	conds.setTrue(ledgerv1.ConditionFailed, reasonBackupFailed, text)
	conds.setFalse(ledgerv1.ConditionComplete, reasonBackupFailed, "the backup failed")
	r.Recorder.Eventf(b, job, corev1.EventTypeWarning, "BackupFailed", "Backup", "%s", text)
}

// trimMessage keeps a condition message readable: the last 1000 bytes of a
// log tail.
func trimMessage(s string) string {
	const max = 1000
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	return s
}

// SetupWithManager registers the controller: it owns the Jobs, and the
// Jobs' pods (labelled with the backup) wake it.
func (r *LedgerBackupReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&ledgerv1.LedgerBackup{}).
		Owns(&batchv1.Job{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			name := o.GetLabels()[LabelBackup]
			if name == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
		})).
		Named("ledgerbackup").
		Complete(r)
}
