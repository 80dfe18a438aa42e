package controllers

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

const (
	eventually = 60 * time.Second
	tick       = 100 * time.Millisecond
)

// eventReasons lists the reasons of the events about an object.
func eventReasons(ns, name string) []string {
	var list eventsv1.EventList
	Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}

// occurrences is how many times an event was recorded about an object:
// events.k8s.io folds the repeats of one (same regarding, related, reason
// and action) into a series, whose count is written when it reaches 2.
func occurrences(ns, name, reason string) int32 {
	var list eventsv1.EventList
	Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
	var n int32
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			n++
			if e.Series != nil {
				n += e.Series.Count - 1
			}
		}
	}
	return n
}

// count is how many times s appears in list.
func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// gauge reads one series of the operator's metrics.
func gauge(name string, labels map[string]string) float64 {
	fams, err := testMetrics.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			return value(m)
		}
	}
	return -1
}

func value(m *dto.Metric) float64 {
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

var _ = Describe("LedgerNetwork", Ordered, func() {
	var (
		ns  string
		net *ledgerv1.LedgerNetwork
	)
	get := func(g Gomega) *ledgerv1.LedgerNetwork { return getNetwork(g, net) }
	condition := func(g Gomega, typ string) *metav1.Condition {
		c := meta.FindStatusCondition(get(g).Status.Conditions, typ)
		g.Expect(c).NotTo(BeNil(), "condition %s", typ)
		return c
	}
	// voters is the Raft configuration as the running nodes hold it.
	voters := func(g Gomega) []string {
		for i := range 7 {
			if nd := pods.Node(net, i); nd != nil && nd.Consensus().IsLeader() {
				servers, err := nd.Consensus().Configuration()
				g.Expect(err).NotTo(HaveOccurred())
				var out []string
				for _, s := range servers {
					if s.Suffrage == "voter" {
						out = append(out, s.ID)
					}
				}
				slices.Sort(out)
				return out
			}
		}
		g.Expect("a leader").To(BeEmpty(), "no running node leads")
		return nil
	}
	statefulSet := func(g Gomega) *appsv1.StatefulSet {
		sts := &appsv1.StatefulSet{}
		g.Expect(k8sClient.Get(suiteCtx, key(net, statefulSetName(net)), sts)).To(Succeed())
		return sts
	}

	BeforeAll(func() {
		net = createSampleNetwork()
		ns = net.Namespace
	})

	It("generates the network's identity once: a genesis naming the initial voters, the CA, the admin and node keys", func() {
		var cm corev1.ConfigMap
		var ca, admin corev1.Secret
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, key(net, genesisConfigMapName(net)), &cm)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		nodes := map[string]*corev1.Secret{}
		secrets := map[string]*corev1.Secret{caSecretName(net): &ca, adminSecretName(net): &admin}
		for i := range 3 {
			nodes[podName(net, i)] = &corev1.Secret{}
			secrets[nodeKeysSecretName(podName(net, i))] = nodes[podName(net, i)]
		}
		for name, sec := range secrets {
			Expect(k8sClient.Get(suiteCtx, key(net, name), sec)).To(Succeed())
			Expect(sec.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagedBy))
			Expect(sec.OwnerReferences).To(BeEmpty(), "deletionPolicy Retain keeps %s", name)
		}
		Expect(k8sClient.Get(suiteCtx, key(net, legacyNodesSecretName(net)), &corev1.Secret{})).NotTo(Succeed(), "no Secret holds every node's keys")
		var g chain.Genesis
		Expect(json.Unmarshal([]byte(cm.Data[genesisKey]), &g)).To(Succeed())
		Expect(g.Network).To(Equal("customs"))
		Expect(g.Nodes).To(HaveLen(3))
		adminKey, err := tx.UnmarshalKey(admin.Data[adminKeyKey])
		Expect(err).NotTo(HaveOccurred())
		Expect(g.Admins).To(ConsistOf(tx.KeyID(adminKey.Public().(ed25519.PublicKey))))

		roots := x509.NewCertPool()
		Expect(roots.AppendCertsFromPEM(ca.Data[caCertKey])).To(BeTrue())
		for i, gn := range g.Nodes {
			pod := fmt.Sprintf("customs-%d", i)
			Expect(gn.ID).To(Equal(pod))
			raftAddr, apiAddr := pods.MemberAddrs(net, pod)
			Expect(gn.RaftAddr).To(Equal(raftAddr))
			Expect(gn.APIAddr).To(Equal(apiAddr))
			Expect(nodes[pod].Data).To(HaveLen(4), "%s holds its keys, its certificate and the CA's, nothing else", nodes[pod].Name)
			Expect(nodes[pod].Data[caCertKey]).To(Equal(ca.Data[caCertKey]))
			nk, err := tx.UnmarshalKey(nodes[pod].Data[nodeSignKeyFile])
			Expect(err).NotTo(HaveOccurred())
			Expect(gn.Key).To(Equal(tx.KeyID(nk.Public().(ed25519.PublicKey))), "genesis names %s's own head-signing key", pod)
			block, _ := pem.Decode(nodes[pod].Data[nodeCertFile])
			cert, err := x509.ParseCertificate(block.Bytes)
			Expect(err).NotTo(HaveOccurred())
			for _, host := range []string{pod + ".customs-peers." + ns + ".svc.cluster.local", "customs." + ns + ".svc"} {
				_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				Expect(err).NotTo(HaveOccurred(), "%s's certificate is valid for %s", pod, host)
			}
		}
	})

	It("builds its StatefulSet, Services and PodDisruptionBudget as the builders say, owned by the network", func() {
		n := get(Default)
		var sts *appsv1.StatefulSet
		Eventually(func(g Gomega) { sts = statefulSet(g) }, eventually, tick).Should(Succeed())
		want := buildStatefulSet(n, testBuild("tradeledger:test"), 3)
		Expect(equality.Semantic.DeepDerivative(want.Spec, sts.Spec)).To(BeTrue(), "StatefulSet spec as built")
		Expect(sts.Spec.Template.Spec.Containers[0].Image).To(Equal("tradeledger:test"))
		Expect(metav1.IsControlledBy(sts, n)).To(BeTrue())

		for _, want := range []*corev1.Service{buildHeadlessService(n), buildClientService(n)} {
			svc := &corev1.Service{}
			Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(want), svc)).To(Succeed())
			Expect(equality.Semantic.DeepDerivative(want.Spec, svc.Spec)).To(BeTrue(), "Service %s as built", want.Name)
			Expect(metav1.IsControlledBy(svc, n)).To(BeTrue())
		}
		pdb := &policyv1.PodDisruptionBudget{}
		Expect(k8sClient.Get(suiteCtx, key(n, pdbName(n)), pdb)).To(Succeed())
		Expect(pdb.Spec.MinAvailable.IntValue()).To(Equal(2), "a quorum of 3")
		Expect(metav1.IsControlledBy(pdb, n)).To(BeTrue())
	})

	It("is Bootstrapping until its nodes elect a leader, then Ready with leader, height and members", func() {
		Eventually(func(g Gomega) {
			c := condition(g, ledgerv1.ConditionProgressing)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(reasonBootstrapping))
			g.Expect(condition(g, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(get(g).Status.Phase).To(Equal(ledgerv1.PhaseBootstrapping))
		}, eventually, tick).Should(Succeed())
		// kubectl get shows 0, not a blank, for what is still zero.
		row := tableRow("ledgernetworks", ns, net.Name)
		Expect(row).To(HaveKeyWithValue("Ready", BeNumerically("==", 0)))
		Expect(row).To(HaveKeyWithValue("Height", BeNumerically("==", 0)))

		for i := range 3 {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		}

		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Phase).To(Equal(ledgerv1.PhaseRunning))
			ready := condition(g, ledgerv1.ConditionReady)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
			g.Expect(ready.ObservedGeneration).To(Equal(n.Generation))
			g.Expect(n.Status.ObservedGeneration).To(Equal(n.Generation))
			g.Expect(n.Status.Leader).To(BeElementOf("customs-0", "customs-1", "customs-2"))
			g.Expect(n.Status.Replicas).To(Equal(int32(3)))
			g.Expect(n.Status.ReadyReplicas).To(Equal(int32(3)))
			g.Expect(n.Status.HeadHash).NotTo(BeEmpty())
			g.Expect(n.Status.Members).To(HaveLen(3))
			for _, m := range n.Status.Members {
				g.Expect(m.Role).To(Equal(ledgerv1.RoleVoter))
				g.Expect(m.Reachable).To(BeTrue())
			}
			g.Expect(n.Status.GenesisHash).NotTo(BeEmpty())
		}, eventually, tick).Should(Succeed())
		labels := map[string]string{"namespace": ns, "network": "customs"}
		Expect(gauge("tradeledger_network_voters", labels)).To(Equal(3.0))
		Expect(gauge("tradeledger_network_ready_replicas", labels)).To(Equal(3.0))
	})

	It("gives each pod only its own node's keys: its volumes name its own Secret, which holds that node's keys alone", func() {
		var cm corev1.ConfigMap
		Expect(k8sClient.Get(suiteCtx, key(net, genesisConfigMapName(net)), &cm)).To(Succeed())
		var g chain.Genesis
		Expect(json.Unmarshal([]byte(cm.Data[genesisKey]), &g)).To(Succeed())
		material := map[string]map[string][]byte{} // pod → its Secret's data
		for _, gn := range g.Nodes {
			var sec corev1.Secret
			Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(gn.ID)), &sec)).To(Succeed())
			material[gn.ID] = sec.Data
		}
		for _, gn := range g.Nodes {
			p := &corev1.Pod{}
			Expect(k8sClient.Get(suiteCtx, key(net, gn.ID), p)).To(Succeed())
			Expect(secretsMounted(&p.Spec)).To(ConsistOf(nodeKeysSecretName(gn.ID)), "as the API server admitted pod %s", gn.ID)
			own := material[gn.ID]
			Expect(slices.Sorted(maps.Keys(own))).To(Equal([]string{caCertKey, nodeSignKeyFile, nodeCertFile, nodeTLSKeyFile}))
			nk, err := tx.UnmarshalKey(own[nodeSignKeyFile])
			Expect(err).NotTo(HaveOccurred())
			Expect(tx.KeyID(nk.Public().(ed25519.PublicKey))).To(Equal(gn.Key), "%s's Secret holds the key the genesis names for it", gn.ID)

			// The pod's filesystem: what the kubelet wrote from its volume.
			files, err := os.ReadDir(pods.TLSDir(ns, gn.ID))
			Expect(err).NotTo(HaveOccurred())
			var names []string
			for _, f := range files {
				names = append(names, f.Name())
				data, err := os.ReadFile(filepath.Join(pods.TLSDir(ns, gn.ID), f.Name()))
				Expect(err).NotTo(HaveOccurred())
				for other, theirs := range material {
					if other == gn.ID {
						continue
					}
					for _, k := range []string{nodeSignKeyFile, nodeTLSKeyFile, nodeCertFile} {
						Expect(data).NotTo(Equal(theirs[k]), "pod %s's %s is %s's %s", gn.ID, f.Name(), other, k)
					}
				}
			}
			Expect(names).To(ConsistOf(caCertKey, nodeSignKeyFile, nodeCertFile, nodeTLSKeyFile))
		}
		Expect(condition(Default, ledgerv1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse))
	})

	It("records the ledger's height in status and in the metrics", func() {
		var ca, admin corev1.Secret
		Expect(k8sClient.Get(suiteCtx, key(net, caSecretName(net)), &ca)).To(Succeed())
		Expect(k8sClient.Get(suiteCtx, key(net, adminSecretName(net)), &admin)).To(Succeed())
		adminKey, err := tx.UnmarshalKey(admin.Data[adminKeyKey])
		Expect(err).NotTo(HaveOccurred())
		l, err := (&ClientDialer{Resolver: pods}).Dial(suiteCtx, LedgerTarget{Network: get(Default), CAPEM: ca.Data[caCertKey], AdminKey: adminKey})
		Expect(err).NotTo(HaveOccurred())
		k, err := tx.GenerateKey()
		Expect(err).NotTo(HaveOccurred())
		st, err := signNow(net, "key.register", map[string]string{"owner": "participant/height-probe", "publicKey": publicKeyID(k)}, adminKey)
		Expect(err).NotTo(HaveOccurred())
		rc, err := l.Submit(suiteCtx, st)
		Expect(err).NotTo(HaveOccurred())
		Expect(rc.Status).To(Equal(chain.Accepted))
		Eventually(func(g Gomega) {
			g.Expect(get(g).Status.Height).To(BeNumerically(">=", rc.Height))
		}, eventually, tick).Should(Succeed())
		Expect(gauge("tradeledger_network_height", map[string]string{"namespace": ns, "network": "customs"})).To(BeNumerically(">=", rc.Height))
	})

	It("renews a node's TLS certificate in its last third of validity: the running node serves the new one without a restart and keeps its head-signing key", func() {
		var caSec, nodes corev1.Secret
		Expect(k8sClient.Get(suiteCtx, key(net, caSecretName(net)), &caSec)).To(Succeed())
		ca, err := pki.LoadCA(caSec.Data[caCertKey], caSec.Data[caKeyKey])
		Expect(err).NotTo(HaveOccurred())
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		const pod = "customs-1"
		raftAddr, apiAddr := pods.MemberAddrs(net, pod)
		// A certificate issued 300 days ago: 65 days left, inside the
		// renewal window (the last third of a year).
		oldCrt, oldKey, err := netgen.IssueNodeTLS(ca, netgen.NodeSpec{ID: pod, RaftAddr: raftAddr, APIAddr: apiAddr}, time.Now().Add(-300*24*time.Hour), nodeCertValidity)
		Expect(err).NotTo(HaveOccurred())
		var signKey []byte
		others := map[string][]byte{}
		for _, other := range []string{"customs-0", "customs-2"} {
			var sec corev1.Secret
			Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(other)), &sec)).To(Succeed())
			others[other] = sec.Data[nodeCertFile]
		}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(pod)), &nodes)).To(Succeed())
			signKey = nodes.Data[nodeSignKeyFile]
			nodes.Data[nodeCertFile], nodes.Data[nodeTLSKeyFile] = oldCrt, oldKey
			g.Expect(k8sClient.Update(suiteCtx, &nodes)).To(Succeed())
		}, eventually, tick).Should(Succeed())

		var renewed *x509.Certificate
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(pod)), &nodes)).To(Succeed())
			g.Expect(nodes.Data[nodeCertFile]).NotTo(Equal(oldCrt), "renewed")
			block, _ := pem.Decode(nodes.Data[nodeCertFile])
			renewed, err = x509.ParseCertificate(block.Bytes)
			g.Expect(err).NotTo(HaveOccurred())
		}, eventually, tick).Should(Succeed())
		Expect(renewed.NotAfter).To(BeTemporally(">", time.Now().Add(364*24*time.Hour)))
		_, err = renewed.Verify(x509.VerifyOptions{Roots: roots, DNSName: pod + ".customs-peers." + ns + ".svc.cluster.local",
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		Expect(err).NotTo(HaveOccurred(), "issued by the network CA for the pod's peer name")
		Expect(pki.NodeIDOf(renewed)).To(Equal(pod))
		Expect(nodes.Data[nodeTLSKeyFile]).NotTo(Equal(oldKey), "a new TLS key")
		Expect(nodes.Data[nodeSignKeyFile]).To(Equal(signKey), "the head-signing key the genesis names never changes")
		for other, crt := range others {
			var sec corev1.Secret
			Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(other)), &sec)).To(Succeed())
			Expect(sec.Data[nodeCertFile]).To(Equal(crt), "%s's certificate was not due", other)
		}
		Eventually(func(g Gomega) {
			st := get(g).Status
			g.Expect(st.CertificatesNotAfter).NotTo(BeNil())
			g.Expect(st.CertificatesNotAfter.Time).To(BeTemporally(">", time.Now().Add(300*24*time.Hour)), "no certificate left near its end")
			g.Expect(st.CANotAfter.Time).To(BeTemporally("~", ca.Cert.NotAfter, time.Second))
			g.Expect(count(eventReasons(ns, net.Name), "NodeCertificatesRenewed")).To(Equal(1))
		}, eventually, tick).Should(Succeed())
		Expect(gauge("tradeledger_network_certificate_expiry_timestamp_seconds", map[string]string{"namespace": ns, "network": "customs", "kind": "ca"})).
			To(Equal(float64(ca.Cert.NotAfter.Unix())))

		// The kubelet refreshes the Secret volume; the node reloads on use.
		Expect(pods.RefreshTLS(suiteCtx, k8sClient, net, 1)).To(Succeed())
		Eventually(func(g Gomega) {
			served, err := pods.ServedCertificate(net, 1, roots)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(served.SerialNumber).To(Equal(renewed.SerialNumber))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(count(eventReasons(ns, net.Name), "NodeCertificatesRenewed")).To(Equal(1))
		}, 2*time.Second, tick).Should(Succeed(), "renewed once, not on every pass")
	})

	It("scales 3→5: issues keys for the new pods, adds them as non-voters and promotes them once caught up", func() {
		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = 5 })).To(Succeed())
		Eventually(func(g Gomega) {
			for _, pod := range []string{"customs-3", "customs-4"} {
				var sec corev1.Secret
				g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(pod)), &sec)).To(Succeed())
				g.Expect(sec.Data).To(HaveKey(nodeSignKeyFile))
			}
			g.Expect(*statefulSet(g).Spec.Replicas).To(Equal(int32(5)))
			g.Expect(get(g).Status.Phase).To(Equal(ledgerv1.PhaseScaling))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(voters(g)).To(HaveLen(3)) }, time.Second, tick).Should(Succeed(),
			"nobody joins before its pod exists")

		for i := 3; i < 5; i++ {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(voters(g)).To(Equal([]string{"customs-0", "customs-1", "customs-2", "customs-3", "customs-4"}))
		}, eventually, tick).Should(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Replicas).To(Equal(int32(5)))
			g.Expect(condition(g, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}, eventually, tick).Should(Succeed())
		Eventually(func(g Gomega) {
			reasons := eventReasons(ns, net.Name)
			g.Expect(count(reasons, "MemberJoined")).To(Equal(2))
			g.Expect(count(reasons, "MemberPromoted")).To(Equal(2))
			g.Expect(count(reasons, "NodeKeysIssued")).To(Equal(1))
		}, eventually, tick).Should(Succeed(), "events are sent in the background")
	})

	It("scales 5→3: removes each member from Raft before its pod goes, never below a quorum", func() {
		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = 3 })).To(Succeed())
		minVoters := 5
		Eventually(func(g Gomega) {
			v := voters(g)
			minVoters = min(minVoters, len(v))
			replicas := *statefulSet(g).Spec.Replicas
			// The invariant, checked on every look: no pod the StatefulSet
			// is about to delete is still a member.
			for _, id := range v {
				Expect(ordinalOf(net, id)).To(BeNumerically("<", replicas), "%s is still a voter with the StatefulSet at %d", id, replicas)
			}
			// Play the StatefulSet controller: pods beyond the count go.
			for i := int(replicas); i < 5; i++ {
				if pods.Running(net, i) {
					g.Expect(pods.Stop(net, i)).To(Succeed())
				}
			}
			g.Expect(replicas).To(Equal(int32(3)))
			g.Expect(v).To(Equal([]string{"customs-0", "customs-1", "customs-2"}))
		}, eventually, tick).Should(Succeed())
		Expect(minVoters).To(BeNumerically(">=", 3))
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.Members).To(HaveLen(3))
			g.Expect(n.Status.Phase).To(Equal(ledgerv1.PhaseRunning))
			g.Expect(condition(g, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}, eventually, tick).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, net.Name) }, eventually, tick).Should(
			WithTransform(func(r []string) int { return count(r, "MemberRemoved") }, Equal(2)))
	})

	It("rolls a new image out one pod at a time, followers first, the leader last after handing on leadership", func() {
		initialLeader := get(Default).Status.Leader
		Expect(initialLeader).NotTo(BeEmpty(), "setup: the network reports its leader")
		for i := range 3 {
			Expect(setPodRevision(suiteCtx, k8sClient, net, podName(net, i), "rev-1")).To(Succeed())
		}
		Expect(setRevisions(suiteCtx, k8sClient, net, "rev-1", "rev-1", 3)).To(Succeed())
		Consistently(func(g Gomega) {
			var list corev1.PodList
			g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(3))
		}, time.Second, tick).Should(Succeed(), "nothing to roll while every pod runs the update revision")

		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) { n.Spec.Image = "tradeledger:next" })).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(statefulSet(g).Spec.Template.Spec.Containers[0].Image).To(Equal("tradeledger:next"))
		}, eventually, tick).Should(Succeed())
		Expect(setRevisions(suiteCtx, k8sClient, net, "rev-1", "rev-2", 0)).To(Succeed())

		// Play the StatefulSet controller and the kubelet: a deleted pod
		// comes back on the update revision, its node restarted on its data.
		var restarted []string
		var leadersAtRestart []string
		Eventually(func(g Gomega) {
			for i := range 3 {
				p := &corev1.Pod{}
				err := k8sClient.Get(suiteCtx, key(net, podName(net, i)), p)
				if err == nil {
					continue
				}
				g.Expect(client.IgnoreNotFound(err)).To(Succeed())
				// The operator deleted it: it must not have been the leader.
				Expect(pods.Node(net, i).Consensus().IsLeader()).To(BeFalse(), "%s was deleted while it led", podName(net, i))
				leader, _ := pods.Node(net, i).Consensus().Leader()
				restarted = append(restarted, podName(net, i))
				leadersAtRestart = append(leadersAtRestart, leader)
				g.Expect(pods.Kill(net, i)).To(Succeed())
				g.Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
				g.Expect(setRevisions(suiteCtx, k8sClient, net, "rev-1", "rev-2", int32(len(restarted)))).To(Succeed())
			}
			g.Expect(restarted).To(HaveLen(3))
		}, eventually, tick).Should(Succeed())
		Expect(restarted).To(ConsistOf("customs-0", "customs-1", "customs-2"))
		// Followers first, under the leader they had; the leader last, once
		// it had handed leadership on.
		Expect(restarted[2]).To(Equal(initialLeader), "restart order %v: the leader %s was not restarted last", restarted, initialLeader)
		Expect(leadersAtRestart[:2]).To(HaveEach(initialLeader), "the followers restarted while %s still led", initialLeader)
		Expect(leadersAtRestart[2]).NotTo(Equal(initialLeader), "the leader restarted before handing leadership on")
		// Every pod runs the update revision and is ready: the StatefulSet
		// controller completes the update.
		Expect(setRevisions(suiteCtx, k8sClient, net, "rev-2", "rev-2", 3)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(count(eventReasons(ns, net.Name), "PodRestarted")).To(Equal(3))
			g.Expect(eventReasons(ns, net.Name)).To(ContainElement("LeadershipTransferred"))
			g.Expect(condition(g, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}, eventually, tick).Should(Succeed())
		GinkgoWriter.Printf("restart order %v, leaders at each restart %v\n", restarted, leadersAtRestart)
	})

	It("takes a deleted pod, even the leader's, for a restart and not a rollout: drops it from the status at once and names the new leader once", func() {
		before := get(Default)
		Expect(before.Status.Leader).NotTo(BeEmpty())
		dead := before.Status.Leader
		restarts := occurrences(ns, net.Name, "PodRestarted")

		// As the StatefulSet controller reported it on a real cluster: the
		// terminating pod still counted in replicas, not among the updated
		// ones, and readyReplicas not yet lowered.
		Expect(pods.Kill(net, ordinalOf(net, dead))).To(Succeed())
		Expect(setStatefulSetStatus(suiteCtx, k8sClient, net, appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 2,
			CurrentReplicas: 2, CurrentRevision: "rev-2", UpdateRevision: "rev-2"})).To(Succeed())

		// Every look at the status while the pod is away: never a rollout,
		// never the dead pod as leader once the API server says it is gone.
		notARollout := func(g Gomega, n *ledgerv1.LedgerNetwork) {
			g.Expect(n.Status.Phase).NotTo(Equal(ledgerv1.PhaseUpgrading))
			p := meta.FindStatusCondition(n.Status.Conditions, ledgerv1.ConditionProgressing)
			g.Expect(p.Reason).NotTo(Equal(reasonRollingUpdate), p.Message)
			g.Expect(contradictions(n.Status.Conditions)).To(BeEmpty())
		}
		Eventually(func(g Gomega) {
			n := get(g)
			notARollout(Default, n)
			g.Expect(n.Status.ReadyReplicas).To(Equal(int32(2)), "read from the pods")
			g.Expect(n.Status.Leader).NotTo(Equal(dead))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			n := get(g)
			notARollout(g, n)
			g.Expect(n.Status.Leader).NotTo(Equal(dead))
		}, 2*time.Second, tick).Should(Succeed())
		var leader string
		Eventually(func(g Gomega) {
			n := get(g)
			notARollout(Default, n)
			g.Expect(n.Status.Leader).NotTo(BeEmpty())
			leader = n.Status.Leader
		}, eventually, tick).Should(Succeed(), "the others elect a new leader and the status names it")
		Expect(leader).NotTo(Equal(dead))

		// The StatefulSet makes the pod anew; its node restarts on its data.
		Expect(pods.Start(suiteCtx, k8sClient, net, ordinalOf(net, dead))).To(Succeed())
		Expect(setStatefulSetStatus(suiteCtx, k8sClient, net, appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3,
			CurrentReplicas: 3, CurrentRevision: "rev-2", UpdateRevision: "rev-2"})).To(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			g.Expect(n.Status.ReadyReplicas).To(Equal(int32(3)))
			g.Expect(condition(g, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(n.Status.Phase).To(Equal(ledgerv1.PhaseRunning))
		}, eventually, tick).Should(Succeed())
		Eventually(func(g Gomega) {
			var list eventsv1.EventList
			g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
			var changes []string
			for _, e := range list.Items {
				if e.Reason == "LeaderChanged" && e.Related != nil {
					changes = append(changes, e.Related.Name)
				}
			}
			g.Expect(changes).To(ContainElement(leader), "the change to %s is announced, related to its pod", leader)
		}, eventually, tick).Should(Succeed())
		Consistently(func() int32 { return occurrences(ns, net.Name, "PodRestarted") }, 2*time.Second, tick).Should(Equal(restarts),
			"the operator restarted nothing")
	})

	It("with deletionPolicy Delete, has the network own its identity and its volumes deleted with it (owner references, PVC retention policy; envtest runs no garbage collector)", func() {
		Expect(update(get(Default), func(n *ledgerv1.LedgerNetwork) { n.Spec.DeletionPolicy = ledgerv1.DeletionDelete })).To(Succeed())
		Eventually(func(g Gomega) {
			n := get(g)
			for _, name := range []string{caSecretName(n), adminSecretName(n), nodeKeysSecretName("customs-0"), nodeKeysSecretName("customs-2")} {
				var sec corev1.Secret
				g.Expect(k8sClient.Get(suiteCtx, key(n, name), &sec)).To(Succeed())
				g.Expect(metav1.IsControlledBy(&sec, n)).To(BeTrue(), name)
			}
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(suiteCtx, key(n, genesisConfigMapName(n)), &cm)).To(Succeed())
			g.Expect(metav1.IsControlledBy(&cm, n)).To(BeTrue())
			g.Expect(statefulSet(g).Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.DeletePersistentVolumeClaimRetentionPolicyType))
		}, eventually, tick).Should(Succeed())
	})
})
