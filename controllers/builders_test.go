package controllers

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/tradeledger/tradeledger/ledgernode/netgen"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

func testNetwork(mut ...func(*ledgerv1.LedgerNetwork)) *ledgerv1.LedgerNetwork {
	n := &ledgerv1.LedgerNetwork{
		ObjectMeta: metav1.ObjectMeta{Name: "customs", Namespace: "trade", UID: "uid-1"},
		Spec:       ledgerv1.LedgerNetworkSpec{Replicas: 3, DeletionPolicy: ledgerv1.DeletionRetain},
	}
	for _, m := range mut {
		m(n)
	}
	return n
}

// testBuild is the operator's default build configuration with an image.
func testBuild(image string) BuildConfig {
	b := DefaultOptions().Build
	b.DefaultImage = image
	return b
}

func envOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

func TestStatefulSetPodsReadTheirKeysFromTheirOwnKeysVolume(t *testing.T) {
	sts := buildStatefulSet(testNetwork(), testBuild("img"), 3)
	env := envOf(sts.Spec.Template.Spec.Containers[0])
	want := map[string]string{
		"LEDGERNODE_ID":             "$(POD_NAME)",
		"LEDGERNODE_NODE_KEY":       "/etc/tradeledger/tls/node.key",
		"LEDGERNODE_TLS_CERT":       "/etc/tradeledger/tls/tls.crt",
		"LEDGERNODE_TLS_KEY":        "/etc/tradeledger/tls/tls.key",
		"LEDGERNODE_TLS_CA":         "/etc/tradeledger/tls/ca.crt",
		"LEDGERNODE_GENESIS":        "/etc/tradeledger/genesis/genesis.json",
		"LEDGERNODE_RAFT_ADVERTISE": "$(POD_NAME).customs-peers.trade.svc.cluster.local:7000",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if c := sts.Spec.Template.Spec.Containers[0]; c.Env[0].Name != "POD_NAME" || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("POD_NAME must come first (later values refer to it), from metadata.name: %+v", c.Env[0])
	}
}

func TestStatefulSetAdvertisesWhatServiceResolverResolves(t *testing.T) {
	n := testNetwork()
	for _, domain := range []string{DefaultOptions().Build.ClusterDomain, "example.internal"} {
		sts := buildStatefulSet(n, BuildConfig{ClusterDomain: domain}, 3)
		raftAddr, _ := ServiceResolver{ClusterDomain: domain}.MemberAddrs(n, "customs-1")
		got := strings.ReplaceAll(envOf(sts.Spec.Template.Spec.Containers[0])["LEDGERNODE_RAFT_ADVERTISE"], "$(POD_NAME)", "customs-1")
		if got != raftAddr {
			t.Errorf("domain %q: pod advertises %s, the genesis and membership calls use %s", domain, got, raftAddr)
		}
		// A stable name, never an address: a pod's IP changes when it is
		// rescheduled, and the transport re-resolves names.
		if host, _, err := net.SplitHostPort(raftAddr); err != nil || net.ParseIP(host) != nil || !strings.HasPrefix(host, "customs-1.customs-peers.") {
			t.Errorf("domain %q: Raft address %s is not the pod's stable DNS name", domain, raftAddr)
		}
	}
}

func TestStatefulSetImageIsTheSpecsElseTheOperatorsDefault(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{{"", "default:1"}, {"mine:2", "mine:2"}} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Image = tc.spec })
		if got := buildStatefulSet(n, testBuild("default:1"), 3).Spec.Template.Spec.Containers[0].Image; got != tc.want {
			t.Errorf("spec.image %q: image %q, want %q", tc.spec, got, tc.want)
		}
	}
}

func TestStatefulSetIsRolledByTheOperatorAndStartsAllInitialVotersAtOnce(t *testing.T) {
	sts := buildStatefulSet(testNetwork(), testBuild("img"), 5)
	if sts.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType {
		t.Errorf("update strategy %s: the operator must pace rollouts (leader last)", sts.Spec.UpdateStrategy.Type)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("pod management %s: no pod is ready before a leader exists", sts.Spec.PodManagementPolicy)
	}
	if *sts.Spec.Replicas != 5 || sts.Spec.ServiceName != "customs-peers" {
		t.Errorf("replicas %d, serviceName %s", *sts.Spec.Replicas, sts.Spec.ServiceName)
	}
}

