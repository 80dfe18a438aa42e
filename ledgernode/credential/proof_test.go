package credential

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multicodec"
	"github.com/multiformats/go-varint"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

func readJSONFile(t *testing.T, path string, v any) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
	return raw
}

// vectorKey is the specification's key pair (multicodec ed25519-priv seed).
func vectorKey(t *testing.T) (ed25519.PrivateKey, string) {
	var kp struct{ PublicKeyMultibase, PrivateKeyMultibase string }
	readJSONFile(t, "testdata/keyPair.json", &kp)
	_, raw, err := multibase.Decode(kp.PrivateKeyMultibase)
	if err != nil {
		t.Fatal(err)
	}
	code, n, err := varint.FromUvarint(raw)
	if err != nil || multicodec.Code(code) != multicodec.Ed25519Priv || len(raw)-n != ed25519.SeedSize {
		t.Fatalf("private key multibase: %x %v", raw, err)
	}
	return ed25519.NewKeyFromSeed(raw[n:]), kp.PublicKeyMultibase
}

// TestEddsaJcs2022MatchesTheW3CTestVector re-creates the specification's
// proof value from its key and unsigned credential (the algorithm is the
// standard one, byte for byte) and verifies the published credential.
func TestEddsaJcs2022MatchesTheW3CTestVector(t *testing.T) {
	priv, pubMB := vectorKey(t)
	if got := Multikey(priv.Public().(ed25519.PublicKey)); got != pubMB {
		t.Fatalf("public key multibase %s, want %s", got, pubMB)
	}
	var signed map[string]any
	readJSONFile(t, "testdata/signedJCS.json", &signed)
	proof := signed["proof"].(map[string]any)
	want := proof["proofValue"].(string)
	delete(proof, "proofValue")
	doc := map[string]any{}
	for k, v := range signed {
		if k != "proof" {
			doc[k] = v
		}
	}
	hash, err := proofHash(doc, proof)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := multibase.Encode(multibase.Base58BTC, ed25519.Sign(priv, hash))
	if got != want {
		t.Fatalf("proofValue\n got %s\nwant %s", got, want)
	}
	// The published credential verifies with the published public key.
	pub, err := ParseMultikey(pubMB)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := decodeProofValue(want)
	if err != nil || !ed25519.Verify(pub, hash, sig) {
		t.Fatalf("published proof does not verify: %v", err)
	}
}

