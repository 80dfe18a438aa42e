//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// The quorum-loss step runs on a LedgerNetwork of its own, in a namespace
// of its own, so that destroying its quorum leaves every other step's
// network alone; it deletes both at its end.
const (
	quorumNS  = "e2e-quorum"
	quorumNet = "quorum"
)

func quorumNetworkManifest() string {
	return fmt.Sprintf(`apiVersion: ledger.tradeledger.io/v1alpha1
kind: LedgerNetwork
metadata:
  name: %s
  namespace: %s
spec:
  networkID: quorum-e2e
  replicas: 3
  storage:
    size: 128Mi
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {memory: 512Mi}
  deletionPolicy: Delete
`, quorumNet, quorumNS)
}

func quorumNetwork(g Gomega) *ledgerv1.LedgerNetwork {
	n, err := e.network(quorumNS, quorumNet)
	g.Expect(err).NotTo(HaveOccurred())
	return n
}

// quorumLostMetric reads tradeledger_network_quorum_lost for the step's
// network from the operator's /metrics, through the API server's service
// proxy (what a Prometheus in the cluster scrapes).
func quorumLostMetric(g Gomega) string {
	out, err := e.k("get", "--raw", "/api/v1/namespaces/"+operatorNS+"/services/http:"+releaseName+"-metrics:metrics/proxy/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	m := regexp.MustCompile(`(?m)^tradeledger_network_quorum_lost\{namespace="` + quorumNS + `",network="` + quorumNet + `"\} (\S+)$`).FindStringSubmatch(out)
	g.Expect(m).NotTo(BeNil(), "no tradeledger_network_quorum_lost series for %s/%s", quorumNS, quorumNet)
	return m[1]
}

// eventMessages are the messages of the network's events with reason.
func eventMessages(reason string) []string {
	out, err := e.k("get", "events", "-n", quorumNS, "--field-selector", "involvedObject.name="+quorumNet+",reason="+reason,
		"-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}")
	Expect(err).NotTo(HaveOccurred())
	return strings.FieldsFunc(out, func(r rune) bool { return r == '\n' })
}

// quorumLossAndRecovery: two of three pods cannot be scheduled (the only
// node cordoned) and their volume claims are deleted, so a majority of
// voters is gone for good. The operator must show QuorumLost with the
// member that answers, its term and indexes, and the alert metric; a
// recover-from request on the survivor (a member of the last quorum) must
// bring the network back to three Ready members holding every write
// acknowledged before the loss, saying that nothing acknowledged is lost.
func quorumLossAndRecovery() {
	nodeOut, err := e.k("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
	Expect(err).NotTo(HaveOccurred())
	node := strings.TrimSpace(nodeOut)
	Expect(node).NotTo(BeEmpty())
	uncordon := func() {
		_, err := e.k("uncordon", node)
		Expect(err).NotTo(HaveOccurred())
	}
	// Whatever happens, the node is schedulable again and the step's
	// network is gone afterwards.
	DeferCleanup(func() {
		_, _ = e.k("uncordon", node)
		_, _ = e.k("delete", "namespace", quorumNS, "--ignore-not-found", "--wait=true", "--timeout=3m")
	})

	Expect(e.apply(namespaceManifest(quorumNS, false))).To(Succeed())
	t0 := time.Now()
	Expect(e.apply(quorumNetworkManifest())).To(Succeed())
	eventually(func(g Gomega) {
		n := quorumNetwork(g)
		c := condition(n.Status.Conditions, ledgerv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(BeEquivalentTo("True"), "Ready: %s %s", c.Reason, c.Message)
		g.Expect(n.Status.ReadyReplicas).To(Equal(int32(3)))
	}, 4*time.Minute).Should(Succeed())
	figure("quorum network: apply → Ready (3 replicas): %s", time.Since(t0).Round(100*time.Millisecond))
	Expect(e.apply(clientManifest(e, quorumNS, quorumNet, nil))).To(Succeed())
	_, err = e.k("wait", "-n", quorumNS, "--for=condition=Ready", "pod/"+clientPod, "--timeout=90s")
	Expect(err).NotTo(HaveOccurred())
	qc := &ledgerClient{e: e, ns: quorumNS, pod: clientPod}

	// Writes acknowledged before the loss.
	var acked []string
	for i := range 6 {
		k := fmt.Sprintf("before-loss-%d", i)
		_, err := qc.ctl(nil, "note", "put", k, fmt.Sprintf("%q", k), "--key", "/keys/admin/admin.key")
		Expect(err).NotTo(HaveOccurred())
		acked = append(acked, k)
	}
	st, err := qc.status()
	Expect(err).NotTo(HaveOccurred())
	survivor := st.Leader // in the last quorum: it holds every acknowledged write
	Expect(survivor).NotTo(BeEmpty())
	var lost []string
	for i := range 3 {
		if p := fmt.Sprintf("%s-%d", quorumNet, i); p != survivor {
			lost = append(lost, p)
		}
	}
	Eventually(quorumLostMetric).WithTimeout(time.Minute).WithPolling(2*time.Second).Should(Equal("0"), "the metric exists and says 0 while the quorum is there")

	// The loss: the only node cordoned, two pods deleted with their volume
	// claims. Their replacements cannot be scheduled; their data is gone.
	_, err = e.k("cordon", node)
	Expect(err).NotTo(HaveOccurred())
	lossAt := time.Now()
	for _, p := range lost {
		_, err := e.k("delete", "pvc", "data-"+p, "-n", quorumNS, "--wait=false")
		Expect(err).NotTo(HaveOccurred())
	}
	_, err = e.k(append([]string{"delete", "pod", "-n", quorumNS, "--wait=false", "--grace-period=1"}, lost...)...)
	Expect(err).NotTo(HaveOccurred())

	var q *ledgerv1.QuorumStatus
	eventually(func(g Gomega) {
		n := quorumNetwork(g)
		q = n.Status.Quorum
		g.Expect(q).NotTo(BeNil(), "status.quorum: the operator has not seen the leader gone yet")
		g.Expect(q.Lost).To(BeTrue(), "status.quorum: %+v", q)
		c := condition(n.Status.Conditions, ledgerv1.ConditionDegraded)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(BeEquivalentTo("True"))
		g.Expect(c.Reason).To(Equal("QuorumLost"))
	}, 3*time.Minute).Should(Succeed())
	lossToShown := time.Since(lossAt)
	var seen []string
	for _, m := range q.Members {
		if m.Name == survivor {
			Expect(m.Answers).To(BeTrue(), "the survivor %s answers: %+v", survivor, m)
			Expect(m.Term).To(BeNumerically(">", 0))
			Expect(m.CommitIndex).To(BeNumerically(">", 0))
			seen = append(seen, fmt.Sprintf("%s answers (%s, term %d, commit index %d, applied index %d, height %d)", m.Name, m.State, m.Term, m.CommitIndex, m.AppliedIndex, m.Height))
			continue
		}
		Expect(lost).To(ContainElement(m.Name))
		Expect(m.Answers).To(BeFalse(), "%s is gone: %+v", m.Name, m)
		Expect(m.Reason).To(BeElementOf("Unschedulable", "VolumeGone"), "%s: %s", m.Name, m.Message)
		seen = append(seen, fmt.Sprintf("%s %s (%s)", m.Name, m.Reason, m.Message))
	}
	Expect(q.Members).To(HaveLen(3), "every voter of the last configuration is described")
	Eventually(quorumLostMetric).WithTimeout(time.Minute).WithPolling(2 * time.Second).Should(Equal("1"))
	Expect(eventMessages("QuorumLost")).To(ContainElement(ContainSubstring(survivor)), "a QuorumLost event naming the survivor")
	figure("quorum loss (2 of 3 pods unschedulable, their claims deleted) → QuorumLost in status and tradeledger_network_quorum_lost 1: %s; %s",
		lossToShown.Round(100*time.Millisecond), strings.Join(seen, "; "))

	// The way back: the request names the survivor. The node stays
	// cordoned until every node pod is stopped: a pod scheduled before the
	// operator has set no-bootstrap would start an empty ledger of the
	// genesis voters (docs/operations.md, "Quorum loss").
	annotateAt := time.Now()
	_, err = e.k("annotate", "ledgernetwork", quorumNet, "-n", quorumNS, ledgerv1.AnnotationRecoverFrom+"="+survivor)
	Expect(err).NotTo(HaveOccurred())
	eventually(func(g Gomega) {
		n := quorumNetwork(g)
		g.Expect(n.Status.Recovery).NotTo(BeNil())
		g.Expect(n.Status.Recovery.Phase).NotTo(Equal(ledgerv1.RecoveryFailed), n.Status.Recovery.Message)
		// The Job that runs `ledgernode recover` needs a schedulable node.
		g.Expect(n.Status.Recovery.Phase).To(BeElementOf(ledgerv1.RecoveryRecovering, ledgerv1.RecoveryRestarting, ledgerv1.RecoveryCompleted))
	}, 3*time.Minute).Should(Succeed())
	stopped := time.Since(annotateAt)
	uncordon()
	var n *ledgerv1.LedgerNetwork
	eventually(func(g Gomega) {
		n = quorumNetwork(g)
		g.Expect(n.Status.Recovery).NotTo(BeNil())
		g.Expect(n.Status.Recovery.Phase).NotTo(Equal(ledgerv1.RecoveryFailed), n.Status.Recovery.Message)
		g.Expect(n.Status.Recovery.Phase).To(Equal(ledgerv1.RecoveryCompleted))
		c := condition(n.Status.Conditions, ledgerv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(BeEquivalentTo("True"), "Ready: %s %s", c.Reason, c.Message)
		g.Expect(n.Status.ReadyReplicas).To(Equal(int32(3)))
		g.Expect(n.Status.Quorum).To(BeNil())
		var voters []string
		for _, m := range n.Status.Members {
			if m.Role == ledgerv1.RoleVoter {
				voters = append(voters, m.Name)
			}
		}
		g.Expect(voters).To(HaveLen(3), "grown back to spec.replicas voters: %v", voters)
	}, 8*time.Minute).Should(Succeed())
	annotateToReady := time.Since(annotateAt)
	Expect(n.Annotations).NotTo(HaveKey(ledgerv1.AnnotationRecoverFrom), "a carried-out request is removed")
	Expect(n.Status.Recovery.From).To(Equal(survivor))
	Expect(n.Status.Recovery.Message).To(ContainSubstring("nothing acknowledged is lost"), "recovered from a member of the last quorum")
	Expect(eventMessages("RecoveryStarted")).To(ContainElement(ContainSubstring(n.Status.Recovery.Message)), "the RecoveryStarted event says what may be lost")

	for _, k := range acked {
		out, err := qc.ctl(nil, "note", "get", k)
		Expect(err).NotTo(HaveOccurred(), "note %s acknowledged before the loss", k)
		Expect(out).To(ContainSubstring(k))
	}
	_, err = qc.ctl(nil, "note", "put", "after-recovery", `"after-recovery"`, "--key", "/keys/admin/admin.key")
	Expect(err).NotTo(HaveOccurred(), "a write after recovery")
	Eventually(quorumLostMetric).WithTimeout(time.Minute).WithPolling(2 * time.Second).Should(Equal("0"))
	st, err = qc.status()
	Expect(err).NotTo(HaveOccurred())
	var ids []string
	for _, m := range st.Members {
		ids = append(ids, m.ID+"="+m.Suffrage)
	}
	slices.Sort(ids)
	figure("recover-from=%s → Ready with 3 voters: %s (node pods stopped and claims cleared %s, then uncordoned); %d notes acknowledged before the loss all present; members %s; status: %q",
		survivor, annotateToReady.Round(100*time.Millisecond), stopped.Round(100*time.Millisecond), len(acked), strings.Join(ids, ", "), n.Status.Recovery.Message)
}
