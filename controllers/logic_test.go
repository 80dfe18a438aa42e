package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

func TestOrdinalOfAcceptsOnlyThisNetworksPods(t *testing.T) {
	n := testNetwork()
	for pod, want := range map[string]int{
		"customs-0": 0, "customs-12": 12, "customs-x-0": -1, "customs-": -1, "customs-01": -1, "other-1": -1, "customs--1": -1,
	} {
		if got := ordinalOf(n, pod); got != want {
			t.Errorf("ordinalOf(%q) = %d, want %d", pod, got, want)
		}
	}
}

func TestStatefulSetNeverShrinksBeforeItsMembersLeave(t *testing.T) {
	members := func(ids ...string) *wire.Status {
		st := &wire.Status{Leader: "customs-0"}
		for _, id := range ids {
			st.Members = append(st.Members, wire.Member{ID: id, Suffrage: "voter"})
		}
		return st
	}
	current := func(r int32) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(r)}}
	}
	for _, tc := range []struct {
		name   string
		spec   int32
		sts    *appsv1.StatefulSet
		status *wire.Status
		want   int32
	}{
		{"new network", 3, nil, nil, 3},
		{"scale up", 5, current(3), members("customs-0", "customs-1", "customs-2"), 5},
		{"scale down, members still in", 3, current(5), members("customs-0", "customs-1", "customs-2", "customs-3", "customs-4"), 5},
		{"scale down, one member out", 3, current(5), members("customs-0", "customs-1", "customs-2", "customs-3"), 4},
		{"scale down done", 3, current(4), members("customs-0", "customs-1", "customs-2"), 3},
		{"ledger unreachable: keep what runs", 3, current(5), nil, 5},
		{"foreign members do not count", 3, current(3), members("customs-0", "customs-1", "customs-2", "outsider"), 3},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Replicas = tc.spec })
		if got := statefulSetReplicas(n, tc.sts, tc.status); got != tc.want {
			t.Errorf("%s: %d replicas, want %d", tc.name, got, tc.want)
		}
	}
}

func pod(name, revision string, ready bool) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{appsv1.ControllerRevisionHashLabelKey: revision}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
}

