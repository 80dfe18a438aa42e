package tx

import (
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
