package controllers

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// The race behind a doubled LeaderChanged (a pass reading the network from
// the cache before the previous pass's status patch arrived) cannot be
// staged on demand against the real API server, so the two passes are
// called directly here with the same stale object, and a FakeRecorder
// stands in for the event sink.
func TestALeaderChangeIsAnnouncedOnceEvenWhenTwoPassesReadTheOldStatus(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &LedgerNetworkReconciler{Recorder: rec, Metrics: NewMetrics(prometheus.NewRegistry())}
	stale := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Status.Leader = "customs-0" })
	for _, leader := range []string{"customs-1", "customs-1", "customs-1", "customs-2", "customs-2"} {
		r.recordLedgerStatus(stale.DeepCopy(), &wire.Status{Leader: leader})
	}
	close(rec.Events)
	var got []string
	for e := range rec.Events {
		got = append(got, e)
	}
	want := []string{"Normal LeaderChanged leader changed from customs-0 to customs-1", "Normal LeaderChanged leader changed from customs-1 to customs-2"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestAPodThatIsGoneIsNeverTakenForALiveNode(t *testing.T) {
	running := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "customs-0"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{Name: nodeContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
		if mut != nil {
			mut(p)
		}
		return p
	}
	now := metav1.Now()
	for _, tc := range []struct {
		name  string
		pod   *corev1.Pod
		alive bool
	}{
		{"running", running(nil), true},
		{"absent (deleted, not yet recreated)", nil, false},
		{"being deleted", running(func(p *corev1.Pod) { p.DeletionTimestamp = &now }), false},
		{"recreated, not yet running", running(func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), false},
		{"its node killed, the container restarting", running(func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
		}), false},
	} {
		if got := podAlive(tc.pod); got != tc.alive {
			t.Errorf("%s: alive %v, want %v", tc.name, got, tc.alive)
		}
		if why := podGone(tc.pod); (why == "") != tc.alive {
			t.Errorf("%s: podGone %q", tc.name, why)
		}
	}
}

func TestARestartedPodIsNoRollout(t *testing.T) {
	n := testNetwork()
	for _, tc := range []struct {
		name string
		pods []corev1.Pod
	}{
		{"a pod deleted and not back", []corev1.Pod{pod("customs-0", "new", true), pod("customs-2", "new", true)}},
		{"a pod back but not ready", []corev1.Pod{pod("customs-0", "new", true), pod("customs-1", "new", false), pod("customs-2", "new", true)}},
		{"every pod down", nil},
	} {
		if got := planRollout(n, 3, tc.pods, "new", "customs-0"); got.action != rolloutDone {
			t.Errorf("%s: %+v, want nothing to roll out", tc.name, got)
		}
	}
}

// blackhole accepts connections and never answers, as a pod's old address
// does once the pod is gone (no reset, no reply).
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

type fixedResolver struct{ endpoints []string }

func (f fixedResolver) APIEndpoints(*ledgerv1.LedgerNetwork) []string { return f.endpoints }
func (f fixedResolver) MemberAddrs(*ledgerv1.LedgerNetwork, string) (string, string) {
	return "", ""
}

