package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"

	"github.com/tradeledger/tradeledger/ledgernode/chain"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// tableKind is the smallest kind the driver can run: an AgencyMember
// whose own condition (Registered) is always True, so that Ready follows
// Progressing and Degraded alone. It stands in for the three reconcilers
// to test the driver's mapping without an API server.
type tableKind struct{}

type tableScope struct{ passNotes }

func (tableKind) newObject() *ledgerv1.AgencyMember { return &ledgerv1.AgencyMember{} }
func (tableKind) statusOf(am *ledgerv1.AgencyMember) (*[]metav1.Condition, *int64) {
	return &am.Status.Conditions, &am.Status.ObservedGeneration
}
func (tableKind) begin(*ledgerv1.AgencyMember) (*tableScope, []phase[*tableScope]) {
	return &tableScope{}, nil
}
func (tableKind) summarize(_ *tableScope, _ verdict, conds conditions) readiness {
	conds.setTrue(ledgerv1.ConditionRegistered, "Registered", "registered")
	return readiness{stable: "nothing is under way", ready: "all is well", required: []string{ledgerv1.ConditionRegistered}}
}
func (tableKind) finalize(context.Context, *ledgerv1.AgencyMember) (bool, error) { return true, nil }
func (tableKind) forget(types.NamespacedName)                                    {}

