package controllers

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/transparency-dev/merkle/proof"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// Reasons of a restore from a backup.
const (
	reasonRestoring            = "Restoring"
	reasonRestoreFailed        = "RestoreFailed"
	reasonRestoreNotConsistent = "RestoreNotConsistent"
)

// createRestoredIdentity makes the identity of a network that starts from
// a backup: the backed-up network's genesis (copied as it is: its hash is
// in the backup) and admin key (the genesis registers it; every cluster
// operation is signed with it), a new CA generated for this network, and
// new node keys issued by it for every ordinal. As createIdentity, the
// Secrets first and the genesis last.
func (r *LedgerNetworkReconciler) createRestoredIdentity(ctx context.Context, s *networkScope, fb *ledgerv1.FromBackupSpec) error {
	n := s.net
	labelFix := fmt.Sprintf("it needs the label %s=%s: the operator's cache sees only labelled ConfigMaps and Secrets", LabelManagedBy, ManagedBy)
	old := &corev1.ConfigMap{}
	if err := r.Get(ctx, key(n, fb.GenesisConfigMap), old); apierrors.IsNotFound(err) {
		return degraded("GenesisNotFound", "spec.bootstrap.fromBackup.genesisConfigMap %q: no such ConfigMap in namespace %s (%s). "+
			"Name the backed-up network's genesis ConfigMap (<network>-genesis, key %s); nothing is restored without it",
			fb.GenesisConfigMap, n.Namespace, labelFix, genesisKey)
	} else if err != nil {
		return err
	}
	raw := old.Data[genesisKey]
	var g chain.Genesis
	if err := json.Unmarshal([]byte(raw), &g); err != nil {
		return degraded("InvalidGenesis", "spec.bootstrap.fromBackup.genesisConfigMap %q: key %s: %v", fb.GenesisConfigMap, genesisKey, err)
	}
	if err := g.Validate(); err != nil {
		return degraded("InvalidGenesis", "spec.bootstrap.fromBackup.genesisConfigMap %q: %v", fb.GenesisConfigMap, err)
	}
	if g.Network != networkID(n) {
		return degraded("NetworkIDMismatch", "spec.networkID %q: the genesis in ConfigMap %s is of network %q, and a restored ledger keeps its network id "+
			"(every transaction is signed for it): re-create this LedgerNetwork with spec.networkID: %s", networkID(n), fb.GenesisConfigMap, g.Network, g.Network)
	}
	adminSec := &corev1.Secret{}
	if err := r.Get(ctx, key(n, fb.AdminSecret), adminSec); apierrors.IsNotFound(err) {
		return degraded("AdminSecretNotFound", "spec.bootstrap.fromBackup.adminSecret %q: no such Secret in namespace %s (%s). "+
			"The restored ledger's membership changes and agency registrations are signed by the admin key its genesis registers: "+
			"restore the backed-up network's <network>-admin Secret (key %s) and label it", fb.AdminSecret, n.Namespace, labelFix, adminKeyKey)
	} else if err != nil {
		return err
	}
	admin, err := tx.UnmarshalKey(adminSec.Data[adminKeyKey])
	if err != nil {
		return degraded("InvalidAdminKey", "spec.bootstrap.fromBackup.adminSecret %q: key %s: %v", fb.AdminSecret, adminKeyKey, err)
	}
	// A key the genesis does not name may be the one the ledger rotated the
	// admin key to: the restore Job checks it against the backup's own key
	// history (ledgernode restore --admin-key-id) and fails, naming the
	// ledger's admin keys, when it is not.
	now := time.Now()
	ca, err := pki.NewCA(networkID(n)+" network CA ("+n.Namespace+"/"+n.Name+")", now, caValidity)
	if err != nil {
		return fmt.Errorf("generate CA: %w", err)
	}
	id := &networkIdentity{Genesis: &g, CA: ca, AdminKey: admin, Nodes: map[string]nodeIdentity{}}
	for i := range int(n.Spec.Replicas) {
		pod := podName(n, i)
		nm, err := netgen.IssueNode(ca, r.nodeSpec(n, pod), now, nodeCertValidity)
		if err != nil {
			return fmt.Errorf("issue keys for %s: %w", pod, err)
		}
		id.Nodes[pod] = nodeIdentity{Key: nm.Key, CertPEM: nm.CertPEM, KeyPEM: nm.KeyPEM}
	}
	// The genesis is copied as it is: its hash is in the backup.
	cm := &corev1.ConfigMap{ObjectMeta: identityMeta(n, genesisConfigMapName(n)), Data: map[string]string{genesisKey: raw}}
	if err := r.storeIdentity(ctx, s, id, cm); err != nil {
		return err
	}
	r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "NetworkCreated", "GenerateIdentity",
		"network %s from a backup: genesis copied from ConfigMap %s, admin key from Secret %s (into %s), a new CA (Secret %s) and new keys for %d nodes",
		networkID(n), fb.GenesisConfigMap, fb.AdminSecret, s.adminSecret.Name, caSecretName(n), n.Spec.Replicas)
	return nil
}

