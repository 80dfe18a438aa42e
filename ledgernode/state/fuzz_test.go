package state_test

import (
	"encoding/json"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// FuzzCheckPayloads feeds arbitrary payloads to the stateless check of
// every registered transaction type: it must answer (accept or a field
// error), never panic, and accept only payloads that decode strictly.
func FuzzCheckPayloads(f *testing.F) {
	f.Add("note.put", []byte(`{"key":"a","value":1}`))
	f.Add("note.put", []byte(`{"key":"a","value":1,"expectVersion":0}`))
	f.Add("key.register", []byte(`{"owner":"participant/a","publicKey":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	f.Add("key.revoke", []byte(`{"keyId":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","effective":"2026-01-01T00:00:00Z","reason":"x"}`))
	f.Add("note.put", []byte(`{"key":"","value":null}`))
	reg := state.NewRegistry()
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		h, ok := reg.Lookup(typ)
		if !ok {
			return
		}
		if err := h.Check(payload); err == nil && !json.Valid(payload) {
			t.Fatalf("%s accepted invalid JSON %q", typ, payload)
		}
	})
}
