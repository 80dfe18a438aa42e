package policystate

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Input keys of state.Document.Input that rules read (the policy package's
// DESIGN.md, "Inputs", gives their shape per document type). Any other key
// is a domain handler's mistake and refuses the document: a value a rule
// cannot see must not look as if it were checked.
const (
	InputDoc         = "doc"         // the document (JSON object)
	InputParties     = "parties"     // parties by role (JSON object), optional
	InputLicensePath = "licensePath" // license chain (JSON array), optional
	InputContext     = "context"     // what the transaction adds (JSON object), optional
)

// MaxDocumentID bounds state.Document.ID (it keys the evaluation history).
const MaxDocumentID = 256

// Evaluator is the state.Evaluator of the ledger: it evaluates every
// policy in force and in scope for a document, in policy id order, at block
// time, and records the outcomes. It keeps compiled policies in a cache
// checked against their stored active entry (version and content hash), so
// the cache can never change an outcome.
type Evaluator struct {
	mu    sync.Mutex
	cache map[string]*entry // policy id -> entry of its stored active entry
	scope *scopeIndex       // the active set by HS chapter (scope_index.go)
}

// entry is a parsed activeEntry and its compiled policy.
type entry struct {
	activeID string
	raw      string // the stored active entry the cache entry was built from
	active   activeEntry
	compiled *policy.Compiled // nil when compileErr is set
	// compileErr is set when a stored policy no longer compiles (an engine
	// change without a migration): its rules then fail closed.
	compileErr string
}

const maxCache = 4096

// NewEvaluator returns an evaluator with an empty cache.
func NewEvaluator() *Evaluator { return &Evaluator{cache: map[string]*entry{}} }

var _ state.Evaluator = (*Evaluator)(nil)

// SubjectOf is the scope view of a document.
func SubjectOf(doc *state.Document) policy.Subject {
	return policy.Subject{ID: doc.ID, Type: doc.Type, Program: doc.Program, HSCodes: doc.HSCodes,
		OriginCountries: doc.OriginCountries, DestinationCountries: doc.DestinationCountries}
}

// Evaluate implements state.Evaluator.
func (e *Evaluator) Evaluate(c *state.Context, doc *state.Document) error {
	if doc == nil {
		return wire.Reject(wire.CodeInternal, "document", "no document to evaluate")
	}
	if doc.ID == "" || len(doc.ID) > MaxDocumentID || strings.IndexByte(doc.ID, 0) >= 0 {
		return wire.Reject(wire.CodeInvalid, "document.id", "%q: a document needs an id of 1-%d bytes to be evaluated", tx.Shorten(doc.ID, 64), MaxDocumentID)
	}
	for _, k := range sortedKeys(doc.Input) {
		switch k {
		case InputDoc, InputParties, InputLicensePath, InputContext:
		default:
			return wire.Reject(wire.CodeInternal, "document.input", "%s %s: input %q is not one rules can read (%s, %s, %s, %s); the handler of %s must put it under %s",
				doc.Type, tx.Shorten(doc.ID, 64), k, InputDoc, InputParties, InputLicensePath, InputContext, c.Tx.Type, InputContext)
		}
	}
	sub := SubjectOf(doc)
	inScope, err := e.inScope(c, sub)
	if err != nil {
		return err
	}
	if len(inScope) == 0 {
		return nil
	}
	in := policy.Prepare(policy.Input{Record: sub, Doc: doc.Input[InputDoc], Parties: doc.Input[InputParties],
		LicensePath: doc.Input[InputLicensePath], Context: doc.Input[InputContext], At: c.Time})
	seq := len(c.Findings())
	var findings []chain.Finding
	var reasons []chain.Reason
	agencies := map[string]policy.Agency{}
	for _, en := range inScope {
		var v *policy.Verdict
		if en.compiled == nil {
			v = &policy.Verdict{Policy: en.id(), Agency: en.active.Agency, Version: en.active.Version, Enforcement: en.active.Enforcement,
				Outcomes: []policy.Outcome{{Rule: "", Result: policy.ResultError, Message: en.compileErr}}}
		} else {
			a, ok := agencies[en.active.Agency]
			if !ok {
				a = agencyOf(c, en.active.Agency)
				agencies[en.active.Agency] = a
			}
			v = en.compiled.Evaluate(in, a)
		}
		for _, f := range v.Findings() {
			c.AddFinding(f)
			findings = append(findings, f)
		}
		if v.Rejects() {
			reasons = append(reasons, rejectReasons(v)...)
		}
	}
	ev := policy.Evaluation{DocumentID: doc.ID, DocumentType: doc.Type, TxID: c.TxID, TxType: c.Tx.Type, Height: c.Height,
		Index: c.Index, Time: tx.FormatTime(c.Time), Findings: findings, Rejected: len(reasons) > 0}
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	c.Record(BucketEvals, evalKey(doc.ID, c.Height, c.Index, seq), raw)
	if len(reasons) > 0 {
		return &wire.Rejection{Reasons: reasons}
	}
	return nil
}

func (en *entry) id() string {
	if en.compiled != nil {
		return en.compiled.Policy.ID
	}
	return en.activeID
}

func rejectReasons(v *policy.Verdict) []chain.Reason {
	var out []chain.Reason
	for _, o := range v.Outcomes {
		switch o.Result {
		case policy.ResultFail:
			out = append(out, chain.Reason{Code: CodePolicyViolation, Field: "policy/" + v.Policy,
				Message: fmt.Sprintf("policy %s v%d of agency %s, rule %s: %s", v.Policy, v.Version, v.Agency, o.Rule, o.Message)})
		case policy.ResultError:
			out = append(out, chain.Reason{Code: CodePolicyError, Field: "policy/" + v.Policy,
				Message: fmt.Sprintf("policy %s v%d of agency %s, rule %s could not be evaluated and fails closed: %s", v.Policy, v.Version, v.Agency, o.Rule, o.Message)})
		}
	}
	return out
}

// agencyOf is the `agency` input: the owner's id and registered name.
func agencyOf(r state.Reader, agency string) policy.Agency {
	a := policy.Agency{ID: agency}
	if id, ok, err := state.LookupIdentity(r, "agency/"+agency); err == nil && ok {
		a.Name = id.Name
	}
	return a
}

// inScope lists the policies in force whose scope covers sub and whose
// agency has jurisdiction over it, by id.
func (e *Evaluator) inScope(r state.Reader, sub policy.Subject) ([]*entry, error) {
	var out []*entry
	var scanErr error
	juris := jurisdictions{}
	ix, err := e.index(r)
	if err != nil {
		return nil, err
	}
	if ix != nil {
		for _, en := range ix.candidates(sub) {
			if en.active.Scope.Matches(sub) && juris.covers(r, en.active.Agency, sub) {
				out = append(out, en)
			}
		}
		return out, nil
	}
	r.Scan(BucketActive, "", func(id string, raw []byte) bool {
		en, err := e.lookup(r, id, raw)
		if err != nil {
			scanErr = err
			return false
		}
		if en.active.Scope.Matches(sub) && juris.covers(r, en.active.Agency, sub) {
			out = append(out, en)
		}
		return true
	})
	return out, scanErr
}

// jurisdictions caches agencies' countries during one evaluation.
type jurisdictions map[string]string

// covers says whether the agency's country is an origin or destination of
// the document: an agency's rules reach only documents that touch its
// jurisdiction, whatever scope its policy declares (sovereignty cuts both
// ways: no agency can reject another country's trade). A suspended agency
// has no jurisdiction: its rules are suspended with it (neither Enforce,
// Audit nor DryRun is evaluated) until it is reinstated.
func (j jurisdictions) covers(r state.Reader, agency string, sub policy.Subject) bool {
	country, ok := j[agency]
	if !ok {
		country = ""
		if id, ok, err := state.LookupIdentity(r, "agency/"+agency); err == nil && ok && id.Status == statusActive {
			country = id.Country
		}
		j[agency] = country
	}
	if country == "" {
		return false
	}
	return slices.Contains(sub.OriginCountries, country) || slices.Contains(sub.DestinationCountries, country)
}

// statusActive is the core identity status of an agency that may act.
const statusActive = "active"

// CountryOf is the registered jurisdiction of an agency ("" if none).
func CountryOf(r state.Reader, agency string) string {
	if id, ok, err := state.LookupIdentity(r, "agency/"+agency); err == nil && ok {
		return id.Country
	}
	return ""
}

func (e *Evaluator) lookup(r state.Reader, id string, raw []byte) (*entry, error) {
	e.mu.Lock()
	en, ok := e.cache[id]
	e.mu.Unlock()
	if ok && en.raw == string(raw) {
		return en, nil
	}
	en = &entry{activeID: id, raw: string(raw)}
	if err := json.Unmarshal(raw, &en.active); err != nil {
		return nil, fmt.Errorf("policy %s: active entry unreadable: %w", id, err)
	}
	v, ok, err := GetVersion(r, id, en.active.Version)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("policy %s: version %d is in force but not stored", id, en.active.Version)
	}
	compiled, errs := policy.Compile(&v.Policy)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, ce := range errs {
			msgs[i] = ce.Error()
		}
		en.compileErr = "the stored policy does not compile on this node and fails closed: " + strings.Join(msgs, "; ")
	} else {
		en.compiled = compiled
	}
	e.mu.Lock()
	if len(e.cache) >= maxCache {
		e.cache = map[string]*entry{}
	}
	e.cache[id] = en
	e.mu.Unlock()
	return en, nil
}

func evalKey(docID string, height uint64, index, seq int) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], height)
	binary.BigEndian.PutUint32(b[8:12], uint32(index))
	binary.BigEndian.PutUint32(b[12:16], uint32(seq))
	return docID + "\x00" + string(b[:])
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
