package trade

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

// W3C Verifiable Credential export. Records are shaped after the W3C CCG
// Traceability Vocabulary (USMCACertificationOfOrigin, CertificationOfOrigin,
// IntellectualPropertyRightsLicenseCredential with extendsCredential for the
// chain) and secured with a Data Integrity proof using the eddsa-jcs-2022
// cryptosuite (Ed25519 over SHA-256 of RFC 8785 JSON), which any standard
// verifier checks by resolving the did:key in the proof's verificationMethod.
// The ledger evidence (signed envelope, receipt, inclusion proof, signed
// head) travels in the credential's "evidence" so that a verifier who trusts
// the network's node keys can also check that the record is on the ledger.

// Credential contexts.
var (
	ContextV2           = "https://www.w3.org/ns/credentials/v2"
	ContextTraceability = "https://w3id.org/traceability/v1"
)

// Cryptosuite is the Data Integrity cryptosuite this package produces.
const Cryptosuite = "eddsa-jcs-2022"

// Credential is a VC as generic JSON (the proof covers exactly this map).
type Credential = map[string]any

// CredentialID names a record as a URN that is stable across nodes.
func CredentialID(network, kind, id string, version int) string {
	if version > 0 {
		return fmt.Sprintf("urn:tradeledger:%s:%s:%s:v%d", network, kind, id, version)
	}
	return fmt.Sprintf("urn:tradeledger:%s:%s:%s", network, kind, id)
}

// LedgerEvidence is the VC evidence entry carrying a ledger proof.
func LedgerEvidence(role string, ev *verify.Evidence) map[string]any {
	return map[string]any{
		"type":        []any{"Evidence", "TradeledgerInclusionProof"},
		"description": role,
		"ledger":      asMap(ev),
	}
}

func organization(id, name, country string) map[string]any {
	o := map[string]any{"type": []any{"Organization"}, "name": name}
	if id != "" {
		o["id"] = id
	}
	if country != "" {
		o["location"] = map[string]any{"type": []any{"Place"}, "address": map[string]any{"type": []any{"PostalAddress"}, "addressCountry": country}}
	}
	return o
}

func partyOrg(network string, p *Party) map[string]any {
	if p == nil {
		return nil
	}
	id := ""
	if p.ID != "" {
		id = CredentialID(network, "identity", p.ID, 0)
	}
	o := organization(id, p.Name, p.Country)
	if p.Email != "" {
		o["email"] = p.Email
	}
	if p.Phone != "" {
		o["phoneNumber"] = p.Phone
	}
	if p.Address != "" {
		o["description"] = p.Address
	}
	return o
}

// CertificateCredential builds the unsigned credential of a certificate
// version: issuer is set by the signer (see SignCredential).
func CertificateCredential(network string, rec *CertificateRecord, cv *CertificateVersion) Credential {
	ct := &cv.Certificate
	typ := "CertificationOfOrigin"
	if ct.Program == "USMCA" {
		typ = "USMCACertificationOfOrigin"
	}
	var subject []any
	for _, g := range ct.Goods {
		subject = append(subject, map[string]any{
			"type": []any{"USMCAProductSpecifier"},
			"product": map[string]any{"type": []any{"Product"}, "description": g.Description,
				"commodity": map[string]any{"type": []any{"Commodity"}, "commodityCode": g.HSCode, "commodityCodeType": "HS", "description": HSDescription(g.HSCode)}},
			"originCriterion": g.OriginCriterion,
			"countryOfOrigin": g.CountryOfOrigin,
		})
	}
	from, until := ct.Window()
	vc := Credential{
		"@context":          []any{ContextV2, ContextTraceability},
		"id":                CredentialID(network, "certificate", ct.ID, cv.Version),
		"type":              []any{"VerifiableCredential", typ},
		"name":              fmt.Sprintf("%s certification of origin %s (version %d)", ct.Program, ct.ID, cv.Version),
		"validFrom":         tx.FormatTime(from),
		"validUntil":        tx.FormatTime(until),
		"credentialSubject": subject,
		"certifierDetails":  partyOrg(network, &ct.Certifier),
		"certifierRole":     ct.CertifierRole,
		"program":           ct.Program,
		"exportCountry":     ct.ExportCountry,
		"importCountry":     ct.ImportCountry,
		"signedAt":          ct.SignedAt,
		"language":          ct.Language,
		"ledgerStatus":      map[string]any{"status": rec.Status, "currentVersion": rec.Current},
	}
	if e := partyOrg(network, ct.Exporter); e != nil {
		vc["exporterDetails"] = []any{e}
	}
	if p := ct.Producer; p != nil {
		if p.Name == ProducerUponRequest {
			vc["producerConfidential"] = true
		} else {
			vc["producerDetails"] = []any{partyOrg(network, p)}
		}
	}
	if i := partyOrg(network, ct.Importer); i != nil {
		vc["importerDetails"] = []any{i}
	} else if ct.CertifierRole != RoleImporter {
		vc["importerUnknown"] = true
	}
	if bp := ct.BlanketPeriod; bp != nil {
		vc["blanketPeriodFrom"] = bp.ValidFrom
		vc["blanketPeriodTo"] = bp.ValidUntil
	}
	if ct.Statement != "" {
		vc["description"] = ct.Statement
	}
	if cv.Supersedes > 0 {
		vc["replacesCredential"] = CredentialID(network, "certificate", ct.ID, cv.Supersedes)
	}
	if rv := rec.Revocation; rv != nil {
		vc["ledgerStatus"].(map[string]any)["revocation"] = asMap(rv)
	}
	return vc
}

