package controllers

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// The restore of a network that spec.bootstrap.fromBackup starts from a
// backup: a Job runs `ledgernode restore` into the first node's volume
// before the StatefulSet exists.
const (
	// componentRestore labels the restore Job and its pod.
	componentRestore = "restore"
	// restoreContainer runs `ledgernode restore`.
	restoreContainer = "restore"
	// restoreBackupDir is where the backup's claim is mounted (read-only).
	restoreBackupDir = "/backup"
	// restoreCA is what status.restore.ca says of the new nodes' CA.
	restoreCA = "a new CA generated for this network (Secret %s); the backed-up network's CA is not used"
)

// fromBackup is the backup a network starts from, or nil.
func fromBackup(n *ledgerv1.LedgerNetwork) *ledgerv1.FromBackupSpec {
	if n.Spec.Bootstrap == nil {
		return nil
	}
	return n.Spec.Bootstrap.FromBackup
}

// restoreDone says whether the first node's volume holds the backup's
// ledger (the nodes may start). A network not started from a backup has
// nothing to restore.
func restoreDone(n *ledgerv1.LedgerNetwork) bool {
	if fromBackup(n) == nil {
		return true
	}
	r := n.Status.Restore
	return r != nil && (r.Phase == ledgerv1.RestoreRestored || r.Phase == ledgerv1.RestoreVerified)
}

// restoreJobName is the Job that restores a network's first node.
func restoreJobName(n *ledgerv1.LedgerNetwork) string { return n.Name + "-restore" }

// restoreTimeout bounds the restore Job.
func restoreTimeout(fb *ledgerv1.FromBackupSpec) time.Duration {
	if fb.Timeout != nil && fb.Timeout.Duration > 0 {
		return fb.Timeout.Duration
	}
	return ledgerv1.DefaultRestoreTimeout
}

// restoreSource is the backup file a restore reads: a claim and the file's
// path inside it.
type restoreSource struct {
	claim, file string
	// backup is the LedgerBackup that wrote the file, when one is named.
	backup *ledgerv1.LedgerBackup
}

// String names the source for people (status.restore.source, events).
func (s restoreSource) String() string {
	if s.backup != nil {
		return fmt.Sprintf("LedgerBackup %s (file %s on PersistentVolumeClaim %s)", s.backup.Name, s.file, s.claim)
	}
	return fmt.Sprintf("file %s on PersistentVolumeClaim %s", s.file, s.claim)
}

// judgeBackup says whether a named LedgerBackup can be restored: its
// source once it succeeded; otherwise wait (it is still running) or refuse
// (it failed, or it is of another network), each with what to do.
func judgeBackup(n *ledgerv1.LedgerNetwork, b *ledgerv1.LedgerBackup) (src restoreSource, wait, refuse string) {
	field := "spec.bootstrap.fromBackup.ledgerBackup"
	switch b.Status.Phase {
	case ledgerv1.BackupSucceeded:
		if b.Status.File == "" {
			return src, "", fmt.Sprintf("%s %q: the LedgerBackup succeeded but names no file (status.file): name the file with spec.bootstrap.fromBackup.volume instead (re-create this LedgerNetwork)", field, b.Name)
		}
		return restoreSource{claim: b.Spec.Storage.ClaimName, file: b.Status.File, backup: b}, "", ""
	case ledgerv1.BackupFailed:
		return src, "", fmt.Sprintf("%s %q: that backup failed, there is no file to restore: name a LedgerBackup that succeeded (kubectl get lbak -n %s) and re-create this LedgerNetwork",
			field, b.Name, n.Namespace)
	}
	phase := string(b.Status.Phase)
	if phase == "" {
		phase = string(ledgerv1.BackupPending)
	}
	return src, fmt.Sprintf("waiting for LedgerBackup %s to succeed (it is %s)", b.Name, phase), ""
}

// buildDataClaim is the volume claim the StatefulSet would make for one of
// its pods (its volumeClaimTemplate, named data-<pod>): the operator makes
// the first pod's claim itself, so that the restore Job can fill it before
// the StatefulSet exists; the StatefulSet adopts a claim of that name.
func buildDataClaim(n *ledgerv1.LedgerNetwork, cfg BuildConfig, pod string) *corev1.PersistentVolumeClaim {
	tmpl := buildStatefulSet(n, cfg, 0).Spec.VolumeClaimTemplates[0]
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: dataClaimName(pod), Namespace: n.Namespace, Labels: tmpl.Labels},
		Spec:       tmpl.Spec,
	}
}

