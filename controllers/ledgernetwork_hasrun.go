package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// markNetworkHasRun adds the network-has-run marker to the genesis
// ConfigMap once the ledger has a block. The pods mount the ConfigMap
// beside their genesis file, where `ledgernode run` looks for the marker
// (--network-has-run-file): from then on a node with an empty volume never
// starts a ledger from the genesis. Without it, every member's volume
// lost at once (every claim deleted) looked like a first start to the
// nodes, and they bootstrapped an empty ledger. It is a ConfigMap key and
// not a pod argument so that setting it rolls no pod (a ConfigMap volume
// is refreshed in place), and it stays with the identity (deletionPolicy
// Retain keeps it for a re-created LedgerNetwork). It is never removed.
func (r *LedgerNetworkReconciler) markNetworkHasRun(ctx context.Context, s *networkScope, v *ledgerView) error {
	if v.status.Height == 0 {
		return nil
	}
	n := s.net
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, key(n, genesisConfigMapName(n)), cm); err != nil {
		return err
	}
	if _, ok := cm.Data[wire.NetworkHasRunFile]; ok {
		return nil
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[wire.NetworkHasRunFile] = networkHasRunText(v.status)
	if err := r.Update(ctx, cm); err != nil {
		return fmt.Errorf("add %s to ConfigMap %s: %w", wire.NetworkHasRunFile, cm.Name, err)
	}
	log.FromContext(ctx).Info("the ledger has a block: marked the network as having run (a node with an empty volume will not bootstrap the genesis)",
		"configMap", cm.Name, "height", v.status.Height)
	return nil
}

// networkHasRunText is the marker's content: what a person reading the
// ConfigMap, or a node's log, needs to know.
func networkHasRunText(st *wire.Status) string {
	return fmt.Sprintf("the ledger had reached height %d (block %s) when the operator recorded this; "+
		"a node with an empty data directory never starts a ledger from the genesis while this key exists. "+
		"If every member lost its data, restore a backup into a new LedgerNetwork (spec.bootstrap.fromBackup).\n",
		st.Height, st.BlockHash)
}
