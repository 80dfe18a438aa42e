package controllers

import (
	"encoding/base64"
	"encoding/json"
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

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// createClaim records a node's volume claim as the StatefulSet controller
// makes it and the volume controller binds it (envtest runs neither).
// A held claim keeps a finalizer, as the PVC-protection controller keeps
// one on a claim in use, so that its deletion can be seen before it ends.
func createClaim(n *ledgerv1.LedgerNetwork, pod string, hold ...bool) {
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: dataClaimName(pod), Namespace: n.Namespace, Labels: selectorLabels(n)},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
	}
	if len(hold) > 0 && hold[0] {
		pvc.Finalizers = []string{testHoldFinalizer}
	}
	Expect(k8sClient.Create(suiteCtx, pvc)).To(Succeed())
	pvc.Status.Phase = corev1.ClaimBound
	Expect(k8sClient.Status().Update(suiteCtx, pvc)).To(Succeed())
}

const testHoldFinalizer = "test.tradeledger.io/hold"

// releaseClaim drops the finalizers of a claim being deleted, as the
// PVC-protection controller does once no pod uses it.
func releaseClaim(g Gomega, n *ledgerv1.LedgerNetwork, pod string) {
	pvc := &corev1.PersistentVolumeClaim{}
	g.Expect(k8sClient.Get(suiteCtx, key(n, dataClaimName(pod)), pvc)).To(Succeed())
	g.Expect(pvc.DeletionTimestamp).NotTo(BeNil())
	pvc.Finalizers = nil
	g.Expect(k8sClient.Update(suiteCtx, pvc)).To(Succeed())
}

// deleteClaim deletes a volume claim and, as the PVC-protection controller
// does once no pod uses it, drops its finalizers (envtest runs no
// kube-controller-manager).
func deleteClaim(n *ledgerv1.LedgerNetwork, pod string) {
	pvc := &corev1.PersistentVolumeClaim{}
	Expect(k8sClient.Get(suiteCtx, key(n, dataClaimName(pod)), pvc)).To(Succeed())
	Expect(k8sClient.Delete(suiteCtx, pvc)).To(Succeed())
	Eventually(func(g Gomega) {
		err := k8sClient.Get(suiteCtx, key(n, dataClaimName(pod)), pvc)
		if client.IgnoreNotFound(err) == nil && err != nil {
			return
		}
		g.Expect(err).NotTo(HaveOccurred())
		pvc.Finalizers = nil
		g.Expect(client.IgnoreNotFound(k8sClient.Update(suiteCtx, pvc))).To(Succeed())
		g.Expect(k8sClient.Get(suiteCtx, key(n, dataClaimName(pod)), pvc)).NotTo(Succeed())
	}, eventually, tick).Should(Succeed())
}

func statefulSetNow(g Gomega, n *ledgerv1.LedgerNetwork) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{}
	g.Expect(k8sClient.Get(suiteCtx, key(n, statefulSetName(n)), sts)).To(Succeed())
	return sts
}

func jobsIn(g Gomega, ns string) []batchv1.Job {
	var list batchv1.JobList
	g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

// noSecretIn fails when text holds key material: a PEM private key, or
// the network admin key (raw or base64) the operator holds.
func noSecretIn(g Gomega, n *ledgerv1.LedgerNetwork, text string) {
	g.Expect(text).NotTo(ContainSubstring("PRIVATE KEY"))
	var admin corev1.Secret
	g.Expect(k8sClient.Get(suiteCtx, key(n, adminSecretName(n)), &admin)).To(Succeed())
	k := admin.Data[adminKeyKey]
	g.Expect(k).NotTo(BeEmpty())
	g.Expect(text).NotTo(ContainSubstring(string(k)))
	g.Expect(text).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString(k)))
}

