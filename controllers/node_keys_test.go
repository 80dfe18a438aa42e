package controllers

import (
	"context"
	"crypto/ed25519"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// A network made by an operator from before per-node Secrets: its genesis,
// CA, admin key and one "<name>-nodes" Secret with every node's keys, and a
// pod that still mounts it.
var _ = Describe("A network whose nodes' keys are all in one Secret", func() {
	It("gets one Secret per node with the same keys, and loses the old Secret once no pod mounts it", func() {
		ns := newNamespace(nil)
		net := &ledgerv1.LedgerNetwork{}
		sample(sampleNetwork, net, ns)
		var specs []netgen.NodeSpec
		for i := range 3 {
			pod := podName(net, i)
			raftAddr, apiAddr := pods.MemberAddrs(net, pod)
			specs = append(specs, netgen.NodeSpec{ID: pod, RaftAddr: raftAddr, APIAddr: apiAddr, Hosts: nodeHosts(net, pod, "cluster.local")})
		}
		b, err := netgen.Generate(netgen.Options{Network: networkID(net), Nodes: specs, Now: time.Now(), CertValidity: nodeCertValidity})
		Expect(err).NotTo(HaveOccurred())
		cm, err := buildGenesisConfigMap(net, b.Genesis)
		Expect(err).NotTo(HaveOccurred())
		admin, err := buildAdminSecret(net, b.AdminKey)
		Expect(err).NotTo(HaveOccurred())
		legacy := legacyNodesSecret(net, b)
		for _, obj := range []client.Object{buildCASecret(net, b.CA), admin, legacy, cm} {
			Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
		}
		old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName(net, 0), Namespace: ns, Labels: networkLabels(net, "ledger-node")},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: nodeContainer, Image: "tradeledger:old"}},
				Volumes: []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: legacy.Name}}}}}}}}}}
		for k, v := range selectorLabels(net) {
			old.Labels[k] = v
		}
		Expect(k8sClient.Create(suiteCtx, old)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, net)).To(Succeed())
		DeferCleanup(func() {
			for i := range 3 {
				_ = pods.Stop(net, i)
			}
		})

		Eventually(func(g Gomega) {
			for _, m := range b.Nodes {
				var sec corev1.Secret
				g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(m.ID)), &sec)).To(Succeed())
				got, err := decodeNodeKeysSecret(&sec)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(tx.KeyID(got.Key.Public().(ed25519.PublicKey))).To(Equal(tx.KeyID(m.Key.Public().(ed25519.PublicKey))), "%s keeps its key", m.ID)
				g.Expect(got.CertPEM).To(Equal(m.CertPEM))
				g.Expect(got.KeyPEM).To(Equal(m.KeyPEM))
			}
		}, eventually, tick).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, net.Name) }, eventually, tick).Should(ContainElement("NodeKeysSplit"))
		Consistently(func() error { return k8sClient.Get(suiteCtx, key(net, legacy.Name), &corev1.Secret{}) }, 2*time.Second, tick).
			Should(Succeed(), "pod %s still mounts it", old.Name)

		// The rollout replaces the old pod; then nothing mounts the old Secret.
		Expect(k8sClient.Delete(suiteCtx, old, client.GracePeriodSeconds(0))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, key(net, legacy.Name), &corev1.Secret{}))
		}, eventually, tick).Should(BeTrue())
		Eventually(func() []string { return eventReasons(ns, net.Name) }, eventually, tick).Should(ContainElement("LegacyNodeKeysDeleted"))

		// The same ledger runs on: each pod starts from its own Secret.
		for i := range 3 {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		}
		wantHash, err := b.Genesis.Hash()
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			got := &ledgerv1.LedgerNetwork{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(net), got)).To(Succeed())
			g.Expect(got.Status.GenesisHash).To(Equal(wantHash))
			g.Expect(got.Status.Leader).NotTo(BeEmpty())
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}, eventually, tick).Should(Succeed())
	})
})

var _ = Describe("A cluster without the node-keys admission policy", func() {
	It("leaves a ledger pod on the placeholder, which never exists, and the network says to install the policy", func() {
		binding := &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Name: "node-keys"}, binding)).To(Succeed())
		Expect(k8sClient.Delete(suiteCtx, binding)).To(Succeed())
		DeferCleanup(func() {
			restored := &admissionregistrationv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: binding.Name, Labels: binding.Labels},
				Spec: binding.Spec}
			Expect(k8sClient.Create(context.Background(), restored)).To(Succeed())
			Eventually(policyApplied, eventually, tick).Should(BeTrue(), "the policy applies again")
		})
		Eventually(policyApplied, eventually, tick).Should(BeFalse(), "the API server no longer applies the policy")

		net := createSampleNetwork()
		sts := &appsv1.StatefulSet{}
		Eventually(func() error { return k8sClient.Get(suiteCtx, key(net, statefulSetName(net)), sts) }, eventually, tick).Should(Succeed())
		Expect(ensurePod(suiteCtx, k8sClient, sts, 0, "")).To(Succeed())
		p := &corev1.Pod{}
		Expect(k8sClient.Get(suiteCtx, key(net, podName(net, 0)), p)).To(Succeed())
		Expect(secretsMounted(&p.Spec)).To(ConsistOf(nodeKeysPlaceholder(net)))
		Expect(apierrors.IsNotFound(k8sClient.Get(suiteCtx, key(net, nodeKeysPlaceholder(net)), &corev1.Secret{}))).To(BeTrue(),
			"the placeholder never exists: the pod cannot start with keys it should not have")
		Eventually(func(g Gomega) {
			got := &ledgerv1.LedgerNetwork{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(net), got)).To(Succeed())
			d := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionDegraded)
			g.Expect(d.Reason).To(Equal("NodeKeysNotBound"))
			g.Expect(d.Message).To(ContainSubstring("pods customs-0 mount the placeholder"))
			g.Expect(d.Message).To(ContainSubstring("config/admission"))
		}, eventually, tick).Should(Succeed())
		Expect(k8sClient.Delete(suiteCtx, p, client.GracePeriodSeconds(0))).To(Succeed())
	})
})

// policyApplied says whether the API server applies the node-keys policy
// to a new ledger pod now (a dry run).
func policyApplied() bool {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe-0", Namespace: "default", Labels: map[string]string{LabelName: "tradeledger", LabelComponent: "ledger-node"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}},
			Volumes: []corev1.Volume{{Name: volumeNodeKeys, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "placeholder",
				DefaultMode: ptr.To[int32](0o440)}}}}},
	}
	Expect(k8sClient.Create(suiteCtx, p, client.DryRunAll)).To(Succeed())
	return p.Spec.Volumes[0].Secret.SecretName == "probe-0"+nodeKeysSecretSuffix
}
