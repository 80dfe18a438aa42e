package credential

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// FuzzReadStatusList feeds arbitrary status list credentials (what a node,
// or whoever answers in its place, returns) to the status check: it must
// never panic, never read a bit from a list that does not verify, and
// never expand a list beyond one list's size.
func FuzzReadStatusList(f *testing.F) {
	key, _ := tx.GenerateKey()
	bits := make([]byte, StatusListBytes)
	SetBit(bits, 3, true)
	url := "https://n0.example" + StatusListPath(PurposeRevocation, 0)
	vc, err := StatusListCredential(url, PurposeRevocation, bits, "2026-03-01T00:00:00Z")
	if err != nil {
		f.Fatal(err)
	}
	signed, err := Sign(vc, Issuer{Key: key}, "2026-03-01T00:00:00Z")
	if err != nil {
		f.Fatal(err)
	}
	raw, _ := json.Marshal(signed)
	f.Add(raw, "3")
	f.Add(raw, "131072")
	f.Add([]byte(`{"credentialSubject":{"encodedList":"uH4sIAAAAAAAA_wEAAP__AAAAAAAAAAA"}}`), "0")
	info := &ProofInfo{Key: key.Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, list []byte, index string) {
		o := Options{Status: func(context.Context, string) ([]byte, error) { return list, nil }}
		set, _, err := readStatus(context.Background(), o, StatusCheck{Purpose: PurposeRevocation, List: url, Index: index}, info)
		if err == nil {
			doc, derr := decodeObject(list)
			if derr != nil {
				t.Fatalf("read a bit (%v) from a list that does not decode: %v", set, derr)
			}
			if _, probs := VerifyProof(doc); probs != nil {
				t.Fatalf("read a bit from a list whose proof fails: %v", probs)
			}
		}
	})
}
