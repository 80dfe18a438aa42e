package tx

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeTx: whatever the input, Decode either fails with a FieldError
// or returns an envelope whose canonical bytes decode to the same id.
func FuzzDecodeTx(f *testing.F) {
	s, _ := signedNote(f)
	f.Add(s.Canonical)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"v":1,"network":"n","type":"a.b","payload":{},"signer":"","nonce":"","created":"","sig":""}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := Decode(raw, Limits{MaxEnvelopeBytes: 64 << 10})
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("error %T is not a FieldError: %v", err, err)
			}
			return
		}
		again, err := Decode(d.Canonical, Limits{MaxEnvelopeBytes: 64 << 10})
		if err != nil || again.ID != d.ID {
			t.Fatalf("canonical bytes do not round-trip: %v", err)
		}
		_ = d.VerifySignature()
	})
}

// FuzzBuildSignedMatchesDecode holds the client's shortcut to the node's
// decoder for any payload: what BuildSigned makes, a node decodes to the
// same thing; what it refuses, Sign refuses too.
func FuzzBuildSignedMatchesDecode(f *testing.F) {
	k, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"key":"a","value":"ü<&>"}`))
	f.Add([]byte(`{"b":1e21,"a":[0.1,-0,5e-324,null,true],"c":{"d":"\u2028\u0001"}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		fast, fastErr := BuildSigned("testnet", "note.put", json.RawMessage(payload), created, k)
		if fastErr != nil {
			e, err := Build("testnet", "note.put", json.RawMessage(payload), created)
			if err != nil {
				return // both refuse at Build
			}
			if _, err := e.Sign(k); err == nil {
				t.Fatalf("BuildSigned refused (%v) what Sign accepts", fastErr)
			}
			return
		}
		node, err := Decode(fast.Canonical, signLimits)
		if err != nil {
			t.Fatalf("a node refuses what BuildSigned made: %v", err)
		}
		if !reflect.DeepEqual(fast, node) {
			t.Fatalf("BuildSigned gave %+v, a node decodes %+v", fast, node)
		}
	})
}