func TestRolloutRestartsFollowersFirstAndTheLeaderLastAfterHandingOn(t *testing.T) {
	n := testNetwork()
	for _, tc := range []struct {
		name   string
		pods   []corev1.Pod
		leader string
		want   rolloutStep
	}{
		{"all updated", []corev1.Pod{pod("customs-0", "new", true), pod("customs-1", "new", true), pod("customs-2", "new", true)}, "customs-0",
			rolloutStep{action: rolloutDone}},
		{"highest follower first", []corev1.Pod{pod("customs-0", "old", true), pod("customs-1", "old", true), pod("customs-2", "old", true)}, "customs-2",
			rolloutStep{action: rolloutRestart, pod: "customs-1", stale: 3}},
		{"one pod at a time", []corev1.Pod{pod("customs-0", "old", true), pod("customs-1", "old", true), pod("customs-2", "new", false)}, "customs-0",
			rolloutStep{action: rolloutWait, pod: "customs-2"}},
		{"a deleted pod must come back first", []corev1.Pod{pod("customs-0", "old", true), pod("customs-2", "new", true)}, "customs-0",
			rolloutStep{action: rolloutWait, pod: "customs-1"}},
		{"the leader last, handing on to an updated pod", []corev1.Pod{pod("customs-0", "new", true), pod("customs-1", "old", true), pod("customs-2", "new", true)}, "customs-1",
			rolloutStep{action: rolloutTransfer, pod: "customs-1", target: "customs-0", stale: 1}},
		{"leader moved away: restart it", []corev1.Pod{pod("customs-0", "new", true), pod("customs-1", "old", true), pod("customs-2", "new", true)}, "customs-0",
			rolloutStep{action: rolloutRestart, pod: "customs-1", stale: 1}},
	} {
		if got := planRollout(n, 3, tc.pods, "new", tc.leader); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	one := planRollout(testNetwork(), 1, []corev1.Pod{pod("customs-0", "old", true)}, "new", "customs-0")
	if one.action != rolloutWait {
		t.Errorf("a single node has nobody to hand leadership to: the plan must not transfer, got %+v", one)
	}
}

func TestRotationIsDueOnANewRequestOrWhenTheScheduleSaysSo(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { m := metav1.NewTime(t0.Add(d)); return &m }
	day := 24 * time.Hour
	for _, tc := range []struct {
		name      string
		rot       *ledgerv1.KeyRotation
		since     *metav1.Time
		handled   *metav1.Time
		now       time.Time
		want      bool
		wantWhy   string
		wantNextD time.Duration
	}{
		{"no rotation configured", nil, at(0), nil, t0.Add(1000 * day), false, "", -1},
		{"request not yet honoured", &ledgerv1.KeyRotation{RequestedAt: at(day)}, at(0), nil, t0.Add(day), true, "requested at", -1},
		{"request honoured already", &ledgerv1.KeyRotation{RequestedAt: at(day)}, at(day), at(day), t0.Add(2 * day), false, "", -1},
		{"request in the future waits", &ledgerv1.KeyRotation{RequestedAt: at(3 * day)}, at(0), nil, t0.Add(day), false, "", -1},
		{"newer request", &ledgerv1.KeyRotation{RequestedAt: at(5 * day)}, at(day), at(day), t0.Add(5 * day), true, "requested at", -1},
		{"schedule not reached", &ledgerv1.KeyRotation{Every: &metav1.Duration{Duration: 90 * day}}, at(0), nil, t0.Add(89 * day), false, "", 90 * day},
		{"schedule reached", &ledgerv1.KeyRotation{Every: &metav1.Duration{Duration: 90 * day}}, at(0), nil, t0.Add(90 * day), true, "scheduled every", 90 * day},
	} {
		am := &ledgerv1.AgencyMember{Spec: ledgerv1.AgencyMemberSpec{KeyRotation: tc.rot},
			Status: ledgerv1.AgencyMemberStatus{ActiveKeySince: tc.since, HandledRotationRequest: tc.handled}}
		due, why := rotationDue(am, tc.now)
		if due != tc.want || !strings.HasPrefix(why, tc.wantWhy) {
			t.Errorf("%s: due %v (%q), want %v (%q...)", tc.name, due, why, tc.want, tc.wantWhy)
		}
		next := nextRotation(am)
		if (tc.wantNextD < 0) != (next == nil) || (next != nil && !next.Time.Equal(tc.since.Add(tc.wantNextD))) {
			t.Errorf("%s: next rotation %v", tc.name, next)
		}
	}
}

func TestActiveKeyIsTheOperatorsKeyElseTheNewestUnretiredOne(t *testing.T) {
	resp := identityWith(
		keyAt("k2", "2026-02-01T00:00:00.000000Z", "", ""),
		keyAt("k1", "2026-01-01T00:00:00.000000Z", "2026-02-01T00:00:00.000000Z", ""),
		keyAt("k3", "2026-03-01T00:00:00.000000Z", "", "2026-03-02T00:00:00.000000Z"),
	)
	history, active := keyStatuses(resp, "")
	if len(history) != 3 || history[0].KeyID != "k1" || history[2].KeyID != "k3" {
		t.Errorf("history not oldest first: %+v", history)
	}
	if active == nil || active.KeyID != "k2" {
		t.Errorf("active %+v, want k2 (k1 retired, k3 revoked)", active)
	}
	if _, active := keyStatuses(resp, "k1"); active == nil || active.KeyID != "k1" {
		t.Errorf("with the operator holding k1, active %+v", active)
	}
}

func TestMemberNamespacesAreAdmittedOnlyThroughTheSelector(t *testing.T) {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"ledger.tradeledger.io/member-of": "customs"}}
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	for _, tc := range []struct {
		name     string
		selector *metav1.LabelSelector
		ns       *corev1.Namespace
		want     bool
		why      string
	}{
		{"own namespace, no selector", nil, ns("trade", nil), true, ""},
		{"other namespace, no selector", nil, ns("cbp", nil), false, "which is not set"},
		{"other namespace, not selected", sel, ns("cbp", map[string]string{"team": "cbp"}), false, "does not match"},
		{"other namespace, selected", sel, ns("cbp", map[string]string{"ledger.tradeledger.io/member-of": "customs"}), true, ""},
		{"bad selector", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}, ns("cbp", nil), false, "invalid"},
	} {
		n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.MemberNamespaceSelector = tc.selector })
		ok, why := memberNamespaceAllowed(n, tc.ns)
		if ok != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("%s: allowed %v (%q)", tc.name, ok, why)
		}
	}
}

