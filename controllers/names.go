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
func nodesSecretName(n *ledgerv1.LedgerNetwork) string { return n.Name + "-nodes" }

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

// secretKeys of one node in the nodes Secret.
func nodeCertKey(pod string) string    { return pod + ".tls.crt" }
func nodeTLSKeyKey(pod string) string  { return pod + ".tls.key" }
func nodeSignKeyKey(pod string) string { return pod + ".node.key" }

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
