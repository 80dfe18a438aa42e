package trade

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/multiformats/go-multibase"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/credential/tradeclaims"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// testPublicURL is the fixture node's public URL in exported credentials.
const testPublicURL = "https://n0.ledger.example:8443"

// exportCredential does what a node's export route does: the record's
// claims and evidence from one view, the evidence proven against a head
// the node signs, the credential signed by the node key.
func (f *fx) exportCredential(kind, id string, version int) map[string]any {
	f.T.Helper()
	var out map[string]any
	f.view(func(v *state.View) {
		m := v.Meta()
		var claims *credential.Claims
		var items []wire.EvidenceItem
		var err error
		if kind == "certificate" {
			claims, items, err = ExportCertificate(v, m.Network, id, version)
		} else {
			claims, items, err = ExportLicense(v, m.Network, id)
		}
		if err != nil {
			f.T.Fatalf("export %s %s: %v", kind, id, err)
		}
		SetHead(items, signedHead(f.T, m, testNodeKey))
		vc := credential.Build(claims, testPublicURL, EvidenceEntries(items))
		if out, err = credential.Sign(vc, credential.Issuer{Key: testNodeKey, Name: "tradeledger network testnet, node n0"}, m.Time); err != nil {
			f.T.Fatal(err)
		}
	})
	return jsonCopy(f.T, out)
}

// statusFetcher serves status lists from the fixture's state as a node
// does (credential.StatusListCredential signed by the node key).
func (f *fx) statusFetcher() credential.StatusFetcher {
	return func(_ context.Context, url string) ([]byte, error) {
		i := strings.Index(url, credential.StatusListPathPrefix)
		var purpose string
		var page uint64
		if _, err := fmt.Sscanf(strings.ReplaceAll(url[i+len(credential.StatusListPathPrefix):], "/", " "), "%s %d", &purpose, &page); err != nil {
			return nil, err
		}
		var raw []byte
		var err error
		f.view(func(v *state.View) {
			bits, ok := StatusList(v, purpose, page)
			if !ok {
				err = fmt.Errorf("no list %s %d", purpose, page)
				return
			}
			var vc map[string]any
			if vc, err = credential.StatusListCredential(url, purpose, bits, v.Meta().Time); err != nil {
				return
			}
			if vc, err = credential.Sign(vc, credential.Issuer{Key: testNodeKey}, v.Meta().Time); err == nil {
				raw, err = json.Marshal(vc)
			}
		})
		return raw, err
	}
}

func jsonCopy(t testing.TB, v any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fx) trust() *verify.Trust {
	tr := verify.TrustFromGenesis(f.Genesis)
	return &tr
}

func (f *fx) verifyCredential(doc map[string]any, o credential.Options) *credential.Result {
	f.T.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		f.T.Fatal(err)
	}
	o.Bind = tradeclaims.BindEvidence
	if o.At.IsZero() {
		o.At = f.Now
	}
	return credential.Verify(context.Background(), raw, o)
}

func TestExportedCredentialsVerifyAgainstTheNetworksTrust(t *testing.T) {
	w := newIPWorld(t)
	w.issue("VC-1")
	for _, c := range []struct {
		kind, id string
		records  int
	}{{"certificate", "VC-1", 1}, {"license", "L1", 2}} {
		doc := w.exportCredential(c.kind, c.id, 0)
		res := w.verifyCredential(doc, credential.Options{Trust: w.trust()})
		if res.Verdict != credential.Verified || len(res.Problems) != 0 {
			t.Fatalf("%s: %s %v", c.id, res.Verdict, res.Problems)
		}
		if want := fmt.Sprintf("%d ledger record(s) verified", c.records); res.Ledger != want || res.IssuerTrusted != "node n0 of network testnet" {
			t.Fatalf("%s: ledger %q, issuer %q", c.id, res.Ledger, res.IssuerTrusted)
		}
		for _, s := range res.Status {
			if s.Result != "not checked (offline)" {
				t.Fatalf("%s offline status: %+v", c.id, s)
			}
		}
		if len(res.Status) != 2 {
			t.Fatalf("%s: status entries %+v", c.id, res.Status)
		}
	}
}

// forger holds a fresh key and no node key: what anyone handed a
// credential can do.
type forger struct{ key ed25519.PrivateKey }

