package trade

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// TestEddsaJcs2022MatchesTheW3CTestVector re-creates the specification's
// proof value from its key and unsigned credential: the algorithm here is
// the standard one, byte for byte.
func TestEddsaJcs2022MatchesTheW3CTestVector(t *testing.T) {
	var kp struct{ PublicKeyMultibase, PrivateKeyMultibase string }
	readJSONFile(t, "testdata/vc-di-eddsa/keyPair.json", &kp)
	seed, err := base58Decode(kp.PrivateKeyMultibase[1:])
	if err != nil || len(seed) != 34 || seed[0] != 0x80 || seed[1] != 0x26 {
		t.Fatalf("private key multibase: %x %v", seed, err)
	}
	priv := ed25519.NewKeyFromSeed(seed[2:])
	if got := multikey(priv.Public().(ed25519.PublicKey)); got != kp.PublicKeyMultibase {
		t.Fatalf("public key multibase %s, want %s", got, kp.PublicKeyMultibase)
	}
	raw, err := os.ReadFile("testdata/vc-di-eddsa/signedJCS.json")
	if err != nil {
		t.Fatal(err)
	}
	var signed map[string]any
	if err := json.Unmarshal(raw, &signed); err != nil {
		t.Fatal(err)
	}
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
	if got := "z" + base58Encode(ed25519.Sign(priv, hash)); got != want {
		t.Fatalf("proofValue\n got %s\nwant %s", got, want)
	}
}

func TestSignedCredentialVerifiesAndTamperingIsCaught(t *testing.T) {
	w := newWorld(t)
	w.issue("VC-1")
	var vc Credential
	w.view(func(v *state.View) {
		rec, _, _ := LookupCertificate(v, "VC-1")
		cv, _, _ := CertificateVersionOf(v, "VC-1", 1)
		vc = CertificateCredential("testnet", rec, cv)
	})
	key := newKey()
	signed, err := SignCredential(vc, key, "tradeledger testnet node n0", ts(w.now))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.MarshalIndent(signed, "", "  ")
	chk, err := VerifyCredential(raw)
	if err != nil {
		t.Fatal(err)
	}
	if chk.Issuer != DIDKey(key.Public().(ed25519.PublicKey)) || chk.Types[1] != "USMCACertificationOfOrigin" {
		t.Fatalf("check = %+v", chk)
	}
	// Key order and whitespace do not matter (JCS); content does.
	compact := new(bytes.Buffer)
	_ = json.Compact(compact, raw)
	if _, err := VerifyCredential(compact.Bytes()); err != nil {
		t.Fatalf("compact form: %v", err)
	}
	cases := map[string]func(string) string{
		"changed goods":         func(s string) string { return strings.Replace(s, `"847130"`, `"847150"`, 1) },
		"changed validity":      func(s string) string { return strings.Replace(s, `"validUntil": "2027`, `"validUntil": "2029`, 1) },
		"changed proof created": func(s string) string { return strings.Replace(s, `"created": "`, `"created": "1`, 1) },
		"another verification key": func(s string) string {
			return strings.Replace(s, chk.VerificationMethod, DIDKey(newKey().Public().(ed25519.PublicKey))+"#x", 1)
		},
		"proof value cut": func(s string) string { return strings.Replace(s, `"proofValue": "z`, `"proofValue": "z1`, 1) },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			tampered := edit(string(raw))
			if tampered == string(raw) {
				t.Fatal("the edit changed nothing")
			}
			if _, err := VerifyCredential([]byte(tampered)); err == nil {
				t.Fatal("tampered credential verified")
			}
		})
	}
}

func TestLicenseCredentialExtendsItsParent(t *testing.T) {
	w := newIPWorld(t)
	w.view(func(v *state.View) {
		l, _, _ := LookupLicense(v, "L1")
		r, _, _ := LookupRight(v, "TM-ACME")
		vc := LicenseCredential("testnet", l, r)
		sub := vc["credentialSubject"].(map[string]any)
		if sub["extendsCredential"] != "urn:tradeledger:testnet:license:L0" || sub["intellectualPropertyRightsType"] != "Trademark" {
			t.Fatalf("subject = %+v", sub)
		}
		root, _, _ := LookupLicense(v, "L0")
		if got := LicenseCredential("testnet", root, r)["credentialSubject"].(map[string]any)["extendsCredential"]; got != "urn:tradeledger:testnet:right:TM-ACME" {
			t.Fatalf("root extends %v", got)
		}
	})
}

func TestDIDKeyRoundTrip(t *testing.T) {
	k := newKey()
	pub := k.Public().(ed25519.PublicKey)
	did := DIDKey(pub)
	got, err := PublicKeyFromDIDKey(did + "#" + strings.TrimPrefix(did, "did:key:"))
	if err != nil || !got.Equal(pub) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"did:web:example.com", "did:key:zzzz", "did:key:" + strings.TrimPrefix(did, "did:key:") + "#other", "did:key:m123"} {
		if _, err := PublicKeyFromDIDKey(bad); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}