// The ledger answers through real in-process nodes (fakePods, as in every
// suite); what envtest cannot run (the StatefulSet and PVC-protection
// controllers, the kubelet) is written here as they would write it.
var _ = Describe("LedgerNetwork quorum loss", Ordered, func() {
	var (
		ns       string
		net      *ledgerv1.LedgerNetwork
		survivor string
		lost     []string
	)
	get := func(g Gomega) *ledgerv1.LedgerNetwork { return getNetwork(g, net) }
	condition := func(g Gomega, n *ledgerv1.LedgerNetwork, typ string) *metav1.Condition {
		c := meta.FindStatusCondition(n.Status.Conditions, typ)
		g.Expect(c).NotTo(BeNil(), "condition %s", typ)
		return c
	}
	eventsAbout := func(g Gomega, reason string) []eventsv1.Event {
		var list eventsv1.EventList
		g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
		var out []eventsv1.Event
		for _, e := range list.Items {
			if e.Regarding.Name == net.Name && e.Reason == reason {
				out = append(out, e)
			}
		}
		return out
	}
	labels := func() map[string]string { return map[string]string{"namespace": ns, "network": net.Name} }

	BeforeAll(func() {
		net = createSampleNetwork()
		ns = net.Namespace
		Eventually(func(g Gomega) {
			g.Expect(condition(g, get(g), ledgerv1.ConditionProgressing).Reason).To(Equal(reasonBootstrapping))
		}, eventually, tick).Should(Succeed())
		for i := range 3 {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		}
		for i := range 3 {
			createClaim(net, podName(net, i))
		}
		Eventually(func(g Gomega) {
			n := get(g)
			r := condition(g, n, ledgerv1.ConditionReady)
			g.Expect(r.Status).To(Equal(metav1.ConditionTrue), r.Message)
			g.Expect(n.Status.Leader).NotTo(BeEmpty())
			g.Expect(n.Status.Quorum).To(BeNil())
		}, eventually, tick).Should(Succeed())
		// Something on the ledger (the agency's registration), so that
		// every member has applied and committed entries.
		am := &ledgerv1.AgencyMember{}
		sample(sampleAgency, am, ns)
		Expect(k8sClient.Create(suiteCtx, am)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(am), am)).To(Succeed())
			g.Expect(conditionOf(g, am.Status.Conditions, ledgerv1.ConditionRegistered).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(get(g).Status.Height).To(BeNumerically(">", 0))
		}, eventually, tick).Should(Succeed())
		// The leader and one follower go; the other follower survives.
		leader := get(Default).Status.Leader
		for i := range 3 {
			if p := podName(net, i); p != leader && survivor == "" {
				survivor = p
			} else {
				lost = append(lost, p)
			}
		}
	})

	It("takes two voters restarting with their volumes, even for longer than the bound, for a restart: no QuorumLost", func() {
		for _, p := range lost {
			Expect(pods.Kill(net, ordinalOf(net, p))).To(Succeed())
		}
		Eventually(func(g Gomega) {
			q := get(g).Status.Quorum
			g.Expect(q).NotTo(BeNil())
			g.Expect(time.Since(q.NoLeaderSince.Time)).To(BeNumerically(">", quorumLossBound+time.Second))
		}, eventually, tick).Should(Succeed(), "status.quorum shows since when no leader is known")
		Consistently(func(g Gomega) {
			n := get(g)
			q := n.Status.Quorum
			g.Expect(q).NotTo(BeNil())
			g.Expect(q.Lost).To(BeFalse())
			g.Expect(q.Voters).To(HaveLen(3))
			for _, m := range q.Members {
				if m.Name == survivor {
					g.Expect(m.Answers).To(BeTrue())
				} else {
					g.Expect(m.Reason).To(Equal(quorumNoPod), m.Message)
				}
			}
			g.Expect(condition(g, n, ledgerv1.ConditionDegraded).Reason).NotTo(Equal(reasonQuorumLost))
		}, 3*time.Second, tick).Should(Succeed())
		Expect(eventsAbout(Default, reasonQuorumLost)).To(BeEmpty())
	})

	It("shows QuorumLost once their volumes are gone: the survivor's term and indexes, why the others are not counted, the exact request, one event, the metric", func() {
		for _, p := range lost {
			deleteClaim(net, p)
		}
		Eventually(func(g Gomega) {
			n := get(g)
			q := n.Status.Quorum
			g.Expect(q).NotTo(BeNil())
			g.Expect(q.Lost).To(BeTrue())
			g.Expect(q.Since).NotTo(BeNil())
			g.Expect(q.Quorum).To(Equal(int32(2)))
			for _, m := range q.Members {
				if m.Name == survivor {
					g.Expect(m.Answers).To(BeTrue())
					g.Expect(m.Term).To(BeNumerically(">", 0))
					g.Expect(m.CommitIndex).To(BeNumerically(">", 0))
					g.Expect(m.AppliedIndex).To(BeNumerically(">", 0))
					g.Expect(m.Height).To(BeNumerically(">", 0))
					g.Expect(m.State).To(BeElementOf("Candidate", "Follower"))
				} else {
					g.Expect(m.Answers).To(BeFalse())
					g.Expect(m.Reason).To(Equal(quorumVolumeGone), m.Message)
				}
			}
			expectDegraded(g, n, n.Status.Conditions, reasonQuorumLost, "surviving: "+survivor,
				"kubectl annotate ledgernetwork "+net.Name+" -n "+ns+" "+ledgerv1.AnnotationRecoverFrom+"="+survivor)
			g.Expect(n.Status.Phase).To(Equal(ledgerv1.PhaseDegraded))
			g.Expect(eventsAbout(g, reasonQuorumLost)).To(HaveLen(1))
		}, eventually, tick).Should(Succeed())
		Expect(gauge("tradeledger_network_quorum_lost", labels())).To(Equal(1.0))
		Consistently(func(g Gomega) {
			evs := eventsAbout(g, reasonQuorumLost)
			g.Expect(evs).To(HaveLen(1))
			g.Expect(evs[0].Series).To(BeNil(), "announced once")
		}, 3*time.Second, tick).Should(Succeed())
		n := get(Default)
		raw, err := json.Marshal(n.Status)
		Expect(err).NotTo(HaveOccurred())
		noSecretIn(Default, n, string(raw)+eventsAbout(Default, reasonQuorumLost)[0].Note)
	})

	It("clears itself when a leader comes back", func() {
		for _, p := range lost {
			createClaim(net, p)
			Expect(pods.Start(suiteCtx, k8sClient, net, ordinalOf(net, p))).To(Succeed())
		}
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Quorum).To(BeNil())
			g.Expect(n.Status.Leader).NotTo(BeEmpty())
			g.Expect(condition(g, n, ledgerv1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(condition(g, n, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(eventsAbout(g, "QuorumRestored")).NotTo(BeEmpty())
		}, eventually, tick).Should(Succeed())
		Expect(gauge("tradeledger_network_quorum_lost", labels())).To(Equal(0.0))
	})

	It("refuses a recovery request while the quorum holds: Degraded RecoveryRefused and an event naming the fix; nothing stops", func() {
		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) {
			n.Annotations = map[string]string{ledgerv1.AnnotationRecoverFrom: survivor}
		})).To(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			expectDegraded(g, n, n.Status.Conditions, reasonRecoveryRefused, "the ledger has a leader",
				"kubectl annotate ledgernetwork "+net.Name+" -n "+ns+" "+ledgerv1.AnnotationRecoverFrom+"-")
			g.Expect(n.Status.RecoveryRefused).NotTo(BeNil())
			g.Expect(n.Status.RecoveryRefused.From).To(Equal(survivor))
			g.Expect(eventsAbout(g, reasonRecoveryRefused)).To(HaveLen(1))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Recovery).To(BeNil())
			g.Expect(*statefulSetNow(g, net).Spec.Replicas).To(Equal(int32(3)))
			for i := range 3 {
				g.Expect(pods.Running(net, i)).To(BeTrue())
			}
		}, 2*time.Second, tick).Should(Succeed())
	})

	It("loses the quorum for good (two members stop, their volumes are deleted and made anew, empty): the request refused earlier stays refused", func() {
		for _, p := range lost {
			Expect(pods.Stop(net, ordinalOf(net, p))).To(Succeed())
		}
		Eventually(func(g Gomega) { g.Expect(get(g).Status.Quorum).NotTo(BeNil()) }, eventually, tick).Should(Succeed())
		time.Sleep(1100 * time.Millisecond) // creation timestamps have whole seconds
		for _, p := range lost {
			deleteClaim(net, p)
			createClaim(net, p, true)
		}
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Quorum).NotTo(BeNil())
			g.Expect(n.Status.Quorum.Lost).To(BeTrue())
			expectDegraded(g, n, n.Status.Conditions, reasonRecoveryRefused, "the ledger has a leader", "remove the annotation first")
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Recovery).To(BeNil(), "a request refused while all was well never starts a recovery")
			g.Expect(*statefulSetNow(g, net).Spec.Replicas).To(Equal(int32(3)))
			g.Expect(pods.Running(net, ordinalOf(net, survivor))).To(BeTrue())
		}, 2*time.Second, tick).Should(Succeed())
		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) { delete(n.Annotations, ledgerv1.AnnotationRecoverFrom) })).To(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.RecoveryRefused).To(BeNil())
			expectDegraded(g, n, n.Status.Conditions, reasonQuorumLost, "surviving: "+survivor)
		}, eventually, tick).Should(Succeed())
	})

	It("refuses a recovery from a member that is not a survivor, naming the survivors and the request that would do", func() {
		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) {
			n.Annotations = map[string]string{ledgerv1.AnnotationRecoverFrom: lost[0]}
		})).To(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			expectDegraded(g, n, n.Status.Conditions, reasonRecoveryRefused, "not a surviving member (surviving: "+survivor+")",
				"kubectl annotate --overwrite ledgernetwork "+net.Name+" -n "+ns+" "+ledgerv1.AnnotationRecoverFrom+"="+survivor)
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Recovery).To(BeNil())
			g.Expect(*statefulSetNow(g, net).Spec.Replicas).To(Equal(int32(3)))
			g.Expect(pods.Running(net, ordinalOf(net, survivor))).To(BeTrue())
		}, 2*time.Second, tick).Should(Succeed())
	})

	It("recovers from the named survivor one step at a time, each observed before the next, and grows back to 3 with the ledger it had", func() {
		before := get(Default)
		height := before.Status.Height
		Expect(height).To(BeNumerically(">", 0))
		Expect(update(before, func(n *ledgerv1.LedgerNetwork) {
			n.Annotations = map[string]string{ledgerv1.AnnotationRecoverFrom: survivor}
		})).To(Succeed())

		// 1. Every node stops: the StatefulSet goes to 0, its template
		// keeps empty nodes from bootstrapping. Nothing else happens while
		// the survivor's pod is there.
		Eventually(func(g Gomega) {
			rec := get(g).Status.Recovery
			g.Expect(rec).NotTo(BeNil())
			g.Expect(rec.Phase).To(Equal(ledgerv1.RecoveryStoppingNodes))
			g.Expect(rec.From).To(Equal(survivor))
			g.Expect(rec.SurvivorCommitIndex).To(BeNumerically(">", 0))
			g.Expect(rec.Message).To(ContainSubstring("recovering from " + survivor))
			sts := statefulSetNow(g, net)
			g.Expect(*sts.Spec.Replicas).To(Equal(int32(0)))
			// In the same object: scaled to 0 with whenScaled Delete, the
			// StatefulSet controller would delete the survivor's claim.
			g.Expect(sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
			g.Expect(envOf(sts.Spec.Template.Spec.Containers[0])).To(HaveKeyWithValue("LEDGERNODE_NO_BOOTSTRAP", "true"))
			g.Expect(eventsAbout(g, "RecoveryStarted")).NotTo(BeEmpty())
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(get(g).Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryStoppingNodes))
			for _, p := range lost {
				pvc := &corev1.PersistentVolumeClaim{}
				g.Expect(k8sClient.Get(suiteCtx, key(net, dataClaimName(p)), pvc)).To(Succeed())
				g.Expect(pvc.DeletionTimestamp).To(BeNil())
			}
			g.Expect(jobsIn(g, ns)).To(BeEmpty())
		}, 2*time.Second, tick).Should(Succeed())

		// The StatefulSet controller deletes the survivor's pod.
		Expect(pods.Kill(net, ordinalOf(net, survivor))).To(Succeed())

		// 2. The lost members' claims are deleted (the survivor's stays);
		// no Job while they are there.
		Eventually(func(g Gomega) {
			g.Expect(get(g).Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryClearingVolumes))
			for _, p := range lost {
				pvc := &corev1.PersistentVolumeClaim{}
				g.Expect(k8sClient.Get(suiteCtx, key(net, dataClaimName(p)), pvc)).To(Succeed())
				g.Expect(pvc.DeletionTimestamp).NotTo(BeNil())
			}
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(jobsIn(g, ns)).To(BeEmpty()) }, time.Second, tick).Should(Succeed())
		for _, p := range lost {
			releaseClaim(Default, net, p)
		}

		// 3. A Job runs `ledgernode recover` on the survivor's claim; the
		// nodes stay stopped until it succeeds.
		var job batchv1.Job
		Eventually(func(g Gomega) {
			rec := get(g).Status.Recovery
			g.Expect(rec.Phase).To(Equal(ledgerv1.RecoveryRecovering))
			g.Expect(k8sClient.Get(suiteCtx, key(net, rec.Job), &job)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Expect(job.Spec.Template.Spec.Containers[0].Command).To(Equal([]string{"ledgernode", "recover", "--data-dir", dataDir,
			"--genesis", genesisDir + "/" + genesisKey, "--id", survivor, "--raft-addr", podFQDN(net, survivor, "cluster.local") + ":7000"}))
		Expect(job.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName).To(Equal(dataClaimName(survivor)))
		Expect(k8sClient.Get(suiteCtx, key(net, dataClaimName(survivor)), &corev1.PersistentVolumeClaim{})).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(get(g).Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryRecovering))
			g.Expect(*statefulSetNow(g, net).Spec.Replicas).To(Equal(int32(0)))
		}, time.Second, tick).Should(Succeed())
		Expect(pods.RunRecoverJob(suiteCtx, k8sClient, net, &job)).To(Succeed())

		// 4. The StatefulSet grows back; the survivor starts alone (with
		// --no-bootstrap) and leads; the request is done and removed.
		Eventually(func(g Gomega) {
			g.Expect(get(g).Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryRestarting))
			g.Expect(*statefulSetNow(g, net).Spec.Replicas).To(Equal(int32(3)))
		}, eventually, tick).Should(Succeed())
		Expect(pods.Start(suiteCtx, k8sClient, net, ordinalOf(net, survivor))).To(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryCompleted))
			g.Expect(n.Status.Recovery.CompletedAt).NotTo(BeNil())
			g.Expect(n.Annotations).NotTo(HaveKey(ledgerv1.AnnotationRecoverFrom))
			g.Expect(n.Status.Leader).To(Equal(survivor))
			g.Expect(eventsAbout(g, "RecoveryCompleted")).NotTo(BeEmpty())
		}, eventually, tick).Should(Succeed())

		// The others come back empty (new claims, --no-bootstrap) and join
		// through the membership path.
		for _, p := range lost {
			createClaim(net, p)
			Expect(pods.Start(suiteCtx, k8sClient, net, ordinalOf(net, p))).To(Succeed())
		}
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Replicas).To(Equal(int32(3)))
			g.Expect(n.Status.ReadyReplicas).To(Equal(int32(3)))
			g.Expect(n.Status.Quorum).To(BeNil())
			r := condition(g, n, ledgerv1.ConditionReady)
			g.Expect(r.Status).To(Equal(metav1.ConditionTrue), r.Message)
			g.Expect(n.Status.Height).To(BeNumerically(">=", height))
			for _, m := range n.Status.Members {
				g.Expect(m.Role).To(Equal(ledgerv1.RoleVoter))
				g.Expect(m.Reachable).To(BeTrue())
			}
		}, eventually, tick).Should(Succeed())
		for _, reason := range []string{"RecoveryStarted", "RecoveryDeletedVolume", "RecoveryJobCreated", "RecoveryRewroteConfiguration",
			"RecoveryCompleted", "MemberJoined", "MemberPromoted"} {
			Expect(occurrences(ns, net.Name, reason)).To(BeNumerically(">", 0), reason)
		}
		// Every node holds the survivor's ledger, and the agency registered
		// before the loss.
		for i := range 3 {
			Eventually(func() uint64 { return pods.Node(net, i).Store().Meta().Height }, eventually, tick).Should(BeNumerically(">=", height))
		}
		n := get(Default)
		raw, err := json.Marshal(n.Status)
		Expect(err).NotTo(HaveOccurred())
		var notes []string
		var list eventsv1.EventList
		Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
		for _, e := range list.Items {
			notes = append(notes, e.Note)
		}
		noSecretIn(Default, n, string(raw)+strings.Join(notes, "\n"))
	})
})