// reconcileRestore restores a network that spec.bootstrap.fromBackup
// starts from a backup, before any node runs, each step derived from what
// the API server shows (so an operator restart resumes it):
//
//  1. the backup: a LedgerBackup that succeeded (wait while it runs), or a
//     file on a claim;
//  2. the first pod's volume claim, made as the StatefulSet would;
//  3. a Job runs `ledgernode restore` into it (nothing is written unless
//     the backup verifies); wait for it, showing how it goes;
//  4. Complete: status.restore records the backup's head (from the Job's
//     summary) and the nodes start. Failed: Degraded with the Job's error,
//     the fix and the kubectl logs command; the Job is not run again until
//     a person deletes it.
//
// Until then the pass ends here: no StatefulSet, no pod.
func (r *LedgerNetworkReconciler) reconcileRestore(ctx context.Context, s *networkScope) error {
	n := s.net
	fb := fromBackup(n)
	if fb == nil || restoreDone(n) {
		return nil
	}
	sts := &appsv1.StatefulSet{}
	if err := r.Get(ctx, key(n, statefulSetName(n)), sts); err == nil && n.Status.Restore == nil {
		// The nodes run already and the status holds no restore at all: it
		// was lost. (A status that only trails the pass that created the
		// StatefulSet still names the restore: the Job below says how it
		// ended, and restored() records its facts again.)
		n.Status.Restore = &ledgerv1.RestoreStatus{Phase: ledgerv1.RestoreRestored, Source: "(not recorded)",
			Message: "the StatefulSet exists, so the restore was done earlier; its record in the status was lost"}
		return nil
	} else if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	src, err := r.restoreSource(ctx, n, fb)
	if err != nil {
		return err
	}
	rs := n.Status.Restore
	if rs == nil {
		rs = &ledgerv1.RestoreStatus{Phase: ledgerv1.RestoreRestoring}
		n.Status.Restore = rs
	}
	rs.Source, rs.Job = src.String(), restoreJobName(n)
	rs.CA = fmt.Sprintf(restoreCA, caSecretName(n))
	pod := podName(n, 0)
	claim := &corev1.PersistentVolumeClaim{}
	if err := r.Get(ctx, key(n, dataClaimName(pod)), claim); apierrors.IsNotFound(err) {
		if err := r.Create(ctx, buildDataClaim(n, r.Build, pod)); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create volume claim %s: %w", dataClaimName(pod), err)
		}
	} else if err != nil {
		return err
	}
	job := &batchv1.Job{}
	if err := r.Get(ctx, key(n, restoreJobName(n)), job); apierrors.IsNotFound(err) {
		raftAddr, apiAddr := r.Resolver.MemberAddrs(n, pod)
		job = buildRestoreJob(n, r.Build, src, pod, raftAddr, apiAddr, tx.KeyID(s.identity.AdminKey.Public().(ed25519.PublicKey)))
		if err := r.Create(ctx, job); err != nil {
			return fmt.Errorf("create job %s: %w", job.Name, err)
		}
		rs.Phase, rs.StartTime, rs.Message = ledgerv1.RestoreRestoring, ptr.To(metav1.Now()), ""
		r.restoreAnnounced.swap(n, rs.Phase, "")
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "RestoreStarted", "Restore",
			"job %s restores %s into volume claim %s of %s (every check of 'ledgerctl backup verify' first)", job.Name, src, dataClaimName(pod), pod)
		return waitFor(reasonRestoring, "job %s restores %s into %s: started (kubectl logs -f -n %s job/%s shows its progress)",
			job.Name, src, pod, n.Namespace, job.Name)
	} else if err != nil {
		return err
	}
	jobPod, err := r.jobPod(ctx, n, job.Name)
	if err != nil {
		return err
	}
	logs := fmt.Sprintf("kubectl logs -n %s job/%s", n.Namespace, job.Name)
	switch jobEnd(job) {
	case batchv1.JobComplete:
		r.restored(n, src, job, jobPod)
		return nil
	case batchv1.JobFailed:
		rs.Phase = ledgerv1.RestoreFailed
		why := jobFailure(job)
		if msg, ok := terminationMessage(jobPod, restoreContainer); ok {
			if sum, err := parseRestoreSummary(msg); err == nil && sum.Error != "" {
				why = sum.Error
			} else if err != nil {
				why = trimMessage(msg)
			}
		}
		rs.Message = fmt.Sprintf("job %s failed: %s. Nothing was started, and nothing is written unless the backup verifies. Fix: %s. "+
			"Read its log: %s; to run it again, delete it: kubectl delete job -n %s %s",
			job.Name, why, restoreFailureFix(n, src.String(), why), logs, n.Namespace, job.Name)
		if r.announceRestore(n) {
			r.Recorder.Eventf(n, nil, corev1.EventTypeWarning, reasonRestoreFailed, "Restore", "%s", rs.Message)
		}
		return degraded(reasonRestoreFailed, "%s", rs.Message)
	}
	progress := "waiting for its pod"
	if jobPod != nil {
		progress = fmt.Sprintf("pod %s is %s%s", jobPod.Name, jobPod.Status.Phase, podWaitingReason(jobPod, restoreContainer))
	}
	since := ""
	if rs.StartTime != nil {
		since = " since " + rs.StartTime.UTC().Format(time.RFC3339)
	}
	return waitFor(reasonRestoring, "job %s restores %s into %s%s: %s (kubectl logs -f -n %s job/%s shows its progress)",
		job.Name, src, pod, since, progress, n.Namespace, job.Name)
}

