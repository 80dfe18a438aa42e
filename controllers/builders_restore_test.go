package controllers

import (
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// testRestored is testNetwork started from a backup.
func testRestored(mut ...func(*ledgerv1.FromBackupSpec)) *ledgerv1.LedgerNetwork {
	return testNetwork(func(n *ledgerv1.LedgerNetwork) {
		n.Name, n.Spec.NetworkID = "customs-restored", "customs"
		fb := &ledgerv1.FromBackupSpec{LedgerBackup: "customs-20261202-0200", GenesisConfigMap: "customs-genesis", AdminSecret: "customs-admin"}
		for _, m := range mut {
			m(fb)
		}
		n.Spec.Bootstrap = &ledgerv1.BootstrapSpec{FromBackup: fb}
	})
}

func TestTheRestoreJobRunsLedgernodeRestoreIntoTheFirstPodsClaimWithTheBackupReadOnly(t *testing.T) {
	n := testRestored(func(fb *ledgerv1.FromBackupSpec) { fb.Timeout = &metav1.Duration{Duration: 2 * time.Hour} })
	src := restoreSource{claim: "ledger-backups", file: "customs/customs-20261202-0200.tlbackup"}
	job := buildRestoreJob(n, testBuild("tradeledger:1"), src, "customs-restored-0", "r0.peers:7000", "r0.peers:8443", "ADMINKEYID")

	if job.Name != "customs-restored-restore" || job.Namespace != "trade" || len(job.OwnerReferences) != 1 || job.OwnerReferences[0].UID != n.UID {
		t.Errorf("job %s/%s owners %v: want customs-restored-restore in trade, owned by the network", job.Namespace, job.Name, job.OwnerReferences)
	}
	if *job.Spec.BackoffLimit != 0 || *job.Spec.ActiveDeadlineSeconds != 7200 {
		t.Errorf("backoffLimit %d, deadline %d: want one attempt, bounded by spec.bootstrap.fromBackup.timeout (7200 s)",
			*job.Spec.BackoffLimit, *job.Spec.ActiveDeadlineSeconds)
	}
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	want := []string{"ledgernode", "restore", "--backup", "/backup/customs/customs-20261202-0200.tlbackup",
		"--genesis", genesisDir + "/" + genesisKey, "--data-dir", dataDir,
		"--id", "customs-restored-0", "--raft-addr", "r0.peers:7000", "--api-addr", "r0.peers:8443",
		"--admin-key-id", "ADMINKEYID", "--summary-file", "/dev/termination-log"}
	if strings.Join(c.Command, " ") != strings.Join(want, " ") {
		t.Errorf("command\n %v\nwant\n %v", c.Command, want)
	}
	if c.Name != restoreContainer || c.Image != "tradeledger:1" || spec.RestartPolicy != corev1.RestartPolicyNever ||
		!*spec.SecurityContext.RunAsNonRoot || *c.SecurityContext.ReadOnlyRootFilesystem != true ||
		c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError || *spec.AutomountServiceAccountToken {
		t.Errorf("container %s image %s, restart %s, pod security %+v, container security %+v, termination %s",
			c.Name, c.Image, spec.RestartPolicy, spec.SecurityContext, c.SecurityContext, c.TerminationMessagePolicy)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	vols := map[string]string{}
	for _, v := range spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			vols[v.Name] = v.PersistentVolumeClaim.ClaimName
			if v.Name == "backup" && !v.PersistentVolumeClaim.ReadOnly {
				t.Error("the backup claim must be mounted read-only")
			}
		case v.ConfigMap != nil:
			vols[v.Name] = "configmap:" + v.ConfigMap.Name
		default:
			t.Errorf("volume %s: only the two claims and the genesis may be mounted (no key, no Secret)", v.Name)
		}
	}
	if vols["data"] != "data-customs-restored-0" || vols["backup"] != "ledger-backups" || vols["genesis"] != "configmap:customs-restored-genesis" {
		t.Errorf("volumes %v: want the first pod's claim, the backup's claim and this network's own genesis copy", vols)
	}
	if mounts["data"].MountPath != dataDir || mounts["backup"].MountPath != restoreBackupDir || !mounts["backup"].ReadOnly || !mounts["genesis"].ReadOnly {
		t.Errorf("mounts %+v", mounts)
	}
	if l := job.Spec.Template.Labels; l[LabelComponent] != componentRestore || l[LabelManagedBy] != ManagedBy || l[LabelNetwork] != n.Name {
		t.Errorf("pod labels %v: want component restore (not the node pods' selector), managed-by (the operator's cache) and the network", l)
	}

	// Without a timeout: one hour.
	if d := *buildRestoreJob(testRestored(), testBuild("x"), src, "p", "r", "a", "k").Spec.ActiveDeadlineSeconds; d != 3600 {
		t.Errorf("default deadline %d, want 3600", d)
	}
}