var _ = Describe("LedgerNetwork recovery whose Job fails", Ordered, func() {
	var (
		ns       string
		net      *ledgerv1.LedgerNetwork
		survivor string
	)
	get := func(g Gomega) *ledgerv1.LedgerNetwork { return getNetwork(g, net) }

	BeforeAll(func() {
		net = bootstrapSampleNetwork()
		ns = net.Namespace
		Eventually(func(g Gomega) { g.Expect(get(g).Status.HeadHash).NotTo(BeEmpty()) }, eventually, tick).Should(Succeed())
		survivor = podName(net, 0)
		for i := 1; i < 3; i++ {
			Expect(pods.Stop(net, i)).To(Succeed())
			deleteClaim(net, podName(net, i))
		}
		Eventually(func(g Gomega) {
			q := get(g).Status.Quorum
			g.Expect(q).NotTo(BeNil())
			g.Expect(q.Lost).To(BeTrue())
		}, eventually, tick).Should(Succeed())
	})

	It("fails the recovery, says how to read the Job's log, spends the request and starts the nodes as they were", func() {
		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) {
			n.Annotations = map[string]string{ledgerv1.AnnotationRecoverFrom: survivor}
		})).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(*statefulSetNow(g, net).Spec.Replicas).To(Equal(int32(0))) }, eventually, tick).Should(Succeed())
		Expect(pods.Kill(net, 0)).To(Succeed()) // the StatefulSet controller
		var job batchv1.Job
		Eventually(func(g Gomega) {
			rec := get(g).Status.Recovery
			g.Expect(rec).NotTo(BeNil())
			g.Expect(rec.Phase).To(Equal(ledgerv1.RecoveryRecovering))
			g.Expect(k8sClient.Get(suiteCtx, key(net, rec.Job), &job)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		// The Job controller gives up after the Job's backoff limit.
		now := metav1.Now()
		job.Status.StartTime, job.Status.Failed = &now, 3
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now}}
		Expect(k8sClient.Status().Update(suiteCtx, &job)).To(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryFailed))
			g.Expect(n.Status.Recovery.Message).To(ContainSubstring("kubectl logs -n " + ns + " job/" + job.Name))
			g.Expect(n.Annotations).NotTo(HaveKey(ledgerv1.AnnotationRecoverFrom))
			g.Expect(*statefulSetNow(g, net).Spec.Replicas).To(Equal(int32(3)))
			g.Expect(occurrences(ns, net.Name, reasonRecoveryFailed)).To(BeNumerically(">", 0))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(get(g).Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryFailed), "a spent request starts nothing again")
		}, 2*time.Second, tick).Should(Succeed())
	})
})