// restoreSource finds the backup file spec.bootstrap.fromBackup names, or
// ends the pass: waiting for a LedgerBackup still running, degraded for
// one that failed or is missing, or a claim that is missing.
func (r *LedgerNetworkReconciler) restoreSource(ctx context.Context, n *ledgerv1.LedgerNetwork, fb *ledgerv1.FromBackupSpec) (restoreSource, error) {
	if fb.Volume != nil {
		pvc := &corev1.PersistentVolumeClaim{}
		if err := r.Get(ctx, key(n, fb.Volume.ClaimName), pvc); apierrors.IsNotFound(err) {
			return restoreSource{}, degraded("BackupClaimNotFound", "spec.bootstrap.fromBackup.volume.claimName %q: no such PersistentVolumeClaim in namespace %s: "+
				"create it (holding the backup file) or re-create this LedgerNetwork naming the claim that holds it", fb.Volume.ClaimName, n.Namespace)
		} else if err != nil {
			return restoreSource{}, err
		}
		return restoreSource{claim: fb.Volume.ClaimName, file: fb.Volume.Path}, nil
	}
	b := &ledgerv1.LedgerBackup{}
	if err := r.Get(ctx, key(n, fb.LedgerBackup), b); apierrors.IsNotFound(err) {
		return restoreSource{}, degraded("BackupNotFound", "spec.bootstrap.fromBackup.ledgerBackup %q: no such LedgerBackup in namespace %s (kubectl get lbak -n %s lists them): "+
			"create it, or re-create this LedgerNetwork naming one that succeeded", fb.LedgerBackup, n.Namespace, n.Namespace)
	} else if err != nil {
		return restoreSource{}, err
	}
	src, wait, refuse := judgeBackup(n, b)
	switch {
	case refuse != "":
		return src, degraded("BackupNotRestorable", "%s", refuse)
	case wait != "":
		return src, waitFor(reasonRestoring, "%s", wait)
	}
	return src, nil
}