// buildRestoreJob runs `ledgernode restore` once into the first node's
// (pod's) empty volume claim: every check of `ledgerctl backup verify`
// against the network's genesis (copied from the backed-up network), then
// the state, with pod as the only voter of a new Raft configuration whose
// log continues after the backup's. The backup's claim is mounted
// read-only; no key is mounted (the node's keys are its own Secret, the
// restore needs none). The summary goes to the termination message. One
// attempt: a backup that does not verify will not verify on a retry, and
// a person reads the log (deleting the Job runs it again).
func buildRestoreJob(n *ledgerv1.LedgerNetwork, cfg BuildConfig, src restoreSource, pod, raftAddr, apiAddr, adminKeyID string) *batchv1.Job {
	timeout := restoreTimeout(fromBackup(n))
	return buildMemberJob(n, cfg, pod, childMeta(n, restoreJobName(n), componentRestore), componentRestore, 0, int64(timeout.Seconds()),
		corev1.Container{
			Name: restoreContainer,
			Command: []string{"ledgernode", "restore",
				"--backup", path.Join(restoreBackupDir, src.file),
				"--genesis", genesisDir + "/" + genesisKey,
				"--data-dir", dataDir,
				"--id", pod, "--raft-addr", raftAddr, "--api-addr", apiAddr,
				// The admin key of spec.bootstrap.fromBackup.adminSecret (its
				// public id): the genesis' or the one the ledger rotated it
				// to, as the backup's own key history says.
				"--admin-key-id", adminKeyID,
				"--summary-file", corev1.TerminationMessagePathDefault},
			TerminationMessagePath:   corev1.TerminationMessagePathDefault,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			VolumeMounts:             []corev1.VolumeMount{{Name: "backup", MountPath: restoreBackupDir, ReadOnly: true}},
		},
		corev1.Volume{Name: "backup", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
			ClaimName: src.claim, ReadOnly: true}}})
}

// restoreSummary is what `ledgernode restore --summary-file` leaves.
type restoreSummary struct {
	Network      string  `json:"network"`
	Height       int64   `json:"height"`
	TreeSize     int64   `json:"treeSize"`
	BlockHash    string  `json:"blockHash"`
	Root         string  `json:"root"`
	Node         string  `json:"node"`
	AppliedIndex int64   `json:"appliedIndex"`
	FileBytes    int64   `json:"fileBytes"`
	Seconds      float64 `json:"seconds"`
	Error        string  `json:"error"`
}

// parseRestoreSummary reads a restore pod's termination message.
func parseRestoreSummary(msg string) (restoreSummary, error) {
	return parseSummary(msg, "ledgernode restore's summary", func(s restoreSummary) error {
		if s.Error == "" && (s.Height < 0 || s.BlockHash == "" || s.Root == "" || s.TreeSize <= 0) {
			return errors.New("the summary lacks the backup head's height, block hash, tree size or root")
		}
		return nil
	})
}

// restoreFailureFix names what to do about a failed restore, from its error.
func restoreFailureFix(n *ledgerv1.LedgerNetwork, src string, msg string) string {
	m := strings.ToLower(msg)
	fb := fromBackup(n)
	switch {
	case strings.Contains(m, "not an admin key"):
		return fmt.Sprintf("spec.bootstrap.fromBackup.adminSecret %q holds a key the backed-up ledger does not hold as its admin's (the error names the ledger's admin keys): "+
			"name the Secret with the network's current admin key and re-create this LedgerNetwork", fb.AdminSecret)
	case strings.Contains(m, "genesis"):
		return fmt.Sprintf("the backup is not of the genesis in ConfigMap %s (spec.bootstrap.fromBackup.genesisConfigMap): name the backed-up network's genesis and re-create this LedgerNetwork", fb.GenesisConfigMap)
	case strings.Contains(m, "not trusted"):
		return "the backup's head is signed by a node key that neither the genesis names nor the ledger registered for a node (key.register, owner node/<id>): " +
			"restore a backup served by another node, or restore it by hand with ledgernode restore --trust (docs/operations.md, \"Restore into a new network\")"
	case strings.Contains(m, "integrity") || strings.Contains(m, "chain") || strings.Contains(m, "truncated") || strings.Contains(m, "checksum"):
		return fmt.Sprintf("%s is damaged (nothing was written): restore another backup; re-create this LedgerNetwork naming it", src)
	case strings.Contains(m, "no such file"):
		return fmt.Sprintf("%s does not exist: check the claim and the path, then re-create this LedgerNetwork", src)
	case strings.Contains(m, "not empty") || strings.Contains(m, "exists"):
		return fmt.Sprintf("volume claim %s already holds a node's data: delete the claim (kubectl delete pvc -n %s %s) and then the Job, which runs again", dataClaimName(podName(n, 0)), n.Namespace, dataClaimName(podName(n, 0)))
	case strings.Contains(m, "no space left"):
		return fmt.Sprintf("volume claim %s is too small for the ledger: re-create this LedgerNetwork with a larger spec.storage.size", dataClaimName(podName(n, 0)))
	}
	return "fix the cause the log names"
}
