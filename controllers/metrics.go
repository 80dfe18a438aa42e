package controllers

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// Metrics are the operator's own series, registered on the manager's
// registry (controller-runtime's metrics.Registry) beside its
// controller_runtime_reconcile_* series.
type Metrics struct {
	PhaseErrors   *prometheus.CounterVec
	LedgerCalls   *prometheus.CounterVec
	NetworkHeight *prometheus.GaugeVec
	NetworkReady  *prometheus.GaugeVec
	NetworkVoters *prometheus.GaugeVec
	CertExpiry    *prometheus.GaugeVec
	KeyRotations  *prometheus.CounterVec
	Publications  *prometheus.CounterVec
	// NetworkLeader, MemberLag, MemberReachable and NextRotation feed the
	// chart's alerts (charts/tradeledger/templates/prometheusrule.yaml).
	NetworkLeader   *prometheus.GaugeVec
	MemberLag       *prometheus.GaugeVec
	MemberReachable *prometheus.GaugeVec
	NextRotation    *prometheus.GaugeVec
	// BackupLastSuccess: when each network's newest successful backup
	// completed (an alert fires when it is too old).
	BackupLastSuccess *prometheus.GaugeVec
	// QuorumLost is 1 while status.quorum.lost.
	QuorumLost *prometheus.GaugeVec
	// MemberClockOffset: each voter's clock minus the voters' median, as
	// the leader measured it (an alert fires beyond the nodes' bound).
	MemberClockOffset *prometheus.GaugeVec
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		PhaseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeledger_operator_reconcile_errors_total",
			Help: "Reconcile passes that failed, by controller and phase.",
		}, []string{"controller", "phase"}),
		LedgerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeledger_operator_ledger_operations_total",
			Help: "Membership operations and transactions the operator sent to ledgers, by operation and result.",
		}, []string{"operation", "result"}),
		NetworkHeight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_height",
			Help: "Height of the last block of each ledger network, as last observed.",
		}, []string{"namespace", "network"}),
		NetworkReady: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_ready_replicas",
			Help: "Node pods passing /readyz, per network.",
		}, []string{"namespace", "network"}),
		NetworkVoters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_voters",
			Help: "Voters in the Raft configuration of each network.",
		}, []string{"namespace", "network"}),
		CertExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_certificate_expiry_timestamp_seconds",
			Help: "When a network's TLS material expires (Unix time): kind=node is the first node certificate, kind=ca the network CA.",
		}, []string{"namespace", "network", "kind"}),
		KeyRotations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeledger_operator_key_rotations_total",
			Help: "Agency key rotations, by result.",
		}, []string{"result"}),
		Publications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tradeledger_operator_policy_publications_total",
			Help: "CertificatePolicy publications, updates and withdrawals, by operation and result.",
		}, []string{"operation", "result"}),
		NetworkLeader: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_leader",
			Help: "1 when the network's ledger answered the operator's last status request with a leader, else 0.",
		}, []string{"namespace", "network"}),
		MemberLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_member_lag_blocks",
			Help: "Blocks a reachable member trails the leader, in the leader's view at the last status request.",
		}, []string{"namespace", "network", "member"}),
		MemberReachable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_member_reachable",
			Help: "1 when the leader reached the member at the last status request, else 0.",
		}, []string{"namespace", "network", "member"}),
		QuorumLost: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_quorum_lost",
			Help: "1 while a network has lost its Raft quorum (status.quorum.lost): a person must recover it (docs/operations.md).",
		}, []string{"namespace", "network"}),
		NextRotation: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_agency_key_next_rotation_timestamp_seconds",
			Help: "When an AgencyMember's next scheduled key rotation is due (Unix time).",
		}, []string{"namespace", "agencymember", "agency"}),
		MemberClockOffset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_network_member_clock_offset_seconds",
			Help: "A voter's clock minus the voters' median clock, as the leader measured it at the last status request (docs/operations.md, Clocks).",
		}, []string{"namespace", "network", "member"}),
		BackupLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tradeledger_backup_last_success_timestamp_seconds",
			Help: "When the newest successful LedgerBackup of each network completed (Unix time).",
		}, []string{"namespace", "network"}),
	}
	reg.MustRegister(m.PhaseErrors, m.LedgerCalls, m.NetworkHeight, m.NetworkReady, m.NetworkVoters, m.CertExpiry, m.KeyRotations, m.Publications,
		m.NetworkLeader, m.MemberLag, m.MemberReachable, m.NextRotation, m.BackupLastSuccess, m.QuorumLost, m.MemberClockOffset)
	return m
}

