package policystate

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Buckets of the policy state.
const (
	BucketHeads    = "policies"       // id -> policy.Head
	BucketVersions = "policyversions" // id + "\x00" + version (4 bytes, big endian) -> policy.Version
	BucketActive   = "policyactive"   // id -> activeEntry: the policies in force, read by every evaluation
	BucketByAgency = "policyagency"   // agency + "\x00" + id -> ""
	BucketEvals    = "policyevals"    // document id + "\x00" + height (8B) + index (4B) + seq (4B) -> policy.Evaluation
)

// Transaction types (see package policy).
const (
	TypePublish  = policy.TxPublish
	TypeUpdate   = policy.TxUpdate
	TypeWithdraw = policy.TxWithdraw
)

// Rejection codes of this package.
const (
	CodePolicyInvalid   = "policy_invalid"   // the policy does not compile
	CodePolicyViolation = "policy_violation" // an Enforce rule failed
	CodePolicyError     = "policy_error"     // an Enforce rule could not be evaluated (fails closed)
)

// Withdraw is the payload of policy.withdraw.
type Withdraw = policy.Withdraw

// Handlers are the policy transaction types.
func Handlers() []state.Handler {
	return []state.Handler{
		{Type: TypePublish, Summary: "publish a new agency policy (CEL rules with a scope), version 1 (signed by the owning agency)",
			Check: checkPublish, Apply: applyPublish, Signers: []string{wire.KindAgency}, Authorize: namesSigner},
		{Type: TypeUpdate, Summary: "publish a new version of a policy; earlier versions are kept (owning agency only)",
			Check: checkUpdate, Apply: applyUpdate, Signers: []string{wire.KindAgency}, Authorize: namesSigner},
		{Type: TypeWithdraw, Summary: "withdraw a policy with a reason; its history is kept (owning agency; the network admin for a suspended agency)",
			Check: wire.CheckAs[Withdraw](), Apply: applyWithdraw, Signers: []string{wire.KindAgency, wire.KindAdmin}},
	}
}

// Register adds the policy transaction types to r and installs the rule
// engine as its evaluator.
func Register(r *state.Registry) {
	for _, h := range Handlers() {
		r.MustRegister(h)
	}
	r.SetEvaluator(NewEvaluator())
	// Evaluations are keyed by document id, then height: in ascending
	// order as documents are numbered (state.Registry.SetBucketFill).
	r.SetBucketFill(BucketEvals, state.AppendFill)
}

// DecodePolicy strictly decodes a policy payload and compiles it. Compile
// errors come back as one rejection reason each, naming the rule, line,
// column and message.
func DecodePolicy(payload json.RawMessage) (*policy.Policy, *policy.Compiled, error) {
	var p policy.Policy
	if err := tx.DecodePayload(payload, &p); err != nil {
		return nil, nil, err
	}
	c, errs := policy.Compile(&p)
	if len(errs) > 0 {
		return &p, nil, compileRejection(errs)
	}
	return &p, c, nil
}

func compileRejection(errs []policy.CompileError) *wire.Rejection {
	rej := &wire.Rejection{}
	for _, e := range errs {
		field := "payload"
		if e.Field != "" {
			field += "." + e.Field
		}
		rej.Reasons = append(rej.Reasons, chain.Reason{Code: CodePolicyInvalid, Field: field, Message: e.Error()})
	}
	return rej
}

func checkPublish(payload json.RawMessage) error {
	p, _, err := DecodePolicy(payload)
	if err != nil {
		return err
	}
	if err := tx.CheckPayloadKeys(payload, &policy.Policy{}); err != nil {
		return err
	}
	if p.Version != 0 {
		return tx.Fieldf("payload.version", fmt.Sprint(p.Version), "the ledger assigns versions: omit it when publishing (version 1)")
	}
	return nil
}

func checkUpdate(payload json.RawMessage) error {
	if _, _, err := DecodePolicy(payload); err != nil {
		return err
	}
	return tx.CheckPayloadKeys(payload, &policy.Policy{})
}

