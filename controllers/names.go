package controllers

import (
	"fmt"
	"strconv"
	"strings"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// Labels and annotations the operator puts on what it creates.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelNetwork names the LedgerNetwork an object belongs to; the
	// identity objects (genesis, CA, keys) are found by it when they carry
	// no owner reference (deletionPolicy Retain).
	LabelNetwork = "ledger.tradeledger.io/network"

	// ManagedBy is the value of LabelManagedBy; the manager's cache only
	// holds Secrets carrying it.
	ManagedBy = "tradeledger-operator"
)

// Names of a network's children.
func statefulSetName(n *ledgerv1.LedgerNetwork) string     { return n.Name }
func headlessServiceName(n *ledgerv1.LedgerNetwork) string { return n.Name + "-peers" }
func clientServiceName(n *ledgerv1.LedgerNetwork) string   { return n.Name }
func pdbName(n *ledgerv1.LedgerNetwork) string             { return n.Name }
func genesisConfigMapName(n *ledgerv1.LedgerNetwork) string {
	return n.Name + "-genesis"
}
func caSecretName(n *ledgerv1.LedgerNetwork) string    { return n.Name + "-ca" }
func adminSecretName(n *ledgerv1.LedgerNetwork) string { return n.Name + "-admin" }

// legacyNodesSecretName is the Secret that held every node's keys before
// each node had its own; the operator splits it and deletes it once no pod
// mounts it.
func legacyNodesSecretName(n *ledgerv1.LedgerNetwork) string { return n.Name + "-nodes" }

// nodeKeysSecretName is the Secret holding one node's keys and nothing
// else. The admission policy in config/admission mounts it into the pod of
// that name: keep the suffix in step with it.
func nodeKeysSecretName(pod string) string { return pod + nodeKeysSecretSuffix }

const nodeKeysSecretSuffix = "-node-keys"

// nodeKeysPlaceholder is the Secret the pod template's node-keys volume
// names until the admission policy points it at the pod's own. It never
// exists: a pod the policy did not reach waits, and says why.
func nodeKeysPlaceholder(n *ledgerv1.LedgerNetwork) string {
	return n.Name + "-node-keys-need-admission-policy"
}

// volumeNodeKeys is the pod volume holding the node's own keys.
const volumeNodeKeys = "node-keys"

// componentNodeKeys is the LabelComponent of the per-node key Secrets;
// LabelNode names the node (pod) whose keys one holds.
const (
	componentNodeKeys = "node-keys"
	LabelNode         = "ledger.tradeledger.io/node"
)

// podName is the StatefulSet pod of an ordinal: the node's Raft server id.
func podName(n *ledgerv1.LedgerNetwork, ordinal int) string {
	return fmt.Sprintf("%s-%d", statefulSetName(n), ordinal)
}

// ordinalOf returns the ordinal of one of the network's pod names, or -1.
func ordinalOf(n *ledgerv1.LedgerNetwork, pod string) int {
	rest, ok := strings.CutPrefix(pod, statefulSetName(n)+"-")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 0 || strconv.Itoa(i) != rest {
		return -1
	}
	return i
}

// podFQDN is a pod's stable DNS name under the headless Service.
func podFQDN(n *ledgerv1.LedgerNetwork, pod, clusterDomain string) string {
	return fmt.Sprintf("%s.%s.%s.svc.%s", pod, headlessServiceName(n), n.Namespace, clusterDomain)
}

// networkID is the ledger's network name: spec.networkID or the name.
func networkID(n *ledgerv1.LedgerNetwork) string {
	if n.Spec.NetworkID != "" {
		return n.Spec.NetworkID
	}
	return n.Name
}

// selectorLabels select a network's node pods.
func selectorLabels(n *ledgerv1.LedgerNetwork) map[string]string {
	return map[string]string{LabelName: "tradeledger", LabelInstance: n.Name, LabelComponent: "ledger-node"}
}

// networkLabels go on every object of a network.
func networkLabels(n *ledgerv1.LedgerNetwork, component string) map[string]string {
	return map[string]string{LabelName: "tradeledger", LabelInstance: n.Name, LabelComponent: component,
		LabelManagedBy: ManagedBy, LabelNetwork: n.Name}
}

// Keys of one node in the legacy nodes Secret (every node's, by pod name).
func legacyCertKey(pod string) string    { return pod + ".tls.crt" }
func legacyTLSKeyKey(pod string) string  { return pod + ".tls.key" }
func legacySignKeyKey(pod string) string { return pod + ".node.key" }

// Keys of a node's own Secret, which are also the file names in its pod.
const (
	nodeSignKeyFile = "node.key" // head-signing key (a ledgerctl key file)
	nodeCertFile    = "tls.crt"
	nodeTLSKeyFile  = "tls.key"
)

// Keys of the identity objects.
const (
	genesisKey  = "genesis.json"
	caCertKey   = "ca.crt"
	caKeyKey    = "ca.key"
	adminKeyKey = "admin.key"
	agencyKey   = "agency.key"
	pendingKey  = "pending.key"
)

// nodeHosts are the names a node's certificate must hold: its stable pod
// names under the headless Service, and the client Service's names (a
// client reaching the network through it checks the node's certificate).
func nodeHosts(n *ledgerv1.LedgerNetwork, pod, clusterDomain string) []string {
	peers, ns, svc := headlessServiceName(n), n.Namespace, clientServiceName(n)
	return []string{
		pod + "." + peers,
		pod + "." + peers + "." + ns,
		pod + "." + peers + "." + ns + ".svc",
		podFQDN(n, pod, clusterDomain),
		svc,
		svc + "." + ns,
		svc + "." + ns + ".svc",
		svc + "." + ns + ".svc." + clusterDomain,
	}
}
