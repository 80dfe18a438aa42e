package controllers

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"maps"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// nodeCertValidity is how long a node's TLS certificate is valid.
const nodeCertValidity = 365 * 24 * time.Hour

// reconcileIdentity generates the network's identity on first sight, and
// afterwards only loads it: a ledger's genesis, CA and keys are never
// regenerated. New ordinals get their node keys here, before their pods
// exist.
func (r *LedgerNetworkReconciler) reconcileIdentity(ctx context.Context, s *networkScope) error {
	n := s.net
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, key(n, genesisConfigMapName(n)), cm); apierrors.IsNotFound(err) {
		return r.createIdentity(ctx, s)
	} else if err != nil {
		return err
	}
	secrets := map[string]*corev1.Secret{}
	for _, name := range []string{caSecretName(n), adminSecretName(n)} {
		sec := &corev1.Secret{}
		if err := r.Get(ctx, key(n, name), sec); apierrors.IsNotFound(err) {
			return degraded("IdentityIncomplete", "ConfigMap %s holds the ledger's genesis but Secret %s is missing: restore it from a backup "+
				"(the operator never generates new keys for an existing ledger; it needs the label %s=%s)", cm.Name, name, LabelManagedBy, ManagedBy)
		} else if err != nil {
			return err
		}
		secrets[name] = sec
	}
	caSec := secrets[caSecretName(n)]
	nodeSecs, err := r.nodeKeySecrets(ctx, n)
	if err != nil {
		return err
	}
	if err := r.splitLegacyNodesSecret(ctx, s, caSec, nodeSecs); err != nil {
		return err
	}
	id, err := decodeIdentity(n, cm, caSec, secrets[adminSecretName(n)], nodeSecs)
	if err != nil {
		return degraded("InvalidIdentity", "%v", err)
	}
	if err := r.issueMissingNodes(ctx, s, id, nodeSecs); err != nil {
		return err
	}
	if err := r.renewNodeCertificates(ctx, s, id, nodeSecs); err != nil {
		return err
	}
	if err := r.syncNodeTrust(ctx, s, id, nodeSecs); err != nil {
		return err
	}
	objs := []client.Object{cm, caSec, secrets[adminSecretName(n)]}
	for _, pod := range slices.Sorted(maps.Keys(nodeSecs)) {
		objs = append(objs, nodeSecs[pod])
	}
	for _, obj := range objs {
		if err := r.ensureIdentityOwnership(ctx, n, obj); err != nil {
			return err
		}
	}
	s.identity, s.caSecret, s.adminSecret = id, caSec, secrets[adminSecretName(n)]
	s.nodeSecrets = nodeSecs
	n.Status.NetworkID = networkID(n)
	if h, err := id.Genesis.Hash(); err == nil {
		n.Status.GenesisHash = h
	}
	return nil
}

// nodeSpec is where a node lives and the names its certificate holds.
func (r *LedgerNetworkReconciler) nodeSpec(n *ledgerv1.LedgerNetwork, pod string) netgen.NodeSpec {
	raftAddr, apiAddr := r.Resolver.MemberAddrs(n, pod)
	return netgen.NodeSpec{ID: pod, RaftAddr: raftAddr, APIAddr: apiAddr, Hosts: nodeHosts(n, pod, r.Build.ClusterDomain)}
}