func TestEveryLedgerCallIsBoundedByItsOwnTimeout(t *testing.T) {
	b, err := netgen.Generate(netgen.Options{Network: "customs", Nodes: []netgen.NodeSpec{{ID: "customs-0", RaftAddr: "x:1", APIAddr: "x:2"}}})
	if err != nil {
		t.Fatal(err)
	}
	// A client that would wait a minute per request on its own.
	d := &ClientDialer{Resolver: fixedResolver{[]string{"https://" + blackhole(t)}}, Timeout: time.Minute, Retry: time.Minute}
	l, err := dialBounded(context.Background(), d, LedgerTarget{Network: testNetwork(), CAPEM: b.CA.CertPEM, AdminKey: b.AdminKey}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tx.BuildSigned("customs", "note.put", map[string]string{"key": "k", "value": "v"}, time.Now(), b.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(ctx context.Context) error{
		"Status":             func(ctx context.Context) error { _, err := l.Status(ctx); return err },
		"AddNonVoter":        func(ctx context.Context) error { return l.AddNonVoter(ctx, "customs-3", "a:1", "a:2") },
		"Promote":            func(ctx context.Context) error { return l.Promote(ctx, "customs-3") },
		"RemoveMember":       func(ctx context.Context) error { return l.RemoveMember(ctx, "customs-3") },
		"TransferLeadership": func(ctx context.Context) error { return l.TransferLeadership(ctx, "") },
		"Submit":             func(ctx context.Context) error { _, err := l.Submit(ctx, st); return err },
		"Identity":           func(ctx context.Context) error { _, err := l.Identity(ctx, "agency/us-cbp"); return err },
		"Receipt":            func(ctx context.Context) error { _, err := l.Receipt(ctx, st.IDHex()); return err },
	}
	for name, call := range calls {
		done := make(chan error, 1)
		// The caller sets no deadline of its own.
		go func() { done <- call(context.Background()) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want the call's deadline exceeded", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not return: a call to a node that does not answer must end at its own bound", name)
		}
	}
}

// staleLedger answers every status query with one fixed view: a follower
// that still names a leader whose pod is gone, a window of an election
// timeout that real nodes on loopback do not hold open on demand.
type staleLedger struct {
	Ledger
	st *wire.Status
}

func (l staleLedger) Status(context.Context) (*wire.Status, error) { return l.st, nil }

type staleDialer struct{ l Ledger }

func (d staleDialer) Dial(context.Context, LedgerTarget) (Ledger, error) { return d.l, nil }

func TestALeaderWhosePodIsGoneIsNotNamedAndTheElectionIsLookedAtAgainWithinASecond(t *testing.T) {
	b, err := netgen.Generate(netgen.Options{Network: "customs", Nodes: []netgen.NodeSpec{{ID: "customs-0", RaftAddr: "x:1", APIAddr: "x:2"}}})
	if err != nil {
		t.Fatal(err)
	}
	view := &wire.Status{Leader: "customs-0", Height: 9, Members: []wire.Member{{ID: "customs-0", Suffrage: "voter", Leader: true}}}
	r := &LedgerNetworkReconciler{Dialer: staleDialer{staleLedger{st: view}}, Recorder: events.NewFakeRecorder(10),
		Metrics: NewMetrics(prometheus.NewRegistry())}
	alive := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "customs-0"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, tc := range []struct {
		name       string
		pods       map[string]*corev1.Pod
		wantLeader string
	}{
		{"its pod runs", map[string]*corev1.Pod{"customs-0": alive}, "customs-0"},
		{"its pod is gone", map[string]*corev1.Pod{}, ""},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Status.Leader = "customs-0" })
		s := &networkScope{net: n, pods: tc.pods}
		if err := r.observeLedger(context.Background(), s, &networkIdentity{CA: b.CA, AdminKey: b.AdminKey}); err != nil {
			t.Fatal(err)
		}
		if n.Status.Leader != tc.wantLeader || (s.view != nil) != (tc.wantLeader != "") {
			t.Errorf("%s: leader %q (ledger view kept: %v), want %q", tc.name, n.Status.Leader, s.view != nil, tc.wantLeader)
		}
		var gone *leaderGoneError
		if tc.wantLeader == "" && !errors.As(s.unanswered, &gone) {
			t.Errorf("%s: status error %v, want the leader's pod named as gone", tc.name, s.unanswered)
		}
		if tc.wantLeader == "" {
			// The pass waits for the election and looks again within a
			// second, not after the usual wait (Intervals.Wait).
			n.Status.HeadHash = "aa" // the network has run
			var we *waitError
			if err := r.requireLedger(context.Background(), s); !errors.As(err, &we) || we.reason != reasonLeaderElection {
				t.Errorf("%s: requireLedger = %v, want a wait for the election (%s)", tc.name, err, reasonLeaderElection)
			}
			v := decide(passOutcome{err: waitFor(reasonLeaderElection, "x")}, s.passNotes, Intervals{Wait: 5 * time.Second, Poll: 30 * time.Second}, 0)
			if v.requeue != leaderElectionRecheck {
				t.Errorf("%s: next look in %v, want %v", tc.name, v.requeue, leaderElectionRecheck)
			}
		}
	}
}

// A ledger that answers with no leader (elections failing: the quorum is
// gone) used to leave status.leader naming the last leader.
func TestALedgerWithNoLeaderClearsTheLeaderInTheStatus(t *testing.T) {
	b, err := netgen.Generate(netgen.Options{Network: "customs", Nodes: []netgen.NodeSpec{{ID: "customs-0", RaftAddr: "x:1", APIAddr: "x:2"}}})
	if err != nil {
		t.Fatal(err)
	}
	view := &wire.Status{Node: "customs-1", Height: 9, Members: []wire.Member{{ID: "customs-0", Suffrage: "voter"}, {ID: "customs-1", Suffrage: "voter"}}}
	r := &LedgerNetworkReconciler{Dialer: staleDialer{staleLedger{st: view}}, Recorder: events.NewFakeRecorder(10),
		Metrics: NewMetrics(prometheus.NewRegistry())}
	n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Status.Leader = "customs-0" })
	s := &networkScope{net: n, pods: map[string]*corev1.Pod{}}
	if err := r.observeLedger(context.Background(), s, &networkIdentity{CA: b.CA, AdminKey: b.AdminKey}); err != nil {
		t.Fatal(err)
	}
	if s.view != nil || s.unanswered == nil || s.unanswered.Error() != "no leader is elected" {
		t.Fatalf("setup: view kept %v, status error %v; want no view and \"no leader is elected\"", s.view != nil, s.unanswered)
	}
	if n.Status.Leader != "" {
		t.Errorf("status.leader %q, want empty: the ledger has no leader", n.Status.Leader)
	}
}
