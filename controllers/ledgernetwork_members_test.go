package controllers

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

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

// memberLedger records the membership calls a pass makes and answers
// RemoveMember with removeErr. The two situations below (a follower's view
// that trails the leader's; a removal carried out whose answer is lost)
// last a moment on real nodes and cannot be held open on demand, so the
// passes are called directly with the views they would read.
type memberLedger struct {
	Ledger
	calls     []string
	removeErr error
}

func (l *memberLedger) AddNonVoter(_ context.Context, id, _, _ string) error {
	l.calls = append(l.calls, "add "+id)
	return nil
}
func (l *memberLedger) Promote(_ context.Context, id string) error {
	l.calls = append(l.calls, "promote "+id)
	return nil
}
func (l *memberLedger) RemoveMember(_ context.Context, id string) error {
	l.calls = append(l.calls, "remove "+id)
	return l.removeErr
}
func (l *memberLedger) TransferLeadership(_ context.Context, id string) error {
	l.calls = append(l.calls, "transfer "+id)
	return nil
}

func drainEvents(rec *events.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

type fixedAddrs struct{ Resolver }

func (fixedAddrs) MemberAddrs(_ *ledgerv1.LedgerNetwork, pod string) (string, string) {
	return pod + ":7000", pod + ":8443"
}

// A follower's view of the members may trail the leader's: one that does
// not list the leader yet (it was added and took over a moment ago) would
// have the leader "added" as a non-voter, announced as joined. The pass
// changes nothing on it; on the leader's own view it acts.
func TestMembershipIsChangedOnlyOnTheLeadersView(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &LedgerNetworkReconciler{Recorder: rec, Metrics: NewMetrics(prometheus.NewRegistry()), Resolver: fixedAddrs{}}
	l := &memberLedger{}
	n := testNetwork()
	// customs-1's view: it has not applied the change that added customs-0.
	follower := &wire.Status{Node: "customs-1", Leader: "customs-0", LeaderAPI: "customs-0:8443",
		Members: []wire.Member{voter("customs-1"), voter("customs-2")}}
	if got := planMembership(n, follower.Members, podsUpTo(3)); got.action != memberAdd || got.member != "customs-0" {
		t.Fatalf("setup: the plan on the follower's view is %+v, want to add the leader customs-0", got)
	}
	err := r.reconcileMembership(context.Background(), &networkScope{net: n, pods: podsUpTo(3)}, &ledgerView{ledger: l, status: follower})
	var we *waitError
	if !errors.As(err, &we) || we.reason != reasonScaling || !strings.Contains(err.Error(), "leader (customs-0) did not answer") {
		t.Fatalf("pass on a follower's view: %v, want a wait naming the unanswering leader", err)
	}
	if len(l.calls) != 0 || len(drainEvents(rec)) != 0 {
		t.Fatalf("pass on a follower's view called %v and sent events", l.calls)
	}

	// The leader's own view, where customs-3 still has to join: it joins.
	lv := &wire.Status{Node: "customs-0", Leader: "customs-0",
		Members: []wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2")}}
	n.Spec.Replicas = 4
	if err := r.reconcileMembership(context.Background(), &networkScope{net: n, pods: podsUpTo(4)}, &ledgerView{ledger: l, status: lv}); !errors.As(err, &we) {
		t.Fatalf("pass on the leader's view: %v, want a wait while customs-3 catches up", err)
	}
	if !slices.Equal(l.calls, []string{"add customs-3"}) {
		t.Fatalf("pass on the leader's view called %v, want customs-3 added", l.calls)
	}
	if ev := drainEvents(rec); len(ev) != 1 || !strings.Contains(ev[0], "MemberJoined") || !strings.Contains(ev[0], "customs-3") {
		t.Fatalf("events %v, want one MemberJoined for customs-3", ev)
	}
}

// A removal the leader carried out but whose answer the operator did not
// get (its call timed out) is announced when a later pass finds the member
// gone from the leader's view, once; a removal that did not happen is not.
func TestARemovalWhoseAnswerWasLostIsAnnouncedOnceTheMemberIsGone(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &LedgerNetworkReconciler{Recorder: rec, Metrics: NewMetrics(prometheus.NewRegistry())}
	l := &memberLedger{removeErr: context.DeadlineExceeded}
	n := testNetwork()
	five := &wire.Status{Node: "customs-0", Leader: "customs-0",
		Members: []wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2"), voter("customs-3")}}
	pass := func(st *wire.Status) error {
		return r.reconcileMembership(context.Background(), &networkScope{net: n, pods: podsUpTo(4)}, &ledgerView{ledger: l, status: st})
	}
	if err := pass(five); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("removal pass: %v, want the call's timeout", err)
	}
	if !slices.Equal(l.calls, []string{"remove customs-3"}) || len(drainEvents(rec)) != 0 {
		t.Fatalf("setup: the pass called %v; no event may be sent for an unanswered removal", l.calls)
	}
	// Still listed: not removed, nothing announced; the plan asks again.
	l.calls = nil
	_ = pass(five)
	if !slices.Equal(l.calls, []string{"remove customs-3"}) || len(drainEvents(rec)) != 0 {
		t.Fatalf("member still listed: called %v, sent events; want it asked again and nothing announced", l.calls)
	}
	// The leader carried it out: the next pass finds it gone and waits for
	// its pod; the removal is announced then, and only once.
	l.calls = nil
	gone := &wire.Status{Node: "customs-0", Leader: "customs-0",
		Members: []wire.Member{leader("customs-0"), voter("customs-1"), voter("customs-2")}}
	for i := range 2 {
		var we *waitError
		if err := pass(gone); !errors.As(err, &we) || !strings.Contains(err.Error(), "pods beyond the members") {
			t.Fatalf("pass %d after the removal: %v, want a wait for the pod beyond the members", i, err)
		}
		ev := drainEvents(rec)
		want := 0
		if i == 0 {
			want = 1
		}
		if len(ev) != want || (want == 1 && (!strings.Contains(ev[0], "MemberRemoved") || !strings.Contains(ev[0], "customs-3"))) {
			t.Fatalf("pass %d after the removal: events %v, want %d MemberRemoved for customs-3", i, ev, want)
		}
	}
	if len(l.calls) != 0 {
		t.Fatalf("passes after the removal called %v", l.calls)
	}
}
