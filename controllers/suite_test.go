package controllers

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// The controller suites run the operator's manager against a real
// kube-apiserver and etcd (envtest, built from source by
// hack/controlplane.sh) and real ledger nodes started in-process by
// fakePods.
var (
	testEnv     *envtest.Environment
	k8sClient   client.Client
	testScheme  *runtime.Scheme
	pods        *fakePods
	fakeClock   *clocktesting.FakeClock
	testMetrics *prometheus.Registry
	suiteCtx    context.Context
	suiteCancel context.CancelFunc
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite")
}

// assetsDir finds kube-apiserver and etcd: KUBEBUILDER_ASSETS (make test
// sets it), else the cache hack/controlplane.sh builds into.
func assetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	out, err := exec.Command(filepath.Join("..", "hack", "controlplane.sh"), "--print-dir").Output()
	Expect(err).NotTo(HaveOccurred())
	d := strings.TrimSpace(string(out))
	if _, err := os.Stat(filepath.Join(d, "kube-apiserver")); err != nil {
		Fail("kube-apiserver not built: run `make test-operator`, or export KUBEBUILDER_ASSETS=$(hack/controlplane.sh)")
	}
	return d
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	suiteCtx, suiteCancel = context.WithCancel(context.Background())

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assetsDir(),
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	testScheme = runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(testScheme))
	utilruntime.Must(ledgerv1.AddToScheme(testScheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(testScheme))
	k8sClient, err = client.New(cfg, client.Options{Scheme: testScheme})
	Expect(err).NotTo(HaveOccurred())

	installNodeKeysPolicy()
	pods = newFakePods(GinkgoT().TempDir(), k8sClient)
	fakeClock = clocktesting.NewFakeClock(time.Now())
	testMetrics = prometheus.NewRegistry()

	// The manager main.go runs (the same cache restriction: only labelled
	// Secrets, ConfigMaps and Pods are seen, so the suites also prove the
	// labels), without leader election.
	mgr, err := ctrl.NewManager(cfg, ManagerOptions(testScheme, ManagerConfig{MetricsAddr: "0"}))
	Expect(err).NotTo(HaveOccurred())
	o := DefaultOptions()
	o.Build.DefaultImage = "tradeledger:test"
	o.Resolver, o.Clock, o.Metrics = pods, fakeClock, NewMetrics(testMetrics)
	o.Intervals = Intervals{Wait: 200 * time.Millisecond, Poll: time.Second, LedgerCall: 2 * time.Second}
	Expect(Setup(suiteCtx, mgr, o)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(suiteCtx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if suiteCancel != nil {
		suiteCancel()
	}
	if pods != nil {
		pods.Close()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})

// newNamespace creates a namespace for one spec and deletes it afterwards
// (envtest runs no namespace controller: its objects stay, harmlessly).
func newNamespace(labels map[string]string) string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tl-", Labels: labels}}
	Expect(k8sClient.Create(suiteCtx, ns)).To(Succeed())
	DeferCleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
	return ns.Name
}

// createSampleNetwork creates config/samples' LedgerNetwork, changed by
// each of mutate, in a new namespace. The nodes a spec starts for it stop
// when the spec (or its Ordered container) ends.
func createSampleNetwork(mutate ...func(*ledgerv1.LedgerNetwork)) *ledgerv1.LedgerNetwork {
	net := &ledgerv1.LedgerNetwork{}
	sample(sampleNetwork, net, newNamespace(nil))
	for _, m := range mutate {
		m(net)
	}
	Expect(k8sClient.Create(suiteCtx, net)).To(Succeed())
	DeferCleanup(func() {
		for i := range 7 {
			_ = pods.Stop(net, i)
		}
	})
	return net
}

// expectDegraded checks an object as read: Degraded for reason, for its
// generation, with a message holding every one of words; Ready=False for
// the same reason; no condition contradicting another.
func expectDegraded(g Gomega, obj client.Object, conds []metav1.Condition, reason string, words ...string) {
	d := conditionOf(g, conds, ledgerv1.ConditionDegraded)
	g.Expect(d.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(d.Reason).To(Equal(reason))
	for _, w := range words {
		g.Expect(d.Message).To(ContainSubstring(w))
	}
	g.Expect(d.ObservedGeneration).To(Equal(obj.GetGeneration()))
	r := conditionOf(g, conds, ledgerv1.ConditionReady)
	g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(r.Reason).To(Equal(reason))
	g.Expect(contradictions(conds)).To(BeEmpty())
}

// sample reads one of config/samples into obj, in namespace ns: the
// suites apply the samples as they are.
func sample(file string, obj client.Object, ns string) {
	data, err := os.ReadFile(filepath.Join("..", "config", "samples", file))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.UnmarshalStrict(data, obj)).To(Succeed())
	obj.SetNamespace(ns)
}

const (
	sampleNetwork = "ledger_v1alpha1_ledgernetwork.yaml"
	sampleAgency  = "ledger_v1alpha1_agencymember.yaml"
	samplePolicy  = "ledger_v1alpha1_certificatepolicy.yaml"
	// sampleRestoredNetwork is applied on its own (not in the kustomization).
	sampleRestoredNetwork = "ledger_v1alpha1_ledgernetwork_restore.yaml"
)

// installNodeKeysPolicy applies config/admission as the operator's install
// does, and waits until the API server applies it to new pods.
func installNodeKeysPolicy() {
	data, err := os.ReadFile(filepath.Join("..", "config", "admission", "node_keys_policy.yaml"))
	Expect(err).NotTo(HaveOccurred())
	for _, doc := range strings.Split(string(data), "\n---\n") {
		obj := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, obj)).To(Succeed())
	}
	Eventually(policyApplied, eventually, tick).Should(BeTrue(), "the API server applies the node-keys policy")
}