func TestTheFirstPodsClaimIsTheOneTheStatefulSetWouldMake(t *testing.T) {
	n := testRestored()
	size := "5Gi"
	n.Spec.Storage.StorageClassName = &size
	claim := buildDataClaim(n, testBuild("x"), "customs-restored-0")
	tmpl := buildStatefulSet(n, testBuild("x"), 3).Spec.VolumeClaimTemplates[0]
	if claim.Name != "data-customs-restored-0" || claim.Namespace != "trade" {
		t.Errorf("claim %s/%s: the StatefulSet adopts only data-<pod> in its namespace", claim.Namespace, claim.Name)
	}
	if !equality.Semantic.DeepEqual(claim.Spec, tmpl.Spec) || !equality.Semantic.DeepEqual(claim.Labels, tmpl.Labels) {
		t.Errorf("claim spec %+v labels %v, want the template's %+v %v", claim.Spec, claim.Labels, tmpl.Spec, tmpl.Labels)
	}
}

func TestEveryPodOfARestoredNetworkRunsWithNoBootstrapAndNoneStartsBeforeTheRestore(t *testing.T) {
	n := testRestored()
	if env := envOf(buildStatefulSet(n, testBuild("x"), 3).Spec.Template.Spec.Containers[0]); env["LEDGERNODE_NO_BOOTSTRAP"] != "true" {
		t.Error("a restored network's pods must run with LEDGERNODE_NO_BOOTSTRAP: an empty one would start a cluster of the old genesis' voters")
	}
	for _, tc := range []struct {
		status *ledgerv1.RestoreStatus
		done   bool
	}{
		{nil, false},
		{&ledgerv1.RestoreStatus{Phase: ledgerv1.RestoreRestoring}, false},
		{&ledgerv1.RestoreStatus{Phase: ledgerv1.RestoreFailed}, false},
		{&ledgerv1.RestoreStatus{Phase: ledgerv1.RestoreRestored}, true},
		{&ledgerv1.RestoreStatus{Phase: ledgerv1.RestoreVerified}, true},
	} {
		n.Status.Restore = tc.status
		if got := restoreDone(n); got != tc.done {
			t.Errorf("restoreDone with %+v = %v, want %v", tc.status, got, tc.done)
		}
	}
	plain := testNetwork()
	if !restoreDone(plain) {
		t.Error("a network not started from a backup has nothing to restore")
	}
	if _, ok := envOf(buildStatefulSet(plain, testBuild("x"), 3).Spec.Template.Spec.Containers[0])["LEDGERNODE_NO_BOOTSTRAP"]; ok {
		t.Error("LEDGERNODE_NO_BOOTSTRAP in a network that was not restored")
	}
}

func TestALedgerBackupIsRestoredOnlyOnceItSucceeded(t *testing.T) {
	n := testRestored()
	backup := func(phase ledgerv1.BackupPhase, file string) *ledgerv1.LedgerBackup {
		b := testBackup(func(b *ledgerv1.LedgerBackup) { b.Name = "customs-20261202-0200" })
		b.Status.Phase, b.Status.File = phase, file
		return b
	}
	for _, tc := range []struct {
		name              string
		b                 *ledgerv1.LedgerBackup
		wantFile, wantSub string
		wait, refuse      string
	}{
		{"succeeded: its claim and file", backup(ledgerv1.BackupSucceeded, "customs/daily/customs-20261202-0200.tlbackup"),
			"customs/daily/customs-20261202-0200.tlbackup", "", "", ""},
		{"not started yet: wait", backup("", ""), "", "", "waiting for LedgerBackup customs-20261202-0200 to succeed (it is Pending)", ""},
		{"running: wait", backup(ledgerv1.BackupRunning, ""), "", "", "(it is Running)", ""},
		{"failed: refused, naming the field and the fix", backup(ledgerv1.BackupFailed, ""), "", "", "",
			"spec.bootstrap.fromBackup.ledgerBackup \"customs-20261202-0200\": that backup failed, there is no file to restore: name a LedgerBackup that succeeded"},
		{"succeeded without a file: refused", backup(ledgerv1.BackupSucceeded, ""), "", "", "", "names no file (status.file)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, wait, refuse := judgeBackup(n, tc.b)
			if src.file != tc.wantFile || (tc.wantFile != "" && src.claim != "backups") {
				t.Errorf("source %+v, want file %q on claim backups", src, tc.wantFile)
			}
			if (tc.wait == "") != (wait == "") || !strings.Contains(wait, tc.wait) {
				t.Errorf("wait %q, want %q", wait, tc.wait)
			}
			if (tc.refuse == "") != (refuse == "") || !strings.Contains(refuse, tc.refuse) {
				t.Errorf("refuse %q, want %q", refuse, tc.refuse)
			}
		})
	}
}

