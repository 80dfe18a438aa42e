package controllers

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
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
	get := func(g Gomega) *ledgerv1.LedgerNetwork {
		n := &ledgerv1.LedgerNetwork{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(net), n)).To(Succeed())
		return n
	}
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
		net = createSampleNetwork()
		Eventually(func(g Gomega) {
			c := meta.FindStatusCondition(get(g).Status.Conditions, ledgerv1.ConditionProgressing)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(reasonBootstrapping))
		}, eventually, tick).Should(Succeed())
		for i := range 3 {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
			createClaim(net, podName(net, i))
		}
		Eventually(func(g Gomega) {
			n := get(g)
			r := meta.FindStatusCondition(n.Status.Conditions, ledgerv1.ConditionReady)
			g.Expect(r).NotTo(BeNil())
			g.Expect(r.Status).To(Equal(metav1.ConditionTrue), r.Message)
			g.Expect(n.Status.Leader).NotTo(BeEmpty())
		}, eventually, tick).Should(Succeed())
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
