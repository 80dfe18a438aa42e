package tx

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

func BenchmarkEd25519Verify(b *testing.B) {
	s, _ := signedNote(b)
	msg := s.SigningBytes()
	sig := s.sig
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !ed25519.Verify(s.PublicKey, msg, sig) {
			b.Fatal("verify")
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	s, _ := signedNote(b)
	b.SetBytes(int64(len(s.Canonical)))
	for i := 0; i < b.N; i++ {
		if _, err := Decode(s.Canonical, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	k, _ := GenerateKey()
	e, _ := Build("testnet", "note.put", map[string]any{"key": "a", "value": "b"}, created)
	for i := 0; i < b.N; i++ {
		if _, err := e.Sign(k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildSigned/{BuildSigned,Build+Sign}: a client's cost per
// transaction for a note the size ledgerbench sends, with and without the
// re-decoding that Sign does.
func BenchmarkBuildSigned(b *testing.B) {
	k, _ := GenerateKey()
	payload := map[string]any{"key": "bench/1", "value": strings.Repeat("x", 1400)}
	b.Run("BuildSigned", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := BuildSigned("testnet", "note.put", payload, created, k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Build+Sign", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			e, err := Build("testnet", "note.put", payload, created)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.Sign(k); err != nil {
				b.Fatal(err)
			}
		}
	})
}