func TestReadySummarisesDegradedProgressingAndTheKindsOwnConditions(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		degraded, progressing bool
		compiled              *bool
		wantReady             metav1.ConditionStatus
		wantReason            string
	}{
		{"all well", false, false, ptr.To(true), metav1.ConditionTrue, "Ready"},
		{"degraded wins", true, true, ptr.To(false), metav1.ConditionFalse, "Broken"},
		{"progressing next", false, true, ptr.To(false), metav1.ConditionFalse, "Moving"},
		{"own condition false", false, false, ptr.To(false), metav1.ConditionFalse, "CompileFailed"},
		{"own condition unknown", false, false, nil, metav1.ConditionFalse, "Unknown"},
	} {
		var list []metav1.Condition
		c := conditions{list: &list, generation: 7}
		c.set(ledgerv1.ConditionDegraded, boolStatus(tc.degraded), "Broken", "x")
		c.set(ledgerv1.ConditionProgressing, boolStatus(tc.progressing), "Moving", "y")
		if tc.compiled != nil {
			c.set(ledgerv1.ConditionCompiled, boolStatus(*tc.compiled), "CompileFailed", "z")
		}
		c.summarize("fine", ledgerv1.ConditionCompiled)
		r := c.get(ledgerv1.ConditionReady)
		if r.Status != tc.wantReady || r.Reason != tc.wantReason {
			t.Errorf("%s: Ready %s/%s, want %s/%s", tc.name, r.Status, r.Reason, tc.wantReady, tc.wantReason)
		}
		for _, cond := range list {
			if cond.ObservedGeneration != 7 {
				t.Errorf("%s: %s carries generation %d", tc.name, cond.Type, cond.ObservedGeneration)
			}
		}
	}
}

func boolStatus(b bool) metav1.ConditionStatus {
	if b {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}

func TestCompileErrorsNameRuleLineAndColumn(t *testing.T) {
	cp := &ledgerv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: ledgerv1.CertificatePolicySpec{
		Enforcement: ledgerv1.EnforcementAudit,
		Rules: []ledgerv1.PolicyRule{
			{Name: "fine", Expression: "doc.a == 1"},
			{Name: "broken", Expression: "doc.a ==\n  (1"},
			{Name: "also-broken", Expression: "doc.)"},
		}}}
	errs := EngineCompiler{}.Compile(buildPolicyDocument(cp, "us-cbp"))
	if len(errs) < 2 {
		t.Fatalf("errors %+v", errs)
	}
	if e := errs[0]; e.Rule != "broken" || e.Line != 2 || e.Column < 1 {
		t.Errorf("first error %+v, want rule broken on line 2", e)
	}
	if e := errs[len(errs)-1]; e.Rule != "also-broken" || e.Line != 1 || e.Column != 5 {
		t.Errorf("last error %+v, want rule also-broken line 1 column 5", e)
	}
	if msg := describeCompileErrors(errs[:1]); !strings.HasPrefix(msg, "rule broken line 2 column") {
		t.Errorf("description %q", msg)
	}
}

