package controllers

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// A member's volume claim is deleted and made anew: its pod comes back
// with an empty data directory. Its node (real, ledgernode/node) reports
// that it lost its data instead of bootstrapping or voting; the operator
// removes it while the other two are a quorum and adds it back through the
// join path.
var _ = Describe("LedgerNetwork member that lost its data", Ordered, func() {
	var (
		net    *ledgerv1.LedgerNetwork
		victim string
	)
	get := func(g Gomega) *ledgerv1.LedgerNetwork { return getNetwork(g, net) }
	eventsAbout := func(g Gomega, reason string) []eventsv1.Event {
		var list eventsv1.EventList
		g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(net.Namespace))).To(Succeed())
		var out []eventsv1.Event
		for _, e := range list.Items {
			if e.Regarding.Name == net.Name && e.Reason == reason {
				out = append(out, e)
			}
		}
		return out
	}

	BeforeAll(func() {
		net = startSampleNetwork()
		leader := get(Default).Status.Leader
		for i := range 3 {
			if p := podName(net, i); p != leader {
				victim = p
			}
		}
	})

	It("removes it while the others are a quorum, says so in a MemberDataLost event, and the join path adds it back as a voter", func() {
		o := ordinalOf(net, victim)
		Expect(pods.Stop(net, o)).To(Succeed()) // the pod goes and its data with it
		deleteClaim(net, victim)
		createClaim(net, victim)
		Expect(pods.Start(suiteCtx, k8sClient, net, o)).To(Succeed())
		Eventually(func(g Gomega) {
			evs := eventsAbout(g, "MemberDataLost")
			g.Expect(evs).To(HaveLen(1))
			g.Expect(evs[0].Type).To(Equal("Warning"))
			g.Expect(evs[0].Related).NotTo(BeNil())
			g.Expect(evs[0].Related.Name).To(Equal(victim))
			g.Expect(evs[0].Note).To(ContainSubstring(victim + " lost its data"))
			g.Expect(evs[0].Note).To(ContainSubstring("re-added as a new member"))
		}, eventually, tick).Should(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			var voters []string
			for _, m := range n.Status.Members {
				if m.Role == ledgerv1.RoleVoter {
					voters = append(voters, m.Name)
				}
			}
			g.Expect(voters).To(ContainElement(victim), "members %v", n.Status.Members)
			g.Expect(voters).To(HaveLen(3))
			r := meta.FindStatusCondition(n.Status.Conditions, ledgerv1.ConditionReady)
			g.Expect(r.Status).To(Equal(metav1.ConditionTrue), r.Message)
			nd := pods.Node(net, o)
			g.Expect(nd).NotTo(BeNil())
			g.Expect(nd.DataLost()).To(BeFalse())
			g.Expect(nd.Consensus().AppliedIndex()).To(BeNumerically(">", 0))
		}, eventually, tick).Should(Succeed())
		joined := eventsAbout(Default, "MemberJoined")
		Expect(strings.Join(func() []string {
			var notes []string
			for _, e := range joined {
				notes = append(notes, e.Note)
			}
			return notes
		}(), "\n")).To(ContainSubstring(victim), "the join path added it back")
	})
})

