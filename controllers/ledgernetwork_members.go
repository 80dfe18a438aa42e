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

// memberAction is what the membership phase does next.
type memberAction int

const (
	membersSettled       memberAction = iota // spec.replicas voters and nobody else of the network
	memberAwaitPod                           // a wanted member's pod is not created yet
	memberAdd                                // add a created pod as a non-voter
	memberPromote                            // make a non-voter vote (once it caught up)
	memberHandOff                            // the member to remove leads: move leadership first
	memberRemove                             // remove a member beyond the count
	memberQuorumAtRisk                       // removing it would leave fewer answering voters than a quorum
	memberAwaitPodsGone                      // pods beyond the members still exist
	memberRemoveDataLost                     // remove a member whose node lost its data; the join path adds it back
	memberDataLostAtRisk                     // a member lost its data but removing it would leave no quorum that answers
)

// memberStep is the next step of the membership.
type memberStep struct {
	action memberAction
	member string // the member (pod) it acts on
	// memberQuorumAtRisk, memberDataLostAtRisk: the voters that would
	// remain, and how many of them answer (with their data).
	voters, reachable int32
	// memberAwaitPodsGone: how many pods beyond the count still exist.
	beyond int
}

// planMembership decides the next step towards spec.replicas voters named
// <name>-0 … <name>-(replicas-1), from the leader's view of the members
// and the pods: a new pod joins as a non-voter (lowest ordinal first, once
// its pod exists), a non-voter is promoted, and a member beyond the count
// (highest first) hands on leadership if it leads, then leaves the
// configuration, but only if the voters that remain and answer are a
// quorum; the pods beyond the count go last. One change per pass, each
// observed before the next, so a quorum is never at risk. Members with
// another network's names are left alone.
//
// Before anything else, a member whose node reports that it lost its data
// (its volume was deleted or replaced: it holds its Raft traffic, neither
// votes nor takes entries, ledgernode/node/rejoin.go) is removed, but only
// while the voters that remain and answer with their data are a quorum;
// its pod is then a created pod that is not a member, and joins again as
// a non-voter that catches up and is promoted.
func planMembership(n *ledgerv1.LedgerNetwork, members []wire.Member, pods map[string]*corev1.Pod) memberStep {
	for _, m := range members {
		// Only a voter is removed: a non-voter that reports lost data is
		// one just added back whose report trails (it opens its Raft
		// traffic once it sees that it has no vote, and catches up);
		// removing it again would loop.
		if !m.DataLost || !isVoter(m) || ordinalOf(n, m.ID) < 0 {
			continue
		}
		var voters, answering int32
		for _, o := range members {
			if o.ID != m.ID && isVoter(o) {
				voters++
				if o.Reachable && !o.DataLost {
					answering++
				}
			}
		}
		if answering < quorum(voters) {
			return memberStep{action: memberDataLostAtRisk, member: m.ID, voters: voters, reachable: answering}
		}
		return memberStep{action: memberRemoveDataLost, member: m.ID}
	}
	desired := int(n.Spec.Replicas)
	known := map[string]bool{}
	for _, m := range members {
		known[m.ID] = true
	}
	for i := range desired {
		pod := podName(n, i)
		if known[pod] {
			continue
		}
		if p := pods[pod]; p == nil || !p.DeletionTimestamp.IsZero() {
			return memberStep{action: memberAwaitPod, member: pod}
		}
		return memberStep{action: memberAdd, member: pod}
	}
	for _, m := range members {
		if o := ordinalOf(n, m.ID); o >= 0 && o < desired && !isVoter(m) {
			return memberStep{action: memberPromote, member: m.ID}
		}
	}
	var extra []wire.Member
	for _, m := range members {
		if ordinalOf(n, m.ID) >= desired {
			extra = append(extra, m)
		}
	}
	if len(extra) > 0 {
		m := slices.MaxFunc(extra, func(a, b wire.Member) int { return ordinalOf(n, a.ID) - ordinalOf(n, b.ID) })
		if m.Leader {
			return memberStep{action: memberHandOff, member: m.ID}
		}
		if isVoter(m) {
			var voters, reachable int32
			for _, o := range members {
				if o.ID != m.ID && isVoter(o) {
					voters++
					if o.Reachable {
						reachable++
					}
				}
			}
			if reachable < quorum(voters) {
				return memberStep{action: memberQuorumAtRisk, member: m.ID, voters: voters, reachable: reachable}
			}
		}
		return memberStep{action: memberRemove, member: m.ID}
	}
	beyond := 0
	for name := range pods {
		if ordinalOf(n, name) >= desired {
			beyond++
		}
	}
	if beyond > 0 {
		return memberStep{action: memberAwaitPodsGone, beyond: beyond}
	}
	return memberStep{action: membersSettled}
}

