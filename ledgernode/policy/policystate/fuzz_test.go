package policystate_test

import (
	"encoding/json"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
)

// FuzzDecodePolicy: the policy.publish/policy.update payload decoder
// (strict JSON, then compile) never panics and refuses with reasons.
func FuzzDecodePolicy(f *testing.F) {
	f.Add([]byte(`{"id":"us-fda-fish","agency":"us-fda","enforcement":"Enforce","scope":{"hsPrefixes":["03","16"]},"rules":[{"name":"registered-facility","expression":"has(doc.producer.fdaRegistration)","message":"producer {{doc.producer.name}}"}]}`))
	f.Add([]byte(`{"id":"x","agency":"y","enforcement":"Audit","rules":[{"name":"r","expression":"doc.a ==="}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, c, err := policystate.DecodePolicy(json.RawMessage(payload))
		if err == nil && (p == nil || c == nil) {
			t.Fatal("accepted without a compiled policy")
		}
		for _, h := range policystate.Handlers() {
			if h.Type != policystate.TypeWithdraw {
				_ = h.Check(payload)
			}
		}
	})
}

// FuzzDecodeWithdraw: the policy.withdraw payload check never panics, and
// a payload it accepts names a policy and a reason and means the same
// once written back canonically (which the check accepts too).
func FuzzDecodeWithdraw(f *testing.F) {
	f.Add([]byte(`{"id":"us-fda-fish","reason":"replaced by us-fda-fish-2"}`))
	f.Add([]byte(`{"id":"","reason":""}`))
	var check func(json.RawMessage) error
	for _, h := range policystate.Handlers() {
		if h.Type == policystate.TypeWithdraw {
			check = h.Check
		}
	}
	if check == nil {
		f.Fatal("no policy.withdraw handler")
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if check(payload) != nil {
			return
		}
		var w policystate.Withdraw
		if err := json.Unmarshal(payload, &w); err != nil || w.ID == "" || w.Reason == "" {
			t.Fatalf("accepted %q: decodes to %+v (%v), want an id and a reason", payload, w, err)
		}
		canon, err := tx.Canonicalize(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := check(canon); err != nil {
			t.Fatalf("accepted %q, but its canonical form %s is refused: %v", payload, canon, err)
		}
		var again policystate.Withdraw
		if err := json.Unmarshal(canon, &again); err != nil || again != w {
			t.Fatalf("round trip changed %+v to %+v", w, again)
		}
	})
}
