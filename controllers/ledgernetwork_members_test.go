package controllers

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// voter, nonVoter, leader and silent are members of the leader's view.
func voter(id string) wire.Member { return wire.Member{ID: id, Suffrage: "voter", Reachable: true} }
func nonVoter(id string) wire.Member {
	return wire.Member{ID: id, Suffrage: "nonvoter", Reachable: true}
}
func leader(id string) wire.Member {
	return wire.Member{ID: id, Suffrage: "voter", Reachable: true, Leader: true}
}
func silent(id string) wire.Member { return wire.Member{ID: id, Suffrage: "voter"} }

// lost is a voter whose node answers that it lost its data.
func lost(id string) wire.Member {
	return wire.Member{ID: id, Suffrage: "voter", Reachable: true, DataLost: true}
}

// podsUpTo are the pods customs-0 … customs-(n-1), none being deleted.
func podsUpTo(n int) map[string]*corev1.Pod {
	var names []string
	for i := range n {
		names = append(names, podName(testNetwork(), i))
	}
	return podsNamed(names...)
}

// podsNamed are pods that exist (not being deleted).
func podsNamed(names ...string) map[string]*corev1.Pod {
	out := map[string]*corev1.Pod{}
	for _, name := range names {
		out[name] = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	return out
}

func TestMembershipJoinsPromotesAndRemovesOneStepAtATimeNeverBelowAQuorum(t *testing.T) {
	deleting := podsUpTo(4)
	now := metav1.Now()
	deleting["customs-3"].DeletionTimestamp = &now
	for _, tc := range []struct {
		name     string
		replicas int32
		members  []wire.Member
		pods     map[string]*corev1.Pod
		want     memberStep
	}{
		{"spec.replicas voters: settled", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2")}, podsUpTo(3),
			memberStep{action: membersSettled}},
		{"nobody joins before its pod exists", 4,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2")}, podsUpTo(3),
			memberStep{action: memberAwaitPod, member: "customs-3"}},
		{"nor while its pod is being deleted", 4,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2")}, deleting,
			memberStep{action: memberAwaitPod, member: "customs-3"}},
		{"a created pod joins as a non-voter, lowest ordinal first", 5,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2")}, podsUpTo(5),
			memberStep{action: memberAdd, member: "customs-3"}},
		{"every pod joins before any is promoted", 5,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), nonVoter("customs-3")},
			podsUpTo(5),
			memberStep{action: memberAdd, member: "customs-4"}},
		{"a non-voter within the count is promoted", 4,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), nonVoter("customs-3")},
			podsUpTo(4),
			memberStep{action: memberPromote, member: "customs-3"}},
		{"the highest member beyond the count leaves first", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), voter("customs-3"), voter("customs-4")},
			podsUpTo(5),
			memberStep{action: memberRemove, member: "customs-4"}},
		{"a leader beyond the count hands on leadership before it leaves", 3,
			[]wire.Member{voter("customs-0"), voter("customs-1"), voter("customs-2"), leader("customs-3")},
			podsUpTo(4),
			memberStep{action: memberHandOff, member: "customs-3"}},
		{"a non-voter beyond the count is removed, not promoted", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), nonVoter("customs-3")},
			podsUpTo(4),
			memberStep{action: memberRemove, member: "customs-3"}},
		{"no voter leaves while the remaining voters that answer are no quorum", 3,
			[]wire.Member{leader("customs-0"), silent("customs-1"), silent("customs-2"), voter("customs-3"), voter("customs-4")},
			podsUpTo(5),
			memberStep{action: memberQuorumAtRisk, member: "customs-4", voters: 4, reachable: 2}},
		{"a voter leaves when the remaining answering voters are a quorum", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), silent("customs-2"), voter("customs-3")},
			podsUpTo(4),
			memberStep{action: memberRemove, member: "customs-3"}},
		{"a non-voter leaves whatever the quorum", 3,
			[]wire.Member{leader("customs-0"), silent("customs-1"), silent("customs-2"), nonVoter("customs-3")},
			podsUpTo(4),
			memberStep{action: memberRemove, member: "customs-3"}},
		{"pods beyond the members go before the scaling is done", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2")},
			podsUpTo(5),
			memberStep{action: memberAwaitPodsGone, beyond: 2}},
		{"a member with another network's name is left alone", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), nonVoter("outsider")},
			podsUpTo(3),
			memberStep{action: membersSettled}},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = tc.replicas })
		if got := planMembership(n, tc.members, tc.pods); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// A voter whose clock the leader measures beyond the bound makes the
