package tx

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

var created = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func signedNote(t testing.TB) (*Signed, ed25519.PrivateKey) {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := BuildSigned("testnet", "note.put", map[string]any{"key": "a", "value": "ü<&>"}, created, k)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

func TestSignedEnvelopeRoundTripsAndVerifies(t *testing.T) {
	s, _ := signedNote(t)
	if err := s.VerifySignature(); err != nil {
		t.Fatal(err)
	}
	again, err := Decode(s.Canonical, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != s.ID || !bytes.Equal(again.Canonical, s.Canonical) {
		t.Fatal("decode of canonical bytes changed the id")
	}
	// Whitespace and member order do not change the id: the id is over the
	// canonical form.
	var m map[string]any
	_ = json.Unmarshal(s.Canonical, &m)
	pretty, _ := json.MarshalIndent(m, "", "   ")
	p, err := Decode(pretty, Limits{})
	if err != nil || p.ID != s.ID {
		t.Fatalf("pretty-printed form: %v, id equal %v", err, err == nil && p.ID == s.ID)
	}
	if !strings.Contains(string(s.Canonical), `"value":"ü<&>"`) {
		t.Fatalf("canonical JSON must not escape HTML or non-ASCII: %s", s.Canonical)
	}
}

func TestCanonicalFormMatchesRFC8785Library(t *testing.T) {
	s, _ := signedNote(t)
	var e Envelope
	_ = json.Unmarshal(s.Canonical, &e)
	lib, err := Canonicalize(e)
	if err != nil {
		t.Fatal(err)
	}
	// json.Marshal escapes <>& which the JCS transform normalises back.
	if !bytes.Equal(lib, s.Canonical) {
		t.Fatalf("hand-written canonical form differs from the library:\n%s\n%s", s.Canonical, lib)
	}
}

// mutate re-encodes the envelope after changing one field.
func mutate(t *testing.T, s *Signed, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(s.Canonical, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	raw, _ := json.Marshal(m)
	return raw
}

func TestDecodeRejections(t *testing.T) {
	s, k := signedNote(t)
	sig, _ := base64.RawURLEncoding.DecodeString(s.Sig)
	// S + L: the same signature with a non-canonical scalar. Ed25519
	// verifiers that accept it allow malleated duplicates of a transaction.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	sBytes := make([]byte, 32)
	for i := 0; i < 32; i++ {
		sBytes[31-i] = sig[32+i]
	}
	sInt := new(big.Int).SetBytes(sBytes)
	sInt.Add(sInt, l)
	nonCanon := append([]byte(nil), sig[:32]...)
	sb := sInt.FillBytes(make([]byte, 32))
	for i := 0; i < 32; i++ {
		nonCanon = append(nonCanon, sb[31-i])
	}
	other, _ := GenerateKey()

	cases := []struct {
		name, field string
		raw         []byte
		large       bool
		sigOnly     bool // decodes, but the signature must not verify
	}{
		{name: "malformed JSON", field: "envelope", raw: []byte(`{"v":1,"type":`)},
		{name: "trailing garbage", field: "envelope", raw: append(bytes.Clone(s.Canonical), []byte(`{}`)...)},
		{name: "duplicate key", field: "envelope", raw: bytes.Replace(s.Canonical, []byte(`{"created"`), []byte(`{"type":"x","created"`), 1)},
		{name: "invalid UTF-8", field: "envelope", raw: bytes.Replace(s.Canonical, []byte("ü"), []byte{0xff, 0xfe}, 1)},
		{name: "wrong type for v", field: "v", raw: mutate(t, s, func(m map[string]any) { m["v"] = "1" })},
		{name: "unknown field", field: "extra", raw: mutate(t, s, func(m map[string]any) { m["extra"] = 1 })},
		{name: "unsupported version", field: "v", raw: mutate(t, s, func(m map[string]any) { m["v"] = 2 })},
		{name: "bad type name", field: "type", raw: mutate(t, s, func(m map[string]any) { m["type"] = "Note Put" })},
		{name: "payload not an object", field: "payload", raw: mutate(t, s, func(m map[string]any) { m["payload"] = []int{1} })},
		{name: "signer not a key", field: "signer", raw: mutate(t, s, func(m map[string]any) { m["signer"] = "abc" })},
		{name: "short nonce", field: "nonce", raw: mutate(t, s, func(m map[string]any) { m["nonce"] = "x" })},
		{name: "created not UTC", field: "created", raw: mutate(t, s, func(m map[string]any) { m["created"] = "2026-05-01T10:00:00+02:00" })},
		{name: "missing signature", field: "sig", raw: mutate(t, s, func(m map[string]any) { delete(m, "sig") })},
		{name: "signature with padding", field: "sig", raw: mutate(t, s, func(m map[string]any) { m["sig"] = s.Sig + "==" })},
		{name: "signature in standard base64", field: "sig", raw: mutate(t, s, func(m map[string]any) {
			m["sig"] = strings.TrimRight(base64.StdEncoding.EncodeToString(append(bytes.Repeat([]byte{0xfb}, 63), 0xff)), "=")
		})},
		{name: "signature too short", field: "sig", raw: mutate(t, s, func(m map[string]any) { m["sig"] = s.Sig[:80] })},
		{name: "deep nesting", field: "envelope", raw: mutate(t, s, func(m map[string]any) {
			var v any = "x"
			for i := 0; i < 40; i++ {
				v = []any{v}
			}
			m["payload"] = map[string]any{"deep": v}
		})},
		{name: "oversize", field: "envelope", large: true, raw: mutate(t, s, func(m map[string]any) {
			m["payload"] = map[string]any{"big": strings.Repeat("x", 300<<10)}
		})},
		{name: "bad signature (payload changed)", field: "sig", sigOnly: true, raw: mutate(t, s, func(m map[string]any) { m["payload"] = map[string]any{"key": "b"} })},
		{name: "non-canonical signature scalar (S+L)", field: "sig", sigOnly: true, raw: mutate(t, s, func(m map[string]any) {
			m["sig"] = base64.RawURLEncoding.EncodeToString(nonCanon)
		})},
		{name: "signed by another key", field: "sig", sigOnly: true, raw: mutate(t, s, func(m map[string]any) {
			m["signer"] = KeyID(other.Public().(ed25519.PublicKey))
		})},
	}
	_ = k
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Decode(c.raw, Limits{})
			if c.sigOnly {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				err = d.VerifySignature()
			}
			if err == nil {
				t.Fatal("accepted")
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("error %v: want field %q", err, c.field)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			if c.large != errors.Is(err, ErrTooLarge) {
				t.Fatalf("too-large = %v, want %v", errors.Is(err, ErrTooLarge), c.large)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("error message not bounded: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestVerifierCachesOnlySuccesses(t *testing.T) {
	s, _ := signedNote(t)
	v := NewVerifier(4)
	if err := v.Verify(s); err != nil {
		t.Fatal(err)
	}
	bad, _ := Decode(mutate(t, s, func(m map[string]any) { m["nonce"] = "changed-nonce" }), Limits{})
	for i := 0; i < 2; i++ {
		if err := v.Verify(bad); err == nil {
			t.Fatal("bad signature verified (cached failure?)")
		}
	}
	for i := 0; i < 10; i++ { // eviction keeps answers correct
		o, _ := signedNote(t)
		if err := v.Verify(o); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Verify(s); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFileRoundTripRefusesOverwriteAndMismatch(t *testing.T) {
	k, _ := GenerateKey()
	p := t.TempDir() + "/k.key"
	if err := WriteKeyFile(p, k, "test"); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(p, k, "again"); err == nil {
		t.Fatal("overwrote an existing key file")
	}
	got, err := ReadKeyFile(p)
	if err != nil || !got.Equal(k) {
		t.Fatalf("read back: %v", err)
	}
	data, _ := MarshalKey(k, "")
	other, _ := GenerateKey()
	tampered := bytes.Replace(data, []byte(KeyID(k.Public().(ed25519.PublicKey))), []byte(KeyID(other.Public().(ed25519.PublicKey))), 1)
	if _, err := UnmarshalKey(tampered); err == nil {
		t.Fatal("key file with mismatched keyId accepted")
	}
}

// BuildSigned skips re-decoding what it built; it must give exactly what a
// node decodes from the same bytes, and refuse exactly what Sign refuses.
func TestBuildSignedEqualsWhatANodeDecodes(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	deep := func(n int) any {
		var v any = "x"
		for range n {
			v = []any{v}
		}
		return map[string]any{"v": v}
	}
	for name, payload := range map[string]any{
		"html and non-ASCII": map[string]any{"key": "a", "value": "ü<&>\u2028\x01\"\\"},
		"numbers":            map[string]any{"a": 1e21, "b": 0.1, "c": math.Copysign(0, -1), "d": 123456789012345678, "e": 5e-324},
		"member order":       json.RawMessage(`{ "z": 1, "a": {"y": [true, null, "é"], "b": 2} }`),
		// The envelope adds a level: its depth is the payload's plus one.
		"deepest allowed":    deep(signLimits.MaxDepth - 2),
		"one level too deep": deep(signLimits.MaxDepth - 1),
	} {
		t.Run(name, func(t *testing.T) {
			fast, fastErr := BuildSigned("testnet", "note.put", payload, created, k)
			if (fastErr != nil) != (name == "one level too deep") {
				t.Fatalf("BuildSigned: %v", fastErr)
			}
			e, err := Build("testnet", "note.put", payload, created)
			if err != nil {
				t.Fatal(err)
			}
			if fastErr != nil {
				if _, err := e.Sign(k); err == nil || err.Error() != fastErr.Error() {
					t.Fatalf("BuildSigned refused with %v, Sign with %v", fastErr, err)
				}
				return
			}
			node, err := Decode(fast.Canonical, signLimits)
			if err != nil {
				t.Fatalf("a node refuses what BuildSigned made: %v", err)
			}
			if !reflect.DeepEqual(fast, node) {
				t.Fatalf("BuildSigned gave\n%+v\na node decodes\n%+v", fast, node)
			}
			if err := fast.VerifySignature(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAnEnvelopeWithAFixedNonceSignsToTheSameTransactionAgain(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	if other, _ := NewNonce(); other == nonce {
		t.Fatalf("two nonces are the same: %s", nonce)
	}
	sign := func() *Signed {
		e, err := Build("testnet", "note.put", map[string]string{"key": "a", "value": "b"}, created)
		if err != nil {
			t.Fatal(err)
		}
		e.Nonce = nonce
		s, err := e.Sign(k)
		if err != nil {
			t.Fatalf("a node refuses the envelope with nonce %q: %v", nonce, err)
		}
		return s
	}
	first, again := sign(), sign()
	if first.ID != again.ID || first.Nonce != nonce {
		t.Errorf("the same nonce and creation time signed to transactions %s and %s (nonce %q)", first.IDHex(), again.IDHex(), first.Nonce)
	}
}
