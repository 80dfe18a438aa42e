package wire

import (
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

// HeaderForwarded marks a request a node forwarded to the leader.
const HeaderForwarded = "X-Ledger-Forwarded-By"

// HeaderExisting marks the recorded answer of a cluster operation sent
// again: it was carried out once, when first sent.
const HeaderExisting = "X-Ledger-Existing"

// HeaderOnBehalfOf names the client a node forwards a read for (a ledger
// identity, or "anonymous"): the leader answers as that client may read.
// It is honoured only from a node certificate.
const HeaderOnBehalfOf = "X-Ledger-On-Behalf-Of"

// PathBackup streams a backup of the node's state (package backup has the
// format); HeaderBackupHeight names the height it holds.
const (
	PathBackup         = "/v1/backup"
	HeaderBackupHeight = "X-Ledger-Backup-Height"
)

// SubmitResponse answers POST /v1/tx.
type SubmitResponse struct {
	TxID     string           `json:"txId"`
	Pending  bool             `json:"pending,omitempty"`  // async submission: look it up later
	Existing bool             `json:"existing,omitempty"` // already recorded: this is the original receipt
	Receipt  *chain.Receipt   `json:"receipt,omitempty"`
	Evidence *verify.Evidence `json:"evidence,omitempty"` // with ?proof=true
}

// ConsistencyResponse answers GET /v1/proof/consistency.
type ConsistencyResponse struct {
	Proof chain.ConsistencyProofJSON `json:"proof"`
	Head  chain.Head                 `json:"head"`
}

// NetworkHasRunFile is the name of the network-has-run marker beside the
// genesis file (ledgernode run's default --network-has-run-file), and the
// genesis ConfigMap's key that holds it on Kubernetes: once it exists, a
// node with an empty data directory never starts a ledger from the genesis.
const NetworkHasRunFile = "network-has-run"

// Status answers GET /v1/cluster/status.
type Status struct {
	Node         string `json:"node"`
	Network      string `json:"network"`
	State        string `json:"state"`
	Leader       string `json:"leader"`
	LeaderAPI    string `json:"leaderApi,omitempty"`
	Height       uint64 `json:"height"`
	BlockHash    string `json:"blockHash"`
	BlockTime    string `json:"blockTime"`
	TreeSize     uint64 `json:"treeSize"`
	Root         string `json:"root"`
	AppliedIndex uint64 `json:"appliedIndex"`
	CommitIndex  uint64 `json:"commitIndex"`
	Term         string `json:"term,omitempty"`
	// Voters are the voters of this node's latest Raft configuration
	// (committed or not); CommittedVoters those of the last configuration
	// entry it applied since it started, at log index ConfigIndex (0: none
	// seen). A node that lost its data asks a leader for them to learn
	// that its removal is committed.
	Voters          []string `json:"voters,omitempty"`
	CommittedVoters []string `json:"committedVoters,omitempty"`
	ConfigIndex     uint64   `json:"configIndex,omitempty"`
	// DataLost: this node's Raft state is gone (its data directory was
	// deleted or replaced) although the network has run; it does not vote
	// or count towards a quorum until it was removed from the configuration
	// and added back (DataLostFix says how).
	DataLost    bool   `json:"dataLost,omitempty"`
	DataLostFix string `json:"dataLostFix,omitempty"`
	// Incarnation names this run of a node that started with an empty Raft
	// log, and SawEmpty the incarnations of the peers it saw with an empty
	// log while it held its own (before it bootstrapped): a peer that finds
	// its incarnation there knows the network began after it started, so
	// it lost nothing (node/rejoin.go).
	Incarnation string   `json:"incarnation,omitempty"`
	SawEmpty    []string `json:"sawEmpty,omitempty"`
	Members     []Member `json:"members,omitempty"`

	// Now is this node's clock when it answered.
	Now string `json:"now,omitempty"`
	// ClockSkew, when set, says which members' clocks disagree with the
	// voters' by more than the bound (--max-clock-offset), as this node
	// measures them; empty when every measured clock agrees.
	ClockSkew string `json:"clockSkew,omitempty"`

	// TrustedCAs are the SHA-256 fingerprints (hex of the DER) of the CA
	// certificates this node trusts now, as it last loaded its CA file: a
	// CA rotation waits until every node reports the new bundle.
	TrustedCAs []string `json:"trustedCAs,omitempty"`
}

// PathClusterClock is the node-only route a node's clock is sampled at.
const PathClusterClock = "/v1/cluster/clock"

// Clock answers GET /v1/cluster/clock: the answering node and its clock.
type Clock struct {
	Node string `json:"node"`
	Now  string `json:"now"`
}

// Member is one node as the cluster sees it, with its own report when it
// could be reached.
type Member struct {
	ID           string `json:"id"`
	RaftAddr     string `json:"raftAddr"`
	APIAddr      string `json:"apiAddr,omitempty"`
	Suffrage     string `json:"suffrage"`
	Leader       bool   `json:"leader"`
	Reachable    bool   `json:"reachable"`
	State        string `json:"state,omitempty"`
	Height       uint64 `json:"height,omitempty"`
	AppliedIndex uint64 `json:"appliedIndex,omitempty"`
	// DataLost: the member reports that it lost its data (Status.DataLost):
	// it must be removed and added back.
	DataLost bool   `json:"dataLost,omitempty"`
	Error    string `json:"error,omitempty"`

	// ClockOffsetSeconds is the member's clock minus the voters' median
	// clock, as the answering node measures them (absent: not measured in
	// the last few seconds). ClockSkewed: beyond the bound.
	ClockOffsetSeconds *float64 `json:"clockOffsetSeconds,omitempty"`
	ClockSkewed        bool     `json:"clockSkewed,omitempty"`
}

// Admin-signed cluster operations: the request body is a tx envelope of
// one of these types, signed by a network admin key and fresh (its created
// time inside the network's window). They are not recorded on the ledger.
const (
	OpAddMember          = "cluster.addMember"
	OpPromoteMember      = "cluster.promoteMember"
	OpRemoveMember       = "cluster.removeMember"
	OpTransferLeadership = "cluster.transferLeadership"
)

// MemberRequest is the payload of the cluster.* operations.
type MemberRequest struct {
	ID       string `json:"id,omitempty"`
	RaftAddr string `json:"raftAddr,omitempty"`
	APIAddr  string `json:"apiAddr,omitempty"`
	Voter    bool   `json:"voter,omitempty"`
	Force    bool   `json:"force,omitempty"` // promote even if the member is behind
}

// IdentityResponse answers GET /v1/identities/{id}.
type IdentityResponse struct {
	Identity Identity `json:"identity"`
	Keys     []*Key   `json:"keys"`
}

// TypeInfo is one transaction type.
type TypeInfo struct {
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

// DigestResponse answers GET /v1/state/digest.
type DigestResponse struct {
	Height    uint64 `json:"height"`
	Digest    string `json:"digest"`
	StateHash string `json:"stateHash"`
}

// Ready answers /readyz and /healthz.
type Ready struct {
	Ready  bool   `json:"ready"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: a stable code, the field at fault and a
// message a person can act on; Reasons when a transaction was refused.
type ErrorDetail struct {
	Code    string         `json:"code"`
	Field   string         `json:"field,omitempty"`
	Message string         `json:"message"`
	Reasons []chain.Reason `json:"reasons,omitempty"`
}

// MaxBatch is the most envelopes POST /v1/txs takes at once.
const MaxBatch = 1000

// BatchBody is the POST /v1/txs body for sts: their canonical envelopes
// as a JSON array.
func BatchBody(sts []*tx.Signed) []byte {
	body := []byte{'['}
	for k, st := range sts {
		if k > 0 {
			body = append(body, ',')
		}
		body = append(body, st.Canonical...)
	}
	return append(body, ']')
}

// BatchResponse answers POST /v1/txs: one result per envelope, in order.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is one envelope's outcome in a batch: its receipt (a
// rejection is a receipt too), or the error it would have had on its own,
// with that HTTP status.
type BatchResult struct {
	TxID     string         `json:"txId,omitempty"`
	Existing bool           `json:"existing,omitempty"`
	Receipt  *chain.Receipt `json:"receipt,omitempty"`
	Status   int            `json:"status,omitempty"`
	Error    *ErrorDetail   `json:"error,omitempty"`
}

// PathTxStream is the streaming submission route: the request body is a
// stream of signed envelopes, one JSON object per line; the answer is a
// stream of StreamResult lines, one per envelope, in the order their
// outcomes are known. One request carries any number of transactions, so
// many concurrent submitters share one connection (as gRPC clients share
// one HTTP/2 connection) instead of paying an HTTPS request each.
const PathTxStream = "/v1/txs/stream"

// StreamResult is one line of the answer to POST /v1/txs/stream: the
// outcome of the envelope on line I (0-based, blank lines not counted) of
// the request, as POST /v1/txs gives it.
type StreamResult struct {
	I int `json:"i"`
	BatchResult
}

// CodeAlreadyVoter is the error code of an add, as a non-voter, of a member
// that votes already (409).
const CodeAlreadyVoter = "already_voter"
