package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// reconcileMembership moves the Raft configuration one step towards
// spec.replicas voters named <name>-0 … <name>-(replicas-1): a new pod
// joins as a non-voter, is promoted once caught up, and a member beyond
// the count leaves the configuration (after handing on leadership) before
// the StatefulSet lets its pod go. One change per pass, each observed
// before the next, so a quorum is never at risk.
func (r *LedgerNetworkReconciler) reconcileMembership(ctx context.Context, s *networkScope, v *ledgerView) error {
	n, st := s.net, v.status
	members := map[string]wire.Member{}
	for _, m := range st.Members {
		members[m.ID] = m
	}
	desired := int(n.Spec.Replicas)

	for i := 0; i < desired; i++ {
		pod := podName(n, i)
		if _, ok := members[pod]; ok {
			continue
		}
		if p := s.pods[pod]; p == nil || !p.DeletionTimestamp.IsZero() {
			return waitFor(reasonScaling, "scaling to %d: waiting for pod %s to be created before it joins", desired, pod)
		}
		raftAddr, apiAddr := r.Resolver.MemberAddrs(n, pod)
		err := v.ledger.AddNonVoter(ctx, pod, raftAddr, apiAddr)
		r.Metrics.LedgerCalls.WithLabelValues("addMember", result(err)).Inc()
		if err != nil {
			return fmt.Errorf("add %s as a non-voter: %w", pod, err)
		}
		r.Recorder.Eventf(n, podRef(n, pod), corev1.EventTypeNormal, "MemberJoined", "AddMember",
			"added %s to the Raft configuration as a non-voter; it is promoted once caught up", pod)
		return waitFor(reasonScaling, "scaling to %d: %s joined as a non-voter and is catching up", desired, pod)
	}

	for _, m := range st.Members {
		if o := ordinalOf(n, m.ID); o < 0 || o >= desired || isVoter(m) {
			continue
		}
		err := v.ledger.Promote(ctx, m.ID)
		if errors.Is(err, ErrMemberBehind) {
			return waitFor(reasonScaling, "scaling to %d: %s is catching up before it may vote", desired, m.ID)
		}
		r.Metrics.LedgerCalls.WithLabelValues("promoteMember", result(err)).Inc()
		if err != nil {
			return fmt.Errorf("promote %s: %w", m.ID, err)
		}
		r.Recorder.Eventf(n, podRef(n, m.ID), corev1.EventTypeNormal, "MemberPromoted", "PromoteMember", "%s caught up and is now a voter", m.ID)
		return waitFor(reasonScaling, "scaling to %d: promoted %s to voter", desired, m.ID)
	}

	var extra []wire.Member
	for _, m := range st.Members {
		if ordinalOf(n, m.ID) >= desired {
			extra = append(extra, m)
		}
	}
	if len(extra) > 0 {
		slices.SortFunc(extra, func(a, b wire.Member) int { return ordinalOf(n, b.ID) - ordinalOf(n, a.ID) })
		m := extra[0]
		if m.Leader {
			err := v.ledger.TransferLeadership(ctx, "")
			r.Metrics.LedgerCalls.WithLabelValues("transferLeadership", result(err)).Inc()
			if err != nil {
				return fmt.Errorf("move leadership away from %s: %w", m.ID, err)
			}
			r.Recorder.Eventf(n, podRef(n, m.ID), corev1.EventTypeNormal, "LeadershipTransferred", "TransferLeadership",
				"moved leadership away from %s before removing it", m.ID)
			return waitFor(reasonScaling, "scaling to %d: moved leadership away from %s before removing it", desired, m.ID)
		}
		if isVoter(m) {
			var voters, reachable int32
			for _, o := range st.Members {
				if o.ID != m.ID && isVoter(o) {
					voters++
					if o.Reachable {
						reachable++
					}
				}
			}
			if reachable < quorum(voters) {
				return degraded("QuorumAtRisk", "not removing %s: only %d of the %d remaining voters answer, fewer than a quorum of %d; bring them back first",
					m.ID, reachable, voters, quorum(voters))
			}
		}
		err := v.ledger.RemoveMember(ctx, m.ID)
		r.Metrics.LedgerCalls.WithLabelValues("removeMember", result(err)).Inc()
		if err != nil {
			return fmt.Errorf("remove %s: %w", m.ID, err)
		}
		r.Recorder.Eventf(n, podRef(n, m.ID), corev1.EventTypeNormal, "MemberRemoved", "RemoveMember",
			"removed %s from the Raft configuration; its pod goes next", m.ID)
		return waitFor(reasonScaling, "scaling to %d: removed %s from the Raft configuration", desired, m.ID)
	}

	if beyond := podsBeyond(s, desired); beyond > 0 {
		return waitFor(reasonScaling, "scaling to %d: waiting for %d pods beyond the members to terminate", desired, beyond)
	}
	for _, m := range st.Members {
		if !isVoter(m) || m.Reachable {
			continue
		}
		// A member whose pod is gone is restarting: the ledger's error
		// would name the address its old pod had.
		if why := podGone(s.pods[m.ID]); why != "" {
			s.noteProgressing(reasonWaitingForPods, "voter %s is restarting: %s", m.ID, why)
		} else {
			s.noteDegraded("MemberUnreachable", "voter %s does not answer: %s", m.ID, m.Error)
		}
	}
	if n.Status.ReadyReplicas < int32(desired) {
		s.noteProgressing(reasonWaitingForPods, "%d of %d pods ready", n.Status.ReadyReplicas, desired)
	}
	return nil
}

// podRef names a member's pod as the object an event relates to: events
// about the same network and reason are told apart by it (events.k8s.io
// folds events with the same regarding, related, reason and action into
// one series).
func podRef(n *ledgerv1.LedgerNetwork, pod string) *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: n.Namespace}}
}

// podsBeyond counts the pods with an ordinal at or beyond desired.
func podsBeyond(s *networkScope, desired int) int {
	c := 0
	for name := range s.pods {
		if ordinalOf(s.net, name) >= desired {
			c++
		}
	}
	return c
}