// LicenseCredential builds the unsigned credential of a license; a
// sub-license extends its parent's credential, the root extends the right.
func LicenseCredential(network string, l *License, right *IPRight) Credential {
	ext := CredentialID(network, "right", l.Right, 0)
	if l.Parent != "" {
		ext = CredentialID(network, "license", l.Parent, 0)
	}
	ipType := ""
	if right != nil {
		ipType = strings.ToUpper(right.Type[:1]) + right.Type[1:]
	}
	subject := map[string]any{
		"type":                           []any{"IntellectualPropertyRightsLicense"},
		"licensee":                       organization(CredentialID(network, "identity", l.Licensee, 0), l.Licensee, ""),
		"intellectualPropertyRightsType": ipType,
		"intellectualPropertyRightsProduct": map[string]any{"type": []any{"Product"}, "description": l.Goods.Description,
			"commodity": map[string]any{"type": []any{"Commodity"}, "commodityCode": strings.Join(l.Goods.HSPrefixes, " "), "commodityCodeType": "HS"}},
		"extendsCredential": ext,
		"territory":         stringsAny(l.Territory),
		"sublicensing":      asMap(l.Sublicensing),
		"licensor":          organization(CredentialID(network, "identity", l.Licensor, 0), l.Licensor, ""),
		"level":             l.Level,
	}
	if right != nil {
		subject["intellectualPropertyRight"] = map[string]any{"id": CredentialID(network, "right", right.ID, 0), "office": right.Office,
			"registrationNumber": right.RegistrationNumber, "title": right.Title, "holder": right.Holder}
	}
	vc := Credential{
		"@context":          []any{ContextV2, ContextTraceability},
		"id":                CredentialID(network, "license", l.ID, 0),
		"type":              []any{"VerifiableCredential", "IntellectualPropertyRightsLicenseCredential"},
		"name":              "License " + l.ID,
		"validFrom":         l.ValidFrom,
		"validUntil":        l.ValidUntil,
		"credentialSubject": subject,
		"ledgerStatus":      map[string]any{"status": l.Status},
	}
	if rv := l.Revocation; rv != nil {
		vc["ledgerStatus"].(map[string]any)["revocation"] = asMap(rv)
	}
	return vc
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// DIDKey is the did:key of an Ed25519 public key (multicodec 0xed01,
// base58btc multibase).
func DIDKey(pub ed25519.PublicKey) string { return "did:key:" + multikey(pub) }

func multikey(pub ed25519.PublicKey) string {
	return "z" + base58Encode(append([]byte{0xed, 0x01}, pub...))
}

// PublicKeyFromDIDKey decodes a did:key (or a verification method
// did:key:z...#z...) into an Ed25519 public key.
func PublicKeyFromDIDKey(vm string) (ed25519.PublicKey, error) {
	s, ok := strings.CutPrefix(vm, "did:key:")
	if !ok {
		return nil, fmt.Errorf("verification method %q: only did:key is resolved offline", tx.Shorten(vm, 64))
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		if s[i+1:] != s[:i] {
			return nil, fmt.Errorf("verification method %q: fragment does not match the key", tx.Shorten(vm, 64))
		}
		s = s[:i]
	}
	if !strings.HasPrefix(s, "z") {
		return nil, errors.New("did:key: not base58btc multibase")
	}
	raw, err := base58Decode(s[1:])
	if err != nil {
		return nil, fmt.Errorf("did:key: %w", err)
	}
	if len(raw) != 34 || raw[0] != 0xed || raw[1] != 0x01 {
		return nil, errors.New("did:key: not an Ed25519 public key (multicodec 0xed01)")
	}
	return ed25519.PublicKey(raw[2:]), nil
}

// SignCredential secures vc with an eddsa-jcs-2022 DataIntegrityProof made
// with priv; the issuer becomes priv's did:key (named issuerName), unless
// vc already has an issuer with that id. created is written as given (the
// node uses the ledger head's time, so the output is deterministic).
func SignCredential(vc Credential, priv ed25519.PrivateKey, issuerName, created string) (Credential, error) {
	pub := priv.Public().(ed25519.PublicKey)
	did := DIDKey(pub)
	doc := Credential{}
	for k, v := range vc {
		if k != "proof" {
			doc[k] = v
		}
	}
	doc["issuer"] = map[string]any{"id": did, "type": []any{"Organization"}, "name": issuerName}
	proof := map[string]any{
		"type":               "DataIntegrityProof",
		"cryptosuite":        Cryptosuite,
		"created":            created,
		"verificationMethod": did + "#" + multikey(pub),
		"proofPurpose":       "assertionMethod",
	}
	if c, ok := doc["@context"]; ok {
		proof["@context"] = c
	}
	hash, err := proofHash(doc, proof)
	if err != nil {
		return nil, err
	}
	proof["proofValue"] = "z" + base58Encode(ed25519.Sign(priv, hash))
	doc["proof"] = proof
	return doc, nil
}

// proofHash is SHA-256(JCS(proof config)) || SHA-256(JCS(document)).
func proofHash(doc, proofConfig map[string]any) ([]byte, error) {
	pc, err := tx.Canonicalize(proofConfig)
	if err != nil {
		return nil, fmt.Errorf("proof configuration: %w", err)
	}
	dc, err := tx.Canonicalize(doc)
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	h1, h2 := sha256.Sum256(pc), sha256.Sum256(dc)
	return append(h1[:], h2[:]...), nil
}

// CredentialCheck is what VerifyCredential found.
type CredentialCheck struct {
	Issuer             string `json:"issuer"`
	VerificationMethod string `json:"verificationMethod"`
	Created            string `json:"created"`
	Types              []any  `json:"types"`
}

// VerifyCredential checks an eddsa-jcs-2022 proof on a credential given as
// JSON, as the W3C algorithm says: the proof options (without proofValue)
// and the document (without proof) are canonicalised, hashed and checked
// against the did:key of the verification method.
func VerifyCredential(raw []byte) (*CredentialCheck, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("credential: not a JSON object: %w", err)
	}
	if dec.More() {
		return nil, errors.New("credential: trailing data after the JSON object")
	}
	proof, ok := doc["proof"].(map[string]any)
	if !ok {
		return nil, errors.New("credential: no proof object (a proof set is not supported)")
	}
	if proof["type"] != "DataIntegrityProof" || proof["cryptosuite"] != Cryptosuite {
		return nil, fmt.Errorf("proof: type %v / cryptosuite %v: want DataIntegrityProof / %s", proof["type"], proof["cryptosuite"], Cryptosuite)
	}
	pv, _ := proof["proofValue"].(string)
	if !strings.HasPrefix(pv, "z") {
		return nil, errors.New("proof.proofValue: must be base58btc multibase (starting with z)")
	}
	sig, err := base58Decode(pv[1:])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, errors.New("proof.proofValue: not a 64-byte Ed25519 signature")
	}
	vm, _ := proof["verificationMethod"].(string)
	pub, err := PublicKeyFromDIDKey(vm)
	if err != nil {
		return nil, fmt.Errorf("proof.verificationMethod: %w", err)
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
			return nil, errors.New("proof.@context does not match the credential's @context")
		}
	}
	hash, err := proofHash(unsecured, options)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(pub, hash, sig) {
		return nil, errors.New("proof: the Ed25519 signature does not verify (the credential or its proof was changed)")
	}
	out := &CredentialCheck{VerificationMethod: vm}
	out.Created, _ = proof["created"].(string)
	out.Types, _ = doc["type"].([]any)
	switch is := doc["issuer"].(type) {
	case string:
		out.Issuer = is
	case map[string]any:
		out.Issuer, _ = is["id"].(string)
	}
	return out, nil
}

// LedgerEvidenceOf extracts the ledger evidence carried by a credential.
func LedgerEvidenceOf(raw []byte) ([]verify.Evidence, error) {
	var doc struct {
		Evidence []struct {
			Ledger *verify.Evidence `json:"ledger"`
		} `json:"evidence"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var out []verify.Evidence
	for _, e := range doc.Evidence {
		if e.Ledger != nil {
			out = append(out, *e.Ledger)
		}
	}
	return out, nil
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod, base := new(big.Int), big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for i := 0; i < zeros; i++ {
		out = append(out, '1')
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func base58Decode(s string) ([]byte, error) {
	if len(s) > 256 {
		return nil, errors.New("base58 value too long")
	}
	n, base := new(big.Int), big.NewInt(58)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base58Alphabet, s[i])
		if d < 0 {
			return nil, fmt.Errorf("invalid base58 character %q", s[i])
		}
		n.Mul(n, base).Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}