func TestRecordHashIgnoresProgramOrderButNotPrograms(t *testing.T) {
	a := &ledgerv1.AgencyMember{Spec: ledgerv1.AgencyMemberSpec{AgencyID: "us-cbp", DisplayName: "CBP", Programs: []string{"USMCA", "CAFTA-DR"}}}
	b := a.DeepCopy()
	b.Spec.Programs = []string{"CAFTA-DR", "USMCA"}
	c := a.DeepCopy()
	c.Spec.Programs = append(c.Spec.Programs, "NAFTA")
	if recordHash(a) != recordHash(b) || recordHash(a) == recordHash(c) {
		t.Errorf("hashes %s %s %s", recordHash(a), recordHash(b), recordHash(c))
	}
	if len(a.Spec.Programs) != 2 || a.Spec.Programs[0] != "USMCA" {
		t.Errorf("recordHash changed the spec: %v", a.Spec.Programs)
	}
	d := a.DeepCopy()
	d.Spec.Roles = []string{"customs"}
	if recordHash(a) == recordHash(d) {
		t.Errorf("giving the agency the customs role does not change the hash: it would never reach the ledger")
	}
}

func TestPolicyDocumentCarriesTheSpecAndTheAgencyID(t *testing.T) {
	cp := &ledgerv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "us-cbp-usmca"}, Spec: ledgerv1.CertificatePolicySpec{
		Enforcement: ledgerv1.EnforcementEnforce, Scope: ledgerv1.PolicyScope{Programs: []string{"USMCA"}, HSPrefixes: []string{"03"}},
		Rules: []ledgerv1.PolicyRule{{Name: "r", Expression: "true", Message: "m"}}}}
	d := buildPolicyDocument(cp, "us-cbp")
	if d.ID != "us-cbp-usmca" || d.Agency != "us-cbp" || d.Enforcement != "Enforce" || d.Scope.HSPrefixes[0] != "03" || d.Rules[0].Message != "m" {
		t.Errorf("document %+v", d)
	}
}

func identityWith(keys ...*wire.Key) *wire.IdentityResponse {
	return &wire.IdentityResponse{Keys: keys}
}

func keyAt(id, from, retired, revoked string) *wire.Key {
	return &wire.Key{KeyID: id, Fingerprint: "fp-" + id, ValidFrom: from, RetiredAt: retired, RevokedAt: revoked}
}

func TestAPassEndsByWaitingConflictDegradationOrRetry(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "x"}, "x", errors.New("changed"))
	iv := Intervals{Wait: time.Second, Poll: time.Minute}
	for _, tc := range []struct {
		name          string
		err           error
		ok, degraded  bool
		retry         bool
		waiting       bool
		requeue       time.Duration
		ranAfterwards bool
	}{
		{"every phase ran", nil, true, false, false, false, 0, true},
		{"waiting on something outside", waitFor("Pods", "waiting"), true, false, false, true, time.Second, false},
		{"nothing left to do", errPassComplete, true, false, false, false, 0, false},
		{"someone wrote first", conflict, false, false, false, false, time.Second, false},
		{"a person must act", degraded("Bad", "fix it"), false, true, false, false, time.Minute, false},
		{"transient failure", errors.New("boom"), false, true, true, false, 0, false},
	} {
		ranAfterwards := false
		o := runPhases(context.Background(), &ranAfterwards, []phase[*bool]{
			{"first", func(context.Context, *bool) error { return tc.err }},
			{"second", func(_ context.Context, ran *bool) error { *ran = true; return nil }},
		})
		v := decide(o, passNotes{}, iv, 0)
		if v.settled != tc.ok || (v.degraded != nil) != tc.degraded || (v.retry != nil) != tc.retry ||
			(v.progressing != nil) != tc.waiting || v.requeue != tc.requeue || ranAfterwards != tc.ranAfterwards {
			t.Errorf("%s: ok %v degraded %v retry %v waiting %v requeue %v ran second %v", tc.name,
				v.settled, v.degraded, v.retry, v.progressing, v.requeue, ranAfterwards)
		}
	}
	if decide(unfinishedPass, passNotes{}, iv, 0).settled {
		t.Errorf("a pass that did not finish must not stamp observedGeneration")
	}
}