// signAs re-signs doc with the forger's key while the issuer stays what it
// is (the attack of issue 11: issuer = a node's did:key, proof by another
// key), with the given proof purpose and cryptosuite.
func (fg forger) signAs(t testing.TB, doc map[string]any, purpose, suite string) map[string]any {
	t.Helper()
	delete(doc, "proof")
	pub := fg.key.Public().(ed25519.PublicKey)
	proof := map[string]any{"type": "DataIntegrityProof", "cryptosuite": suite, "created": "2026-03-02T00:00:00Z",
		"verificationMethod": credential.VerificationMethod(pub), "proofPurpose": purpose, "@context": doc["@context"]}
	pc, err1 := tx.Canonicalize(proof)
	dc, err2 := tx.Canonicalize(doc)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	h1, h2 := sha256.Sum256(pc), sha256.Sum256(dc)
	proof["proofValue"], _ = multibase.Encode(multibase.Base58BTC, ed25519.Sign(fg.key, append(h1[:], h2[:]...)))
	doc["proof"] = proof
	return doc
}

// signAsSelf re-signs doc as a credential of the forger's own did:key.
func (fg forger) signAsSelf(t testing.TB, doc map[string]any) map[string]any {
	t.Helper()
	out, err := credential.Sign(doc, credential.Issuer{Key: fg.key, Name: "tradeledger network testnet, node n0"}, "2026-03-02T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	return jsonCopy(t, out)
}

// How a forgery is secured.
const (
	keepProof   = "proof kept"                  // the node's proof over the changed document
	issuerKept  = "re-signed, issuer kept"      // forger's proof, issuer still the node
	selfIssued  = "re-signed as its own issuer" // forger's proof and did:key as issuer
	purposeAuth = "re-signed for authentication"
	suiteRDFC   = "re-signed under eddsa-rdfc-2022"
)

// Forgery is one case of the tampering table, as the conformance test
// (test/conformance) also runs it through an independent implementation.
type Forgery struct {
	Name   string
	Field  string // the field the refusal must name
	Secure string // how the forger secured it
	Doc    map[string]any
}

// forgeries builds the tampering table from real exports: a certificate
// (VC-1), its sibling (VC-2), a license (L1) and a certificate of another
// network. Each must be refused, naming Field.
func forgeries(t testing.TB) (genuine []map[string]any, out []Forgery, trust *verify.Trust) {
	w := newIPWorld(t)
	w.issue("VC-1")
	w.issue("VC-2")
	cert := w.exportCredential("certificate", "VC-1", 0)
	other := w.exportCredential("certificate", "VC-2", 0)
	lic := w.exportCredential("license", "L1", 0)

	g2, admin2 := newGenesis(t)
	g2.Network = "othernet"
	w2 := &world{fx: openFx(t, g2, admin2, testRegistry(), t.TempDir()+"/other.db")}
	w2.sat = w2.agency("sat-mx", "MX", "USMCA")
	w2.acme = w2.participant(w2.sat, "acme-mx", "MX", wire.RoleExporter, wire.RoleProducer, wire.RoleCertifier)
	w2.cbp = w2.agency("us-cbp", "US", "USMCA")
	w2.participant(w2.cbp, "bigbox-us", "US", wire.RoleImporter)
	w2.issue("VC-1")
	foreign := w2.exportCredential("certificate", "VC-1", 0)

	fg := forger{key: newKey()}
	subj := func(d map[string]any) map[string]any { return d["credentialSubject"].(map[string]any) }
	good := func(d map[string]any, i int) map[string]any { return subj(d)["goods"].([]any)[i].(map[string]any) }
	add := func(name, field, secure string, base map[string]any, edit func(d map[string]any)) {
		d := jsonCopy(t, base)
		edit(d)
		switch secure {
		case issuerKept:
			d = fg.signAs(t, d, "assertionMethod", "eddsa-jcs-2022")
		case selfIssued:
			d = fg.signAsSelf(t, d)
		case purposeAuth:
			d = fg.signAs(t, d, "authentication", "eddsa-jcs-2022")
		case suiteRDFC:
			d = fg.signAs(t, d, "assertionMethod", "eddsa-rdfc-2022")
		}
		out = append(out, Forgery{Name: name, Field: field, Secure: secure, Doc: d})
	}
	nop := func(map[string]any) {}
	add("origin criterion B to A", "credentialSubject.goods[0].originCriterion", issuerKept, cert, func(d map[string]any) { good(d, 0)["originCriterion"] = "A" })
	add("origin criterion B to A, own issuer", "credentialSubject.goods[0].originCriterion", selfIssued, cert, func(d map[string]any) { good(d, 0)["originCriterion"] = "A" })
	add("origin criterion B to A, node proof kept", "credentialSubject.goods[0].originCriterion", keepProof, cert, func(d map[string]any) { good(d, 0)["originCriterion"] = "A" })
	add("HS code", "credentialSubject.goods[1].commodity.commodityCode", issuerKept, cert, func(d map[string]any) {
		good(d, 1)["commodity"].(map[string]any)["commodityCode"] = "620520"
	})
	add("country of origin", "credentialSubject.goods[0].countryOfOrigin", selfIssued, cert, func(d map[string]any) { good(d, 0)["countryOfOrigin"] = "US" })
	add("goods line added", "credentialSubject.goods", issuerKept, cert, func(d map[string]any) {
		subj(d)["goods"] = append(subj(d)["goods"].([]any), good(d, 0))
	})
	add("importer renamed", "credentialSubject.importer.name", issuerKept, cert, func(d map[string]any) {
		subj(d)["importer"].(map[string]any)["name"] = "Shady Imports LLC"
	})
	add("certifier swapped", "credentialSubject.certifier.id", selfIssued, cert, func(d map[string]any) {
		subj(d)["certifier"].(map[string]any)["id"] = credential.ID("testnet", "identity", "participant/maple-ca", 0)
	})
	add("export country", "credentialSubject.exportCountry", issuerKept, cert, func(d map[string]any) { subj(d)["exportCountry"] = "CA" })
	add("program", "credentialSubject.program", keepProof, cert, func(d map[string]any) { subj(d)["program"] = "CAFTA-DR" })
	add("version", "credentialSubject.version", selfIssued, cert, func(d map[string]any) { subj(d)["version"] = 3 })
	add("subject claim added", "credentialSubject.preferentialTariff", selfIssued, cert, func(d map[string]any) { subj(d)["preferentialTariff"] = "0%" })
	add("validUntil extended", "validUntil", issuerKept, cert, func(d map[string]any) { d["validUntil"] = "2031-01-01T00:00:00Z" })
	add("validFrom moved earlier", "validFrom", selfIssued, cert, func(d map[string]any) { d["validFrom"] = "2019-01-01T00:00:00Z" })
	add("credential id of another certificate", "id", selfIssued, cert, func(d map[string]any) { d["id"] = other["id"] })
	add("credential type", "type[1]", selfIssued, cert, func(d map[string]any) {
		d["type"] = []any{"VerifiableCredential", "CertificationOfOrigin"}
	})
	add("top-level claim added", "termsOfUse", selfIssued, cert, func(d map[string]any) { d["termsOfUse"] = []any{map[string]any{"type": "Policy"}} })
	add("verification method of the forger, issuer kept", "proof.verificationMethod", issuerKept, cert, nop)
	add("issuer is the forger", "issuer", selfIssued, cert, nop)
	add("proof purpose authentication", "proof.proofPurpose", purposeAuth, cert, nop)
	add("cryptosuite eddsa-rdfc-2022", "proof.cryptosuite", suiteRDFC, cert, nop)
	add("context without tradeledger's", "@context", selfIssued, cert, func(d map[string]any) {
		d["@context"] = []any{credential.ContextV2, "https://w3id.org/traceability/v1"}
	})
	add("evidence swapped from another record", "id", selfIssued, cert, func(d map[string]any) { d["evidence"] = other["evidence"] })
	add("evidence from another network", "id", selfIssued, cert, func(d map[string]any) { d["evidence"] = foreign["evidence"] })
	add("evidence payload edited", "evidence[0].ledgerRecord.tx", selfIssued, cert, func(d map[string]any) {
		rec := d["evidence"].([]any)[0].(map[string]any)["ledgerRecord"].(map[string]any)
		tx := rec["tx"].(map[string]any)
		tx["payload"].(map[string]any)["goods"].([]any)[0].(map[string]any)["originCriterion"] = "A"
		good(d, 0)["originCriterion"] = "A"
	})
	add("evidence removed", "evidence", selfIssued, cert, func(d map[string]any) { delete(d, "evidence") })
	add("status index of another record", "credentialStatus[0].statusListIndex", selfIssued, cert, func(d map[string]any) {
		d["credentialStatus"] = other["credentialStatus"]
	})
	add("status list on another host", "credentialStatus[1].statusListCredential", issuerKept, cert, func(d map[string]any) {
		e := d["credentialStatus"].([]any)[1].(map[string]any)
		e["statusListCredential"] = "https://evil.example/always-clear"
		e["id"] = "https://evil.example/always-clear#" + e["statusListIndex"].(string)
	})
	add("status entries removed", "credentialStatus", selfIssued, cert, func(d map[string]any) { delete(d, "credentialStatus") })
	add("license territory widened", "credentialSubject.territory", issuerKept, lic, func(d map[string]any) {
		subj(d)["territory"] = []any{"US", "MX", "CA"}
	})
	add("license sub-licensing allowed", "credentialSubject.sublicensing.allowed", selfIssued, lic, func(d map[string]any) {
		subj(d)["sublicensing"].(map[string]any)["allowed"] = true
	})
	add("license term extended", "validUntil", keepProof, lic, func(d map[string]any) { d["validUntil"] = "2040-01-01T00:00:00Z" })
	add("license evidence of a certificate", "id", selfIssued, lic, func(d map[string]any) { d["evidence"] = cert["evidence"] })
	return []map[string]any{cert, lic}, out, w.trust()
}

// TestCredentialForgeriesAreRefusedNamingTheField: every case of the
// tampering table is NOT VERIFIED, with a problem naming what was changed,
// and the ledger records are not reported verified.
func TestCredentialForgeriesAreRefusedNamingTheField(t *testing.T) {
	genuine, cases, trust := forgeries(t)
	at := time.Now()
	verifyDoc := func(d map[string]any) *credential.Result {
		raw, _ := json.Marshal(d)
		return credential.Verify(context.Background(), raw, credential.Options{Bind: tradeclaims.BindEvidence, Trust: trust, At: at})
	}
	for _, g := range genuine {
		if res := verifyDoc(g); res.Verdict != credential.Verified {
			t.Fatalf("genuine %v: %s %v", g["id"], res.Verdict, res.Problems)
		}
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			res := verifyDoc(c.Doc)
			if res.Verdict != credential.NotVerified {
				t.Fatalf("%s (%s): verdict %s", c.Name, c.Secure, res.Verdict)
			}
			found := false
			for _, p := range res.Problems {
				if p.Field == c.Field {
					found = true
				}
			}
			if !found {
				t.Fatalf("%s (%s): no problem names %s: %v", c.Name, c.Secure, c.Field, res.Problems)
			}
			if strings.Contains(res.Ledger, "verified") && !strings.Contains(res.Ledger, "not verified") {
				t.Fatalf("ledger %q printed for a forgery", res.Ledger)
			}
		})
	}
}

