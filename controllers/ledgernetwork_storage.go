package controllers

import (
	"context"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Annotations that make a StorageClass the cluster's default.
const (
	annDefaultStorageClass     = "storageclass.kubernetes.io/is-default-class"
	annBetaDefaultStorageClass = "storageclass.beta.kubernetes.io/is-default-class"
)

// checkStorage says why the nodes' volume claims stay Pending when nothing
// will ever bind them: no StorageClass named, and no default one; or a
// named class that does not exist. A bare cluster has no provisioner, and
// without this the network would only say it is bootstrapping, forever.
// A claim Pending for any other reason (a slow provisioner, a class that
// binds when the pod is scheduled) is left to the pods' own status.
func (r *LedgerNetworkReconciler) checkStorage(ctx context.Context, s *networkScope) error {
	n := s.net
	var claims corev1.PersistentVolumeClaimList
	if err := r.List(ctx, &claims, client.InNamespace(n.Namespace), client.MatchingLabels(selectorLabels(n))); err != nil {
		return err
	}
	var noClass []string
	missing := map[string][]string{}
	var classes *storagev1.StorageClassList
	for _, pvc := range claims.Items {
		if pvc.Status.Phase != corev1.ClaimPending || !pvc.DeletionTimestamp.IsZero() {
			continue
		}
		if classes == nil {
			classes = &storagev1.StorageClassList{}
			if err := r.List(ctx, classes); err != nil {
				return err
			}
		}
		switch class := pvc.Spec.StorageClassName; {
		case class == nil:
			if !slices.ContainsFunc(classes.Items, isDefaultClass) {
				noClass = append(noClass, pvc.Name)
			}
		case *class != "":
			if !slices.ContainsFunc(classes.Items, func(c storagev1.StorageClass) bool { return c.Name == *class }) {
				missing[*class] = append(missing[*class], pvc.Name)
			}
		}
	}
	if len(noClass) > 0 {
		slices.Sort(noClass)
		return degraded("NoStorageClass", "volume claims %s stay Pending: the cluster has no default StorageClass and spec.storage.storageClassName is not set. "+
			"Install a volume provisioner and mark its StorageClass default (kubectl annotate storageclass NAME %s=true): the claims bind then; "+
			"or re-create the LedgerNetwork with spec.storage.storageClassName (immutable; deletionPolicy Retain keeps the identity)",
			strings.Join(noClass, ", "), annDefaultStorageClass)
	}
	for _, class := range slices.Sorted(maps.Keys(missing)) {
		names := missing[class]
		slices.Sort(names)
		return degraded("StorageClassNotFound", "volume claims %s stay Pending: StorageClass %q (spec.storage.storageClassName) does not exist "+
			"(kubectl get storageclass). Create it, or re-create the LedgerNetwork naming an existing class (spec.storage is immutable; "+
			"deletionPolicy Retain keeps the identity)", strings.Join(names, ", "), class)
	}
	return nil
}

func isDefaultClass(c storagev1.StorageClass) bool {
	return c.Annotations[annDefaultStorageClass] == "true" || c.Annotations[annBetaDefaultStorageClass] == "true"
}
