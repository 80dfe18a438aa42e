// Package metrics holds the node's Prometheus collectors, created once per
// node on its own registry (tests run several nodes in one process).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Node is the set of collectors a ledger node exports at /metrics.
type Node struct {
	Registry      *prometheus.Registry
	CommitLatency prometheus.Histogram
	BlockTxs      prometheus.Histogram
	Txs           *prometheus.CounterVec // status=accepted|rejected
	Submitted     *prometheus.CounterVec // result=ok|client_error|unavailable
	Height        prometheus.Gauge
	RaftState     *prometheus.GaugeVec // state=Leader|Follower|Candidate|Shutdown; 1 for the current one
	LeaderChanges prometheus.Counter
	ApplySeconds  prometheus.Histogram
	HTTPRequests  *prometheus.CounterVec // route, code
	ForwardBatch  prometheus.Histogram   // envelopes per batch a follower forwards to the leader
	// StateCommitBlocks counts the blocks each state commit (one bbolt
	// transaction, one pair of fsyncs) carried: its _count is the number of
	// state fsync pairs, its _sum the blocks.
	StateCommitBlocks prometheus.Histogram
	// Clocks (docs/operations.md, "Clocks"): each voter's clock minus this
	// node's as this node measures it; blocks not proposed because the
	// leader's clock disagrees with a quorum of voters (or cannot be
	// compared); 1 while this node leads and is refused so; how far the
	// last applied block's time is ahead of this node's clock.
	ClockOffset    *prometheus.GaugeVec // member
	ClockRefusals  prometheus.Counter
	ClockSkewed    prometheus.Gauge
	BlockTimeAhead prometheus.Gauge
	// DataLost is 1 while the node reports that it lost its data and
	// waits to be removed from the configuration (node.rejoin).
	DataLost prometheus.Gauge
}

// New creates and registers the collectors (plus Go and process metrics).
func New() *Node {
	reg := prometheus.NewRegistry()
	m := &Node{
		Registry: reg,
		CommitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledger_commit_latency_seconds", Help: "Time from a transaction entering the leader's batcher to its receipt (committed and applied).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		BlockTxs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledger_block_transactions", Help: "Transactions per applied block.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		Txs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_transactions_total", Help: "Transactions applied, by outcome."}, []string{"status"}),
		Submitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_submissions_total", Help: "Transactions submitted to this node's API, by result."}, []string{"result"}),
		Height: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledger_height", Help: "Height of the last applied block."}),
		RaftState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ledger_raft_state", Help: "1 for this node's current Raft state."}, []string{"state"}),
		LeaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_leader_changes_total", Help: "Leader changes observed by this node."}),
		ApplySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledger_block_apply_seconds", Help: "Time to apply one state commit (one or more consecutive committed blocks: verify, apply, fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16)}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_http_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		ForwardBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledger_forward_batch_transactions", Help: "Envelopes per request a follower forwards to the leader (single submissions coalesced).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
		StateCommitBlocks: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledger_state_commit_blocks", Help: "Blocks per state commit (one bbolt transaction and fsync pair); _count is the number of state commits.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 7)}),
		ClockOffset: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ledger_clock_offset_seconds", Help: "A voter's clock minus this node's clock, as this node last measured it (about every second)."}, []string{"member"}),
		ClockRefusals: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledger_clock_skew_refusals_total", Help: "Blocks this node, leading, did not propose because its clock disagrees with a quorum of voters by more than --max-clock-offset (or could not be compared)."}),
		ClockSkewed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledger_clock_skewed", Help: "1 while this node leads and its clock disagrees with a quorum of voters: it proposes nothing and hands leadership over."}),
		BlockTimeAhead: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledger_block_time_ahead_seconds", Help: "The last applied block's time minus this node's clock when it applied it (an observation only: it never affects state)."}),
		DataLost: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledger_data_lost", Help: "1 while this node's Raft state is gone although the network has run: it does not vote and must be removed from the configuration and added back."}),
	}
	reg.MustRegister(m.CommitLatency, m.BlockTxs, m.Txs, m.Submitted, m.Height, m.RaftState, m.LeaderChanges, m.ApplySeconds, m.HTTPRequests, m.ForwardBatch, m.StateCommitBlocks,
		m.ClockOffset, m.ClockRefusals, m.ClockSkewed, m.BlockTimeAhead, m.DataLost,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
