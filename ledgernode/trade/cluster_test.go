package trade_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/credential/tradeclaims"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/trade"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

type clusterFx struct {
	t   testing.TB
	c   *testcluster.Cluster
	ctx context.Context
	n   int // round-robin over nodes
}

func newCluster(t testing.TB, nodes int) *clusterFx {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c := testcluster.Start(ctx, t, nodes)
	return &clusterFx{t: t, c: c, ctx: ctx}
}

func pub(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }

// submit signs and submits through the next node in turn and returns the
// receipt.
func (f *clusterFx) submit(key ed25519.PrivateKey, typ string, payload any) *chain.Receipt {
	f.t.Helper()
	st, err := f.c.Sign(key, typ, payload)
	if err != nil {
		f.t.Fatal(err)
	}
	f.n++
	resp, err := f.c.Client(f.n%len(f.c.Members)).Submit(f.ctx, st, client.SubmitOptions{})
	if err != nil {
		f.t.Fatalf("%s: %v", typ, err)
	}
	return resp.Receipt
}

func (f *clusterFx) must(key ed25519.PrivateKey, typ string, payload any) {
	f.t.Helper()
	if rc := f.submit(key, typ, payload); rc.Status != chain.Accepted {
		f.t.Fatalf("%s rejected: %+v", typ, rc.Reasons)
	}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	k, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// cast registers agencies and participants and returns their keys.
func (f *clusterFx) cast() map[string]ed25519.PrivateKey {
	keys := map[string]ed25519.PrivateKey{}
	for _, a := range []wire.AgencyRegister{
		{ID: "us-cbp", Name: "U.S. Customs and Border Protection", Country: "US", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "CAFTA-DR", "NAFTA", "IPR"}},
		{ID: "sat-mx", Name: "Servicio de Administración Tributaria", Country: "MX", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "NAFTA", "IPR"}},
	} {
		k := newKey(f.t)
		a.PublicKeys = []string{pub(k)}
		f.must(f.c.Admin, "agency.register", a)
		keys[a.ID] = k
	}
	for _, p := range []struct {
		agency string
		enrol  wire.ParticipantEnrol
	}{
		{"sat-mx", wire.ParticipantEnrol{ID: "acme-mx", Name: "ACME Exportaciones", Country: "MX", Roles: []string{"exporter", "producer", "certifier"}}},
		{"sat-mx", wire.ParticipantEnrol{ID: "maker-mx", Name: "Maquiladora Norte", Country: "MX", Roles: []string{"licensee", "producer"}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "bigbox-us", Name: "BigBox Stores", Country: "US", Roles: []string{"importer", "licensee"}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "holder-us", Name: "ACME Brands", Country: "US", Roles: []string{"rightsholder"}}},
	} {
		k := newKey(f.t)
		p.enrol.PublicKeys = []string{pub(k)}
		f.must(keys[p.agency], "participant.enrol", p.enrol)
		keys[p.enrol.ID] = k
	}
	return keys
}