func TestTheRestoreSummaryIsReadFromTheTerminationMessage(t *testing.T) {
	good := `{"network":"customs","height":166,"treeSize":170,"blockHash":"ab12","root":"cd34","node":"customs-1","appliedIndex":180,"fileBytes":898048,"seconds":1.5}`
	s, err := parseRestoreSummary(good + "\n")
	if err != nil || s.Height != 166 || s.TreeSize != 170 || s.BlockHash != "ab12" || s.Root != "cd34" || s.Node != "customs-1" {
		t.Errorf("summary %+v, %v", s, err)
	}
	if s, err := parseRestoreSummary(`{"error":"backup: integrity: file ends before its trailer"}`); err != nil || s.Error == "" {
		t.Errorf("an error summary: %+v, %v", s, err)
	}
	for name, msg := range map[string]string{
		"empty":                "",
		"a log line, not JSON": "restore: read 1024 of 2048",
		"no root":              `{"height":166,"treeSize":170,"blockHash":"ab12"}`,
		"no tree":              `{"height":166,"blockHash":"ab12","root":"cd34"}`,
	} {
		if _, err := parseRestoreSummary(msg); err == nil {
			t.Errorf("%s: accepted %q", name, msg)
		}
	}
}

func TestAFailedRestoreNamesTheFixForItsCause(t *testing.T) {
	n := testRestored()
	for _, tc := range []struct{ msg, want string }{
		{"backup: genesis: the backup is of network \"x\"", "spec.bootstrap.fromBackup.genesisConfigMap"},
		{"backup: head: head.signer 3f2a (node \"customs-3\"): head signed by a key that is not trusted", "ledgernode restore --trust"},
		{"admin key 9c1e: not an admin key of the backed-up ledger: the genesis does not name it and no key.rotate on the ledger made it the admin's; at height 30 the admin keys are 77ab: give the network's current admin key",
			"spec.bootstrap.fromBackup.adminSecret \"customs-admin\" holds a key the backed-up ledger does not hold"},
		{"backup: integrity: state stream: checksum mismatch", "is damaged (nothing was written)"},
		{"open /backup/x.tlbackup: no such file or directory", "does not exist"},
		{"data directory is not empty: /var/lib/tradeledger/state.db exists", "kubectl delete pvc -n trade data-customs-restored-0"},
		{"write: no space left on device", "larger spec.storage.size"},
		{"something else", "fix the cause the log names"},
	} {
		if got := restoreFailureFix(n, "the backup", tc.msg); !strings.Contains(got, tc.want) {
			t.Errorf("fix for %q = %q, want %q in it", tc.msg, got, tc.want)
		}
	}
}

// TestTheRestoredHeadMustExtendTheBackupsTree checks checkExtends with a
// three-leaf RFC 6962 tree built by hand: the backup's tree of two leaves,
// the new head's of three (proof: the third leaf's hash).
func TestTheRestoredHeadMustExtendTheBackupsTree(t *testing.T) {
	leaf := func(s string) []byte { return chain.Hasher.HashLeaf([]byte(s)) }
	l0, l1, l2 := leaf("a"), leaf("b"), leaf("c")
	root2 := chain.Hasher.HashChildren(l0, l1)
	root3 := chain.Hasher.HashChildren(root2, l2)
	nodeKey, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	trust := verify.Trust{Network: "customs", Nodes: map[string]string{tx.KeyID(nodeKey.Public().(ed25519.PublicKey)): "customs-restored-0"}}
	head := func(root []byte, key []byte) *chain.Head {
		h := &chain.Head{Network: "customs", Height: 3, TreeSize: 3, Root: hex.EncodeToString(root), BlockHash: "00", Node: "customs-restored-0", Time: "2026-12-02T12:00:00Z"}
		if err := h.Sign(key); err != nil {
			t.Fatal(err)
		}
		return h
	}
	rs := &ledgerv1.RestoreStatus{BackupTreeSize: 2, BackupRoot: hex.EncodeToString(root2)}
	good := &chain.ConsistencyProofJSON{From: 2, To: 3, Hashes: chain.HexHashes([][]byte{l2})}
	if err := checkExtends(rs, head(root3, nodeKey), good, trust); err != nil {
		t.Fatalf("a head that extends the backup's tree: %v", err)
	}
	for _, tc := range []struct {
		name string
		rs   *ledgerv1.RestoreStatus
		h    *chain.Head
		p    *chain.ConsistencyProofJSON
		want string
	}{
		{"another history (wrong old root)", &ledgerv1.RestoreStatus{BackupTreeSize: 2, BackupRoot: hex.EncodeToString(leaf("x"))}, head(root3, nodeKey), good, "consistency proof"},
		{"a proof with a hash flipped", rs, head(root3, nodeKey), &chain.ConsistencyProofJSON{From: 2, To: 3, Hashes: chain.HexHashes([][]byte{leaf("d")})}, "consistency proof"},
		{"a proof from another size", rs, head(root3, nodeKey), &chain.ConsistencyProofJSON{From: 1, To: 3, Hashes: good.Hashes}, "covers tree sizes 1..3"},
		{"a head signed by a node not of this network", rs, head(root3, stranger), good, "not trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkExtends(tc.rs, tc.h, tc.p, trust)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}