// createIdentity generates a new network: genesis (the initial replicas are
// its voters), CA, admin key and node keys. The Secrets are written first
// and the genesis last, so a pass interrupted half-way simply starts over:
// no pod can start without the genesis.
func (r *LedgerNetworkReconciler) createIdentity(ctx context.Context, s *networkScope) error {
	n := s.net
	sts := &appsv1.StatefulSet{}
	if err := r.Get(ctx, key(n, statefulSetName(n)), sts); err == nil {
		return degraded("IdentityIncomplete", "the StatefulSet %s exists but the genesis ConfigMap %s is missing: restore it from a backup "+
			"(the operator never generates a new genesis for an existing ledger)", sts.Name, genesisConfigMapName(n))
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	if fb := fromBackup(n); fb != nil {
		return r.createRestoredIdentity(ctx, s, fb)
	}
	var specs []netgen.NodeSpec
	for i := 0; i < int(n.Spec.Replicas); i++ {
		specs = append(specs, r.nodeSpec(n, podName(n, i)))
	}
	// Certificates are dated by the real clock: peers check them against it.
	b, err := netgen.Generate(netgen.Options{Network: networkID(n), Nodes: specs, Now: time.Now(), CertValidity: nodeCertValidity})
	if err != nil {
		return fmt.Errorf("generate network: %w", err)
	}
	id := &networkIdentity{Genesis: b.Genesis, CA: b.CA, AdminKey: b.AdminKey, Nodes: map[string]nodeIdentity{}}
	for _, m := range b.Nodes {
		id.Nodes[m.ID] = nodeIdentity{Key: m.Key, CertPEM: m.CertPEM, KeyPEM: m.KeyPEM}
	}
	cm, err := buildGenesisConfigMap(n, b.Genesis)
	if err != nil {
		return err
	}
	if err := r.storeIdentity(ctx, s, id, cm); err != nil {
		return err
	}
	r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "NetworkCreated", "GenerateIdentity",
		"generated network %s: genesis with %d voters, CA, admin key (Secret %s) and node keys", networkID(n), len(specs), s.adminSecret.Name)
	return nil
}

// storeIdentity writes a new network's identity, the CA, admin and node-key
// Secrets first and the genesis ConfigMap cm last, then records it on the
// scope and the status (network id, genesis hash, certificate expiry).
func (r *LedgerNetworkReconciler) storeIdentity(ctx context.Context, s *networkScope, id *networkIdentity, cm *corev1.ConfigMap) error {
	n := s.net
	admin, err := buildAdminSecret(n, id.AdminKey)
	if err != nil {
		return err
	}
	caSec := buildCASecret(n, id.CA)
	secrets := []*corev1.Secret{caSec, admin}
	for _, pod := range slices.Sorted(maps.Keys(id.Nodes)) {
		sec, err := buildNodeKeysSecret(n, pod, id.Nodes[pod], id.CA.CertPEM)
		if err != nil {
			return err
		}
		secrets = append(secrets, sec)
	}
	for _, sec := range secrets {
		if err := r.writeSecret(ctx, sec); err != nil {
			return err
		}
	}
	if err := r.Create(ctx, cm); err != nil {
		return fmt.Errorf("create genesis ConfigMap %s: %w", cm.Name, err)
	}
	cas, err := decodeCASecret(caSec)
	if err != nil {
		return err
	}
	id.CAs = cas
	s.identity = id
	s.caSecret, s.adminSecret = caSec, admin
	r.recordCertificateExpiry(n, id)
	n.Status.NetworkID = networkID(n)
	if h, err := id.Genesis.Hash(); err == nil {
		n.Status.GenesisHash = h
	}
	return nil
}

// writeSecret creates a Secret or replaces the data of one left by an
// interrupted pass.
func (r *LedgerNetworkReconciler) writeSecret(ctx context.Context, desired *corev1.Secret) error {
	err := r.Create(ctx, desired)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	existing := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(desired), existing); err != nil {
		if apierrors.IsNotFound(err) {
			return degraded("SecretNotManaged", "Secret %s exists without the label %s=%s: the operator will not overwrite it; delete or label it",
				desired.Name, LabelManagedBy, ManagedBy)
		}
		return err
	}
	existing.Data = desired.Data
	existing.Labels = desired.Labels
	existing.OwnerReferences = desired.OwnerReferences
	return r.Update(ctx, existing)
}