// namesSigner refuses, before consensus, a policy that names an agency
// other than the signer's: only the owning agency publishes its policies.
func namesSigner(s state.Signer, payload json.RawMessage) error {
	var p struct {
		Agency string `json:"agency"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil // the payload check reports it
	}
	if want := "agency/" + p.Agency; s.Owner != want {
		return wire.Reject(wire.CodeUnauthorized, "signer", "only %s can publish policies of agency %s; this transaction is signed by a key of %s",
			want, p.Agency, s.Owner)
	}
	return nil
}

// owner checks that the signer is a key of agency/<agency>; action says
// what only the owner may do.
func owner(c *state.Context, agency, action string) error {
	want := "agency/" + agency
	if c.Signer.Kind != wire.KindAgency || c.Signer.Owner != want {
		return wire.Reject(wire.CodeUnauthorized, "signer", "only %s can %s; this transaction is signed by a key of %s (%s)",
			want, action, c.Signer.Owner, c.Signer.Kind)
	}
	return nil
}

func applyPublish(c *state.Context) (any, error) {
	p, _, err := DecodePolicy(c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if err := owner(c, p.Agency, "publish a policy of agency "+p.Agency); err != nil {
		return nil, err
	}
	if h, ok, err := GetHead(c, p.ID); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "policy %q already exists (agency %s, version %d, %s); publish a new version with policy.update or choose another id",
			p.ID, h.Agency, h.Version, h.Status)
	}
	p.Version = 1
	compiled, errs := policy.Compile(p)
	if len(errs) > 0 {
		return nil, compileRejection(errs)
	}
	at := tx.FormatTime(c.Time)
	h := &policy.Head{ID: p.ID, Agency: p.Agency, Version: 1, Status: policy.StatusActive, Enforcement: p.Enforcement,
		Scope: p.Scope, Hash: compiled.Hash, Published: at, PublishedTx: c.TxID, Updated: at, UpdatedTx: c.TxID}
	if err := writeVersion(c, compiled, h); err != nil {
		return nil, err
	}
	c.Put(BucketByAgency, p.Agency+"\x00"+p.ID, nil)
	return map[string]any{"id": p.ID, "agency": p.Agency, "version": 1, "hash": compiled.Hash}, nil
}

func applyUpdate(c *state.Context) (any, error) {
	p, _, err := DecodePolicy(c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	h, ok, err := GetHead(c, p.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, "payload.id", "no policy %q on this ledger; publish it first with policy.publish", p.ID)
	}
	if err := owner(c, h.Agency, fmt.Sprintf("update policy %s, which it owns", h.ID)); err != nil {
		return nil, err
	}
	if p.Agency != h.Agency {
		return nil, wire.Reject(wire.CodeInvalid, "payload.agency", "%q: policy %s belongs to agency %s; a policy cannot change owner", p.Agency, h.ID, h.Agency)
	}
	if h.Status != policy.StatusActive {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "policy %s was withdrawn at %s (%s); publish a new policy under another id", h.ID, h.Withdrawn, h.Reason)
	}
	next := h.Version + 1
	if p.Version != 0 && p.Version != next {
		return nil, wire.Reject(wire.CodeConflict, "payload.version", "policy %s is at version %d: this update would create version %d, not %d; fetch the current version and retry",
			h.ID, h.Version, next, p.Version)
	}
	prev, ok, err := GetVersion(c, h.ID, h.Version)
	if err != nil {
		return nil, err
	}
	if ok {
		same := prev.Policy
		same.Version = 0
		cand := *p
		cand.Version = 0
		if reflect.DeepEqual(normalized(same), normalized(cand)) {
			return nil, wire.Reject(wire.CodeConflict, "payload", "policy %s version %d already has this content; nothing to update", h.ID, h.Version)
		}
	}
	p.Version = next
	compiled, errs := policy.Compile(p)
	if len(errs) > 0 {
		return nil, compileRejection(errs)
	}
	at := tx.FormatTime(c.Time)
	h.Version, h.Enforcement, h.Scope, h.Hash, h.Updated, h.UpdatedTx = next, p.Enforcement, p.Scope, compiled.Hash, at, c.TxID
	if err := writeVersion(c, compiled, h); err != nil {
		return nil, err
	}
	return map[string]any{"id": p.ID, "agency": p.Agency, "version": next, "hash": compiled.Hash}, nil
}

// normalized makes nil and empty lists compare equal.
func normalized(p policy.Policy) policy.Policy {
	raw, _ := json.Marshal(p)
	var out policy.Policy
	_ = json.Unmarshal(raw, &out)
	return out
}

func applyWithdraw(c *state.Context) (any, error) {
	w, err := wire.DecodeAndCheck[Withdraw](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	h, ok, err := GetHead(c, w.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, "payload.id", "no policy %q on this ledger", w.ID)
	}
	if c.Signer.IsAdmin() {
		// The network admin may withdraw the policies of a suspended agency
		// (which cannot sign any more), never an active agency's.
		id, ok, err := state.LookupIdentity(c, "agency/"+h.Agency)
		if err != nil {
			return nil, err
		}
		if !ok || id.Status == statusActive {
			return nil, wire.Reject(wire.CodeUnauthorized, "signer", "policy %s belongs to agency/%s, which is active: only it withdraws its policies; the network admin withdraws only the policies of a suspended agency",
				h.ID, h.Agency)
		}
	} else if err := owner(c, h.Agency, fmt.Sprintf("withdraw policy %s, which it owns (or the network admin, once the agency is suspended)", h.ID)); err != nil {
		return nil, err
	}
	if h.Status != policy.StatusActive {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "policy %s was already withdrawn at %s", h.ID, h.Withdrawn)
	}
	h.Status, h.Withdrawn, h.WithdrawnTx, h.Reason = policy.StatusWithdrawn, tx.FormatTime(c.Time), c.TxID, w.Reason
	if err := state.PutJSON(c, BucketHeads, h.ID, h); err != nil {
		return nil, err
	}
	c.Delete(BucketActive, h.ID)
	bumpActiveGeneration(c)
	return map[string]any{"id": h.ID, "version": h.Version, "withdrawn": h.Withdrawn}, nil
}

// activeEntry is what an evaluation reads for each policy in force: enough
// to decide scope without loading the policy.
type activeEntry struct {
	Version     int          `json:"version"`
	Hash        string       `json:"hash"`
	Agency      string       `json:"agency"`
	Enforcement string       `json:"enforcement"`
	Scope       policy.Scope `json:"scope"`
}

func writeVersion(c *state.Context, compiled *policy.Compiled, h *policy.Head) error {
	p := compiled.Policy
	v := policy.Version{Policy: p, Hash: compiled.Hash, TxID: c.TxID, Height: c.Height, Time: tx.FormatTime(c.Time), Signer: c.Signer.Owner}
	if err := state.PutJSON(c, BucketVersions, versionKey(p.ID, p.Version), v); err != nil {
		return err
	}
	if err := state.PutJSON(c, BucketHeads, p.ID, h); err != nil {
		return err
	}
	if err := state.PutJSON(c, BucketActive, p.ID, activeEntry{Version: p.Version, Hash: compiled.Hash, Agency: p.Agency,
		Enforcement: p.Enforcement, Scope: p.Scope}); err != nil {
		return err
	}
	bumpActiveGeneration(c)
	return nil
}

func versionKey(id string, version int) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(version))
	return id + "\x00" + string(b[:])
}