// observeNetwork records what a pass learned from the ledger: whether a
// leader answered (st is nil when none did) and each member's lag behind
// it. Members no longer in the configuration drop out.
func (m *Metrics) observeNetwork(n *ledgerv1.LedgerNetwork, st *wire.Status) {
	ns, name := n.Namespace, n.Name
	m.MemberLag.DeletePartialMatch(prometheus.Labels{"namespace": ns, "network": name})
	m.MemberReachable.DeletePartialMatch(prometheus.Labels{"namespace": ns, "network": name})
	m.MemberClockOffset.DeletePartialMatch(prometheus.Labels{"namespace": ns, "network": name})
	if st == nil || st.Leader == "" {
		m.NetworkLeader.WithLabelValues(ns, name).Set(0)
		return
	}
	m.NetworkLeader.WithLabelValues(ns, name).Set(1)
	for _, mem := range st.Members {
		if mem.ClockOffsetSeconds != nil {
			m.MemberClockOffset.WithLabelValues(ns, name, mem.ID).Set(*mem.ClockOffsetSeconds)
		}
		if !mem.Reachable {
			m.MemberReachable.WithLabelValues(ns, name, mem.ID).Set(0)
			continue
		}
		m.MemberReachable.WithLabelValues(ns, name, mem.ID).Set(1)
		var lag uint64
		if st.Height > mem.Height {
			lag = st.Height - mem.Height
		}
		m.MemberLag.WithLabelValues(ns, name, mem.ID).Set(float64(lag))
	}
}

// observeBackup records when a network's newest successful backup
// completed; a network without one has no series.
func (m *Metrics) observeBackup(n *ledgerv1.LedgerNetwork, last *ledgerv1.LastBackup) {
	if last == nil {
		m.BackupLastSuccess.DeleteLabelValues(n.Namespace, n.Name)
		return
	}
	m.BackupLastSuccess.WithLabelValues(n.Namespace, n.Name).Set(float64(last.Time.Unix()))
}

// observeAgency records an AgencyMember's next scheduled key rotation.
func (m *Metrics) observeAgency(am *ledgerv1.AgencyMember) {
	m.forgetAgency(am.Namespace, am.Name)
	if t := am.Status.NextRotation; t != nil && am.DeletionTimestamp.IsZero() {
		m.NextRotation.WithLabelValues(am.Namespace, am.Name, am.Spec.AgencyID).Set(float64(t.Unix()))
	}
}

// forgetAgency drops a deleted AgencyMember's series.
func (m *Metrics) forgetAgency(namespace, name string) {
	m.NextRotation.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "agencymember": name})
}

// forgetNetwork drops a deleted network's series.
func (m *Metrics) forgetNetwork(namespace, name string) {
	for _, g := range []*prometheus.GaugeVec{m.NetworkHeight, m.NetworkReady, m.NetworkVoters, m.NetworkLeader, m.BackupLastSuccess, m.QuorumLost} {
		g.DeleteLabelValues(namespace, name)
	}
	for _, g := range []*prometheus.GaugeVec{m.CertExpiry, m.MemberLag, m.MemberReachable, m.MemberClockOffset} {
		g.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "network": name})
	}
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