func TestStatefulSetProbesReadyzAndHealthzOverHTTPS(t *testing.T) {
	c := buildStatefulSet(testNetwork(), testBuild("img"), 3).Spec.Template.Spec.Containers[0]
	for name, tc := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"readiness": {c.ReadinessProbe, "/readyz"}, "liveness": {c.LivenessProbe, "/healthz"}, "startup": {c.StartupProbe, "/healthz"}} {
		if tc.p == nil || tc.p.HTTPGet.Path != tc.path || tc.p.HTTPGet.Scheme != corev1.URISchemeHTTPS || tc.p.HTTPGet.Port.StrVal != "api" {
			t.Errorf("%s probe: %+v, want HTTPS GET %s on port api", name, tc.p, tc.path)
		}
	}
}

func TestVolumesOutliveTheNetworkUnlessDeletionPolicyIsDelete(t *testing.T) {
	for _, tc := range []struct {
		policy ledgerv1.DeletionPolicy
		want   appsv1.PersistentVolumeClaimRetentionPolicyType
	}{
		{ledgerv1.DeletionRetain, appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
		{"", appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
		{ledgerv1.DeletionDelete, appsv1.DeletePersistentVolumeClaimRetentionPolicyType},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.DeletionPolicy = tc.policy })
		p := buildStatefulSet(n, testBuild("img"), 3).Spec.PersistentVolumeClaimRetentionPolicy
		if p.WhenDeleted != tc.want {
			t.Errorf("deletionPolicy %q: whenDeleted %s, want %s", tc.policy, p.WhenDeleted, tc.want)
		}
		if p.WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			t.Errorf("deletionPolicy %q: whenScaled %s: a removed member's data must go, a later scale-up joins empty", tc.policy, p.WhenScaled)
		}
		for _, m := range []*metav1.ObjectMeta{&buildCASecret(n, testBundle(t).CA).ObjectMeta} {
			owned := len(m.OwnerReferences) == 1 && m.OwnerReferences[0].UID == n.UID
			if owned != (tc.policy == ledgerv1.DeletionDelete) {
				t.Errorf("deletionPolicy %q: identity %s owned=%v", tc.policy, m.Name, owned)
			}
		}
	}
}

func TestStorageSizeAndClassReachTheVolumeClaim(t *testing.T) {
	for _, tc := range []struct {
		size  *resource.Quantity
		class *string
		want  string
	}{
		{nil, nil, "1Gi"},
		{ptr.To(resource.MustParse("20Gi")), ptr.To("fast"), "20Gi"},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) {
			n.Spec.Storage = ledgerv1.StorageSpec{Size: tc.size, StorageClassName: tc.class}
		})
		vct := buildStatefulSet(n, testBuild("img"), 3).Spec.VolumeClaimTemplates[0]
		if got := vct.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != tc.want {
			t.Errorf("size %v: claim %s, want %s", tc.size, got.String(), tc.want)
		}
		if vct.Spec.StorageClassName != tc.class {
			t.Errorf("class %v: claim class %v", tc.class, vct.Spec.StorageClassName)
		}
	}
}

func TestBatchingBecomesTheNodesEnvironment(t *testing.T) {
	for _, tc := range []struct {
		batching      ledgerv1.BatchingSpec
		maxTx, maxDel string
	}{
		{ledgerv1.BatchingSpec{}, "", ""},
		{ledgerv1.BatchingSpec{MaxTransactions: 256, MaxDelay: &metav1.Duration{Duration: 5 * time.Millisecond}}, "256", "5ms"},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Batching = tc.batching })
		env := envOf(buildStatefulSet(n, testBuild("img"), 3).Spec.Template.Spec.Containers[0])
		if env["LEDGERNODE_BATCH_MAX_TX"] != tc.maxTx || env["LEDGERNODE_BATCH_MAX_DELAY"] != tc.maxDel {
			t.Errorf("%+v: env max tx %q delay %q", tc.batching, env["LEDGERNODE_BATCH_MAX_TX"], env["LEDGERNODE_BATCH_MAX_DELAY"])
		}
	}
}