// removalRequest is a member removal the operator asked for: the member,
// and whether it was removed because its node lost its data.
type removalRequest struct {
	member   string
	dataLost bool
}

// reconcileMembership takes the step planMembership says, and once the
// configuration is settled reports on its voters. It changes the
// configuration only on the leader's view of it: a follower's may trail
// the last change (a member just added, even the leader itself, missing
// from it would be added again, announced as joined).
func (r *LedgerNetworkReconciler) reconcileMembership(ctx context.Context, s *networkScope, v *ledgerView) error {
	n, step := s.net, planMembership(s.net, v.status.Members, s.pods)
	pod := step.member
	scaling := func(format string, args ...any) error {
		return waitFor(reasonScaling, "scaling to %d: %s", n.Spec.Replicas, fmt.Sprintf(format, args...))
	}
	leaderView := v.status.Node != "" && v.status.Node == v.status.Leader
	if leaderView {
		r.announceLostRemoval(n, v.status.Members)
	}
	switch step.action {
	case memberAdd, memberPromote, memberHandOff, memberRemove, memberRemoveDataLost:
		if !leaderView {
			return scaling("the leader (%s) did not answer; not changing the members on %s's view of them, which may trail the leader's", v.status.Leader, v.status.Node)
		}
	}
	switch step.action {
	case membersSettled:
		r.reportVoters(s, v.status.Members)
		return nil
	case memberAwaitPod:
		return scaling("waiting for pod %s to be created before it joins", pod)
	case memberAwaitPodsGone:
		return scaling("waiting for %d pods beyond the members to terminate", step.beyond)
	case memberQuorumAtRisk:
		return degraded("QuorumAtRisk", "not removing %s: only %d of the %d remaining voters answer, fewer than a quorum of %d; bring them back first",
			pod, step.reachable, step.voters, quorum(step.voters))
	case memberAdd:
		raftAddr, apiAddr := r.Resolver.MemberAddrs(n, pod)
		if err := r.counted("addMember", v.ledger.AddNonVoter(ctx, pod, raftAddr, apiAddr)); err != nil {
			return fmt.Errorf("add %s as a non-voter: %w", pod, err)
		}
		r.Recorder.Eventf(n, podRef(n, pod), corev1.EventTypeNormal, "MemberJoined", "AddMember",
			"added %s to the Raft configuration as a non-voter; it is promoted once caught up", pod)
		return scaling("%s joined as a non-voter and is catching up", pod)
	case memberPromote:
		err := v.ledger.Promote(ctx, pod)
		if errors.Is(err, ErrMemberBehind) {
			return scaling("%s is catching up before it may vote", pod)
		}
		if err := r.counted("promoteMember", err); err != nil {
			return fmt.Errorf("promote %s: %w", pod, err)
		}
		r.Recorder.Eventf(n, podRef(n, pod), corev1.EventTypeNormal, "MemberPromoted", "PromoteMember", "%s caught up and is now a voter", pod)
		return scaling("promoted %s to voter", pod)
	case memberHandOff:
		if err := r.counted("transferLeadership", v.ledger.TransferLeadership(ctx, "")); err != nil {
			return fmt.Errorf("move leadership away from %s: %w", pod, err)
		}
		r.Recorder.Eventf(n, podRef(n, pod), corev1.EventTypeNormal, "LeadershipTransferred", "TransferLeadership",
			"moved leadership away from %s before removing it", pod)
		return scaling("moved leadership away from %s before removing it", pod)
	case memberDataLostAtRisk:
		return degraded("MemberDataLost", "%s lost its data and must be removed and added back, but only %d of the %d other voters answer with their data, fewer than a quorum of %d; bring them back first (if they are gone for good, see docs/operations.md \"Quorum loss\")",
			pod, step.reachable, step.voters, quorum(step.voters))
	case memberRemoveDataLost:
		req := removalRequest{member: pod, dataLost: true}
		r.removalAsked.swap(n, req, removalRequest{})
		if err := r.counted("removeMember", v.ledger.RemoveMember(ctx, pod)); err != nil {
			return fmt.Errorf("remove %s, which lost its data: %w", pod, err)
		}
		r.removalAsked.swap(n, removalRequest{}, removalRequest{})
		r.announceRemoval(n, req, "")
		return scaling("%s lost its data: removed from the Raft configuration, to be re-added", pod)
	case memberRemove:
		req := removalRequest{member: pod}
		r.removalAsked.swap(n, req, removalRequest{})
		if err := r.counted("removeMember", v.ledger.RemoveMember(ctx, pod)); err != nil {
			return fmt.Errorf("remove %s: %w", pod, err)
		}
		r.removalAsked.swap(n, removalRequest{}, removalRequest{})
		r.announceRemoval(n, req, "")
		return scaling("removed %s from the Raft configuration", pod)
	}
	return fmt.Errorf("membership step %d has no action", step.action)
}