func TestCredentialOutsideItsValidityIsExpiredOrNotYetValidNotForged(t *testing.T) {
	w := newWorld(t)
	w.issue("VC-1")
	doc := w.exportCredential("certificate", "VC-1", 0)
	from, _ := tx.ParseTime(doc["validFrom"].(string))
	until, _ := tx.ParseTime(doc["validUntil"].(string))
	for _, c := range []struct {
		at   time.Time
		want string
	}{{until.Add(time.Second), credential.Expired}, {from.Add(-time.Second), credential.NotYetValid}, {from, credential.Verified}, {until, credential.Verified}} {
		res := w.verifyCredential(doc, credential.Options{Trust: w.trust(), At: c.at})
		if res.Verdict != c.want || len(res.Problems) != 0 {
			t.Fatalf("at %s: %s %v, want %s", c.at, res.Verdict, res.Problems, c.want)
		}
	}
}

// TestStatusListsFollowRevocationSupersessionAndSuspension: the bits a
// credential points at change in the block of the transaction that changes
// the record's status, and a credential exported before is seen revoked
// (or suspended) by an online check.
func TestStatusListsFollowRevocationSupersessionAndSuspension(t *testing.T) {
	w := newWorld(t)
	ct := w.issue("VC-1")
	w.issue("VC-2")
	v1 := w.exportCredential("certificate", "VC-1", 0)
	vc2 := w.exportCredential("certificate", "VC-2", 0)
	online := func(doc map[string]any) *credential.Result {
		t.Helper()
		return w.verifyCredential(doc, credential.Options{Trust: w.trust(), Status: w.statusFetcher()})
	}
	if res := online(v1); res.Verdict != credential.Verified || res.Status[0].Result != "clear" || res.Status[1].Result != "clear" {
		t.Fatalf("fresh: %s %+v %v", res.Verdict, res.Status, res.Problems)
	}

	ct.Goods[0].Description = "Laptop computers, 14 inch"
	w.Must(w.acme, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "VC-1", Reason: "description", Certificate: ct})
	if res := online(v1); res.Verdict != credential.Revoked || res.Status[0].Result != "set" {
		t.Fatalf("superseded version 1 claims %s: %+v", res.Verdict, res.Status)
	}
	v2 := w.exportCredential("certificate", "VC-1", 2)
	if res := online(v2); res.Verdict != credential.Verified {
		t.Fatalf("version 2: %s %v %+v", res.Verdict, res.Problems, res.Status)
	}

	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "VC-1", Reason: "origin not substantiated"})
	if res := online(v2); res.Verdict != credential.Revoked {
		t.Fatalf("revoked version 2: %s %+v", res.Verdict, res.Status)
	}
	// Exported after the revocation, the credential carries it: revoked
	// even offline.
	after := w.exportCredential("certificate", "VC-1", 2)
	if res := w.verifyCredential(after, credential.Options{Trust: w.trust()}); res.Verdict != credential.Revoked || len(res.Notes) == 0 {
		t.Fatalf("offline, exported after revocation: %s %v", res.Verdict, res.Notes)
	}
	if res := online(vc2); res.Verdict != credential.Verified {
		t.Fatalf("another certificate affected: %s %+v", res.Verdict, res.Status)
	}

	w.Must(w.sat, "participant.suspend", wire.ParticipantStatus{ID: "acme-mx", Reason: "audit"})
	if res := online(vc2); res.Verdict != credential.Suspended || res.Status[1].Result != "set" {
		t.Fatalf("certifier suspended: %s %+v", res.Verdict, res.Status)
	}
	w.Must(w.sat, "participant.reinstate", wire.ParticipantStatus{ID: "acme-mx"})
	if res := online(vc2); res.Verdict != credential.Verified {
		t.Fatalf("certifier reinstated: %s %+v", res.Verdict, res.Status)
	}
}

