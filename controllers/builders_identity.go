package controllers

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// networkIdentity is what makes a ledger network itself: its genesis, its
// CA, its admin key and each node's keys. It is generated once and kept in
// a ConfigMap (the genesis, public) and three Secrets (CA, admin, nodes).
type networkIdentity struct {
	Genesis *chain.Genesis
	// CA issues certificates; CAs is every CA the CA Secret holds (the
	// trust bundle, and a rotation's pending CA).
	CA       *pki.CA
	CAs      *caSet
	AdminKey ed25519.PrivateKey
	// PendingAdmin is the admin key a rotation under way brings (saved
	// before the ledger hears of it).
	PendingAdmin ed25519.PrivateKey
	Nodes        map[string]nodeIdentity // by pod name
}

// trustPEM is the CA bundle nodes and clients trust now.
func (id *networkIdentity) trustPEM() []byte {
	if id.CAs == nil {
		return id.CA.CertPEM
	}
	return id.CAs.TrustPEM
}

// target is what talking to the network as its admin takes.
func (id *networkIdentity) target(n *ledgerv1.LedgerNetwork) LedgerTarget {
	return LedgerTarget{Network: n, CAPEM: id.trustPEM(), AdminKey: id.AdminKey}
}

// nodeIdentity is one node's keys.
type nodeIdentity struct {
	Key     ed25519.PrivateKey // signs ledger heads
	CertPEM []byte             // TLS certificate issued by the network CA
	KeyPEM  []byte             // TLS private key
}

// buildGenesisConfigMap holds the genesis the nodes start from. The
// genesis is public: any verifier may have it.
func buildGenesisConfigMap(n *ledgerv1.LedgerNetwork, g *chain.Genesis) (*corev1.ConfigMap, error) {
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{ObjectMeta: identityMeta(n, genesisConfigMapName(n)),
		Data: map[string]string{genesisKey: string(data) + "\n"}}, nil
}

// buildCASecret holds the network CA. Only the operator reads its key (to
// issue certificates for new nodes); pods mount the certificate alone.
// The CA made with the network answers the generation the spec names
// then: only a later raise rotates it.
func buildCASecret(n *ledgerv1.LedgerNetwork, ca *pki.CA) *corev1.Secret {
	meta := identityMeta(n, caSecretName(n))
	meta.Annotations = map[string]string{annCAGeneration: strconv.FormatInt(specCAGeneration(n), 10)}
	return &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{caCertKey: ca.CertPEM, caKeyKey: ca.KeyPEM}}
}

// buildAdminSecret holds the network admin key (a ledgerctl key file): it
// registers agencies and signs cluster operations. No pod mounts it.
func buildAdminSecret(n *ledgerv1.LedgerNetwork, key ed25519.PrivateKey) (*corev1.Secret, error) {
	data, err := tx.MarshalKey(key, "network admin of "+networkID(n))
	if err != nil {
		return nil, err
	}
	meta := identityMeta(n, adminSecretName(n))
	meta.Annotations = map[string]string{annAdminKeyGeneration: strconv.FormatInt(n.Spec.AdminKeyGeneration, 10)}
	return &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{adminKeyKey: data}}, nil
}

// buildNodeKeysSecret holds one node's keys and nothing else: its
// head-signing key, its TLS certificate and key, and the network CA's
// certificate. The admission policy mounts it into that node's pod only.
func buildNodeKeysSecret(n *ledgerv1.LedgerNetwork, pod string, m nodeIdentity, caCertPEM []byte) (*corev1.Secret, error) {
	kf, err := tx.MarshalKey(m.Key, "node "+pod+" of "+networkID(n))
	if err != nil {
		return nil, err
	}
	meta := identityMeta(n, nodeKeysSecretName(pod))
	meta.Labels[LabelComponent] = componentNodeKeys
	meta.Labels[LabelNode] = pod
	return &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{
		nodeSignKeyFile: kf, nodeCertFile: m.CertPEM, nodeTLSKeyFile: m.KeyPEM, caCertKey: caCertPEM,
	}}, nil
}

// decodeNodeKeysSecret reads one node's keys back; errors name the Secret
// and the key.
func decodeNodeKeysSecret(sec *corev1.Secret) (nodeIdentity, error) {
	k, err := tx.UnmarshalKey(sec.Data[nodeSignKeyFile])
	if err != nil {
		return nodeIdentity{}, fmt.Errorf("secret %s key %s: %w", sec.Name, nodeSignKeyFile, err)
	}
	crt, tlsKey := sec.Data[nodeCertFile], sec.Data[nodeTLSKeyFile]
	if len(crt) == 0 || len(tlsKey) == 0 {
		return nodeIdentity{}, fmt.Errorf("secret %s: %s and %s are required beside %s", sec.Name, nodeCertFile, nodeTLSKeyFile, nodeSignKeyFile)
	}
	return nodeIdentity{Key: k, CertPEM: crt, KeyPEM: tlsKey}, nil
}

