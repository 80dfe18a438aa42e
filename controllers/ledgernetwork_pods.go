package controllers

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// nodeContainer is the ledger node's container in a pod.
const nodeContainer = "ledgernode"

// observePods reads the network's pods as the API server has them: which
// exist, which run, which pass their readiness probe. The status's
// readyReplicas comes from here, not from the ledger's view (which trails
// a deleted pod by an election timeout) nor from the StatefulSet's status
// (which trails the pods by a controller pass).
func (r *LedgerNetworkReconciler) observePods(ctx context.Context, s *networkScope) error {
	n := s.net
	var list corev1.PodList
	if err := r.List(ctx, &list, client.InNamespace(n.Namespace), client.MatchingLabels(selectorLabels(n))); err != nil {
		return err
	}
	s.pods = map[string]*corev1.Pod{}
	var ready int32
	var unbound []string
	for i := range list.Items {
		p := &list.Items[i]
		if ordinalOf(n, p.Name) < 0 {
			continue
		}
		s.pods[p.Name] = p
		if p.DeletionTimestamp.IsZero() && podReady(p) {
			ready++
		}
		if p.DeletionTimestamp.IsZero() && !ownKeysMounted(p) {
			unbound = append(unbound, p.Name)
		}
	}
	n.Status.ReadyReplicas = ready
	r.Metrics.NetworkReady.WithLabelValues(n.Namespace, n.Name).Set(float64(ready))
	if len(unbound) > 0 {
		slices.Sort(unbound)
		s.noteDegraded("NodeKeysNotBound", "pods %s mount the placeholder Secret %s instead of their own keys: the admission policy "+
			"node-keys (config/admission; the Helm chart installs it) is not installed or not active, and it needs Kubernetes 1.36 or later. "+
			"Install it, then delete these pods: the StatefulSet makes them anew with their own keys", strings.Join(unbound, ", "), nodeKeysPlaceholder(n))
	}
	return nil
}

// ownKeysMounted says whether a pod's node-keys volume reads the pod's own
// Secret, as the admission policy makes it (a pod from before per-node
// Secrets has no such volume and is left to the rollout).
func ownKeysMounted(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.Name == volumeNodeKeys && v.Secret != nil {
			return v.Secret.SecretName == nodeKeysSecretName(p.Name)
		}
	}
	return true
}

// podAlive says whether a pod's node can be running: the pod exists, is
// not being deleted, runs, and its node container has not stopped. A
// member whose pod is not alive is restarting, not a node to name as the
// leader or to report by the address it had.
func podAlive(p *corev1.Pod) bool {
	if p == nil || !p.DeletionTimestamp.IsZero() || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == nodeContainer && cs.State.Running == nil {
			return false
		}
	}
	return true
}

// podGone explains why a member's pod is not alive ("" when it is).
func podGone(p *corev1.Pod) string {
	switch {
	case p == nil:
		return "its pod does not exist (deleted, being recreated)"
	case !p.DeletionTimestamp.IsZero():
		return "its pod is being deleted"
	case p.Status.Phase != corev1.PodRunning:
		return "its pod is " + string(p.Status.Phase)
	case !podAlive(p):
		return "its node container is not running (restarting)"
	}
	return ""
}