func TestScrapeAnnotationsAreOnUnlessTurnedOff(t *testing.T) {
	for _, tc := range []struct {
		toggle *bool
		want   bool
	}{{nil, true}, {ptr.To(true), true}, {ptr.To(false), false}} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Monitoring.ScrapeAnnotations = tc.toggle })
		sts := buildStatefulSet(n, testBuild("img"), 3)
		a := sts.Spec.Template.Annotations
		if got := a["prometheus.io/scrape"] == "true" && a["prometheus.io/scheme"] == "https"; got != tc.want {
			t.Errorf("scrapeAnnotations %v: annotations %v", tc.toggle, a)
		}
		// The scrape carries no client certificate: /metrics is open to it
		// exactly when the pods invite it; otherwise it needs a credential.
		if open := envOf(sts.Spec.Template.Spec.Containers[0])["LEDGERNODE_METRICS_ACCESS"] == "open"; open != tc.want {
			t.Errorf("scrapeAnnotations %v: metrics open %v", tc.toggle, open)
		}
	}
}

// secretsMounted lists the Secrets a pod spec's volumes read.
func secretsMounted(spec *corev1.PodSpec) []string {
	var out []string
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			out = append(out, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil {
					out = append(out, src.Secret.Name)
				}
			}
		}
	}
	return out
}

func TestAPodsVolumesReferenceNoOtherNodesKeys(t *testing.T) {
	for _, replicas := range []int32{1, 3, 5, 7} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = replicas })
		spec := buildStatefulSet(n, testBuild("img"), replicas).Spec.Template.Spec
		mounted := secretsMounted(&spec)
		// The template names only the placeholder, which never exists: the
		// admission policy makes each pod's volume its own Secret.
		if len(mounted) != 1 || mounted[0] != nodeKeysPlaceholder(n) {
			t.Errorf("%d replicas: the template mounts %v, want only the placeholder %s", replicas, mounted, nodeKeysPlaceholder(n))
		}
		seen := map[string]bool{}
		for i := range int(replicas) {
			pod := podName(n, i)
			own := nodeKeysSecretName(pod)
			for _, forbidden := range []string{own, legacyNodesSecretName(n), caSecretName(n), adminSecretName(n)} {
				if slices.Contains(mounted, forbidden) {
					t.Errorf("%d replicas: every pod of the template would mount %s", replicas, forbidden)
				}
			}
			if seen[own] || ordinalOf(n, strings.TrimSuffix(own, nodeKeysSecretSuffix)) != i {
				t.Errorf("%s: Secret %s is not this node's alone", pod, own)
			}
			seen[own] = true
		}
		for _, e := range spec.Containers[0].Env {
			if strings.HasPrefix(e.Value, tlsDir) && !slices.Contains([]string{nodeSignKeyFile, nodeCertFile, nodeTLSKeyFile, caCertKey}, strings.TrimPrefix(e.Value, tlsDir+"/")) {
				t.Errorf("%s reads %s, which the node's own Secret does not hold", e.Name, e.Value)
			}
		}
	}
}

func TestTheAdmissionPolicyMountsTheSecretTheOperatorWrites(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config", "admission", "node_keys_policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policy := string(data)
	for _, want := range []string{
		`object.metadata.name + "` + nodeKeysSecretSuffix + `"`,
		`v.name == '` + volumeNodeKeys + `'`,
		`name: "` + volumeNodeKeys + `"`,
		LabelComponent + ": ledger-node",
	} {
		if !strings.Contains(policy, want) {
			t.Errorf("config/admission/node_keys_policy.yaml lacks %s: the policy and the operator must agree on the names", want)
		}
	}
}

