package controllers

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// claimFor records the volume claim of a pod of the network's StatefulSet
// as the StatefulSet controller would; envtest binds no volumes, so it
// stays Pending.
func claimFor(net *ledgerv1.LedgerNetwork, ordinal int) *corev1.PersistentVolumeClaim {
	sts := statefulSetOf(net)
	vct := sts.Spec.VolumeClaimTemplates[0]
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: net.Namespace, Name: vct.Name + "-" + podName(net, ordinal),
		Labels: vct.Labels}, Spec: vct.Spec}
	Expect(k8sClient.Create(suiteCtx, pvc)).To(Succeed())
	return pvc
}

func statefulSetOf(net *ledgerv1.LedgerNetwork) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{}
	Eventually(func() error { return k8sClient.Get(suiteCtx, key(net, statefulSetName(net)), sts) }, eventually, tick).Should(Succeed())
	return sts
}

var _ = Describe("LedgerNetwork on a cluster without storage", func() {
	degradedWith := func(net *ledgerv1.LedgerNetwork, reason string, words ...string) func(Gomega) {
		return func(g Gomega) {
			got := &ledgerv1.LedgerNetwork{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(net), got)).To(Succeed())
			expectDegraded(g, got, got.Status.Conditions, reason, words...)
		}
	}

	It("says its claims stay Pending for want of a StorageClass, and what to do", func() {
		net := createSampleNetwork()
		ns := net.Namespace
		claimFor(net, 0)
		claimFor(net, 1)
		Eventually(degradedWith(net, "NoStorageClass", "data-customs-0, data-customs-1 stay Pending", "no default StorageClass",
			"spec.storage.storageClassName", annDefaultStorageClass), eventually, tick).Should(Succeed())

		// A provisioner's class marked default: the claims will bind.
		sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-" + ns, Annotations: map[string]string{annDefaultStorageClass: "true"}},
			Provisioner: "example.com/host-path"}
		Expect(k8sClient.Create(suiteCtx, sc)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(suiteCtx, sc))).To(Succeed()) })
		Eventually(func(g Gomega) {
			got := &ledgerv1.LedgerNetwork{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(net), got)).To(Succeed())
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionProgressing).Reason).To(Equal(reasonBootstrapping))
		}, eventually, tick).Should(Succeed())
	})

	It("says when the StorageClass it names does not exist", func() {
		net := createSampleNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Storage.StorageClassName = ptr.To("fast-ssd") })
		claimFor(net, 0)
		Eventually(degradedWith(net, "StorageClassNotFound", `StorageClass "fast-ssd"`, "data-customs-0"), eventually, tick).Should(Succeed())
	})
})
