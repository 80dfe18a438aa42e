package tx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// sameDecode fails unless the fast path and the full decoder agree on raw:
// when the fast path takes an envelope, the full decoder returns the very
// same Signed value.
func sameDecode(t *testing.T, raw []byte) (fastTook bool) {
	t.Helper()
	lim := Limits{MaxEnvelopeBytes: 64 << 10}.withDefaults()
	fast, ok := decodeCanonical(raw, lim.MaxDepth)
	full, err := decodeFull(raw, lim)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast path took %q, the full decoder refuses it: %v", raw, err)
	}
	if !reflect.DeepEqual(fast, full) {
		t.Fatalf("fast path and full decoder differ on %q:\n fast %+v\n full %+v", raw, fast, full)
	}
	return true
}

// FuzzDecodeFastPathAgrees: whatever the input, an envelope the fast path
// takes is one the full RFC 8785 decoder takes too, to the same value.
func FuzzDecodeFastPathAgrees(f *testing.F) {
	s, _ := signedNote(f)
	f.Add(s.Canonical)
	f.Add(bytes.Replace(s.Canonical, []byte(`"key":"a"`), []byte(`"key":"a\n\u001f\"\\"`), 1))
	f.Add(bytes.Replace(s.Canonical, []byte(`"key":"a"`), []byte(`"a":[1,-2,0,true,null,{"x":{}}],"key":"a"`), 1))
	f.Fuzz(func(t *testing.T, raw []byte) { sameDecode(t, raw) })
}

// The fast path takes what clients and blocks send (canonical envelopes)
// and leaves every other spelling to the full decoder, which accepts the
// same transaction under the same id or refuses it as before.
func TestFastPathTakesCanonicalEnvelopesOnly(t *testing.T) {
	s, k := signedNote(t)
	if !sameDecode(t, s.Canonical) {
		t.Fatal("a canonical signed note does not take the fast path")
	}
	// A payload with every canonical form the fast path judges itself.
	rich, err := BuildSigned("testnet", "note.put", json.RawMessage(`{"a":[1,-25,0,true,false,null,"x\n\t\u0001é"],"b":{},"c":[],"key":"k"}`), created, k)
	if err != nil {
		t.Fatal(err)
	}
	if !sameDecode(t, rich.Canonical) {
		t.Fatalf("canonical payload %s does not take the fast path", rich.Payload)
	}
	swap := func(old, new string) []byte {
		if !bytes.Contains(s.Canonical, []byte(old)) {
			t.Fatalf("test setup: %q not in the envelope", old)
		}
		return bytes.Replace(s.Canonical, []byte(old), []byte(new), 1)
	}
	for name, raw := range map[string][]byte{
		"whitespace":                  swap(`{"created":`, `{ "created":`),
		"members out of order":        swap(`{"key":"a","value":`, `{"value":"ü<&>","key":"a","x":`),
		"duplicate key":               swap(`{"key":"a",`, `{"key":"a","key":"a",`),
		"escaped solidus":             swap(`"key":"a"`, `"key":"\/"`),
		"needless unicode escape":     swap(`"key":"a"`, `"key":"\u0061"`),
		"upper-case hex escape":       swap(`"key":"a"`, `"key":"\u001F"`),
		"short form as u-escape":      swap(`"key":"a"`, `"key":"\u000a"`),
		"fraction":                    swap(`"key":"a"`, `"key":1.5`),
		"exponent":                    swap(`"key":"a"`, `"key":1e2`),
		"minus zero":                  swap(`"key":"a"`, `"key":-0`),
		"leading zero":                swap(`"key":"a"`, `"key":01`),
		"16 digits":                   swap(`"key":"a"`, `"key":1234567890123456`),
		"non-ascii key":               swap(`"key":"a"`, `"kéy":"a"`),
		"trailing space":              append(bytes.Clone(s.Canonical), ' '),
		"unknown field":               swap(`,"v":1}`, `,"v":1,"w":1}`),
		"v 2":                         swap(`,"v":1}`, `,"v":2}`),
		"escape in an envelope field": swap(`"network":"testnet"`, `"network":"test\u006eet"`),
		"deeper than the limit":       swap(`"key":"a"`, `"key":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)),
	} {
		t.Run(name, func(t *testing.T) {
			if sameDecode(t, raw) {
				t.Fatalf("fast path took a non-canonical or unsupported spelling: %s", raw)
			}
			fast, ferr := Decode(raw, Limits{})
			full, err := decodeFull(raw, Limits{})
			if (ferr == nil) != (err == nil) || (err == nil && fast.ID != full.ID) || (err != nil && ferr.Error() != err.Error()) {
				t.Fatalf("Decode (%v) and the full decoder (%v) disagree", ferr, err)
			}
		})
	}
}

func BenchmarkDecodeFullPath(b *testing.B) {
	s, _ := signedNote(b)
	b.SetBytes(int64(len(s.Canonical)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := decodeFull(s.Canonical, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