// announceLostRemoval announces a removal this operator asked for whose
// answer it did not get (the call timed out or the connection broke while
// the leader carried it out), once the leader's view no longer lists the
// member: the next pass finds the member gone and takes the next step, so
// without it the removal would go unannounced. A member still listed
// stays asked for: the plan asks again.
func (r *LedgerNetworkReconciler) announceLostRemoval(n *ledgerv1.LedgerNetwork, members []wire.Member) {
	req := r.removalAsked.swap(n, removalRequest{}, removalRequest{})
	if req.member == "" {
		return
	}
	if slices.ContainsFunc(members, func(m wire.Member) bool { return m.ID == req.member }) {
		r.removalAsked.swap(n, req, removalRequest{})
		return
	}
	r.announceRemoval(n, req, " (the answer to the request was lost; the leader's configuration no longer lists it)")
}

// announceRemoval sends the event of a member's removal.
func (r *LedgerNetworkReconciler) announceRemoval(n *ledgerv1.LedgerNetwork, req removalRequest, how string) {
	pod := req.member
	if req.dataLost {
		r.Recorder.Eventf(n, podRef(n, pod), corev1.EventTypeWarning, "MemberDataLost", "RemoveMember",
			"%s lost its data (its volume was deleted or replaced) and did not vote with an empty log: removed it from the Raft configuration while the other voters are a quorum%s; it is re-added as a new member (joins as a non-voter, promoted once caught up)", pod, how)
		return
	}
	r.Recorder.Eventf(n, podRef(n, pod), corev1.EventTypeNormal, "MemberRemoved", "RemoveMember",
		"removed %s from the Raft configuration%s; its pod goes next", pod, how)
}

// reasonClockSkew: a voter's clock is off the others' (Degraded).
const reasonClockSkew = "ClockSkew"

// reportVoters notes how a settled configuration's voters are: one whose
// clock the leader measures beyond the nodes' bound needs a person (its
// host's NTP); one whose pod is gone is restarting (the ledger's error
// would name the address its old pod had); one that does not answer
// although its pod runs needs a person; pods not ready yet are awaited.
func (r *LedgerNetworkReconciler) reportVoters(s *networkScope, members []wire.Member) {
	for _, m := range members {
		if isVoter(m) && m.ClockSkewed && m.ClockOffsetSeconds != nil {
			s.noteDegraded(reasonClockSkew, "the clock of voter %s is %+.0f s off the voters' median, beyond the nodes' --max-clock-offset: "+
				"it cannot lead and refuses to judge transaction times; fix NTP on the host that runs pod %s (docs/operations.md, \"Clocks\")",
				m.ID, *m.ClockOffsetSeconds, m.ID)
		}
		if !isVoter(m) || m.Reachable {
			continue
		}
		if why := podGone(s.pods[m.ID]); why != "" {
			s.noteProgressing(reasonWaitingForPods, "voter %s is restarting: %s", m.ID, why)
		} else {
			s.noteDegraded("MemberUnreachable", "voter %s does not answer: %s", m.ID, m.Error)
		}
	}
	if n := s.net; n.Status.ReadyReplicas < n.Spec.Replicas {
		s.noteProgressing(reasonWaitingForPods, "%d of %d pods ready", n.Status.ReadyReplicas, n.Spec.Replicas)
	}
}

// counted counts one call that changes a ledger's Raft configuration and
// returns its error.
func (r *LedgerNetworkReconciler) counted(op string, err error) error {
	r.Metrics.LedgerCalls.WithLabelValues(op, result(err)).Inc()
	return err
}

// podRef names a member's pod as the object an event relates to: events
// about the same network and reason are told apart by it (events.k8s.io
// folds events with the same regarding, related, reason and action into
// one series).
func podRef(n *ledgerv1.LedgerNetwork, pod string) *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: n.Namespace}}
}