// Every member's volume claim is deleted at once. The nodes cannot tell
// that from a first start by asking each other (every one is empty); the
// operator can: once the ledger had a block it added the network-has-run
// marker to the genesis ConfigMap, which the pods mount beside their
// genesis file. So no node bootstraps an empty ledger from the genesis:
// each reports that every member lost its data, and the network says
// QuorumLost with no survivor and names the restore.
var _ = Describe("LedgerNetwork whose every member lost its data", Ordered, func() {
	var net *ledgerv1.LedgerNetwork
	get := func(g Gomega) *ledgerv1.LedgerNetwork { return getNetwork(g, net) }
	genesisCM := func(g Gomega) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{}
		g.Expect(k8sClient.Get(suiteCtx, key(net, genesisConfigMapName(net)), cm)).To(Succeed())
		return cm
	}
	statefulSet := func(g Gomega) *appsv1.StatefulSet {
		sts := &appsv1.StatefulSet{}
		g.Expect(k8sClient.Get(suiteCtx, key(net, statefulSetName(net)), sts)).To(Succeed())
		return sts
	}

	BeforeAll(func() {
		net = startSampleNetwork()
	})

	It("marks the genesis ConfigMap once the ledger has a block, where the pods' node looks for it, without rolling the pods", func() {
		n := get(Default)
		Expect(n.Status.Height).To(BeZero(), "setup: nothing written yet")
		Expect(genesisCM(Default).Data).NotTo(HaveKey(wire.NetworkHasRunFile), "no block yet: a first start may still bootstrap")
		generation := statefulSet(Default).Generation

		// The genesis volume mounts the whole ConfigMap where
		// LEDGERNODE_GENESIS points, and ledgernode run's default
		// --network-has-run-file is the marker beside the genesis file.
		tmpl := statefulSet(Default).Spec.Template.Spec
		var genesisVol *corev1.Volume
		for i := range tmpl.Volumes {
			if tmpl.Volumes[i].ConfigMap != nil && tmpl.Volumes[i].ConfigMap.Name == genesisConfigMapName(net) {
				genesisVol = &tmpl.Volumes[i]
			}
		}
		Expect(genesisVol).NotTo(BeNil())
		Expect(genesisVol.ConfigMap.Items).To(BeEmpty(), "every key of the ConfigMap is mounted")
		var mount *corev1.VolumeMount
		for i, m := range tmpl.Containers[0].VolumeMounts {
			if m.Name == genesisVol.Name {
				mount = &tmpl.Containers[0].VolumeMounts[i]
			}
		}
		Expect(mount).NotTo(BeNil())
		Expect(mount.SubPath).To(BeEmpty(), "a subPath mount is never refreshed")
		Expect(tmpl.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: "LEDGERNODE_GENESIS", Value: mount.MountPath + "/" + genesisKey}))

		writeAdminNote(net, "before-the-loss")
		Eventually(func(g Gomega) {
			g.Expect(get(g).Status.Height).To(BeNumerically(">", 0))
			g.Expect(genesisCM(g).Data).To(HaveKeyWithValue(wire.NetworkHasRunFile, ContainSubstring("never starts a ledger from the genesis")))
		}, eventually, tick).Should(Succeed())
		Expect(statefulSet(Default).Generation).To(Equal(generation), "the marker rolls no pod")
	})

	It("every claim deleted at once: no node starts an empty ledger; QuorumLost names the restore from a backup", func() {
		for i := range 3 {
			Expect(pods.Stop(net, i)).To(Succeed()) // the pod goes and its data with it
		}
		for i := range 3 {
			deleteClaim(net, podName(net, i))
			createClaim(net, podName(net, i))
		}
		for i := range 3 {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			for i := range 3 {
				nd := pods.Node(net, i)
				g.Expect(nd).NotTo(BeNil())
				g.Expect(nd.DataLost()).To(BeTrue(), "%s reports lost data", podName(net, i))
			}
			n := get(g)
			g.Expect(n.Status.Quorum).NotTo(BeNil())
			g.Expect(n.Status.Quorum.Lost).To(BeTrue())
			for _, m := range n.Status.Quorum.Members {
				g.Expect(m.Answers).To(BeFalse(), "%s: %s", m.Name, m.Message)
			}
			g.Expect(n.Status.Leader).To(BeEmpty(), "status.leader still names the last leader of a network that has none")
			expectDegraded(g, n, n.Status.Conditions, reasonQuorumLost, "No member survives", "spec.bootstrap.fromBackup")
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			for i := range 3 {
				nd := pods.Node(net, i)
				st := nd.Consensus().Stats()
				g.Expect(st["last_log_index"]).To(Equal("0"), "%s took or made entries: it bootstrapped", podName(net, i))
				g.Expect(nd.Held()).To(BeTrue())
				leader, _ := nd.Consensus().Leader()
				g.Expect(leader).To(BeEmpty(), "%s follows a leader", podName(net, i))
			}
			g.Expect(conditionOf(g, get(g).Status.Conditions, ledgerv1.ConditionDegraded).Reason).To(Equal(reasonQuorumLost))
		}, 3*time.Second, tick).Should(Succeed())
	})
})

// writeAdminNote puts a note on the network's ledger, signed by its admin
// key, and waits for it to be accepted.
func writeAdminNote(net *ledgerv1.LedgerNetwork, note string) {
	target, err := networkTarget(suiteCtx, k8sClient, net)
	Expect(err).NotTo(HaveOccurred())
	var l Ledger
	Eventually(func() error { l, err = (&ClientDialer{Resolver: pods}).Dial(suiteCtx, target); return err }, eventually, tick).Should(Succeed())
	st, err := signNow(net, "note.put", map[string]string{"key": note, "value": note}, target.AdminKey)
	Expect(err).NotTo(HaveOccurred())
	rc, err := l.Submit(suiteCtx, st)
	Expect(err).NotTo(HaveOccurred())
	Expect(rc.Status).To(Equal(chain.Accepted), "%v", rc.Reasons)
}

// bootstrapSampleNetwork creates the sample network, waits until the
// operator is bootstrapping it, and starts its three pods (real nodes, each
// with its claim).
func bootstrapSampleNetwork() *ledgerv1.LedgerNetwork {
	GinkgoHelper()
	net := createSampleNetwork()
	Eventually(func(g Gomega) {
		c := meta.FindStatusCondition(getNetwork(g, net).Status.Conditions, ledgerv1.ConditionProgressing)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(reasonBootstrapping))
	}, eventually, tick).Should(Succeed())
	for i := range 3 {
		Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		createClaim(net, podName(net, i))
	}
	return net
}

// getNetwork reads net as the API server holds it now.
func getNetwork(g Gomega, net *ledgerv1.LedgerNetwork) *ledgerv1.LedgerNetwork {
	n := &ledgerv1.LedgerNetwork{}
	g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(net), n)).To(Succeed())
	return n
}

// startSampleNetwork bootstraps the sample network (bootstrapSampleNetwork)
// and waits until it is Ready with a leader.
func startSampleNetwork() *ledgerv1.LedgerNetwork {
	GinkgoHelper()
	net := bootstrapSampleNetwork()
	Eventually(func(g Gomega) {
		n := getNetwork(g, net)
		r := meta.FindStatusCondition(n.Status.Conditions, ledgerv1.ConditionReady)
		g.Expect(r).NotTo(BeNil())
		g.Expect(r.Status).To(Equal(metav1.ConditionTrue), r.Message)
		g.Expect(n.Status.Leader).NotTo(BeEmpty())
	}, eventually, tick).Should(Succeed())
	return net
}