func TestTheDriverWritesConditionsEventsAndRequeueFromHowThePassEnded(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "agencymembers"}, "us-cbp", errors.New("changed"))
	refused := &refusal{reason: "RegistrationRejected", what: "register agency/us-cbp", typ: "agency.register",
		receipt: &chain.Receipt{TxID: "tx1", Status: chain.Rejected, Reasons: []chain.Reason{{Code: "exists", Message: "agency us-cbp exists"}}}}
	iv := Intervals{Wait: time.Second, Poll: time.Minute}
	healthy := []metav1.Condition{
		{Type: ledgerv1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: reasonStable, ObservedGeneration: 1},
		{Type: ledgerv1.ConditionDegraded, Status: metav1.ConditionFalse, Reason: reasonHealthy, ObservedGeneration: 1},
	}
	unreachable := []metav1.Condition{
		{Type: ledgerv1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: "LedgerUnreachable", ObservedGeneration: 1},
		{Type: ledgerv1.ConditionDegraded, Status: metav1.ConditionTrue, Reason: "LedgerUnreachable", ObservedGeneration: 1},
	}
	type want struct {
		progressing, degraded, ready string // "True Reason" or "False Reason"
		stamped                      bool
		requeue                      time.Duration
		retry                        bool
		event                        string
		counted                      float64
	}
	for _, tc := range []struct {
		name    string
		before  []metav1.Condition
		err     error
		notes   passNotes
		refresh time.Duration
		want    want
	}{
		{"every phase ran, nothing noted: stable, healthy, looked at again at the refresh", unreachable, nil, passNotes{}, 10 * time.Minute,
			want{"False Stable", "False Healthy", "True Ready", true, 10 * time.Minute, false, "", 0}},
		{"nothing left to do counts as every phase ran", unreachable, errPassComplete, passNotes{}, 0,
			want{"False Stable", "False Healthy", "True Ready", true, 0, false, "", 0}},
		{"every phase ran but one noted a voter that does not answer", healthy, nil,
			passNotes{degraded: &passNote{"MemberUnreachable", "voter customs-2 does not answer"}}, 10 * time.Minute,
			want{"False MemberUnreachable", "True MemberUnreachable", "False MemberUnreachable", true, time.Minute, false, "", 0}},
		{"the first note stands: pods starting, then waiting on the ledger", healthy, waitFor(reasonBootstrapping, "electing"),
			passNotes{progressing: &passNote{reasonWaitingForPods, "2 of 3 pods ready"}}, 10 * time.Minute,
			want{"True WaitingForPods", "False Healthy", "False WaitingForPods", true, time.Second, false, "", 0}},
		{"a conflict after a degraded pass leaves Degraded, never Healthy", unreachable, conflict, passNotes{}, 10 * time.Minute,
			want{"False LedgerUnreachable", "True LedgerUnreachable", "False LedgerUnreachable", false, time.Second, false, "", 0}},
		{"a conflict after a healthy pass leaves it healthy", healthy, conflict, passNotes{}, 0,
			want{"False Stable", "False Healthy", "True Ready", false, time.Second, false, "", 0}},
		{"a conflict still reports what the pass noted", healthy, conflict, passNotes{degraded: &passNote{"NodeKeysNotBound", "pods mount the placeholder"}}, 0,
			want{"False NodeKeysNotBound", "True NodeKeysNotBound", "False NodeKeysNotBound", false, time.Second, false, "", 0}},
		{"a person must act", healthy, degraded("AgencyIDTaken", "choose another spec.agencyID"), passNotes{}, 10 * time.Minute,
			want{"False AgencyIDTaken", "True AgencyIDTaken", "False AgencyIDTaken", false, time.Minute, false, "", 1}},
		{"the ledger refused a transaction: Degraded under its reason, and an event", healthy, fmtWrap(refused), passNotes{}, 10 * time.Minute,
			want{"False RegistrationRejected", "True RegistrationRejected", "False RegistrationRejected", false, time.Minute, false,
				"Warning RegistrationRejected the ledger refused to register agency/us-cbp (tx tx1): agency us-cbp exists", 1}},
		{"a transient failure is retried by controller-runtime and shown", healthy, errors.New("connection refused"), passNotes{}, 10 * time.Minute,
			want{"False ReconcileError", "True ReconcileError", "False ReconcileError", false, 0, true, "", 1}},
		{"a scope asks to look again sooner (a rotation due)", healthy, nil, passNotes{requeue: 5 * time.Second}, 10 * time.Minute,
			want{"False Stable", "False Healthy", "True Ready", true, 5 * time.Second, false, "", 0}},
	} {
		rec := events.NewFakeRecorder(10)
		m := NewMetrics(prometheus.NewRegistry())
		d := &driver[*ledgerv1.AgencyMember, *tableScope]{recorder: rec, metrics: m, intervals: iv, name: "test", refresh: tc.refresh, kind: tableKind{}}
		am := &ledgerv1.AgencyMember{ObjectMeta: metav1.ObjectMeta{Name: "us-cbp", Generation: 2},
			Status: ledgerv1.AgencyMemberStatus{ObservedGeneration: 1, Conditions: append([]metav1.Condition(nil), tc.before...)}}
		v := decide(passOutcome{phase: "register", err: tc.err}, tc.notes, iv, tc.refresh)
		d.record(context.Background(), am, &tableScope{passNotes: tc.notes}, v)

		got := want{progressing: conditionSummary(am.Status.Conditions, ledgerv1.ConditionProgressing),
			degraded: conditionSummary(am.Status.Conditions, ledgerv1.ConditionDegraded),
			ready:    conditionSummary(am.Status.Conditions, ledgerv1.ConditionReady),
			stamped:  am.Status.ObservedGeneration == 2, requeue: v.requeue, retry: v.retry != nil}
		close(rec.Events)
		for e := range rec.Events {
			got.event = e
		}
		var counted dto.Metric
		if err := m.PhaseErrors.WithLabelValues("test", "register").Write(&counted); err != nil {
			t.Fatal(err)
		}
		got.counted = counted.GetCounter().GetValue()
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
		for _, c := range am.Status.Conditions {
			changed := tc.before == nil || meta.FindStatusCondition(tc.before, c.Type) == nil || c.Reason != meta.FindStatusCondition(tc.before, c.Type).Reason
			if changed && c.ObservedGeneration != 2 {
				t.Errorf("%s: %s was written for generation %d, not the object's 2", tc.name, c.Type, c.ObservedGeneration)
			}
		}
		if c := contradictions(am.Status.Conditions); len(c) > 0 {
			t.Errorf("%s: %v", tc.name, c)
		}
		if tc.want.retry && !strings.HasPrefix(v.retry.Error(), "register: ") {
			t.Errorf("%s: the retried error %q does not name the phase", tc.name, v.retry)
		}
	}
}

// fmtWrap wraps an error as a phase does: the driver still finds it.
func fmtWrap(err error) error { return errors.Join(errors.New("context"), err) }

// conditionSummary is "Status Reason" of one condition, "" when absent.
func conditionSummary(list []metav1.Condition, typ string) string {
	c := meta.FindStatusCondition(list, typ)
	if c == nil {
		return ""
	}
	return string(c.Status) + " " + c.Reason
}

func TestAPhaseThatNeedsAnEarlierFactFailsNamingItInsteadOfPanicking(t *testing.T) {
	ran := false
	needsView := after((*networkScope).ledgerFact, func(context.Context, *networkScope, *ledgerView) error { ran = true; return nil })
	s := &networkScope{net: testNetwork()}
	o := runPhases(context.Background(), s, []phase[*networkScope]{{"membership", needsView}})
	if ran || !errors.Is(o.err, errPhaseOrder) || o.phase != "membership" || !strings.Contains(o.err.Error(), "ledgerView") {
		t.Errorf("without the ledger's view: ran %v, outcome %v in %q", ran, o.err, o.phase)
	}
	if v := decide(o, passNotes{}, Intervals{Wait: time.Second, Poll: time.Minute}, 0); v.retry == nil || v.settled {
		t.Errorf("a phase list out of order must fail the pass loudly: %+v", v)
	}
	s.view = &ledgerView{}
	if o := runPhases(context.Background(), s, []phase[*networkScope]{{"membership", needsView}}); o.err != nil || !ran {
		t.Errorf("with the view recorded: ran %v, %v", ran, o.err)
	}
}