func certificate(id string, now time.Time) wire.Certificate {
	return wire.Certificate{ID: id, Program: "USMCA", CertifierRole: "exporter",
		Certifier: wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones", Title: "Director"},
		Importer:  &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores"}, ExportCountry: "MX", ImportCountry: "US",
		Goods:         []wire.GoodsItem{{Description: "Laptops", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"}},
		BlanketPeriod: &wire.Period{ValidFrom: tx.FormatTime(now.AddDate(0, -1, 0)), ValidUntil: tx.FormatTime(now.AddDate(0, 11, 0))},
		SignedAt:      tx.FormatTime(now.Add(-time.Hour)), Language: "en"}
}

func license(id, licensor, licensee, parent string, depth int, now time.Time) wire.LicenseGrant {
	return wire.LicenseGrant{ID: id, Right: "TM-ACME", Licensor: "participant/" + licensor, Licensee: "participant/" + licensee,
		Goods: wire.LicensedGoods{Description: "ACME apparel", HSPrefixes: []string{"6109"}}, Territory: []string{"US", "MX"},
		ValidFrom: tx.FormatTime(now.Add(-time.Hour)), ValidUntil: tx.FormatTime(now.AddDate(1, 0, 0)),
		Sublicensing: wire.Sublicensing{Allowed: depth > 0, Depth: depth}, Parent: parent}
}

// stripHeads removes the per-node signed heads from a verdict's JSON: the
// rest (verdict, reasons, path, receipts, proofs) must be byte-identical on
// every node at the same height.
func stripHeads(t testing.TB, v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if ev, ok := m["evidence"].([]any); ok {
		for _, e := range ev {
			delete(e.(map[string]any)["evidence"].(map[string]any), "head")
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}

func TestThreeNodesAgreeOnCertificatesLicenseChainsAndVerdicts(t *testing.T) {
	f := newCluster(t, 3)
	keys := f.cast()
	now := time.Now().UTC()

	// Certificates: issue, amend, revoke, endorse, through different nodes.
	f.must(keys["acme-mx"], "certificate.issue", certificate("C-1", now))
	f.must(keys["acme-mx"], "certificate.issue", certificate("C-2", now))
	amended := certificate("C-1", now)
	amended.Goods[0].HSCode = "847150"
	f.must(keys["acme-mx"], "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "C-1", Reason: "wrong subheading", Certificate: amended})
	f.must(keys["us-cbp"], "certificate.revoke", wire.CertificateRevoke{ID: "C-2", Reason: "origin verification failed"})
	f.must(keys["sat-mx"], "certificate.endorse", wire.CertificateEndorse{ID: "C-1"})
	// A 13-month blanket period is refused before consensus, naming the field.
	bad := certificate("C-BAD", now)
	bad.BlanketPeriod.ValidUntil = tx.FormatTime(now.AddDate(0, 12, 5))
	st, _ := f.c.Sign(keys["acme-mx"], "certificate.issue", bad)
	var ce *client.Error
	if _, err := f.c.Client(0).Submit(f.ctx, st, client.SubmitOptions{}); !errors.As(err, &ce) || ce.Status != 400 || ce.Field != "payload.blanketPeriod.validUntil" {
		t.Fatalf("13-month blanket period: %v", err)
	}
	// A certifier without an agency's enrolment is refused by the ledger.
	ghost := newKey(t)
	f.must(f.c.Admin, "key.register", map[string]string{"owner": "participant/ghost-mx", "publicKey": pub(ghost)})
	ghostCert := certificate("C-GHOST", now)
	ghostCert.Certifier.ID = "participant/ghost-mx"
	if rc := f.submit(ghost, "certificate.issue", ghostCert); rc.Status != chain.Rejected || rc.Reasons[0].Code != trade.CodeNotEnrolled {
		t.Fatalf("unenrolled certifier: %+v", rc)
	}

	// A license chain holder -> maker -> bigbox, and a revoked middle link.
	f.must(keys["us-cbp"], "ipright.register", wire.IPRightRegister{ID: "TM-ACME", Type: "trademark", Office: "USPTO", RegistrationNumber: "5123456", Title: "ACME", Holder: "participant/holder-us"})
	f.must(keys["holder-us"], "license.grant", license("L0", "holder-us", "maker-mx", "", 1, now))
	f.must(keys["maker-mx"], "license.grant", license("L1", "maker-mx", "bigbox-us", "L0", 0, now))
	f.must(keys["holder-us"], "license.grant", license("M0", "holder-us", "maker-mx", "", 1, now))
	f.must(keys["maker-mx"], "license.grant", license("M1", "maker-mx", "bigbox-us", "M0", 0, now))
	f.must(keys["holder-us"], "license.revoke", wire.LicenseRevoke{ID: "M0", Reason: "terminated"})

	states, err := f.c.WaitConverged(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converged at height %d, digest %s", states[0].Height, states[0].Digest[:16])

	at := tx.FormatTime(time.Now().UTC()) // after every record above
	certQs := []struct {
		q    wire.CertificateQuery
		want string
	}{
		{wire.CertificateQuery{ID: "C-1", At: at}, wire.VerdictValid},
		{wire.CertificateQuery{ID: "C-1", Version: 1, At: at}, wire.VerdictSuperseded},
		{wire.CertificateQuery{ID: "C-2", At: at}, wire.VerdictRevoked},
		{wire.CertificateQuery{ID: "C-BAD", At: at}, wire.VerdictNotFound}, // refused, so never recorded
	}
	licQs := []struct {
		q    wire.LicenseQuery
		want string
	}{
		{wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", At: at, License: "L1"}, wire.AnswerYes},
		{wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", At: at, License: "M1"}, wire.AnswerNo},
		{wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "CA", At: at}, wire.AnswerNo},
	}
	trust := verify.TrustFromGenesis(f.c.Genesis)
	first := map[string]string{}
	for i := range f.c.Members {
		cl := f.c.Client(i)
		for _, cq := range certQs {
			vd, err := cl.VerifyCertificate(f.ctx, cq.q, client.ReadOptions{})
			if err != nil {
				t.Fatalf("node %d %s: %v", i, cq.q.ID, err)
			}
			if vd.Verdict != cq.want {
				t.Fatalf("node %d %s v%d: %s, want %s (%+v)", i, cq.q.ID, cq.q.Version, vd.Verdict, cq.want, vd.Reasons)
			}
			for _, e := range vd.Evidence {
				if _, err := verify.Receipt(e.Evidence, trust); err != nil {
					t.Fatalf("node %d %s evidence %s: %v", i, cq.q.ID, e.Role, err)
				}
			}
			same(t, first, "cert "+cq.q.ID+string(rune('0'+cq.q.Version)), stripHeads(t, vd), i)
		}
		for j, lq := range licQs {
			vd, err := cl.VerifyLicense(f.ctx, lq.q, client.ReadOptions{})
			if err != nil {
				t.Fatalf("node %d license query %d: %v", i, j, err)
			}
			if vd.Answer != lq.want {
				t.Fatalf("node %d license query %d: %s, want %s (%+v)", i, j, vd.Answer, lq.want, vd.Failure)
			}
			for _, e := range vd.Evidence {
				if _, err := verify.Receipt(e.Evidence, trust); err != nil {
					t.Fatalf("node %d license query %d evidence %s: %v", i, j, e.Role, err)
				}
			}
			same(t, first, "license "+string(rune('0'+j)), stripHeads(t, vd), i)
		}
	}
	// The revoked middle link is named.
	vd, err := f.c.Client(2).VerifyLicense(f.ctx, licQs[1].q, client.ReadOptions{Strong: true})
	if err != nil || vd.Failure.License != "M0" || vd.Failure.Code != trade.CodeRevoked {
		t.Fatalf("strong read of the revoked chain: %+v %v", vd, err)
	}

	// Malformed questions are refused with the field named.
	for _, bad := range []struct {
		path, body, field string
	}{
		{"/v1/verify/certificate", `{"id":"C-1","at":"yesterday"}`, "at"},
		{"/v1/verify/license", `{"importer":"participant/bigbox-us","hsCode":"84A1","right":"TM-ACME","country":"US"}`, "hsCode"},
		{"/v1/verify/license", `{"importer":"participant/bigbox-us","hsCode":"610910","right":"TM-ACME","country":"US","colour":"red"}`, "body"},
	} {
		err := f.c.Client(0).Do(f.ctx, "POST", bad.path, []byte(bad.body), nil)
		if !errors.As(err, &ce) || ce.Status != 400 || ce.Field != bad.field {
			t.Fatalf("%s %s: %v", bad.path, bad.body, err)
		}
	}
	if _, err := f.c.Client(0).Certificate(f.ctx, "NOPE", client.ReadOptions{}); !client.IsNotFound(err) {
		t.Fatalf("unknown certificate: %v", err)
	}
	h, err := f.c.Client(2).Certificate(f.ctx, "C-1", client.ReadOptions{Strong: true})
	if err != nil || len(h.Versions) != 2 || len(h.Record.Endorsements) != 1 {
		t.Fatalf("certificate history: %+v %v", h, err)
	}

	// A credential exported by one node verifies offline, proof, claims and
	// evidence, against the network's trust.
	raw, err := f.c.Client(1).CertificateCredential(f.ctx, "C-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Online, its status lists come from another node (signed by that
	// node, which the trust names too).
	online := credential.Options{Bind: tradeclaims.BindEvidence, Trust: &trust, Status: func(ctx context.Context, url string) ([]byte, error) {
		return f.c.Client(2).StatusList(ctx, url[strings.Index(url, credential.StatusListPathPrefix):])
	}}
	res := credential.Verify(f.ctx, raw, online)
	if res.Verdict != credential.Verified || res.Records != 2 || res.Ledger != "2 ledger record(s) verified" ||
		len(res.Status) != 2 || res.Status[0].Result != "clear" || res.Status[1].Result != "clear" {
		t.Fatalf("exported credential: %+v", res)
	}
	if list := res.Status[0].List; !strings.HasPrefix(list, "https://"+f.c.Genesis.Nodes[1].APIAddr+"/v1/status-lists/revocation/") {
		t.Fatalf("status list %s: not under the exporting node's public URL", list)
	}

	// Issue 11, acceptance 3: the same credential, exported before the
	// revocation, is reported revoked by an online check after it.
	f.must(keys["us-cbp"], "certificate.revoke", wire.CertificateRevoke{ID: "C-1", Reason: "origin verification failed"})
	if _, err := f.c.WaitConverged(f.ctx); err != nil {
		t.Fatal(err)
	}
	res = credential.Verify(f.ctx, raw, online)
	if res.Verdict != credential.Revoked || res.Status[0].Result != "set" || len(res.Problems) != 0 {
		t.Fatalf("credential of a revoked certificate, checked online: %+v", res)
	}
}

func same(t *testing.T, first map[string]string, key, got string, node int) {
	t.Helper()
	if want, ok := first[key]; ok && want != got {
		t.Fatalf("node %d answers %s differently:\n%s\nvs\n%s", node, key, got, want)
	}
	first[key] = got
}
