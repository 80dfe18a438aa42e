package controllers

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/cli"
	"github.com/tradeledger/tradeledger/ledgernode/pki"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

const sampleBackup = "ledger_v1alpha1_ledgerbackup.yaml"

// runLedgerctl runs ledgerctl in-process and returns its output and exit
// code (as its main maps them).
func runLedgerctl(args ...string) (string, int) {
	var buf bytes.Buffer
	code := cli.Run(args, &buf, &buf)
	return buf.String(), code
}

// runBackupJob plays the Job controller and the kubelet, which envtest
// does not run, for a backup's Job:
//   - it records the Job's pod as the Job controller creates it (the
//     template's labels and spec);
//   - it runs the container's command, ledgerctl, in-process with the
//     pod's volumes mapped to directories here: the client certificate
//     Secret written out as the kubelet projects it, the claim as
//     claimDir, the termination-log path as a file;
//     --server is pointed at the loopback nodes (or at servers, when
//     given), since cluster DNS names do not resolve here;
//   - it writes the pod's status as the kubelet reports a terminated
//     container (its exit code, the file as its termination message) and
//     the Job's status as the Job controller ends it (Complete or Failed).
//
// It returns ledgerctl's output and the termination message.
func runBackupJob(net *ledgerv1.LedgerNetwork, b *ledgerv1.LedgerBackup, claimDir, servers string) (string, string) {
	GinkgoHelper()
	job := &batchv1.Job{}
	Eventually(func() error {
		return k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: b.Namespace, Name: backupJobName(b)}, job)
	},
		eventually, tick).Should(Succeed(), "the operator creates the Job")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x7k2p", Namespace: job.Namespace, Labels: job.Spec.Template.Labels},
		Spec: *job.Spec.Template.Spec.DeepCopy()}
	pod.Labels["batch.kubernetes.io/job-name"] = job.Name
	Expect(k8sClient.Create(suiteCtx, pod)).To(Succeed())

	// The volumes, as the kubelet would mount them.
	tmp := GinkgoT().TempDir()
	paths := map[string]string{corev1.TerminationMessagePathDefault: filepath.Join(tmp, "termination-log")}
	c := pod.Spec.Containers[0]
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Spec.Volumes {
			switch {
			case v.Name != m.Name:
			case v.Secret != nil:
				var sec corev1.Secret
				Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: b.Namespace, Name: v.Secret.SecretName}, &sec)).To(Succeed())
				dir := filepath.Join(tmp, "secret")
				Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
				for k, data := range sec.Data {
					Expect(os.WriteFile(filepath.Join(dir, k), data, 0o400)).To(Succeed())
				}
				paths[m.MountPath] = dir
			case v.PersistentVolumeClaim != nil:
				Expect(m.SubPath).To(BeEmpty())
				paths[m.MountPath] = claimDir
			}
		}
	}
	args := append([]string(nil), c.Args...)
	for i, a := range args {
		if i > 0 && args[i-1] == "--server" {
			args[i] = strings.Join(pods.APIEndpoints(net), ",")
			if servers != "" {
				args[i] = servers
			}
			continue
		}
		for from, to := range paths {
			if a == from {
				args[i] = to
			} else if rest, ok := strings.CutPrefix(a, from+"/"); ok {
				args[i] = filepath.Join(to, rest)
			}
		}
	}
	Expect(c.Command).To(Equal([]string{"ledgerctl"}))
	os.Setenv(cli.EnvSession, filepath.Join(tmp, "session.json"))
	out, code := runLedgerctl(args...)
	msg, _ := os.ReadFile(paths[corev1.TerminationMessagePathDefault])

	now := metav1.Now()
	pod.Status.Phase = corev1.PodSucceeded
	reason := "Completed"
	if code != 0 {
		pod.Status.Phase, reason = corev1.PodFailed, "Error"
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, Message: string(msg), StartedAt: now, FinishedAt: now}}}}
	Expect(k8sClient.Status().Update(suiteCtx, pod)).To(Succeed())

	Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(job), job)).To(Succeed())
	endJobStatus(job, int32(code), now)
	Expect(k8sClient.Status().Update(suiteCtx, job)).To(Succeed())
	return out, string(msg)
}

