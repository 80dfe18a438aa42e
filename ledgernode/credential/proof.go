package credential

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/multiformats/go-multibase"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// The Data Integrity proof this package makes and accepts.
const (
	ProofType        = "DataIntegrityProof"
	Cryptosuite      = "eddsa-jcs-2022"
	PurposeAssertion = "assertionMethod"
)

// Issuer names who signs: the key and the name shown to verifiers.
type Issuer struct {
	Key  ed25519.PrivateKey
	Name string
}

// Sign secures doc with an eddsa-jcs-2022 DataIntegrityProof for
// assertionMethod: the issuer becomes the key's did:key (with name), the
// verification method that did:key's only method. created is written as
// given (a node passes its ledger head's time, so its output is
// deterministic). doc is not modified.
func Sign(doc map[string]any, is Issuer, created string) (map[string]any, error) {
	pub := is.Key.Public().(ed25519.PublicKey)
	out := make(map[string]any, len(doc)+2)
	for k, v := range doc {
		if k != "proof" {
			out[k] = v
		}
	}
	issuer := map[string]any{"id": DIDKey(pub)}
	if is.Name != "" {
		issuer["name"] = is.Name
	}
	out["issuer"] = issuer
	proof := map[string]any{
		"type":               ProofType,
		"cryptosuite":        Cryptosuite,
		"created":            created,
		"verificationMethod": VerificationMethod(pub),
		"proofPurpose":       PurposeAssertion,
	}
	if c, ok := out["@context"]; ok {
		proof["@context"] = c
	}
	hash, err := proofHash(out, proof)
	if err != nil {
		return nil, err
	}
	pv, err := multibase.Encode(multibase.Base58BTC, ed25519.Sign(is.Key, hash))
	if err != nil {
		return nil, err
	}
	proof["proofValue"] = pv
	out["proof"] = proof
	return out, nil
}

// proofHash is SHA-256(JCS(proof options)) || SHA-256(JCS(document)), the
// eddsa-jcs-2022 hashing step.
func proofHash(doc, options map[string]any) ([]byte, error) {
	pc, err := tx.Canonicalize(options)
	if err != nil {
		return nil, fmt.Errorf("proof options: %w", err)
	}
	dc, err := tx.Canonicalize(doc)
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	h1, h2 := sha256.Sum256(pc), sha256.Sum256(dc)
	return append(h1[:], h2[:]...), nil
}

// ProofInfo is what a proof that verified says.
type ProofInfo struct {
	Issuer             string `json:"issuer"`
	IssuerName         string `json:"issuerName,omitempty"`
	VerificationMethod string `json:"verificationMethod"`
	Created            string `json:"created"`
	// Key is the issuer's public key (from its did:key).
	Key ed25519.PublicKey `json:"-"`
}

// VerifyProof checks doc's eddsa-jcs-2022 proof as the W3C algorithm says,
// and what a verifier must check around it: one proof object, of type
// DataIntegrityProof with cryptosuite eddsa-jcs-2022, made for
// assertionMethod, with a verification method the issuer controls (the
// did:key method of the issuer's own DID), proof options' @context equal to
// the document's, and an Ed25519 signature over the hashes of the
// canonical proof options and document. Every failed check is a Problem
// naming its field.
func VerifyProof(doc map[string]any) (*ProofInfo, []Problem) {
	var pr problems
	proof, ok := doc["proof"].(map[string]any)
	if !ok {
		pr.add("proof", "missing or not one object (a proof set or chain is not accepted)")
		return nil, pr.list
	}
	info := &ProofInfo{}
	info.Issuer, info.IssuerName = issuerOf(doc)
	if info.Issuer == "" {
		pr.add("issuer", "missing: a credential names its issuer (a did:key)")
	}
	if proof["type"] != ProofType {
		pr.add("proof.type", "%s: want %s", quoted(proof["type"]), ProofType)
	}
	if proof["cryptosuite"] != Cryptosuite {
		pr.add("proof.cryptosuite", "%s: want %s (the only suite this verifier and its exports use)", quoted(proof["cryptosuite"]), Cryptosuite)
	}
	if proof["proofPurpose"] != PurposeAssertion {
		pr.add("proof.proofPurpose", "%s: a credential's proof must be made for %s", quoted(proof["proofPurpose"]), PurposeAssertion)
	}
	created, _ := proof["created"].(string)
	info.Created = created
	if _, err := tx.ParseTime(created); err != nil {
		pr.add("proof.created", "%s: %v", quoted(proof["created"]), err)
	}
	vm, _ := proof["verificationMethod"].(string)
	info.VerificationMethod = vm
	controller, pub, err := ResolveVerificationMethod(vm)
	switch {
	case err != nil:
		pr.add("proof.verificationMethod", "%v", err)
	case info.Issuer != "" && controller != info.Issuer:
		pr.add("proof.verificationMethod", "%s is controlled by %s, not by the issuer %s: the issuer did not make this proof", shorten(vm), shorten(controller), shorten(info.Issuer))
	default:
		info.Key = pub
	}
	options := map[string]any{}
	for k, v := range proof {
		if k != "proofValue" {
			options[k] = v
		}
	}
	unsecured := map[string]any{}
	for k, v := range doc {
		if k != "proof" {
			unsecured[k] = v
		}
	}
	if pctx, ok := options["@context"]; ok {
		a, _ := tx.Canonicalize(pctx)
		b, _ := tx.Canonicalize(unsecured["@context"])
		if !bytes.Equal(a, b) {
			pr.add("proof.@context", "differs from the credential's @context")
		}
	}
	sig, err := decodeProofValue(proof["proofValue"])
	if err != nil {
		pr.add("proof.proofValue", "%v", err)
	}
	if pub != nil && sig != nil {
		hash, err := proofHash(unsecured, options)
		switch {
		case err != nil:
			pr.add("proof", "%v", err)
		case !ed25519.Verify(pub, hash, sig):
			pr.add("proof.proofValue", "the Ed25519 signature does not verify: the credential or its proof was changed after signing")
		}
	}
	if len(pr.list) > 0 {
		return info, pr.list
	}
	return info, nil
}

func decodeProofValue(v any) ([]byte, error) {
	s, _ := v.(string)
	if len(s) == 0 || s[0] != 'z' {
		return nil, errors.New("must be base58btc multibase (starting with z)")
	}
	enc, sig, err := multibase.Decode(s)
	if err != nil || enc != multibase.Base58BTC || len(sig) != ed25519.SignatureSize {
		return nil, errors.New("not a base58btc-encoded 64-byte Ed25519 signature")
	}
	return sig, nil
}

func issuerOf(doc map[string]any) (id, name string) {
	switch is := doc["issuer"].(type) {
	case string:
		return is, ""
	case map[string]any:
		id, _ = is["id"].(string)
		name, _ = is["name"].(string)
	}
	return id, name
}

func quoted(v any) string {
	if v == nil {
		return "missing"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}