// issueMissingNodes gives every ordinal up to spec.replicas its keys, in
// its own Secret, before its pod is created; existing keys are never
// replaced.
func (r *LedgerNetworkReconciler) issueMissingNodes(ctx context.Context, s *networkScope, id *networkIdentity, nodeSecs map[string]*corev1.Secret) error {
	n := s.net
	var issued []string
	for i := 0; i < int(n.Spec.Replicas); i++ {
		pod := podName(n, i)
		if _, ok := id.Nodes[pod]; ok {
			continue
		}
		m, err := netgen.IssueNode(id.CA, r.nodeSpec(n, pod), time.Now(), nodeCertValidity)
		if err != nil {
			return fmt.Errorf("issue keys for %s: %w", pod, err)
		}
		mi := nodeIdentity{Key: m.Key, CertPEM: m.CertPEM, KeyPEM: m.KeyPEM}
		sec, err := buildNodeKeysSecret(n, pod, mi, id.trustPEM())
		if err != nil {
			return err
		}
		if err := r.writeSecret(ctx, sec); err != nil {
			return fmt.Errorf("create Secret %s: %w", sec.Name, err)
		}
		id.Nodes[pod], nodeSecs[pod] = mi, sec
		issued = append(issued, pod)
	}
	if len(issued) == 0 {
		return nil
	}
	r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "NodeKeysIssued", "IssueKeys", "issued node keys and TLS certificates for %v, each in its own Secret", issued)
	return nil
}

// updateNodeKeysSecret rewrites one node's Secret to hold m.
func (r *LedgerNetworkReconciler) updateNodeKeysSecret(ctx context.Context, n *ledgerv1.LedgerNetwork, sec *corev1.Secret, pod string, m nodeIdentity, caCertPEM []byte) error {
	desired, err := buildNodeKeysSecret(n, pod, m, caCertPEM)
	if err != nil {
		return err
	}
	updated := sec.DeepCopy()
	updated.Data = desired.Data
	if err := r.Update(ctx, updated); err != nil {
		return fmt.Errorf("update Secret %s: %w", sec.Name, err)
	}
	*sec = *updated
	return nil
}

// syncNodeTrust gives every node's Secret the CA bundle of the CA Secret
// (ca.crt), so that each node trusts what the network trusts: both CAs
// during a rotation, the new one alone after it.
func (r *LedgerNetworkReconciler) syncNodeTrust(ctx context.Context, s *networkScope, id *networkIdentity, nodeSecs map[string]*corev1.Secret) error {
	trust := id.trustPEM()
	var synced []string
	for _, pod := range slices.Sorted(maps.Keys(nodeSecs)) {
		sec := nodeSecs[pod]
		if string(sec.Data[caCertKey]) == string(trust) {
			continue
		}
		updated := sec.DeepCopy()
		updated.Data[caCertKey] = trust
		if err := r.Update(ctx, updated); err != nil {
			return fmt.Errorf("update Secret %s: %w", sec.Name, err)
		}
		*sec = *updated
		synced = append(synced, pod)
	}
	if len(synced) > 0 {
		r.Recorder.Eventf(s.net, nil, corev1.EventTypeNormal, "NodeTrustUpdated", "RotateCA",
			"gave the node Secrets of %v the CA bundle %v", synced, shortFPs(id.CAs))
	}
	return nil
}

// nodeKeySecrets finds the network's per-node key Secrets, by pod name.
func (r *LedgerNetworkReconciler) nodeKeySecrets(ctx context.Context, n *ledgerv1.LedgerNetwork) (map[string]*corev1.Secret, error) {
	var list corev1.SecretList
	if err := r.List(ctx, &list, client.InNamespace(n.Namespace), client.MatchingLabels{LabelNetwork: n.Name, LabelComponent: componentNodeKeys}); err != nil {
		return nil, err
	}
	out := map[string]*corev1.Secret{}
	for i := range list.Items {
		sec := &list.Items[i]
		if pod := sec.Labels[LabelNode]; ordinalOf(n, pod) >= 0 && sec.Name == nodeKeysSecretName(pod) {
			out[pod] = sec
		}
	}
	return out, nil
}