func TestANodesSecretHoldsItsOwnKeysAndTheCACertificateOnly(t *testing.T) {
	n := testNetwork()
	b := generate(t, "customs", "customs-0", "customs-1")
	m := b.Nodes[1]
	sec, err := buildNodeKeysSecret(n, m.ID, nodeIdentity{Key: m.Key, CertPEM: m.CertPEM, KeyPEM: m.KeyPEM}, b.CA.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Name != "customs-1-node-keys" || sec.Labels[LabelNode] != "customs-1" || sec.Labels[LabelComponent] != componentNodeKeys {
		t.Errorf("Secret %s labels %v", sec.Name, sec.Labels)
	}
	if got := slices.Sorted(maps.Keys(sec.Data)); !slices.Equal(got, []string{caCertKey, nodeSignKeyFile, nodeCertFile, nodeTLSKeyFile}) {
		t.Errorf("keys %v", got)
	}
	if string(sec.Data[caCertKey]) != string(b.CA.CertPEM) {
		t.Errorf("ca.crt is not the network CA's certificate")
	}
	for _, other := range []netgen.NodeMaterial{b.Nodes[0]} {
		for k, v := range sec.Data {
			if string(v) == string(other.CertPEM) || string(v) == string(other.KeyPEM) {
				t.Errorf("%s holds %s's material under %s", sec.Name, other.ID, k)
			}
		}
	}
	got, err := decodeNodeKeysSecret(sec)
	if err != nil || publicKeyID(got.Key) != publicKeyID(m.Key) || string(got.KeyPEM) != string(m.KeyPEM) {
		t.Errorf("reads back %v, %v", got, err)
	}
}

func TestPeersFindEachOtherBeforeTheyAreReady(t *testing.T) {
	svc := buildHeadlessService(testNetwork())
	if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("headless Service: clusterIP %q publishNotReady %v", svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
	}
	if c := buildClientService(testNetwork()); c.Spec.PublishNotReadyAddresses || len(c.Spec.Ports) != 1 || c.Spec.Ports[0].Port != APIPort {
		t.Errorf("client Service must balance the API over ready nodes only: %+v", c.Spec)
	}
}

func TestPodDisruptionBudgetKeepsAQuorum(t *testing.T) {
	for replicas, want := range map[int32]int{1: 1, 3: 2, 5: 3, 7: 4} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = replicas })
		if got := buildPDB(n).Spec.MinAvailable.IntValue(); got != want {
			t.Errorf("%d replicas: minAvailable %d, want %d", replicas, got, want)
		}
	}
}

func TestChildrenAreControlledByTheirNetwork(t *testing.T) {
	n := testNetwork()
	for _, m := range []metav1.Object{buildStatefulSet(n, testBuild("img"), 3), buildHeadlessService(n), buildClientService(n), buildPDB(n)} {
		if !metav1.IsControlledBy(m, n) {
			t.Errorf("%s has no controller reference to its network", m.GetName())
		}
		if m.GetLabels()[LabelManagedBy] != ManagedBy || m.GetLabels()[LabelNetwork] != n.Name {
			t.Errorf("%s labels %v", m.GetName(), m.GetLabels())
		}
	}
}

func testBundle(t *testing.T) *netgen.Bundle {
	t.Helper()
	b, err := netgen.Generate(netgen.Options{Network: "customs", Nodes: []netgen.NodeSpec{{ID: "customs-0", RaftAddr: "a:1", APIAddr: "a:2"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A ledger pod being deleted hands leadership over and serves on while
// kube-proxy drops it (LEDGERNODE_SHUTDOWN_DRAIN); hand-over (at most 10s),
// drain and the node's own stop (at most 30s) fit the grace period, so the
// kubelet never kills a node mid-stop.
func TestLedgerPodsDrainWithinTheirGracePeriod(t *testing.T) {
	sts := buildStatefulSet(testNetwork(), testBuild("img"), 3)
	d, err := time.ParseDuration(envOf(sts.Spec.Template.Spec.Containers[0])["LEDGERNODE_SHUTDOWN_DRAIN"])
	if err != nil || d <= 0 {
		t.Fatalf("LEDGERNODE_SHUTDOWN_DRAIN: %v (%s), want a positive duration", err, d)
	}
	grace := time.Duration(*sts.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	if need := 10*time.Second + d + 30*time.Second; need > grace {
		t.Fatalf("a stop may take %s, the grace period is %s", need, grace)
	}
}
