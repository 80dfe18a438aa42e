package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// identityObjects builds a network's identity objects from a generated
// bundle: the genesis, the CA and admin Secrets and each node's Secret.
func identityObjects(t *testing.T, n *ledgerv1.LedgerNetwork, b *netgen.Bundle) (*corev1.ConfigMap, *corev1.Secret, *corev1.Secret, map[string]*corev1.Secret) {
	t.Helper()
	cm, err := buildGenesisConfigMap(n, b.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := buildAdminSecret(n, b.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]*corev1.Secret{}
	for _, m := range b.Nodes {
		sec, err := buildNodeKeysSecret(n, m.ID, nodeIdentity{Key: m.Key, CertPEM: m.CertPEM, KeyPEM: m.KeyPEM}, b.CA.CertPEM)
		if err != nil {
			t.Fatal(err)
		}
		nodes[m.ID] = sec
	}
	return cm, buildCASecret(n, b.CA), admin, nodes
}

// legacyNodesSecret is the one Secret with every node's keys that
// operators before per-node Secrets wrote.
func legacyNodesSecret(n *ledgerv1.LedgerNetwork, b *netgen.Bundle) *corev1.Secret {
	data := map[string][]byte{}
	for _, m := range b.Nodes {
		kf, err := tx.MarshalKey(m.Key, "node "+m.ID+" of "+networkID(n))
		if err != nil {
			panic(err)
		}
		data[legacyCertKey(m.ID)], data[legacyTLSKeyKey(m.ID)], data[legacySignKeyKey(m.ID)] = m.CertPEM, m.KeyPEM, kf
	}
	return &corev1.Secret{ObjectMeta: identityMeta(n, legacyNodesSecretName(n)), Data: data}
}

func generate(t *testing.T, network string, pods ...string) *netgen.Bundle {
	t.Helper()
	var specs []netgen.NodeSpec
	for _, p := range pods {
		specs = append(specs, netgen.NodeSpec{ID: p, RaftAddr: p + ":7000", APIAddr: p + ":8443"})
	}
	b, err := netgen.Generate(netgen.Options{Network: network, Nodes: specs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIdentityReadsBackWhatWasWritten(t *testing.T) {
	n := testNetwork()
	b := generate(t, "customs", "customs-0", "customs-1", "customs-2")
	cm, ca, admin, nodes := identityObjects(t, n, b)
	id, err := decodeIdentity(n, cm, ca, admin, nodes)
	if err != nil {
		t.Fatal(err)
	}
	if publicKeyID(id.AdminKey) != publicKeyID(b.AdminKey) || len(id.Nodes) != 3 || id.Genesis.Network != "customs" {
		t.Errorf("decoded %+v", id)
	}
	for _, m := range b.Nodes {
		if publicKeyID(id.Nodes[m.ID].Key) != publicKeyID(m.Key) {
			t.Errorf("node %s key differs", m.ID)
		}
	}
}

func TestIdentityPiecesThatDoNotBelongTogetherAreRefused(t *testing.T) {
	n := testNetwork()
	b := generate(t, "customs", "customs-0", "customs-1", "customs-2")
	other := generate(t, "customs", "customs-0", "customs-1", "customs-2")
	for _, tc := range []struct {
		name  string
		tweak func(cm *corev1.ConfigMap, ca, admin *corev1.Secret, nodes map[string]*corev1.Secret)
		want  string
	}{
		{"genesis of another network", func(cm *corev1.ConfigMap, _, _ *corev1.Secret, _ map[string]*corev1.Secret) {
			cm2, _, _, _ := identityObjects(t, n, generate(t, "elsewhere", "customs-0"))
			cm.Data = cm2.Data
		}, `holds the genesis of network "elsewhere", not "customs"`},
		{"admin key of another network", func(_ *corev1.ConfigMap, _, admin *corev1.Secret, _ map[string]*corev1.Secret) {
			_, _, a2, _ := identityObjects(t, n, other)
			admin.Data = a2.Data
		}, "not an admin of the genesis"},
		{"node key of another network", func(_ *corev1.ConfigMap, _, _ *corev1.Secret, nodes map[string]*corev1.Secret) {
			_, _, _, n2 := identityObjects(t, n, other)
			nodes["customs-1"].Data[nodeSignKeyFile] = n2["customs-1"].Data[nodeSignKeyFile]
		}, "secret customs-1-node-keys key node.key does not match genesis node customs-1"},
		{"a genesis node without its Secret", func(_ *corev1.ConfigMap, _, _ *corev1.Secret, nodes map[string]*corev1.Secret) {
			delete(nodes, "customs-2")
		}, "secret customs-2-node-keys with the keys of genesis node customs-2 is missing"},
		{"a node key without its certificate", func(_ *corev1.ConfigMap, _, _ *corev1.Secret, nodes map[string]*corev1.Secret) {
			delete(nodes["customs-0"].Data, nodeCertFile)
		}, "secret customs-0-node-keys: tls.crt and tls.key are required"},
		{"a CA that is not PEM", func(_ *corev1.ConfigMap, ca, _ *corev1.Secret, _ map[string]*corev1.Secret) {
			ca.Data[caKeyKey] = []byte("nope")
		}, "secret customs-ca"},
		{"a broken genesis", func(cm *corev1.ConfigMap, _, _ *corev1.Secret, _ map[string]*corev1.Secret) {
			cm.Data[genesisKey] = "{"
		}, "configmap customs-genesis key genesis.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cm, ca, admin, nodes := identityObjects(t, n, b)
			tc.tweak(cm, ca, admin, nodes)
			_, err := decodeIdentity(n, cm, ca, admin, nodes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestNodeCertificatesNameThePodAndTheClientService(t *testing.T) {
	n := testNetwork()
	hosts := nodeHosts(n, "customs-2", "cluster.local")
	for _, want := range []string{"customs-2.customs-peers.trade.svc.cluster.local", "customs-2.customs-peers", "customs.trade.svc", "customs"} {
		found := false
		for _, h := range hosts {
			found = found || h == want
		}
		if !found {
			t.Errorf("%s missing from %v", want, hosts)
		}
	}
}

func TestKeyFilesInSecretsAreLedgerctlKeyFiles(t *testing.T) {
	n := testNetwork()
	b := generate(t, "customs", "customs-0")
	sec, err := buildAdminSecret(n, b.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	k, err := tx.UnmarshalKey(sec.Data[adminKeyKey])
	if err != nil || publicKeyID(k) != publicKeyID(b.AdminKey) {
		t.Fatalf("admin.key does not read back as a key file: %v", err)
	}
}

func TestNodeCertificatesAreRenewedInTheLastThirdOfTheirValidityOnly(t *testing.T) {
	b := generate(t, "customs", "customs-0")
	ca := b.CA
	issue := func(notBefore time.Time, validity time.Duration) []byte {
		crt, _, err := netgen.IssueNodeTLS(ca, netgen.NodeSpec{ID: "customs-0"}, notBefore, validity)
		if err != nil {
			t.Fatal(err)
		}
		return crt
	}
	now := time.Now()
	caEnd := ca.Cert.NotAfter
	for _, tc := range []struct {
		name     string
		cert     []byte
		caEnd    time.Time
		wantDue  bool
		validity time.Duration
	}{
		{"fresh", issue(now, nodeCertValidity), caEnd, false, nodeCertValidity},
		{"two thirds left", issue(now.Add(-nodeCertValidity/3+time.Hour), nodeCertValidity), caEnd, false, nodeCertValidity},
		{"less than a third left", issue(now.Add(-nodeCertValidity/3*2-time.Hour), nodeCertValidity), caEnd, true, nodeCertValidity},
		{"expired", issue(now.Add(-2*nodeCertValidity), nodeCertValidity), caEnd, true, nodeCertValidity},
		{"unreadable", []byte("not a certificate"), caEnd, true, nodeCertValidity},
		{"CA ends soon: the new certificate ends with it", issue(now.Add(-nodeCertValidity+24*time.Hour), nodeCertValidity), now.Add(48 * time.Hour), true, 48 * time.Hour},
		{"CA ends soon, already renewed to its end: not again", issue(now.Add(-time.Minute), 48*time.Hour), now.Add(48 * time.Hour), false, 48 * time.Hour},
		{"CA expired: nothing to issue", issue(now.Add(-nodeCertValidity+24*time.Hour), nodeCertValidity), now.Add(-time.Hour), false, 0},
		{"fresh but issued by another CA (the old one, after a rotation)", otherCA(t, now), caEnd, true, nodeCertValidity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issuer := *ca.Cert
			issuer.NotAfter = tc.caEnd
			due, validity := renewalPlan(map[string]nodeIdentity{"customs-0": {CertPEM: tc.cert}}, &issuer, now)
			if got := len(due) == 1; got != tc.wantDue {
				t.Errorf("due = %v, want due %v", due, tc.wantDue)
			}
			if validity.Round(time.Minute) != tc.validity.Round(time.Minute) {
				t.Errorf("validity = %v, want %v", validity, tc.validity)
			}
		})
	}
}

// otherCA is a fresh node certificate from a CA other than the network's.
func otherCA(t *testing.T, now time.Time) []byte {
	t.Helper()
	other := generate(t, "customs", "customs-0")
	crt, _, err := netgen.IssueNodeTLS(other.CA, netgen.NodeSpec{ID: "customs-0"}, now, nodeCertValidity)
	if err != nil {
		t.Fatal(err)
	}
	return crt
}

func TestTheLegacyNodesSecretReadsBackEveryNodesKeys(t *testing.T) {
	n := testNetwork()
	b := generate(t, "customs", "customs-0", "customs-1", "customs-2")
	nodes, err := decodeLegacyNodes(legacyNodesSecret(n, b))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 {
		t.Fatalf("%d nodes", len(nodes))
	}
	for _, m := range b.Nodes {
		got := nodes[m.ID]
		if publicKeyID(got.Key) != publicKeyID(m.Key) || string(got.CertPEM) != string(m.CertPEM) || string(got.KeyPEM) != string(m.KeyPEM) {
			t.Errorf("%s reads back other keys", m.ID)
		}
	}
	broken := legacyNodesSecret(n, b)
	delete(broken.Data, legacyTLSKeyKey("customs-1"))
	if _, err := decodeLegacyNodes(broken); err == nil || !strings.Contains(err.Error(), "customs-1.tls.key") {
		t.Errorf("a node without its TLS key: %v", err)
	}
}
