package controllers

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// The chart's alerts read these series; their names and labels are the
// contract with charts/tradeledger/templates/prometheusrule.yaml.
func TestNetworkSeriesSayLeaderLagAndUnreachableMembers(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	n := testNetwork()
	st := &wire.Status{Leader: "customs-0", Height: 120, Members: []wire.Member{
		{ID: "customs-0", Leader: true, Reachable: true, Height: 120},
		{ID: "customs-1", Reachable: true, Height: 100},
		{ID: "customs-2", Reachable: false},
	}}
	m.observeNetwork(n, st)
	if got := gaugeValue(t, m.NetworkLeader.WithLabelValues(n.Namespace, n.Name)); got != 1 {
		t.Fatalf("leader = %v, want 1", got)
	}
	if got := gaugeValue(t, m.MemberLag.WithLabelValues(n.Namespace, n.Name, "customs-1")); got != 20 {
		t.Fatalf("customs-1 lag = %v, want 20", got)
	}
	if got := gaugeValue(t, m.MemberReachable.WithLabelValues(n.Namespace, n.Name, "customs-2")); got != 0 {
		t.Fatalf("customs-2 reachable = %v, want 0", got)
	}
	// An unreachable member has no lag series: its height is unknown.
	if got := seriesCount(m.MemberLag); got != 2 {
		t.Fatalf("lag series = %d, want 2 (the reachable members)", got)
	}

	// The next pass finds no leader: the gauge says so, members drop out.
	m.observeNetwork(n, nil)
	if got := gaugeValue(t, m.NetworkLeader.WithLabelValues(n.Namespace, n.Name)); got != 0 {
		t.Fatalf("leader without an answer = %v, want 0", got)
	}
	if got := seriesCount(m.MemberLag) + seriesCount(m.MemberReachable); got != 0 {
		t.Fatalf("member series left after a pass without an answer: %d", got)
	}

	m.forgetNetwork(n.Namespace, n.Name)
	if got := seriesCount(m.NetworkLeader); got != 0 {
		t.Fatalf("leader series left after the network is gone: %d", got)
	}
}

// The clock alert reads each measured voter's offset; a voter not measured
// has no series.
func TestNetworkSeriesSayEachMeasuredMembersClockOffset(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	n := testNetwork()
	off, zero := 3600.0, 0.0
	st := &wire.Status{Leader: "customs-0", Members: []wire.Member{
		{ID: "customs-0", Leader: true, Reachable: true, ClockOffsetSeconds: &zero},
		{ID: "customs-1", Reachable: true, ClockOffsetSeconds: &off, ClockSkewed: true},
		{ID: "customs-2", Reachable: true},
	}}
	m.observeNetwork(n, st)
	if got := gaugeValue(t, m.MemberClockOffset.WithLabelValues(n.Namespace, n.Name, "customs-1")); got != 3600 {
		t.Fatalf("customs-1 clock offset = %v, want 3600", got)
	}
	if got := seriesCount(m.MemberClockOffset); got != 2 {
		t.Fatalf("clock offset series = %d, want 2 (the measured members)", got)
	}
	m.forgetNetwork(n.Namespace, n.Name)
	if got := seriesCount(m.MemberClockOffset); got != 0 {
		t.Fatalf("clock offset series left after the network is gone: %d", got)
	}
}

func TestAgencySeriesSayTheNextRotationAndGoWithTheObject(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	next := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	am := &ledgerv1.AgencyMember{ObjectMeta: metav1.ObjectMeta{Namespace: "cbp", Name: "us-cbp"},
		Spec:   ledgerv1.AgencyMemberSpec{AgencyID: "us-cbp"},
		Status: ledgerv1.AgencyMemberStatus{NextRotation: &metav1.Time{Time: next}}}
	m.observeAgency(am)
	if got := gaugeValue(t, m.NextRotation.WithLabelValues("cbp", "us-cbp", "us-cbp")); got != float64(next.Unix()) {
		t.Fatalf("next rotation = %v, want %d", got, next.Unix())
	}
	am.Status.NextRotation = nil
	m.observeAgency(am)
	if got := seriesCount(m.NextRotation); got != 0 {
		t.Fatalf("series without a scheduled rotation: %d", got)
	}
	am.Status.NextRotation = &metav1.Time{Time: next}
	m.observeAgency(am)
	m.forgetAgency("cbp", "us-cbp")
	if got := seriesCount(m.NextRotation); got != 0 {
		t.Fatalf("series left after the AgencyMember is gone: %d", got)
	}
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func seriesCount(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric, 100)
	c.Collect(ch)
	close(ch)
	return len(ch)
}