// decodeLegacyNodes reads every node's keys from the Secret that held them
// all (named by pod) before each node had its own.
func decodeLegacyNodes(sec *corev1.Secret) (map[string]nodeIdentity, error) {
	nodes := map[string]nodeIdentity{}
	for _, k := range slices.Sorted(maps.Keys(sec.Data)) {
		pod, ok := strings.CutSuffix(k, ".node.key")
		if !ok {
			continue
		}
		key, err := tx.UnmarshalKey(sec.Data[k])
		if err != nil {
			return nil, fmt.Errorf("secret %s key %s: %w", sec.Name, k, err)
		}
		crt, tlsKey := sec.Data[legacyCertKey(pod)], sec.Data[legacyTLSKeyKey(pod)]
		if len(crt) == 0 || len(tlsKey) == 0 {
			return nil, fmt.Errorf("secret %s: %s and %s are required beside %s", sec.Name, legacyCertKey(pod), legacyTLSKeyKey(pod), k)
		}
		nodes[pod] = nodeIdentity{Key: key, CertPEM: crt, KeyPEM: tlsKey}
	}
	return nodes, nil
}

// decodeIdentity reads a network identity back from its objects (the
// node Secrets by pod name) and checks that the pieces belong together;
// errors name the object and key.
func decodeIdentity(n *ledgerv1.LedgerNetwork, cm *corev1.ConfigMap, caSec, adminSec *corev1.Secret, nodeSecs map[string]*corev1.Secret) (*networkIdentity, error) {
	var g chain.Genesis
	if err := json.Unmarshal([]byte(cm.Data[genesisKey]), &g); err != nil {
		return nil, fmt.Errorf("configmap %s key %s: %w", cm.Name, genesisKey, err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("configmap %s: %w", cm.Name, err)
	}
	if g.Network != networkID(n) {
		return nil, fmt.Errorf("configmap %s holds the genesis of network %q, not %q", cm.Name, g.Network, networkID(n))
	}
	cas, err := decodeCASecret(caSec)
	if err != nil {
		return nil, err
	}
	admin, err := tx.UnmarshalKey(adminSec.Data[adminKeyKey])
	if err != nil {
		return nil, fmt.Errorf("secret %s key %s: %w", adminSec.Name, adminKeyKey, err)
	}
	adminGen, err := annotationInt(adminSec, annAdminKeyGeneration)
	if err != nil {
		return nil, err
	}
	// A rotated admin key is on the ledger, not in the genesis: only the
	// ledger can tell, and it refuses a key it does not hold. A restored
	// network's key was checked against the backup's key history by the
	// restore Job.
	if adminGen == 0 && fromBackup(n) == nil && !slices.Contains(g.Admins, tx.KeyID(admin.Public().(ed25519.PublicKey))) {
		return nil, fmt.Errorf("secret %s holds a key that is not an admin of the genesis in configmap %s", adminSec.Name, cm.Name)
	}
	id := &networkIdentity{Genesis: &g, CA: cas.Issuer, CAs: cas, AdminKey: admin, Nodes: map[string]nodeIdentity{}}
	if p, ok := adminSec.Data[pendingKey]; ok {
		if id.PendingAdmin, err = tx.UnmarshalKey(p); err != nil {
			return nil, fmt.Errorf("secret %s key %s: %w", adminSec.Name, pendingKey, err)
		}
	}
	for pod, sec := range nodeSecs {
		m, err := decodeNodeKeysSecret(sec)
		if err != nil {
			return nil, err
		}
		id.Nodes[pod] = m
	}
	if fromBackup(n) != nil {
		// The genesis nodes are the backed-up network's: this network's
		// nodes have new identities, which no genesis names.
		return id, nil
	}
	for _, gn := range g.Nodes {
		m, ok := id.Nodes[gn.ID]
		if !ok {
			return nil, fmt.Errorf("secret %s with the keys of genesis node %s is missing", nodeKeysSecretName(gn.ID), gn.ID)
		}
		if tx.KeyID(m.Key.Public().(ed25519.PublicKey)) != gn.Key {
			return nil, fmt.Errorf("secret %s key %s does not match genesis node %s", nodeKeysSecretName(gn.ID), nodeSignKeyFile, gn.ID)
		}
	}
	return id, nil
}