// splitLegacyNodesSecret moves the keys of a network made by an earlier
// version of the operator, all in one "<name>-nodes" Secret, into one
// Secret per node (the same keys: nothing is regenerated). The old Secret
// goes once no pod mounts it (retireLegacyNodesSecret).
func (r *LedgerNetworkReconciler) splitLegacyNodesSecret(ctx context.Context, s *networkScope, caSec *corev1.Secret, nodeSecs map[string]*corev1.Secret) error {
	n := s.net
	legacy := &corev1.Secret{}
	if err := r.Get(ctx, key(n, legacyNodesSecretName(n)), legacy); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	s.legacyNodes = legacy
	nodes, err := decodeLegacyNodes(legacy)
	if err != nil {
		return degraded("InvalidIdentity", "%v", err)
	}
	var split []string
	for _, pod := range slices.Sorted(maps.Keys(nodes)) {
		if _, ok := nodeSecs[pod]; ok || ordinalOf(n, pod) < 0 {
			continue
		}
		sec, err := buildNodeKeysSecret(n, pod, nodes[pod], caSec.Data[caCertKey])
		if err != nil {
			return err
		}
		if err := r.writeSecret(ctx, sec); err != nil {
			return fmt.Errorf("create Secret %s: %w", sec.Name, err)
		}
		nodeSecs[pod] = sec
		split = append(split, pod)
	}
	if len(split) > 0 {
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "NodeKeysSplit", "SplitKeys",
			"moved the keys of %v from Secret %s into one Secret per node (<pod>-node-keys); %s is deleted once no pod mounts it",
			split, legacy.Name, legacy.Name)
	}
	return nil
}

// retireLegacyNodesSecret deletes the Secret that held every node's keys
// once neither the StatefulSet's template nor any pod mounts it: after the
// rollout the template change started.
func (r *LedgerNetworkReconciler) retireLegacyNodesSecret(ctx context.Context, s *networkScope) error {
	legacy := s.legacyNodes
	if legacy == nil {
		return nil
	}
	sts := &appsv1.StatefulSet{}
	if err := r.Get(ctx, key(s.net, statefulSetName(s.net)), sts); err == nil {
		if specMountsSecret(&sts.Spec.Template.Spec, legacy.Name) {
			return nil
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	for _, p := range s.pods {
		if specMountsSecret(&p.Spec, legacy.Name) {
			return nil
		}
	}
	if err := r.Delete(ctx, legacy, client.Preconditions{UID: &legacy.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete Secret %s: %w", legacy.Name, err)
	}
	r.Recorder.Eventf(s.net, nil, corev1.EventTypeNormal, "LegacyNodeKeysDeleted", "SplitKeys",
		"deleted Secret %s, which held every node's keys: each pod now mounts only its own", legacy.Name)
	s.legacyNodes = nil
	return nil
}

// specMountsSecret says whether a pod spec's volumes read the Secret.
func specMountsSecret(spec *corev1.PodSpec, name string) bool {
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == name {
			return true
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil && src.Secret.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// ensureIdentityOwnership gives the identity objects an owner reference
// exactly when deletionPolicy is Delete.
func (r *LedgerNetworkReconciler) ensureIdentityOwnership(ctx context.Context, n *ledgerv1.LedgerNetwork, obj client.Object) error {
	want := n.Spec.DeletionPolicy == ledgerv1.DeletionDelete
	refs := obj.GetOwnerReferences()
	has := slices.ContainsFunc(refs, func(o metav1.OwnerReference) bool { return o.UID == n.UID })
	if want == has {
		return nil
	}
	if want {
		refs = append(refs, ownerRef(n))
	} else {
		refs = slices.DeleteFunc(slices.Clone(refs), func(o metav1.OwnerReference) bool { return o.UID == n.UID })
	}
	obj.SetOwnerReferences(refs)
	return r.Update(ctx, obj)
}

// publicKeyID is the ledger's key id of a private key's public half.
func publicKeyID(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }
