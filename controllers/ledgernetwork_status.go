package controllers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tradeledger/tradeledger/ledgernode/api"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// ledgerCallTimeout bounds one call to a ledger inside a reconcile.
const ledgerCallTimeout = 15 * time.Second

// observeLedger asks the ledger for its view (leader, height, members) and
// records it in the status. An unreachable ledger is not an error of this
// phase: the StatefulSet phase decides whether that means "still
// starting" or "degraded".
func (r *LedgerNetworkReconciler) observeLedger(ctx context.Context, s *networkScope) error {
	n := s.net
	l, err := r.Dialer.Dial(ctx, LedgerTarget{Network: n, CAPEM: s.identity.CA.CertPEM, AdminKey: s.identity.AdminKey})
	if err != nil {
		s.statusErr = err
		return nil
	}
	s.ledger = l
	cctx, cancel := context.WithTimeout(ctx, ledgerCallTimeout)
	defer cancel()
	st, err := l.Status(cctx)
	if err != nil {
		s.statusErr = err
		return nil
	}
	if st.Leader == "" {
		s.statusErr = errors.New("no leader is elected")
		return nil
	}
	s.status = st
	r.recordLedgerStatus(n, st)
	return nil
}

// recordLedgerStatus copies the ledger's view into the status, with an
// event when the leader changed.
func (r *LedgerNetworkReconciler) recordLedgerStatus(n *ledgerv1.LedgerNetwork, st *api.Status) {
	if old := n.Status.Leader; old != "" && old != st.Leader {
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "LeaderChanged", "ObserveLedger", "leader changed from %s to %s", old, st.Leader)
	}
	n.Status.Leader = st.Leader
	n.Status.Height = int64(st.Height)
	n.Status.HeadHash = st.BlockHash
	members := make([]ledgerv1.MemberStatus, 0, len(st.Members))
	var voters int32
	for _, m := range st.Members {
		role := ledgerv1.RoleNonVoter
		if m.Suffrage == "voter" {
			role = ledgerv1.RoleVoter
			voters++
		}
		members = append(members, ledgerv1.MemberStatus{Name: m.ID, Role: role, Leader: m.Leader, Reachable: m.Reachable,
			AppliedIndex: int64(m.AppliedIndex)})
	}
	slices.SortFunc(members, func(a, b ledgerv1.MemberStatus) int {
		if oa, ob := ordinalOf(n, a.Name), ordinalOf(n, b.Name); oa != ob {
			return oa - ob
		}
		return strings.Compare(a.Name, b.Name)
	})
	n.Status.Members = members
	n.Status.Replicas = voters
	r.Metrics.NetworkHeight.WithLabelValues(n.Namespace, n.Name).Set(float64(st.Height))
	r.Metrics.NetworkVoters.WithLabelValues(n.Namespace, n.Name).Set(float64(voters))
}

// isVoter says whether a member votes.
func isVoter(m api.Member) bool { return m.Suffrage == "voter" }
