package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Handler is one transaction type: a stateless Check (run before consensus
// and again in the state machine) and a deterministic Apply.
type Handler struct {
	Type string
	// Summary is one line for `ledgerctl tx types` and the API reference.
	Summary string
	// Check validates the payload without state: schema, field sizes and
	// shapes. It must not read the clock.
	Check func(payload json.RawMessage) error
	// Signers lists the identity kinds that may sign this type (nil: any).
	// A signer's kind never changes, so a signer of another kind is refused
	// before consensus (403 unauthorized) and never reaches a block.
	Signers []string
	// Authorize, when set, decides before consensus from the signer and
	// the payload alone (no state) whether the signer may submit it: for
	// example a policy must name the signing agency. Apply checks again.
	Authorize func(s Signer, payload json.RawMessage) error
	// Precheck, when set, refuses before consensus a payload that cannot be
	// valid at any block time the transaction can still get: latest is the
	// last such time (created + the window + the clock skew). Apply checks
	// again at block time.
	Precheck func(payload json.RawMessage, latest time.Time) error
	// Apply validates against state and writes through c. It returns the
	// result recorded in the receipt, or a *Rejection (or any error, which
	// is recorded as a rejection too). Writes of a rejected transaction are
	// discarded.
	Apply func(c *Context) (any, error)
}

// Registry maps transaction types to handlers.
type Registry struct {
	handlers  map[string]*Handler
	evaluator Evaluator
	// keyAuthority says whether signer has authority over owner's keys
	// besides the owner and the admin (the agency that enrolled it).
	keyAuthority func(r Reader, signer Signer, owner string) bool
	// fills: page fill of domain buckets written in key order (SetBucketFill).
	fills map[string]float64
}

// SetKeyAuthority installs who, besides a key's owner and the network
// admin, may revoke the owner's keys (and backdate the revocation past the
// owner's window): the trade package names the enrolling agency.
func (r *Registry) SetKeyAuthority(f func(r Reader, signer Signer, owner string) bool) {
	r.keyAuthority = f
}

// NewRegistry returns a registry holding the built-in core types (keys and
// notes). Domain packages add theirs with Register.
func NewRegistry() *Registry {
	r := &Registry{handlers: map[string]*Handler{}}
	for _, h := range coreHandlers() {
		r.MustRegister(h)
	}
	return r
}

// Register adds a handler; a type may be registered once.
func (r *Registry) Register(h Handler) error {
	if h.Type == "" || h.Apply == nil || h.Check == nil {
		return fmt.Errorf("handler %q: Type, Check and Apply are required", h.Type)
	}
	if _, dup := r.handlers[h.Type]; dup {
		return fmt.Errorf("handler %q: already registered", h.Type)
	}
	r.handlers[h.Type] = &h
	return nil
}

// MustRegister is Register for wiring code that cannot continue on error.
func (r *Registry) MustRegister(h Handler) {
	if err := r.Register(h); err != nil {
		panic(err)
	}
}

// Lookup returns the handler for a type.
func (r *Registry) Lookup(typ string) (*Handler, bool) {
	h, ok := r.handlers[typ]
	return h, ok
}

// Types lists the registered types, sorted.
func (r *Registry) Types() []*Handler {
	out := make([]*Handler, 0, len(r.handlers))
	for _, h := range r.handlers {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// authorize runs what a handler decides from the signer alone: its kind,
// and Authorize. Both Precheck and the state machine run it.
func (h *Handler) authorize(s Signer, payload json.RawMessage) *wire.Rejection {
	if h.Signers != nil && !slices.Contains(h.Signers, s.Kind) {
		return wire.Reject(wire.CodeUnauthorized, "signer", "%s may be signed only by %s keys; %s is %s", h.Type, strings.Join(h.Signers, " or "), s.Owner, s.Kind)
	}
	if h.Authorize != nil {
		if err := h.Authorize(s, payload); err != nil {
			return &wire.Rejection{Reasons: AsReasons(err, wire.CodeUnauthorized)}
		}
	}
	return nil
}

// Signer is the identity behind a transaction's key, resolved at block time.
type Signer struct {
	KeyID string
	Owner string // identity id, e.g. "admin", "node/ledger-0", "agency/us-cbp"
	Kind  string // admin, node, agency, participant
	Key   *wire.Key
}

// IsAdmin says whether the signer is the network admin.
func (s Signer) IsAdmin() bool { return s.Kind == wire.KindAdmin }

// Context is what a handler sees while applying one transaction.
type Context struct {
	KV
	Time     time.Time // block time: the only clock a handler may use
	Height   uint64
	Index    int
	TxID     string
	Tx       *tx.Signed
	Signer   Signer
	Genesis  *chain.Genesis
	findings []chain.Finding
	records  []record
	reg      *Registry
}

// record is a write kept whatever the transaction's outcome.
type record struct {
	bucket, key string
	value       []byte
}

// Record writes an index entry that is kept even when the transaction is
// rejected: for audit indexes such as the policy evaluation history of a
// document, which must show the evaluations that rejected it. Domain state
// must go through Put (discarded on rejection). Recorded entries are
// applied after the transaction's own writes, in the order recorded.
func (c *Context) Record(bucket, key string, value []byte) {
	c.records = append(c.records, record{bucket: bucket, key: key, value: bytes.Clone(value)})
}

// AddFinding records an evaluated rule with the transaction's receipt.
func (c *Context) AddFinding(f chain.Finding) { c.findings = append(c.findings, f) }

// Findings are the findings recorded so far.
func (c *Context) Findings() []chain.Finding { return c.findings }

// AsReasons turns any error into receipt reasons: a Rejection keeps its own,
// a tx.FieldError becomes an "invalid" reason naming its field.
func AsReasons(err error, code string) []chain.Reason {
	var rej *wire.Rejection
	if errors.As(err, &rej) {
		return rej.Reasons
	}
	var fe *tx.FieldError
	if errors.As(err, &fe) {
		msg := fe.Message
		if fe.Value != "" {
			msg = fmt.Sprintf("%q: %s", fe.Value, fe.Message)
		}
		return []chain.Reason{{Code: code, Field: fe.Field, Message: msg}}
	}
	return []chain.Reason{{Code: code, Message: err.Error()}}
}

// SetBucketFill sets how full bbolt packs the pages of a domain bucket
// (and of its history) when it splits them: fill (0.1 to 1.0) for a
// bucket whose keys mostly arrive in ascending order (records keyed by an
// id their issuers number in sequence, index entries appended under a
// prefix), where bbolt's default of 0.5 leaves every page behind the
// append point half empty for good. A bucket written in random key order
// keeps the default. Layout only: what the bucket holds, the digest and
// the state hash do not change. Call it while wiring, before the store
// opens.
func (r *Registry) SetBucketFill(bucket string, fill float64) {
	if fill < 0.1 || fill > 1.0 {
		panic(fmt.Sprintf("SetBucketFill(%q, %v): fill must be between 0.1 and 1.0", bucket, fill))
	}
	if r.fills == nil {
		r.fills = map[string]float64{}
	}
	r.fills[bucket] = fill
}

// AppendFill is the page fill of buckets written in ascending key order.
const AppendFill = 1.0

// coreFills are the chain's own buckets written in key order: leaf
// indexes and heights only grow, and the tree's nodes are appended per
// level.
var coreFills = map[string]float64{bucketTxs: AppendFill, bucketReceipts: AppendFill, bucketBlocks: AppendFill, bucketMerkle: AppendFill}

// fillOf is the page fill for writes to bucket: the chain's own, a domain
// bucket's as set by SetBucketFill (its history: the same, as its undo
// entries are keyed by the record's key first), else bbolt's default.
func (r *Registry) fillOf(bucket string) float64 {
	if f, ok := coreFills[bucket]; ok {
		return f
	}
	if f, ok := r.fills[strings.TrimPrefix(bucket, historyPrefix)]; ok {
		return f
	}
	return bolt.DefaultFillPercent
}

// writeBucket is bucket in a write transaction, created if absent, with
// its page fill set (bbolt keeps the fill per bucket handle, and the
// handle per transaction: it applies to the pages split at this
// transaction's commit).
func writeBucket(btx *bolt.Tx, bucket string, fill float64) (*bolt.Bucket, error) {
	b, err := btx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return nil, err
	}
	b.FillPercent = fill
	return b, nil
}