func TestTheNetworksPhaseFollowsTheVerdictAndAConflictLeavesIt(t *testing.T) {
	running := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Status.Phase, n.Status.HeadHash = ledgerv1.PhaseScaling, "h" })
	fresh := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Status.Phase = ledgerv1.PhasePending })
	note := func(reason string) *passNote { return &passNote{reason, "x"} }
	for _, tc := range []struct {
		name string
		n    *ledgerv1.LedgerNetwork
		v    verdict
		want ledgerv1.NetworkPhase
	}{
		{"settled, nothing noted", running, verdict{settled: true}, ledgerv1.PhaseRunning},
		{"degraded wins over progressing", running, verdict{settled: true, degraded: note("MemberUnreachable"), progressing: note(reasonScaling)}, ledgerv1.PhaseDegraded},
		{"scaling", running, verdict{settled: true, progressing: note(reasonScaling)}, ledgerv1.PhaseScaling},
		{"rolling out", running, verdict{settled: true, progressing: note(reasonRollingUpdate)}, ledgerv1.PhaseUpgrading},
		{"a pod restarting in a ledger that has run", running, verdict{settled: true, progressing: note(reasonWaitingForPods)}, ledgerv1.PhaseRunning},
		{"pods starting in a new ledger", fresh, verdict{settled: true, progressing: note(reasonWaitingForPods)}, ledgerv1.PhaseBootstrapping},
		{"bootstrapping", running, verdict{settled: true, progressing: note(reasonBootstrapping)}, ledgerv1.PhaseBootstrapping},
		{"a conflict leaves the phase as it was", running, verdict{}, ledgerv1.PhaseScaling},
	} {
		if got := networkPhase(tc.n, tc.v); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestPublishedSaysWhetherThisGenerationIsInForceAndARefusalStands(t *testing.T) {
	r := &CertificatePolicyReconciler{}
	refused := &refusal{reason: reasonPublishRejected, what: "publish policy p", typ: "policy.publish",
		receipt: &chain.Receipt{TxID: "tx9", Status: chain.Rejected, Reasons: []chain.Reason{{Message: "scope.programs: unknown program"}}}}
	policyAt := func(generation, publishedGeneration, version int64, published *metav1.Condition) *ledgerv1.CertificatePolicy {
		cp := &ledgerv1.CertificatePolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: generation},
			Status: ledgerv1.CertificatePolicyStatus{PublishedGeneration: publishedGeneration, PublishedVersion: version}}
		if published != nil {
			cp.Status.Conditions = []metav1.Condition{*published}
		}
		return cp
	}
	rejectedAt := func(generation int64) *metav1.Condition {
		return &metav1.Condition{Type: ledgerv1.ConditionPublished, Status: metav1.ConditionFalse, Reason: reasonPublishRejected, ObservedGeneration: generation}
	}
	for _, tc := range []struct {
		name string
		cp   *ledgerv1.CertificatePolicy
		v    verdict
		want string
	}{
		{"this generation is in force", policyAt(3, 3, 2, rejectedAt(3)), verdict{settled: true}, "True Published"},
		{"a new generation is not published yet", policyAt(4, 3, 2, nil), verdict{settled: true}, "False NotPublished"},
		{"the ledger refused this pass's publication", policyAt(4, 3, 2, nil), verdict{refusal: refused}, "False PublishRejected"},
		{"a refusal of this generation stands through a pass that did not publish", policyAt(4, 3, 2, rejectedAt(4)),
			verdict{progressing: &passNote{"AgencyNotRegistered", "x"}, settled: true}, "False PublishRejected"},
		{"a refusal of an earlier generation does not", policyAt(5, 3, 2, rejectedAt(4)), verdict{settled: true}, "False NotPublished"},
	} {
		conds := conditions{list: &tc.cp.Status.Conditions, generation: tc.cp.Generation}
		rd := r.summarize(&policyScope{cp: tc.cp}, tc.v, conds)
		if got := conditionSummary(tc.cp.Status.Conditions, ledgerv1.ConditionPublished); got != tc.want {
			t.Errorf("%s: Published %s, want %s", tc.name, got, tc.want)
		}
		if len(rd.required) != 2 || rd.required[1] != ledgerv1.ConditionPublished {
			t.Errorf("%s: Ready requires %v", tc.name, rd.required)
		}
	}
}
