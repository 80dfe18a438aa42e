package controllers

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	ledgerclient "github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// backUp creates bak, runs its Job against src with claimDir as the backup
// claim, and waits until the backup succeeded (bak then holds its status).
func backUp(src *ledgerv1.LedgerNetwork, bak *ledgerv1.LedgerBackup, claimDir string) {
	GinkgoHelper()
	Expect(k8sClient.Create(suiteCtx, bak)).To(Succeed())
	out, _ := runBackupJob(src, bak, claimDir, "")
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(bak), bak)).To(Succeed())
		g.Expect(bak.Status.Phase).To(Equal(ledgerv1.BackupSucceeded), out)
	}, eventually, tick).Should(Succeed())
}

// The restore of spec.bootstrap.fromBackup, end to end against the API
// server and real nodes: a network "customs" of one node takes writes, is
// backed up by a LedgerBackup (a real `ledgerctl backup create`), takes
// more writes, and a new LedgerNetwork is started from the backup; its
// restore Job is played by fakePods with the command's own function
// (node.Restore, every check of backup verify included).
var _ = Describe("LedgerNetwork restored from a backup", Ordered, func() {
	var (
		ns, claimDir  string
		src           *ledgerv1.LedgerNetwork
		srcGenesis    chain.Genesis
		srcAdmin      ed25519.PrivateKey
		bak           *ledgerv1.LedgerBackup
		before, after []*chain.Receipt
	)
	getNet := func(g Gomega, n *ledgerv1.LedgerNetwork) *ledgerv1.LedgerNetwork {
		got := &ledgerv1.LedgerNetwork{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(n), got)).To(Succeed())
		return got
	}
	register := func(n *ledgerv1.LedgerNetwork, owner string) *chain.Receipt {
		GinkgoHelper()
		target, err := networkTarget(suiteCtx, k8sClient, n)
		Expect(err).NotTo(HaveOccurred())
		l, err := (&ClientDialer{Resolver: pods}).Dial(suiteCtx, target)
		Expect(err).NotTo(HaveOccurred())
		k, err := tx.GenerateKey()
		Expect(err).NotTo(HaveOccurred())
		st, err := signNow(n, "key.register", map[string]string{"owner": owner, "publicKey": publicKeyID(k)}, target.AdminKey)
		Expect(err).NotTo(HaveOccurred())
		rc, err := l.Submit(suiteCtx, st)
		Expect(err).NotTo(HaveOccurred())
		Expect(rc.Status).To(Equal(chain.Accepted), "%+v", rc)
		return rc
	}
	restoredNetwork := func(name string, replicas int32, fb ledgerv1.FromBackupSpec) *ledgerv1.LedgerNetwork {
		GinkgoHelper()
		n := &ledgerv1.LedgerNetwork{}
		sample(sampleNetwork, n, ns)
		n.Name, n.Spec.NetworkID, n.Spec.Replicas = name, "customs", replicas
		n.Spec.Bootstrap = &ledgerv1.BootstrapSpec{FromBackup: &fb}
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		DeferCleanup(func() {
			for i := range 3 {
				_ = pods.Stop(n, i)
			}
		})
		return n
	}
	restoreJob := func(g Gomega, n *ledgerv1.LedgerNetwork) *batchv1.Job {
		job := &batchv1.Job{}
		g.Expect(k8sClient.Get(suiteCtx, key(n, restoreJobName(n)), job)).To(Succeed())
		return job
	}
	// bindFirstClaim plays the volume provisioner, which envtest does not
	// run, for the claim the operator makes for the first pod.
	bindFirstClaim := func(n *ledgerv1.LedgerNetwork) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			pvc := &corev1.PersistentVolumeClaim{}
			g.Expect(k8sClient.Get(suiteCtx, key(n, dataClaimName(podName(n, 0))), pvc)).To(Succeed())
			pvc.Status.Phase = corev1.ClaimBound
			g.Expect(k8sClient.Status().Update(suiteCtx, pvc)).To(Succeed())
		}, eventually, tick).Should(Succeed())
	}
	noStatefulSet := func(g Gomega, n *ledgerv1.LedgerNetwork) {
		err := k8sClient.Get(suiteCtx, key(n, statefulSetName(n)), &appsv1.StatefulSet{})
		g.Expect(client.IgnoreNotFound(err)).To(Succeed())
		g.Expect(err).To(HaveOccurred(), "no StatefulSet (no node) before the restore succeeded")
	}

	BeforeAll(func() {
		src = createSampleNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = 1 })
		ns = src.Namespace
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, key(src, statefulSetName(src)), &appsv1.StatefulSet{})).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Expect(pods.Start(suiteCtx, k8sClient, src, 0)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(hasRun(getNet(g, src))).To(BeTrue()) }, eventually, tick).Should(Succeed())
		target, err := networkTarget(suiteCtx, k8sClient, src)
		Expect(err).NotTo(HaveOccurred())
		srcAdmin = target.AdminKey
		var cm corev1.ConfigMap
		Expect(k8sClient.Get(suiteCtx, key(src, genesisConfigMapName(src)), &cm)).To(Succeed())
		Expect(json.Unmarshal([]byte(cm.Data[genesisKey]), &srcGenesis)).To(Succeed())

		for i := range 4 {
			before = append(before, register(src, "participant/before-"+string(rune('a'+i))))
		}
		Expect(k8sClient.Create(suiteCtx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "ledger-backups", Namespace: ns},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}})).To(Succeed())
		claimDir = GinkgoT().TempDir()
		bak = &ledgerv1.LedgerBackup{}
		sample(sampleBackup, bak, ns)
		backUp(src, bak, claimDir)
		for _, rc := range before {
			Expect(int64(rc.Height)).To(BeNumerically("<=", bak.Status.Height), "the backup holds every write made before it")
		}
		// Writes after the backup: the restored network must not hold them.
		for i := range 2 {
			after = append(after, register(src, "participant/after-"+string(rune('a'+i))))
		}
		Expect(int64(after[0].Height)).To(BeNumerically(">", bak.Status.Height))
	})

	It("refuses to start without the backed-up network's admin Secret, saying why it is needed, and creates nothing", func() {
		n := restoredNetwork("no-admin", 1, ledgerv1.FromBackupSpec{LedgerBackup: bak.Name, GenesisConfigMap: genesisConfigMapName(src), AdminSecret: "customs-admin-gone"})
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			expectDegraded(g, got, got.Status.Conditions, "AdminSecretNotFound", `spec.bootstrap.fromBackup.adminSecret "customs-admin-gone"`,
				"signed by the admin key its genesis registers", "restore the backed-up network's <network>-admin Secret")
			g.Expect(got.Status.Phase).To(Equal(ledgerv1.PhaseDegraded))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			noStatefulSet(g, n)
			for _, name := range []string{genesisConfigMapName(n)} {
				g.Expect(k8sClient.Get(suiteCtx, key(n, name), &corev1.ConfigMap{})).NotTo(Succeed())
			}
			g.Expect(k8sClient.Get(suiteCtx, key(n, restoreJobName(n)), &batchv1.Job{})).NotTo(Succeed())
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
	})

	It("restores the backup into the first node's volume with a Job before any node starts, then grows to three voters; the first head is proved to extend the backup's", func() {
		// config/samples' restored network, as it is.
		n := &ledgerv1.LedgerNetwork{}
		sample(sampleRestoredNetwork, n, ns)
		Expect(n.Spec.Bootstrap.FromBackup.LedgerBackup).To(Equal(bak.Name))
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		DeferCleanup(func() {
			for i := range 3 {
				_ = pods.Stop(n, i)
			}
		})

		// Restoring: the Job and the first pod's claim, no StatefulSet.
		bindFirstClaim(n)
		var job *batchv1.Job
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			g.Expect(got.Status.Phase).To(Equal(ledgerv1.PhaseRestoring))
			p := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionProgressing)
			g.Expect(p.Reason).To(Equal(reasonRestoring))
			g.Expect(p.Message).To(ContainSubstring("kubectl logs -f -n " + ns + " job/customs-restored-restore"))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionRestored).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(got.Status.Restore).NotTo(BeNil())
			g.Expect(got.Status.Restore.Phase).To(Equal(ledgerv1.RestoreRestoring))
			g.Expect(got.Status.Restore.Source).To(ContainSubstring("LedgerBackup customs-manual"))
			g.Expect(got.Status.Restore.CA).To(ContainSubstring("a new CA generated for this network"))
			job = restoreJob(g, n)
			g.Expect(k8sClient.Get(suiteCtx, key(n, "data-customs-restored-0"), &corev1.PersistentVolumeClaim{})).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) { noStatefulSet(g, n) }, 2*time.Second, 200*time.Millisecond).Should(Succeed())
		Expect(metav1.IsControlledBy(job, getNet(Default, n))).To(BeTrue())
		cmd := strings.Join(job.Spec.Template.Spec.Containers[0].Command, " ")
		Expect(cmd).To(HavePrefix("ledgernode restore --backup /backup/" + bak.Status.File + " "))
		Expect(cmd).To(ContainSubstring("--id customs-restored-0 "))

		// The identity: the old genesis and admin key, a new CA, new node keys.
		var oldCM, newCM corev1.ConfigMap
		Expect(k8sClient.Get(suiteCtx, key(src, genesisConfigMapName(src)), &oldCM)).To(Succeed())
		Expect(k8sClient.Get(suiteCtx, key(n, genesisConfigMapName(n)), &newCM)).To(Succeed())
		Expect(newCM.Data[genesisKey]).To(Equal(oldCM.Data[genesisKey]))
		newTarget, err := networkTarget(suiteCtx, k8sClient, n)
		Expect(err).NotTo(HaveOccurred())
		Expect(newTarget.AdminKey.Equal(srcAdmin)).To(BeTrue(), "the admin key the genesis registers")
		srcTarget, err := networkTarget(suiteCtx, k8sClient, src)
		Expect(err).NotTo(HaveOccurred())
		Expect(newTarget.CAPEM).NotTo(Equal(srcTarget.CAPEM), "a new CA")
		newKeys := map[string]string{}
		for i := range 3 {
			sec := &corev1.Secret{}
			Expect(k8sClient.Get(suiteCtx, key(n, nodeKeysSecretName(podName(n, i))), sec)).To(Succeed())
			m, err := decodeNodeKeysSecret(sec)
			Expect(err).NotTo(HaveOccurred())
			id := tx.KeyID(m.Key.Public().(ed25519.PublicKey))
			Expect(slices.ContainsFunc(srcGenesis.Nodes, func(gn chain.GenesisNode) bool { return gn.Key == id })).To(BeFalse(), "a new node key")
			newKeys[id] = podName(n, i)
		}

		// The Job runs: the nodes start, every one with --no-bootstrap.
		Expect(pods.RunRestoreJob(suiteCtx, k8sClient, n, job, claimDir)).To(Succeed())
		var sts appsv1.StatefulSet
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			g.Expect(got.Status.Restore.Phase).To(BeElementOf(ledgerv1.RestoreRestored, ledgerv1.RestoreVerified))
			g.Expect(got.Status.Restore.BackupHeight).To(Equal(bak.Status.Height))
			g.Expect(got.Status.Restore.BackupHeadHash).To(Equal(bak.Status.HeadHash))
			g.Expect(got.Status.Restore.BackupSignedBy).To(Equal(bak.Status.Node))
			r := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionRestored)
			g.Expect(r.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(r.Message).To(ContainSubstring(bak.Status.HeadHash))
			g.Expect(k8sClient.Get(suiteCtx, key(n, statefulSetName(n)), &sts)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Expect(envOf(sts.Spec.Template.Spec.Containers[0])).To(HaveKeyWithValue("LEDGERNODE_NO_BOOTSTRAP", "true"))
		for i := range 3 {
			Expect(pods.Start(suiteCtx, k8sClient, n, i)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(got.Status.Replicas).To(Equal(int32(3)))
			g.Expect(got.Status.Phase).To(Equal(ledgerv1.PhaseRunning))
			rs := got.Status.Restore
			g.Expect(rs.Phase).To(Equal(ledgerv1.RestoreVerified))
			g.Expect(rs.FirstHeight).To(BeNumerically(">=", bak.Status.Height))
			g.Expect(rs.Message).To(ContainSubstring("extends the backup's head at height"))
			g.Expect(rs.Message).To(ContainSubstring("consistency proof from tree size"))
		}, eventually, tick).Should(Succeed())
		Expect(eventReasons(ns, n.Name)).To(ContainElements("NetworkCreated", "RestoreStarted", "Restored", "RestoreVerified"))
		for _, reason := range []string{"RestoreStarted", "Restored", "RestoreVerified"} {
			Expect(occurrences(ns, n.Name, reason)).To(Equal(int32(1)), reason+": once")
		}

		// Every write at or below the backup's height is there with a proof
		// a verifier trusting the old nodes and the new ones accepts; none
		// after it.
		trust := verify.TrustFromGenesis(&srcGenesis)
		for k, v := range newKeys {
			trust.Nodes[k] = v
		}
		pool := x509.NewCertPool()
		Expect(pool.AppendCertsFromPEM(newTarget.CAPEM)).To(BeTrue())
		raw, err := ledgerclient.New(ledgerclient.Config{Endpoints: pods.APIEndpoints(n), TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool},
			SignKey: newTarget.AdminKey})
		Expect(err).NotTo(HaveOccurred())
		for _, rc := range before {
			ev, err := raw.Tx(suiteCtx, rc.TxID, true, ledgerclient.ReadOptions{})
			Expect(err).NotTo(HaveOccurred(), rc.TxID)
			res, err := verify.Receipt(ev, trust)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Height).To(Equal(rc.Height))
		}
		for _, rc := range after {
			_, err := raw.Tx(suiteCtx, rc.TxID, false, ledgerclient.ReadOptions{})
			var ce *ledgerclient.Error
			Expect(errors.As(err, &ce)).To(BeTrue(), "a write after the backup: %v", err)
			Expect(ce.Status).To(Equal(404))
		}

		// The restored ledger takes writes signed for the old network id,
		// and its new head extends the backup's signed head (checked here
		// apart from the operator, from the head in the backup file).
		fresh := register(n, "participant/restored")
		Expect(fresh.Height).To(BeNumerically(">", uint64(bak.Status.Height)))
		f, err := os.Open(filepath.Join(claimDir, bak.Status.File))
		Expect(err).NotTo(HaveOccurred())
		defer f.Close()
		br, err := backup.NewReader(f)
		Expect(err).NotTo(HaveOccurred())
		oldHead := br.Header.Head
		// (A follower may answer before it applied the write.)
		var cons *wire.ConsistencyResponse
		Eventually(func(g Gomega) {
			cons, err = raw.Consistency(suiteCtx, oldHead.TreeSize)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cons.Head.Height).To(BeNumerically(">=", fresh.Height))
		}, eventually, tick).Should(Succeed())
		Expect(verify.Consistency(&oldHead, &cons.Head, &cons.Proof, trust)).To(Succeed())
		// With the old genesis alone as trust, the new head is refused:
		// the new identities, not damage.
		Expect(verify.Consistency(&oldHead, &cons.Head, &cons.Proof, verify.TrustFromGenesis(&srcGenesis))).To(MatchError(ContainSubstring("not trusted")))
	})

	It("a backup that does not verify fails the restore Job once: Degraded with the error, the fix and the kubectl logs command; nothing written, no node, no retry", func() {
		whole, err := os.ReadFile(filepath.Join(claimDir, bak.Status.File))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(claimDir, "cut.tlbackup"), whole[:len(whole)/2], 0o600)).To(Succeed())
		n := restoredNetwork("customs-cut", 1, ledgerv1.FromBackupSpec{Volume: &ledgerv1.BackupFileSource{ClaimName: "ledger-backups", Path: "cut.tlbackup"},
			GenesisConfigMap: genesisConfigMapName(src), AdminSecret: adminSecretName(src)})
		var job *batchv1.Job
		Eventually(func(g Gomega) { job = restoreJob(g, n) }, eventually, tick).Should(Succeed())
		bindFirstClaim(n)
		Expect(pods.RunRestoreJob(suiteCtx, k8sClient, n, job, claimDir)).To(HaveOccurred())

		logs := "kubectl logs -n " + ns + " job/customs-cut-restore"
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			expectDegraded(g, got, got.Status.Conditions, reasonRestoreFailed, "job customs-cut-restore failed", "backup",
				"nothing is written unless the backup verifies", logs, "kubectl delete job -n "+ns+" customs-cut-restore")
			g.Expect(got.Status.Restore.Phase).To(Equal(ledgerv1.RestoreFailed))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionRestored).Reason).To(Equal(reasonRestoreFailed))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			noStatefulSet(g, n)
			var jobs batchv1.JobList
			g.Expect(k8sClient.List(suiteCtx, &jobs, client.InNamespace(ns), client.MatchingLabels{LabelNetwork: n.Name})).To(Succeed())
			g.Expect(jobs.Items).To(HaveLen(1), "one Job: a failed restore is not retried by itself")
		}, 3*time.Second, 200*time.Millisecond).Should(Succeed())
		Expect(occurrences(ns, n.Name, reasonRestoreFailed)).To(Equal(int32(1)), "one RestoreFailed event, not one per pass")
		Expect(eventReasons(ns, n.Name)).To(ContainElement(reasonRestoreFailed))
		Expect(pods.DataDirEntries(n, podName(n, 0))).To(BeEmpty(), "nothing written into the first node's volume")
	})

	It("restores a network whose admin key was rotated on the ledger: the restore Job checks the Secret's key against the backup's key history, and the restored network signs with it", func() {
		// The source network's admin key is rotated (spec.adminKeyGeneration),
		// then backed up.
		Eventually(func(g Gomega) {
			got := getNet(g, src)
			got.Spec.AdminKeyGeneration = 1
			g.Expect(k8sClient.Update(suiteCtx, got)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Eventually(func(g Gomega) {
			ak := getNet(g, src).Status.AdminKey
			g.Expect(ak).NotTo(BeNil())
			g.Expect(ak.Generation).To(Equal(int64(1)))
		}, eventually, tick).Should(Succeed())
		rotated := adminKeyOf(src)
		rotatedID := tx.KeyID(rotated.Public().(ed25519.PublicKey))
		Expect(srcGenesis.Admins).NotTo(ContainElement(rotatedID), "setup: the genesis does not name the rotated key")
		bak2 := &ledgerv1.LedgerBackup{}
		sample(sampleBackup, bak2, ns)
		bak2.Name = "customs-rotated"
		backUp(src, bak2, claimDir)

		n := restoredNetwork("customs-rotated", 1, ledgerv1.FromBackupSpec{LedgerBackup: bak2.Name,
			GenesisConfigMap: genesisConfigMapName(src), AdminSecret: adminSecretName(src)})
		var job *batchv1.Job
		Eventually(func(g Gomega) { job = restoreJob(g, n) }, eventually, tick).Should(Succeed())
		Expect(strings.Join(job.Spec.Template.Spec.Containers[0].Command, " ")).To(ContainSubstring("--admin-key-id " + rotatedID + " "))
		bindFirstClaim(n)
		Expect(pods.RunRestoreJob(suiteCtx, k8sClient, n, job, claimDir)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionRestored).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(k8sClient.Get(suiteCtx, key(n, statefulSetName(n)), &appsv1.StatefulSet{})).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Expect(pods.Start(suiteCtx, k8sClient, n, 0)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue),
				conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Message)
			g.Expect(got.Status.Restore.Phase).To(Equal(ledgerv1.RestoreVerified))
		}, eventually, tick).Should(Succeed())
		Expect(register(n, "participant/after-rotated-restore").Height).To(BeNumerically(">", uint64(bak2.Status.Height)),
			"the restored network's admin writes, signed with the rotated key")
	})

	It("refuses, in the restore Job, an admin Secret whose key the backed-up ledger never held as its admin's, naming the ledger's admin keys", func() {
		k, err := tx.GenerateKey()
		Expect(err).NotTo(HaveOccurred())
		wrong, err := buildAdminSecret(src, k)
		Expect(err).NotTo(HaveOccurred())
		wrong.Name, wrong.OwnerReferences = "customs-admin-wrong", nil
		Expect(k8sClient.Create(suiteCtx, wrong)).To(Succeed())
		n := restoredNetwork("customs-wrong-admin", 1, ledgerv1.FromBackupSpec{LedgerBackup: bak.Name,
			GenesisConfigMap: genesisConfigMapName(src), AdminSecret: wrong.Name})
		var job *batchv1.Job
		Eventually(func(g Gomega) { job = restoreJob(g, n) }, eventually, tick).Should(Succeed())
		bindFirstClaim(n)
		Expect(pods.RunRestoreJob(suiteCtx, k8sClient, n, job, claimDir)).To(MatchError(ContainSubstring("not an admin key of the backed-up ledger")))
		Eventually(func(g Gomega) {
			got := getNet(g, n)
			expectDegraded(g, got, got.Status.Conditions, reasonRestoreFailed, tx.FingerprintOf(publicKeyID(k)),
				"the admin keys are "+tx.FingerprintOf(srcGenesis.Admins[0]), `spec.bootstrap.fromBackup.adminSecret "customs-admin-wrong" holds a key the backed-up ledger does not hold`)
		}, eventually, tick).Should(Succeed())
		Expect(pods.DataDirEntries(n, podName(n, 0))).To(BeEmpty(), "nothing written into the first node's volume")
	})
})