var _ = Describe("LedgerBackup", Ordered, func() {
	var (
		ns       string
		net      *ledgerv1.LedgerNetwork
		claimDir string
	)
	getBackup := func(g Gomega, name string) *ledgerv1.LedgerBackup {
		b := &ledgerv1.LedgerBackup{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, b)).To(Succeed())
		return b
	}
	getNet := func(g Gomega) *ledgerv1.LedgerNetwork {
		n := &ledgerv1.LedgerNetwork{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(net), n)).To(Succeed())
		return n
	}
	newBackup := func(name string, mutate ...func(*ledgerv1.LedgerBackup)) *ledgerv1.LedgerBackup {
		b := &ledgerv1.LedgerBackup{}
		sample(sampleBackup, b, ns)
		b.Name = name
		for _, m := range mutate {
			m(b)
		}
		Expect(k8sClient.Create(suiteCtx, b)).To(Succeed())
		return b
	}
	createClaim := func(name string) {
		Expect(k8sClient.Create(suiteCtx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}})).To(Succeed())
	}
	jobsOf := func(g Gomega, backup string) []batchv1.Job {
		var jobs batchv1.JobList
		g.Expect(k8sClient.List(suiteCtx, &jobs, client.InNamespace(ns), client.MatchingLabels{LabelBackup: backup})).To(Succeed())
		return jobs.Items
	}
	succeeded := func(name string) *ledgerv1.LedgerBackup {
		GinkgoHelper()
		var b *ledgerv1.LedgerBackup
		Eventually(func(g Gomega) {
			b = getBackup(g, name)
			g.Expect(b.Status.Phase).To(Equal(ledgerv1.BackupSucceeded))
		}, eventually, tick).Should(Succeed())
		return b
	}

	BeforeAll(func() {
		net = createSampleNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = 1 })
		ns = net.Namespace
		// pods.Start plays the StatefulSet's pod: it needs the StatefulSet,
		// which the operator creates after the node keys.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(podName(net, 0))), &corev1.Secret{})).To(Succeed())
			g.Expect(k8sClient.Get(suiteCtx, key(net, statefulSetName(net)), &appsv1.StatefulSet{})).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Expect(pods.Start(suiteCtx, k8sClient, net, 0)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(hasRun(getNet(g))).To(BeTrue()) }, eventually, tick).Should(Succeed())
		createClaim("ledger-backups")
		claimDir = GinkgoT().TempDir()
	})

	It("runs one Job per LedgerBackup: the network's image, ledgerctl against the client Service, the admin client certificate read-only, the claim at its subPath", func() {
		b := newBackup("customs-manual")
		Eventually(func(g Gomega) {
			got := getBackup(g, b.Name)
			g.Expect(got.Status.Phase).To(Equal(ledgerv1.BackupPending))
			g.Expect(got.Status.JobName).To(Equal(b.Name))
			g.Expect(got.Status.StartTime).NotTo(BeNil())
			c := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionComplete)
			g.Expect(c.Reason).To(Equal(reasonJobCreated))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(jobsOf(g, b.Name)).To(HaveLen(1)) }, 3*time.Second, 200*time.Millisecond).Should(Succeed())

		job := jobsOf(Default, b.Name)[0]
		Expect(metav1.IsControlledBy(&job, getBackup(Default, b.Name))).To(BeTrue())
		c := job.Spec.Template.Spec.Containers[0]
		Expect(c.Image).To(Equal("tradeledger:test"), "the network's image (the operator's default: the sample names none)")
		args := strings.Join(c.Args, " ")
		Expect(args).To(HavePrefix("backup create /backup/customs/manual/customs-manual.tlbackup --server https://customs." + ns + ".svc.cluster.local:8443 "))
		Expect(args).To(ContainSubstring("--cert /etc/tradeledger/client/tls.crt --cert-key /etc/tradeledger/client/tls.key"))
		Expect(args).To(ContainSubstring("--summary-file /dev/termination-log"))
		var claim, secret string
		for _, v := range job.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
			}
			if v.Secret != nil {
				secret = v.Secret.SecretName
			}
		}
		Expect(claim).To(Equal("ledger-backups"))
		Expect(secret).To(Equal("customs-backup-client"))
		for _, m := range c.VolumeMounts {
			switch m.Name {
			case "backup":
				Expect(m.SubPath).To(BeEmpty(), "ledgerctl creates the directory, as the pod's user")
			case "client":
				Expect(m.ReadOnly).To(BeTrue())
			}
		}

		// The client certificate: the admin's, issued by the network's CA.
		var sec, caSec corev1.Secret
		Expect(k8sClient.Get(suiteCtx, key(net, "customs-backup-client"), &sec)).To(Succeed())
		Expect(k8sClient.Get(suiteCtx, key(net, caSecretName(net)), &caSec)).To(Succeed())
		ca, err := pki.LoadCA(caSec.Data[caCertKey], caSec.Data[caKeyKey])
		Expect(err).NotTo(HaveOccurred())
		block, _ := pem.Decode(sec.Data[corev1.TLSCertKey])
		Expect(block).NotTo(BeNil())
		crt, err := x509.ParseCertificate(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		Expect(crt.CheckSignatureFrom(ca.Cert)).To(Succeed())
		Expect(pki.ClientIdentityOf(crt)).To(Equal("admin"))
		Expect(sec.Data).NotTo(HaveKey(caKeyKey))
	})

	It("fills its status from the pod's termination message when the Job completes, and the file verifies with ledgerctl backup verify", func() {
		out, msg := runBackupJob(net, getBackup(Default, "customs-manual"), claimDir, "")
		var summary backupSummary
		Expect(json.Unmarshal([]byte(msg), &summary)).To(Succeed(), out)
		Expect(summary.BlockHash).NotTo(BeEmpty(), out)

		b := succeeded("customs-manual")
		file := filepath.Join(claimDir, "customs", "manual", "customs-manual.tlbackup")
		fi, err := os.Stat(file)
		Expect(err).NotTo(HaveOccurred())
		Expect(b.Status.File).To(Equal("customs/manual/customs-manual.tlbackup"))
		Expect(b.Status.Height).To(Equal(summary.Height))
		Expect(b.Status.HeadHash).To(Equal(summary.BlockHash))
		Expect(b.Status.HeadHash).To(MatchRegexp("^[0-9a-f]{64}$"))
		Expect(b.Status.SizeBytes).To(Equal(fi.Size()))
		Expect(b.Status.Node).To(Equal("customs-0"))
		Expect(b.Status.Duration).NotTo(BeNil())
		Expect(b.Status.CompletionTime).NotTo(BeNil())
		complete := conditionOf(Default, b.Status.Conditions, ledgerv1.ConditionComplete)
		Expect(complete.Status).To(Equal(metav1.ConditionTrue))
		Expect(complete.Message).To(ContainSubstring(b.Status.HeadHash))
		Expect(conditionOf(Default, b.Status.Conditions, ledgerv1.ConditionFailed).Status).To(Equal(metav1.ConditionFalse))
		// kubectl get lbak shows the figures.
		row := tableRow("ledgerbackups", ns, b.Name)
		Expect(row).To(HaveKeyWithValue("Phase", "Succeeded"))
		Expect(row).To(HaveKeyWithValue("Size", BeNumerically("==", fi.Size())))
		Expect(row).To(HaveKeyWithValue("Network", "customs"))

		// The file is a whole backup of this network's ledger.
		var cm corev1.ConfigMap
		Expect(k8sClient.Get(suiteCtx, key(net, genesisConfigMapName(net)), &cm)).To(Succeed())
		genesis := filepath.Join(GinkgoT().TempDir(), "genesis.json")
		Expect(os.WriteFile(genesis, []byte(cm.Data[genesisKey]), 0o600)).To(Succeed())
		out, code := runLedgerctl("backup", "verify", file, "--trust", genesis, "-q")
		Expect(code).To(Equal(0), out)

		// The network shows it, and so do its metrics.
		Eventually(func(g Gomega) {
			st := getNet(g).Status.Backup
			g.Expect(st).NotTo(BeNil())
			g.Expect(st.LastBackup).NotTo(BeNil())
			g.Expect(st.LastBackup.Name).To(Equal(b.Name))
			g.Expect(st.LastBackup.Height).To(Equal(summary.Height))
			g.Expect(gauge("tradeledger_backup_last_success_timestamp_seconds", map[string]string{"namespace": ns, "network": "customs"})).
				To(Equal(float64(b.Status.CompletionTime.Unix())))
		}, eventually, tick).Should(Succeed())
		Expect(eventReasons(ns, b.Name)).To(ContainElements("BackupStarted", "BackupSucceeded"))

		// No secret value in the Job, the backup's status or the events.
		var seen []string
		job := jobsOf(Default, b.Name)[0]
		for _, o := range []any{job, b} {
			data, err := json.Marshal(o)
			Expect(err).NotTo(HaveOccurred())
			seen = append(seen, string(data))
		}
		var evs eventsv1.EventList
		Expect(k8sClient.List(suiteCtx, &evs, client.InNamespace(ns))).To(Succeed())
		for _, e := range evs.Items {
			seen = append(seen, e.Note)
		}
		Expect(seen).To(HaveLen(2 + len(evs.Items)))
		for _, s := range []struct{ secret, key string }{
			{"customs-backup-client", corev1.TLSPrivateKeyKey}, {caSecretName(net), caKeyKey}, {adminSecretName(net), adminKeyKey},
		} {
			var sec corev1.Secret
			Expect(k8sClient.Get(suiteCtx, key(net, s.secret), &sec)).To(Succeed())
			v := sec.Data[s.key]
			Expect(len(v)).To(BeNumerically(">", 32))
			for _, text := range seen {
				Expect(text).NotTo(ContainSubstring(string(v[len(v)/2:len(v)/2+24])), "%s/%s", s.secret, s.key)
				Expect(text).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString(v)[8:40]), "%s/%s", s.secret, s.key)
			}
		}
	})

	It("says Failed with ledgerctl's error and the fix when the Job fails", func() {
		b := newBackup("customs-unreachable")
		_, msg := runBackupJob(net, b, claimDir, "https://127.0.0.1:1")
		Expect(msg).To(ContainSubstring(`"error"`))
		Eventually(func(g Gomega) {
			got := getBackup(g, b.Name)
			g.Expect(got.Status.Phase).To(Equal(ledgerv1.BackupFailed))
			f := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionFailed)
			g.Expect(f.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(f.Reason).To(Equal(reasonBackupFailed))
			g.Expect(f.Message).To(ContainSubstring("no node served a backup"))
			g.Expect(f.Message).To(ContainSubstring("Fix: no node of LedgerNetwork customs answered"))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionComplete).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(got.Status.Height).To(BeZero())
		}, eventually, tick).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, b.Name) }, eventually, tick).Should(ContainElement("BackupFailed"))
		// The last success still stands on the network.
		Expect(getNet(Default).Status.Backup.LastBackup.Name).To(Equal("customs-manual"))
	})

	It("waits, naming the field, while the network or the claim does not exist, and starts once the claim does", func() {
		noNet := newBackup("to-nowhere", func(b *ledgerv1.LedgerBackup) { b.Spec.Network = "nope" })
		noClaim := newBackup("no-claim", func(b *ledgerv1.LedgerBackup) { b.Spec.Storage.ClaimName = "later" })
		Eventually(func(g Gomega) {
			for name, want := range map[string][]string{
				noNet.Name:   {reasonNetworkNotFound, `spec.network: LedgerNetwork "nope" does not exist`},
				noClaim.Name: {reasonClaimNotFound, `spec.storage.claimName: PersistentVolumeClaim "later" does not exist`},
			} {
				got := getBackup(g, name)
				g.Expect(got.Status.Phase).To(Equal(ledgerv1.BackupPending))
				c := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionComplete)
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.Reason).To(Equal(want[0]))
				g.Expect(c.Message).To(ContainSubstring(want[1]))
			}
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(jobsOf(g, noNet.Name)).To(BeEmpty())
			g.Expect(jobsOf(g, noClaim.Name)).To(BeEmpty())
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())

		createClaim("later")
		runBackupJob(net, noClaim, claimDir, "")
		succeeded(noClaim.Name)
		Expect(k8sClient.Delete(suiteCtx, noNet)).To(Succeed())
	})

	It("runs one backup of a network at a time: a second waits for the first to end", func() {
		first := newBackup("first")
		Eventually(func(g Gomega) { g.Expect(jobsOf(g, first.Name)).To(HaveLen(1)) }, eventually, tick).Should(Succeed())
		second := newBackup("second")
		Eventually(func(g Gomega) {
			c := conditionOf(g, getBackup(g, second.Name).Status.Conditions, ledgerv1.ConditionComplete)
			g.Expect(c.Reason).To(Equal(reasonWaitingForBackup))
			g.Expect(c.Message).To(ContainSubstring("LedgerBackup first is running"))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(jobsOf(g, second.Name)).To(BeEmpty()) }, 2*time.Second, 200*time.Millisecond).Should(Succeed())

		runBackupJob(net, first, claimDir, "")
		succeeded(first.Name)
		runBackupJob(net, second, claimDir, "")
		succeeded(second.Name)
	})

	It("with spec.backup, backs up at each time of the schedule, one at a time, and keeps the newest spec.backup.retention", func() {
		// A clean slate: only the schedule's backups from here on (the
		// earlier specs' ended within the same second, and a status time
		// has seconds only, so which of them is newest is a tie).
		Expect(k8sClient.DeleteAllOf(suiteCtx, &ledgerv1.LedgerBackup{}, client.InNamespace(ns))).To(Succeed())
		Eventually(func(g Gomega) {
			var list ledgerv1.LedgerBackupList
			g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(BeEmpty())
		}, eventually, tick).Should(Succeed())

		// The clock the operator schedules by: the next full hour after
		// every clock in play (the suite's fake clock may have been moved
		// on by other specs; the network was created by the real one).
		start := fakeClock.Now()
		if now := time.Now(); now.After(start) {
			start = now
		}
		h := start.Truncate(time.Hour).Add(time.Hour).UTC()
		fakeClock.SetTime(h.Add(time.Minute))
		Expect(update(getNet(Default), func(n *ledgerv1.LedgerNetwork) {
			n.Spec.Backup = &ledgerv1.BackupScheduleSpec{Schedule: "0 * * * *", Retention: 2, ClaimName: "ledger-backups"}
		})).To(Succeed())

		scheduled := func(g Gomega) []string {
			var list ledgerv1.LedgerBackupList
			g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns), client.MatchingLabels{LabelScheduled: "true"})).To(Succeed())
			var names []string
			for _, b := range list.Items {
				names = append(names, b.Name)
			}
			return names
		}
		nameAt := func(hours int) string { return scheduledBackupName(net, h.Add(time.Duration(hours)*time.Hour)) }
		expectScheduled := func(names ...string) {
			GinkgoHelper()
			Eventually(scheduled, eventually, tick).Should(ConsistOf(names))
			Consistently(scheduled, 2*time.Second, 200*time.Millisecond).Should(ConsistOf(names))
		}
		run := func(name string) {
			GinkgoHelper()
			runBackupJob(net, getBackup(Default, name), claimDir, "")
			succeeded(name)
		}

		expectScheduled(nameAt(0))
		b0 := getBackup(Default, nameAt(0))
		Expect(metav1.IsControlledBy(b0, getNet(Default))).To(BeTrue())
		Expect(b0.Spec).To(Equal(ledgerv1.LedgerBackupSpec{Network: "customs", Keep: 2,
			Storage: ledgerv1.BackupStorage{ClaimName: "ledger-backups", SubPath: "customs"}}))
		Eventually(func(g Gomega) {
			st := getNet(g).Status.Backup
			g.Expect(st.LastScheduleTime.Time).To(BeTemporally("==", h))
			g.Expect(st.NextScheduleTime.Time).To(BeTemporally("==", h.Add(time.Hour)))
		}, eventually, tick).Should(Succeed())
		run(nameAt(0))
		Eventually(func(g Gomega) {
			c := conditionOf(g, getNet(g).Status.Conditions, ledgerv1.ConditionBackupSucceeded)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Message).To(ContainSubstring(nameAt(0)))
		}, eventually, tick).Should(Succeed())

		// An hour on: the next one. Its Job runs past the hour after.
		fakeClock.SetTime(h.Add(time.Hour + time.Minute))
		expectScheduled(nameAt(0), nameAt(1))
		fakeClock.SetTime(h.Add(2*time.Hour + time.Minute))
		Eventually(func(g Gomega) {
			c := conditionOf(g, getNet(g).Status.Conditions, ledgerv1.ConditionBackupSucceeded)
			g.Expect(c.Message).To(ContainSubstring("waits for LedgerBackup " + nameAt(1)))
		}, eventually, tick).Should(Succeed())
		expectScheduled(nameAt(0), nameAt(1))

		// It ends: the due one starts, then the retention (2) takes the oldest.
		run(nameAt(1))
		expectScheduled(nameAt(0), nameAt(1), nameAt(2))
		run(nameAt(2))
		expectScheduled(nameAt(1), nameAt(2))
		fakeClock.SetTime(h.Add(3*time.Hour + time.Minute))
		Eventually(scheduled, eventually, tick).Should(ContainElement(nameAt(3)))
		run(nameAt(3))
		expectScheduled(nameAt(2), nameAt(3))

		// The files: the backup Jobs' --keep leaves the newest two.
		entries, err := os.ReadDir(filepath.Join(claimDir, "customs"))
		Expect(err).NotTo(HaveOccurred())
		var files []string
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, e.Name())
			}
		}
		Expect(files).To(ConsistOf(nameAt(2)+".tlbackup", nameAt(3)+".tlbackup"))
		Expect(eventReasons(ns, net.Name)).To(ContainElements("BackupScheduled", "BackupExpired"))
		Eventually(func(g Gomega) {
			g.Expect(getNet(g).Status.Backup.LastBackup.Name).To(Equal(nameAt(3)))
		}, eventually, tick).Should(Succeed())

		// A schedule that does not parse is named, with the form it takes.
		Expect(update(getNet(Default), func(n *ledgerv1.LedgerNetwork) { n.Spec.Backup.Schedule = "every night" })).To(Succeed())
		Eventually(func(g Gomega) {
			c := conditionOf(g, getNet(g).Status.Conditions, ledgerv1.ConditionBackupSucceeded)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("InvalidSchedule"))
			g.Expect(c.Message).To(ContainSubstring(`spec.backup.schedule "every night"`))
			g.Expect(c.Message).To(ContainSubstring(`"0 2 * * *"`))
		}, eventually, tick).Should(Succeed())

		// Without spec.backup the condition goes; the last backup stays known.
		Expect(update(getNet(Default), func(n *ledgerv1.LedgerNetwork) { n.Spec.Backup = nil })).To(Succeed())
		Eventually(func(g Gomega) {
			got := getNet(g)
			g.Expect(meta.FindStatusCondition(got.Status.Conditions, ledgerv1.ConditionBackupSucceeded)).To(BeNil())
			g.Expect(got.Status.Backup.LastBackup.Name).To(Equal(nameAt(3)))
			g.Expect(got.Status.Backup.NextScheduleTime).To(BeNil())
		}, eventually, tick).Should(Succeed())
	})
})
