package policystate_test

import (
	"encoding/json"
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

// FuzzDecodeWithdraw: the policy.withdraw payload decoder never panics.
func FuzzDecodeWithdraw(f *testing.F) {
	f.Add([]byte(`{"id":"us-fda-fish","reason":"replaced by us-fda-fish-2"}`))
	f.Add([]byte(`{"id":"","reason":""}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, h := range policystate.Handlers() {
			if h.Type == policystate.TypeWithdraw {
				_ = h.Check(payload)
			}
		}
	})
}