// network Degraded with reason ClockSkew, naming the pod and its offset;
// one within the bound, or not measured, does not.
func TestAVoterWithASkewedClockDegradesTheNetworkNamingIt(t *testing.T) {
	off, small := 3600.4, 0.2
	skewed := voter("customs-1")
	skewed.ClockOffsetSeconds, skewed.ClockSkewed = &off, true
	fine := voter("customs-2")
	fine.ClockOffsetSeconds = &small
	s := &networkScope{net: testNetwork(), pods: podsUpTo(3)}
	s.net.Status.ReadyReplicas = s.net.Spec.Replicas
	(&LedgerNetworkReconciler{}).reportVoters(s, []wire.Member{leader("customs-0"), skewed, fine})
	if s.degraded == nil || s.degraded.reason != reasonClockSkew {
		t.Fatalf("degraded = %+v, want reason %s", s.degraded, reasonClockSkew)
	}
	for _, want := range []string{"voter customs-1", "+3600 s", "pod customs-1", "NTP"} {
		if !strings.Contains(s.degraded.message, want) {
			t.Errorf("message %q lacks %q", s.degraded.message, want)
		}
	}

	s = &networkScope{net: testNetwork(), pods: podsUpTo(3)}
	s.net.Status.ReadyReplicas = s.net.Spec.Replicas
	(&LedgerNetworkReconciler{}).reportVoters(s, []wire.Member{leader("customs-0"), voter("customs-1"), fine})
	if s.degraded != nil {
		t.Fatalf("clocks within the bound degraded the network: %+v", s.degraded)
	}
}

func TestMembershipRemovesAMemberThatLostItsDataOnlyWhileAQuorumRemainsAndTheJoinPathAddsItBack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replicas int32
		members  []wire.Member
		pods     map[string]*corev1.Pod
		want     memberStep
	}{
		{"a voter that lost its data is removed while the others are a quorum", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), lost("customs-2")}, podsUpTo(3),
			memberStep{action: memberRemoveDataLost, member: "customs-2"}},
		{"its removal comes before any other step (a pod to add, a non-voter to promote)", 5,
			[]wire.Member{leader("customs-0"), lost("customs-1"), voter("customs-2"), nonVoter("customs-3")}, podsUpTo(5),
			memberStep{action: memberRemoveDataLost, member: "customs-1"}},
		{"once removed, its pod joins again as a non-voter", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1")}, podsUpTo(3),
			memberStep{action: memberAdd, member: "customs-2"}},
		{"and is promoted once caught up", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), nonVoter("customs-2")}, podsUpTo(3),
			memberStep{action: memberPromote, member: "customs-2"}},
		{"not removed when the others that answer with their data are no quorum", 5,
			[]wire.Member{leader("customs-0"), voter("customs-1"), silent("customs-2"), lost("customs-3"), lost("customs-4")}, podsUpTo(5),
			memberStep{action: memberDataLostAtRisk, member: "customs-3", voters: 4, reachable: 2}},
		{"of five voters two that lost their data go one at a time", 5,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), lost("customs-3"), lost("customs-4")}, podsUpTo(5),
			memberStep{action: memberRemoveDataLost, member: "customs-3"}},
		{"the second goes once the first is out", 5,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), lost("customs-4")}, podsUpTo(5),
			memberStep{action: memberRemoveDataLost, member: "customs-4"}},
		{"a member of another network that lost its data is left alone", 3,
			[]wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), func() wire.Member { m := lost("outsider"); m.Suffrage = "nonvoter"; return m }()},
			podsUpTo(3), memberStep{action: membersSettled}},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = tc.replicas })
		if got := planMembership(n, tc.members, tc.pods); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
