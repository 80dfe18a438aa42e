package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// observeLedger asks the ledger for its view (leader, height, members) and
// records it in the status. An unreachable ledger is not an error of this
// phase: it records why (unanswered), and the ledger-answers phase decides
// whether that means "still starting" or "degraded", after the StatefulSet
// phase has made sure the pods are asked for.
func (r *LedgerNetworkReconciler) observeLedger(ctx context.Context, s *networkScope, id *networkIdentity) error {
	n := s.net
	l, err := dialBounded(ctx, r.Dialer, id.target(n), r.Intervals.LedgerCall)
	if err != nil {
		s.unanswered = err
		return nil
	}
	st, err := l.Status(ctx)
	if err != nil {
		s.unanswered = err
		return nil
	}
	if st.Leader == "" {
		// The last leader's name would read as a leader there is not.
		n.Status.Leader = ""
		s.unanswered = errors.New("no leader is elected")
		return nil
	}
	// A follower names the old leader until its election timeout passes:
	// a leader whose pod is gone is not named (nor acted on).
	if why := podGone(s.pods[st.Leader]); why != "" {
		s.unanswered = &leaderGoneError{pod: st.Leader, why: why}
		n.Status.Leader = ""
		return nil
	}
	s.view = &ledgerView{ledger: l, status: st}
	r.recordLedgerStatus(n, st)
	return nil
}

// leaderGoneError: the ledger still names a leader whose pod is gone.
type leaderGoneError struct{ pod, why string }

func (e *leaderGoneError) Error() string {
	return fmt.Sprintf("the ledger still names %s as its leader, but %s", e.pod, e.why)
}

// recordLedgerStatus copies the ledger's view into the status, with one
// event per change of leader.
func (r *LedgerNetworkReconciler) recordLedgerStatus(n *ledgerv1.LedgerNetwork, st *wire.Status) {
	if old := r.leaders.swap(n, st.Leader, n.Status.Leader); old != "" && old != st.Leader {
		r.Recorder.Eventf(n, podRef(n, st.Leader), corev1.EventTypeNormal, "LeaderChanged", "ObserveLedger", "leader changed from %s to %s", old, st.Leader)
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
func isVoter(m wire.Member) bool { return m.Suffrage == "voter" }

// announced remembers per network the value last announced (its leader,
// whether its quorum was announced lost). The status alone cannot say it:
// a pass that reads the network from the cache before the previous pass's
// status patch arrived would see the old value again and announce the same
// change twice.
type announced[T comparable] struct {
	mu sync.Mutex
	m  map[types.NamespacedName]T
}

// swap records v as announced for n and returns the value announced
// before, or def if this operator has announced none yet.
func (a *announced[T]) swap(n *ledgerv1.LedgerNetwork, v, def T) T {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := types.NamespacedName{Namespace: n.Namespace, Name: n.Name}
	old, ok := a.m[k]
	if !ok {
		old = def
	}
	if a.m == nil {
		a.m = map[types.NamespacedName]T{}
	}
	a.m[k] = v
	return old
}

// forget drops a deleted network.
func (a *announced[T]) forget(namespace, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, types.NamespacedName{Namespace: namespace, Name: name})
}
