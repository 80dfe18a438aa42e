package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
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
	}
	reg.MustRegister(m.PhaseErrors, m.LedgerCalls, m.NetworkHeight, m.NetworkReady, m.NetworkVoters, m.CertExpiry, m.KeyRotations, m.Publications)
	return m
}

// forgetNetwork drops a deleted network's series.
func (m *Metrics) forgetNetwork(namespace, name string) {
	for _, g := range []*prometheus.GaugeVec{m.NetworkHeight, m.NetworkReady, m.NetworkVoters} {
		g.DeleteLabelValues(namespace, name)
	}
	m.CertExpiry.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "network": name})
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