// jobPod is the newest pod of one of the network's Jobs.
func (r *LedgerNetworkReconciler) jobPod(ctx context.Context, n *ledgerv1.LedgerNetwork, job string) (*corev1.Pod, error) {
	return newestPod(ctx, r.Client, n.Namespace, client.MatchingLabels{batchv1.JobNameLabel: job, LabelManagedBy: ManagedBy})
}

// jobFailure is why a Job failed, by its Failed condition.
func jobFailure(job *batchv1.Job) string {
	for _, c := range job.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return fmt.Sprintf("%s: %s", c.Reason, c.Message)
		}
	}
	return "the Job failed"
}

// restored records a restore Job that completed: the backup's head from
// its summary (else from the LedgerBackup), and an event.
func (r *LedgerNetworkReconciler) restored(n *ledgerv1.LedgerNetwork, src restoreSource, job *batchv1.Job, pod *corev1.Pod) {
	rs := n.Status.Restore
	rs.Phase = ledgerv1.RestoreRestored
	rs.CompletionTime = job.Status.CompletionTime
	if rs.CompletionTime == nil {
		rs.CompletionTime = ptr.To(metav1.Now())
	}
	msg, _ := terminationMessage(pod, restoreContainer)
	sum, err := parseRestoreSummary(msg)
	if err == nil {
		rs.BackupHeight, rs.BackupHeadHash, rs.BackupTreeSize, rs.BackupRoot, rs.BackupSignedBy =
			sum.Height, sum.BlockHash, sum.TreeSize, sum.Root, sum.Node
		rs.Message = fmt.Sprintf("restored %s: the backup's head is at height %d (block %s, tree size %d, signed by %s of the backed-up network); "+
			"%s starts alone and leads, the other nodes join it; the first head of this network is then proved to extend the backup's",
			src, sum.Height, sum.BlockHash, sum.TreeSize, sum.Node, podName(n, 0))
	} else {
		if src.backup != nil {
			rs.BackupHeight, rs.BackupHeadHash = src.backup.Status.Height, src.backup.Status.HeadHash
		}
		rs.Message = fmt.Sprintf("restored %s, but its Job's summary cannot be read (%v): the backup's head is as the LedgerBackup says, if one is named; "+
			"no consistency proof can be checked from it", src, err)
	}
	if r.announceRestore(n) {
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "Restored", "Restore", "%s", rs.Message)
	}
}

// announceRestore says whether the restore's phase is new to the events:
// each of Restored, Verified and Failed is announced once per operator.
func (r *LedgerNetworkReconciler) announceRestore(n *ledgerv1.LedgerNetwork) bool {
	phase := n.Status.Restore.Phase
	return r.restoreAnnounced.swap(n, phase, "") != phase
}

