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

// identityObjects builds a network's identity objects from a generated bundle.
func identityObjects(t *testing.T, n *ledgerv1.LedgerNetwork, b *netgen.Bundle) (*corev1.ConfigMap, *corev1.Secret, *corev1.Secret, *corev1.Secret) {
	t.Helper()
	nodes := map[string]nodeIdentity{}
	for _, m := range b.Nodes {
		nodes[m.ID] = nodeIdentity{Key: m.Key, CertPEM: m.CertPEM, KeyPEM: m.KeyPEM}
	}
	cm, err := buildGenesisConfigMap(n, b.Genesis)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := buildAdminSecret(n, b.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := buildNodesSecret(n, nodes)
	if err != nil {
		t.Fatal(err)
	}
	return cm, buildCASecret(n, b.CA), admin, ns
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
		tweak func(cm *corev1.ConfigMap, ca, admin, nodes *corev1.Secret)
		want  string
	}{
		{"genesis of another network", func(cm *corev1.ConfigMap, _, _, _ *corev1.Secret) {
			cm2, _, _, _ := identityObjects(t, n, generate(t, "elsewhere", "customs-0"))
			cm.Data = cm2.Data
		}, `holds the genesis of network "elsewhere", not "customs"`},
		{"admin key of another network", func(_ *corev1.ConfigMap, _, admin, _ *corev1.Secret) {
			_, _, a2, _ := identityObjects(t, n, other)
			admin.Data = a2.Data
		}, "not an admin of the genesis"},
		{"node key of another network", func(_ *corev1.ConfigMap, _, _, nodes *corev1.Secret) {
			_, _, _, n2 := identityObjects(t, n, other)
			nodes.Data[nodeSignKeyKey("customs-1")] = n2.Data[nodeSignKeyKey("customs-1")]
		}, "does not match genesis node customs-1"},
		{"a genesis node without keys", func(_ *corev1.ConfigMap, _, _, nodes *corev1.Secret) {
			delete(nodes.Data, nodeSignKeyKey("customs-2"))
		}, "has no keys for genesis node customs-2"},
		{"a node key without its certificate", func(_ *corev1.ConfigMap, _, _, nodes *corev1.Secret) {
			delete(nodes.Data, nodeCertKey("customs-0"))
		}, "customs-0.tls.crt and customs-0.tls.key are required"},
		{"a CA that is not PEM", func(_ *corev1.ConfigMap, ca, _, _ *corev1.Secret) {
			ca.Data[caKeyKey] = []byte("nope")
		}, "secret customs-ca"},
		{"a broken genesis", func(cm *corev1.ConfigMap, _, _, _ *corev1.Secret) {
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			due, validity := renewalPlan(map[string]nodeIdentity{"customs-0": {CertPEM: tc.cert}}, tc.caEnd, now)
			if got := len(due) == 1; got != tc.wantDue {
				t.Errorf("due = %v, want due %v", due, tc.wantDue)
			}
			if validity.Round(time.Minute) != tc.validity.Round(time.Minute) {
				t.Errorf("validity = %v, want %v", validity, tc.validity)
			}
		})
	}
}
