//go:build e2e

package e2e

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

const (
	restoredName      = "customs-restored"
	restoredClientPod = "ledgerctl-restored"
	backupHeadPod     = "backup-head"
	restoreVerifyCM   = "restore-verify"
)

// restoredNetworkManifest is docs/operations.md's restore manifest, for the
// customs network's step-11 backup (deletionPolicy Delete: the step removes
// it when done).
func restoredNetworkManifest() string {
	return fmt.Sprintf(`apiVersion: ledger.tradeledger.io/v1alpha1
kind: LedgerNetwork
metadata:
  name: %s
  namespace: %s
spec:
  networkID: customs-e2e
  replicas: 3
  storage:
    size: 256Mi
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {memory: 512Mi}
  deletionPolicy: Delete
  bootstrap:
    fromBackup:
      ledgerBackup: %s
      genesisConfigMap: %s-genesis
      adminSecret: %s-admin
      timeout: 10m
`, restoredName, netNS, e2eBackup, netName, netName)
}

// restoreFromBackup is step 12: a new LedgerNetwork from step 11's
// LedgerBackup, timed from apply to Ready; the notes the customs network
// acknowledged before the backup read back with inclusion proofs against
// the new heads, the one written after it absent; consistency from the
// backup's signed head (as `ledgerctl backup verify --save-head` keeps it)
// with ledgerctl in a pod.
func restoreFromBackup() {
	var b ledgerv1.LedgerBackup
	Expect(e.getJSON(&b, "ledgerbackup", e2eBackup, "-n", netNS)).To(Succeed())
	Expect(b.Status.Phase).To(Equal(ledgerv1.BackupSucceeded), "step 11's backup")
	Expect(notesInBackup).NotTo(BeEmpty())
	after := writeNotes("after-backup", 1)

	t0 := time.Now()
	Expect(e.apply(restoredNetworkManifest())).To(Succeed())
	var sawRestoring bool
	var rn *ledgerv1.LedgerNetwork
	eventually(func(g Gomega) {
		n, err := e.network(netNS, restoredName)
		g.Expect(err).NotTo(HaveOccurred())
		if n.Status.Phase == ledgerv1.PhaseRestoring {
			sawRestoring = true
		}
		d := condition(n.Status.Conditions, ledgerv1.ConditionDegraded)
		g.Expect(d == nil || d.Status != "True" || d.Reason == "NoStorageClass").To(BeTrue(), "Degraded: %v", d)
		c := condition(n.Status.Conditions, ledgerv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(BeEquivalentTo("True"), "Ready: %s %s; restore %+v", c.Reason, c.Message, n.Status.Restore)
		g.Expect(n.Status.ReadyReplicas).To(Equal(int32(3)))
		g.Expect(n.Status.Restore).NotTo(BeNil())
		g.Expect(n.Status.Restore.Phase).To(Equal(ledgerv1.RestoreVerified), "%+v", n.Status.Restore)
		rn = n
	}, 8*time.Minute).Should(Succeed())
	applyToReady := time.Since(t0)
	rs := rn.Status.Restore
	Expect(rs.BackupHeight).To(Equal(b.Status.Height))
	Expect(rs.BackupHeadHash).To(Equal(b.Status.HeadHash))
	Expect(rs.FirstHeight).To(BeNumerically(">=", rs.BackupHeight))
	Expect(rs.CA).To(ContainSubstring("a new CA"))
	jobTime := "?"
	if rs.StartTime != nil && rs.CompletionTime != nil {
		jobTime = rs.CompletionTime.Sub(rs.StartTime.Time).Round(time.Second).String()
	}
	figure("restore: apply → Ready (3 replicas, from LedgerBackup %s at height %d, %d bytes): %s (restore Job %s); first head at height %d extends the backup's (seen Restoring: %v)",
		e2eBackup, b.Status.Height, b.Status.SizeBytes, applyToReady.Round(100*time.Millisecond), jobTime, rs.FirstHeight, sawRestoring)

	// Trust: the old genesis (its nodes signed the history and the
	// backup's head) and the restored network's new node keys.
	var cm corev1.ConfigMap
	Expect(e.getJSON(&cm, "configmap", netName+"-genesis", "-n", netNS)).To(Succeed())
	var g chain.Genesis
	Expect(json.Unmarshal([]byte(cm.Data["genesis.json"]), &g)).To(Succeed())
	trust := verify.TrustFromGenesis(&g)
	oldOnly := verify.TrustFromGenesis(&g)
	for i := range 3 {
		pod := fmt.Sprintf("%s-%d", restoredName, i)
		var sec corev1.Secret
		Expect(e.getJSON(&sec, "secret", pod+"-node-keys", "-n", netNS)).To(Succeed())
		k, err := tx.UnmarshalKey(sec.Data["node.key"])
		Expect(err).NotTo(HaveOccurred())
		id := tx.KeyID(k.Public().(ed25519.PublicKey))
		Expect(oldOnly.Nodes).NotTo(HaveKey(id), "a new node identity")
		trust.Nodes[id] = pod
	}
	trustJSON, err := json.Marshal(trust)
	Expect(err).NotTo(HaveOccurred())

	// The backup's signed head, as `backup verify --save-head` keeps it
	// (written to the pod's termination message, the image has no shell).
	image := rn.Spec.Image
	if image == "" {
		image = e.repo + ":" + e.tagA
	}
	headPod := strings.Replace(verifyBackupManifest(image, b.Status.File), "name: "+verifyPod+"\n", "name: "+backupHeadPod+"\n", 1)
	headPod = strings.Replace(headPod, `"-q"]`, `"-q", "--save-head", "/dev/termination-log"]`, 1)
	Expect(e.apply(headPod)).To(Succeed())
	var headMsg string
	eventually(func(g Gomega) {
		p, err := e.pod(netNS, backupHeadPod)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(p.Status.ContainerStatuses).To(HaveLen(1))
		t := p.Status.ContainerStatuses[0].State.Terminated
		g.Expect(t).NotTo(BeNil())
		g.Expect(t.ExitCode).To(BeZero(), t.Message)
		headMsg = t.Message
	}, 3*time.Minute).Should(Succeed())
	var backupHead chain.Head
	Expect(json.Unmarshal([]byte(headMsg), &backupHead)).To(Succeed(), headMsg)
	Expect(int64(backupHead.Height)).To(Equal(b.Status.Height))

	cmManifest, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]string{"name": restoreVerifyCM, "namespace": netNS},
		"data":     map[string]string{"trust.json": string(trustJSON), "backup-head.json": headMsg}})
	Expect(err).NotTo(HaveOccurred())
	Expect(e.apply(string(cmManifest))).To(Succeed())

	// ledgerctl in a pod against the restored network: its CA, its copy of
	// the genesis and of the admin key, and the trust and head above.
	cp := clientManifest(e, netNS, restoredName, nil)
	cp = strings.Replace(cp, "name: "+clientPod+"\n", "name: "+restoredClientPod+"\n", 1)
	cp = strings.Replace(cp, "    - {name: work, mountPath: /work}\n", "    - {name: work, mountPath: /work}\n    - {name: verify, mountPath: /verify, readOnly: true}\n", 1)
	cp = strings.Replace(cp, "  - name: work\n    emptyDir: {}\n", "  - name: work\n    emptyDir: {}\n  - name: verify\n    configMap: {name: "+restoreVerifyCM+"}\n", 1)
	Expect(e.apply(cp)).To(Succeed())
	_, err = e.k("wait", "-n", netNS, "--for=condition=Ready", "pod/"+restoredClientPod, "--timeout=90s")
	Expect(err).NotTo(HaveOccurred())
	rc := &ledgerClient{e: e, ns: netNS, pod: restoredClientPod}

	// Every note acknowledged before the backup: there, and its receipt
	// proved against a head of the restored network (four at a time).
	t1 := time.Now()
	var mu sync.Mutex
	var problems []string
	work := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			for k := range work {
				if err := provedNote(rc, k, trust); err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s: %v", k, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range notesInBackup {
		work <- k
	}
	close(work)
	wg.Wait()
	Expect(problems).To(BeEmpty(), "acknowledged before the backup, but not proved present in the restored network")
	for _, k := range after {
		_, err := rc.ctl(nil, "note", "get", k)
		Expect(err).To(HaveOccurred(), "note %s was written after the backup: the restored network must not hold it", k)
	}
	figure("restore: %d notes acknowledged before the backup present with an inclusion proof against the new heads (checked in %s); the one after it absent",
		len(notesInBackup), time.Since(t1).Round(100*time.Millisecond))

	// The restored network takes writes (for the backed-up network id),
	// and its head extends the backup's: docs/operations.md's command.
	_, err = rc.ctl(nil, "note", "put", "after-restore", `"after-restore"`, "--key", "/keys/admin/admin.key")
	Expect(err).NotTo(HaveOccurred())
	out, err := rc.ctl(nil, "verify", "consistency", "--from", "/verify/backup-head.json", "--trust", "/verify/trust.json")
	Expect(err).NotTo(HaveOccurred(), out)
	Expect(out).To(MatchRegexp(`(?m)^yes\s+%d/`, backupHead.Height))
	// With the old genesis alone as trust the new heads are refused: the
	// new identities, not damage.
	_, err = rc.ctl(nil, "verify", "consistency", "--from", "/verify/backup-head.json", "--trust", "/genesis/genesis.json")
	Expect(err).To(MatchError(ContainSubstring("not trusted")))

	// Leave the customs network and the later steps alone.
	for _, args := range [][]string{
		{"delete", "pod", restoredClientPod, backupHeadPod, "-n", netNS, "--wait=false"},
		{"delete", "configmap", restoreVerifyCM, "-n", netNS},
		{"delete", "ledgernetwork", restoredName, "-n", netNS, "--wait=false"},
	} {
		_, err := e.k(args...)
		Expect(err).NotTo(HaveOccurred())
	}
}

// provedNote reads a note from the restored network, fetches its
// transaction with the inclusion proof, and verifies it offline against
// trust (the old genesis nodes and the new ones).
func provedNote(rc *ledgerClient, key string, trust verify.Trust) error {
	var n wire.Note
	if err := rc.ctlJSON(&n, "note", "get", key); err != nil {
		return err
	}
	if n.TxID == "" {
		return fmt.Errorf("note %s has no transaction id", key)
	}
	var ev verify.Evidence
	if err := rc.ctlJSON(&ev, "tx", "get", n.TxID, "--proof"); err != nil {
		return err
	}
	if _, err := verify.Receipt(&ev, trust); err != nil {
		return fmt.Errorf("tx %s: %w", n.TxID, err)
	}
	return nil
}