// verifyRestoredHead proves, once, that the restored network's ledger
// extends the backup's: the leader's signed head (by one of this network's
// nodes) and an RFC 6962 consistency proof from the backup's tree (its
// size and root, which the restore checked against the backup's signed
// head) to it. A proof that fails means this is not the backup's history:
// Degraded, for a person.
func (r *LedgerNetworkReconciler) verifyRestoredHead(ctx context.Context, s *networkScope, v *ledgerView) error {
	n := s.net
	rs := n.Status.Restore
	if fromBackup(n) == nil || rs == nil || rs.Phase != ledgerv1.RestoreRestored || rs.BackupRoot == "" || s.identity == nil {
		return nil
	}
	resp, err := v.ledger.Consistency(ctx, uint64(rs.BackupTreeSize))
	if err != nil {
		s.noteProgressing(reasonRestoring, "proving that the ledger extends the backup's head (height %d): %v", rs.BackupHeight, err)
		return nil
	}
	trust := verify.Trust{Network: networkID(n), Nodes: map[string]string{}}
	for _, pod := range slices.Sorted(maps.Keys(s.identity.Nodes)) {
		trust.Nodes[tx.KeyID(s.identity.Nodes[pod].Key.Public().(ed25519.PublicKey))] = pod
	}
	if err := checkExtends(rs, &resp.Head, &resp.Proof, trust); err != nil {
		msg := fmt.Sprintf("the ledger's head at height %d (block %s, signed by %s) is not proved to extend the backup's head at height %d (block %s): %v. "+
			"Do not use this network: compare it with the backup (ledgerctl verify consistency --from <backup head>), and restore again into a new LedgerNetwork",
			resp.Head.Height, resp.Head.BlockHash, resp.Head.Node, rs.BackupHeight, rs.BackupHeadHash, err)
		return degraded(reasonRestoreNotConsistent, "%s", msg)
	}
	rs.Phase = ledgerv1.RestoreVerified
	rs.FirstHeight, rs.FirstHeadHash = int64(resp.Head.Height), resp.Head.BlockHash
	rs.Message = fmt.Sprintf("the network's head at height %d (block %s, signed by %s) extends the backup's head at height %d (block %s): consistency proof from tree size %d to %d verified",
		resp.Head.Height, resp.Head.BlockHash, resp.Head.Node, rs.BackupHeight, rs.BackupHeadHash, rs.BackupTreeSize, resp.Head.TreeSize)
	if r.announceRestore(n) {
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "RestoreVerified", "Restore", "%s", rs.Message)
	}
	return nil
}

// checkExtends checks that head, signed by a trusted node, extends the
// backup's tree (size and root in rs) by the consistency proof p.
func checkExtends(rs *ledgerv1.RestoreStatus, head *chain.Head, p *chain.ConsistencyProofJSON, trust verify.Trust) error {
	if err := verify.Head(head, trust); err != nil {
		return err
	}
	if p.From != uint64(rs.BackupTreeSize) || p.To != head.TreeSize {
		return fmt.Errorf("the proof covers tree sizes %d..%d, not %d..%d", p.From, p.To, rs.BackupTreeSize, head.TreeSize)
	}
	hashes, err := chain.ParseHexHashes(p.Hashes)
	if err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	oldRoot, err := hex.DecodeString(rs.BackupRoot)
	if err != nil {
		return fmt.Errorf("status.restore.backupRoot: %w", err)
	}
	newRoot, err := hex.DecodeString(head.Root)
	if err != nil {
		return fmt.Errorf("head.root: %w", err)
	}
	if err := proof.VerifyConsistency(chain.Hasher, p.From, p.To, hashes, oldRoot, newRoot); err != nil {
		return fmt.Errorf("consistency proof: %w", err)
	}
	return nil
}

// summarizeRestore writes the Restored condition of a network started from
// a backup.
func summarizeRestore(n *ledgerv1.LedgerNetwork, conds conditions) {
	rs := n.Status.Restore
	switch {
	case fromBackup(n) == nil:
	case rs == nil:
		conds.setFalse(ledgerv1.ConditionRestored, reasonRestoring, "the backup is not restored yet")
	case rs.Phase == ledgerv1.RestoreRestored || rs.Phase == ledgerv1.RestoreVerified:
		conds.setTrue(ledgerv1.ConditionRestored, string(rs.Phase), rs.Message)
	case rs.Phase == ledgerv1.RestoreFailed:
		conds.setFalse(ledgerv1.ConditionRestored, reasonRestoreFailed, rs.Message)
	default:
		conds.setFalse(ledgerv1.ConditionRestored, reasonRestoring, fmt.Sprintf("job %s restores %s", rs.Job, rs.Source))
	}
}