func TestLicenseRevocationRevokesTheSublicensesBelowIt(t *testing.T) {
	w := newIPWorld(t)
	l0 := w.exportCredential("license", "L0", 0)
	l1 := w.exportCredential("license", "L1", 0)
	online := func(doc map[string]any) string {
		return w.verifyCredential(doc, credential.Options{Trust: w.trust(), Status: w.statusFetcher()}).Verdict
	}
	if online(l0) != credential.Verified || online(l1) != credential.Verified {
		t.Fatalf("before: %s %s", online(l0), online(l1))
	}
	w.Must(w.holder, "license.revoke", wire.LicenseRevoke{ID: "L0", Reason: "licensee breached the agreement"})
	if online(l0) != credential.Revoked || online(l1) != credential.Revoked {
		t.Fatalf("after revoking L0: %s %s", online(l0), online(l1))
	}
}

// TestStatusIndexesAreAssignedInTransactionOrder: indexes come from the
// ledger's counters, not the clock: two certificates in one block get
// consecutive indexes in block order, and the receipt says which.
func TestStatusIndexesAreAssignedInTransactionOrder(t *testing.T) {
	w := newWorld(t)
	a, b := w.usmca("VC-A"), w.usmca("VC-B")
	res := w.BlockOf(w.Sign(w.acme, "certificate.issue", b), w.Sign(w.acme, "certificate.issue", a))
	var got []wire.StatusIndex
	for _, rc := range res.Receipts {
		var r struct{ StatusIndex wire.StatusIndex }
		if rc.Status != "accepted" || json.Unmarshal(rc.Result, &r) != nil {
			t.Fatalf("%+v", rc)
		}
		got = append(got, r.StatusIndex)
	}
	if got[1].Revocation != got[0].Revocation+1 || got[0].Suspension != got[1].Suspension {
		t.Fatalf("indexes %+v", got)
	}
	w.view(func(v *state.View) {
		cb, _, _ := CertificateVersionOf(v, "VC-B", 1)
		if cb.StatusIndex == nil || *cb.StatusIndex != got[0] {
			t.Fatalf("VC-B index %+v, receipt %+v", cb.StatusIndex, got[0])
		}
	})
}

// BenchmarkVerifyCredential: what a border verifier pays per credential
// offline (proof, claim binding, trust: head signature and inclusion proof
// of each record), and online against a status list read from the state.
func BenchmarkVerifyCredential(b *testing.B) {
	w := newWorld(b)
	w.issue("VC-1")
	w.Must(w.sat, "certificate.endorse", wire.CertificateEndorse{ID: "VC-1"})
	raw, _ := json.Marshal(w.exportCredential("certificate", "VC-1", 0))
	for _, c := range []struct {
		name string
		o    credential.Options
	}{
		{"offline", credential.Options{Bind: tradeclaims.BindEvidence, Trust: w.trust(), At: w.Now}},
		{"online", credential.Options{Bind: tradeclaims.BindEvidence, Trust: w.trust(), At: w.Now, Status: w.statusFetcher()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if res := credential.Verify(context.Background(), raw, c.o); res.Verdict != credential.Verified {
					b.Fatalf("%s %v", res.Verdict, res.Problems)
				}
			}
		})
	}
}