func signedDoc(t *testing.T, key ed25519.PrivateKey) map[string]any {
	t.Helper()
	doc := map[string]any{"@context": []any{ContextV2, ContextV1}, "id": "urn:x", "type": []any{"VerifiableCredential"},
		"credentialSubject": map[string]any{"id": "urn:y"}}
	out, err := Sign(doc, Issuer{Key: key, Name: "node"}, "2026-03-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func roundTrip(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(v)
	out, err := decodeObject(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignedDocumentVerifiesAndEachProofFieldIsChecked(t *testing.T) {
	key, _ := tx.GenerateKey()
	doc := roundTrip(t, signedDoc(t, key))
	if _, probs := VerifyProof(doc); probs != nil {
		t.Fatalf("fresh signature: %v", probs)
	}
	other, _ := tx.GenerateKey()
	otherVM := VerificationMethod(other.Public().(ed25519.PublicKey))
	cases := []struct {
		name, field string
		edit        func(d map[string]any)
	}{
		{"proof purpose authentication", "proof.proofPurpose", func(d map[string]any) { proof(d)["proofPurpose"] = "authentication" }},
		{"cryptosuite eddsa-rdfc-2022", "proof.cryptosuite", func(d map[string]any) { proof(d)["cryptosuite"] = "eddsa-rdfc-2022" }},
		{"proof type Ed25519Signature2020", "proof.type", func(d map[string]any) { proof(d)["type"] = "Ed25519Signature2020" }},
		{"verification method of another key", "proof.verificationMethod", func(d map[string]any) { proof(d)["verificationMethod"] = otherVM }},
		{"verification method fragment not the key", "proof.verificationMethod", func(d map[string]any) {
			vm := proof(d)["verificationMethod"].(string)
			proof(d)["verificationMethod"] = vm[:strings.IndexByte(vm, '#')] + "#keys-1"
		}},
		{"verification method did:web", "proof.verificationMethod", func(d map[string]any) { proof(d)["verificationMethod"] = "did:web:example.com#key-1" }},
		{"issuer another did:key", "proof.verificationMethod", func(d map[string]any) {
			d["issuer"] = map[string]any{"id": DIDKey(other.Public().(ed25519.PublicKey))}
		}},
		{"no issuer", "issuer", func(d map[string]any) { delete(d, "issuer") }},
		{"proof @context differs", "proof.@context", func(d map[string]any) { proof(d)["@context"] = []any{ContextV2} }},
		{"created not a time", "proof.created", func(d map[string]any) { proof(d)["created"] = "yesterday" }},
		{"proof value not base58btc", "proof.proofValue", func(d map[string]any) { proof(d)["proofValue"] = "u" + proof(d)["proofValue"].(string)[1:] }},
		{"proof value cut", "proof.proofValue", func(d map[string]any) { proof(d)["proofValue"] = proof(d)["proofValue"].(string)[:40] }},
		{"subject changed", "proof.proofValue", func(d map[string]any) { d["credentialSubject"] = map[string]any{"id": "urn:z"} }},
		{"proof set", "proof", func(d map[string]any) { d["proof"] = []any{d["proof"]} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := roundTrip(t, signedDoc(t, key))
			c.edit(d)
			_, probs := VerifyProof(d)
			if !hasField(probs, c.field) {
				t.Fatalf("want a problem with %s, got %v", c.field, probs)
			}
		})
	}
}

func proof(d map[string]any) map[string]any { return d["proof"].(map[string]any) }

func hasField(ps []Problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

func TestDIDKeyRoundTripAndRefusals(t *testing.T) {
	k, _ := tx.GenerateKey()
	pub := k.Public().(ed25519.PublicKey)
	did := DIDKey(pub)
	ctrl, got, err := ResolveVerificationMethod(VerificationMethod(pub))
	if err != nil || !got.Equal(pub) || ctrl != did {
		t.Fatalf("%v %v %v", ctrl, got, err)
	}
	x25519 := append(varint.ToUvarint(uint64(multicodec.X25519Pub)), pub...)
	xs, _ := multibase.Encode(multibase.Base58BTC, x25519)
	for _, bad := range []string{"did:web:example.com", "did:key:zzzz", did + "#other", "did:key:m123", "did:key:" + xs + "#" + xs, did} {
		if _, _, err := ResolveVerificationMethod(bad); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
}

// TestMultikeyMatchesTheSpecificationPrefix: an Ed25519 did:key starts with
// z6Mk, as every did:key implementation writes it.
func TestMultikeyMatchesTheSpecificationPrefix(t *testing.T) {
	k, _ := tx.GenerateKey()
	if mk := Multikey(k.Public().(ed25519.PublicKey)); !strings.HasPrefix(mk, "z6Mk") {
		t.Fatalf("multikey %s", mk)
	}
}

func TestStatusListBitOrderAndEncoding(t *testing.T) {
	bits := make([]byte, StatusListBytes)
	SetBit(bits, 0, true)
	SetBit(bits, 9, true)
	SetBit(bits, StatusListSize-1, true)
	if bits[0] != 0x80 || bits[1] != 0x40 || bits[StatusListBytes-1] != 0x01 {
		t.Fatalf("bit order: %08b %08b %08b", bits[0], bits[1], bits[StatusListBytes-1])
	}
	enc, err := EncodeList(bits)
	if err != nil || enc[0] != 'u' {
		t.Fatalf("%q %v", enc[:8], err)
	}
	back, err := DecodeList(enc, StatusListBytes)
	if err != nil || !bytes.Equal(back, bits) {
		t.Fatalf("round trip: %v", err)
	}
	SetBit(bits, 9, false)
	if Bit(bits, 9) || !Bit(bits, 0) {
		t.Fatal("clear")
	}
	big, _ := EncodeList(make([]byte, 4*StatusListBytes))
	if _, err := DecodeList(big, StatusListBytes); err == nil || !strings.Contains(err.Error(), "expands beyond") {
		t.Fatalf("oversized list: %v", err)
	}
	if _, err := DecodeList("z"+enc[1:], StatusListBytes); err == nil {
		t.Fatal("base58 list accepted")
	}
}
