package devnet

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/server"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Who may read what (docs/api.md, "Who may read what"), one test per role,
// against a real cluster holding the trade demo data: each client reads
// over HTTPS with its own credential and the node decides from it.

// accessFixture is a cluster (verification open to anyone on node 1 only)
// seeded with the demo data, and its demo keys.
type accessFixture struct {
	c    *testcluster.Cluster
	keys string
	ctx  context.Context
}

func newAccessFixture(t *testing.T) *accessFixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c := testcluster.Start(ctx, t, 3)
	keys := t.TempDir()
	s := &Seed{Client: c.Client(), Network: c.Genesis.Network, Admin: c.Admin, KeysDir: keys, Out: io.Discard}
	if err := seedTrade(ctx, s); err != nil {
		t.Fatal(err)
	}
	return &accessFixture{c: c, keys: keys, ctx: ctx}
}

func (f *accessFixture) key(t *testing.T, name string) ed25519.PrivateKey {
	t.Helper()
	k, err := tx.ReadKeyFile(filepath.Join(f.keys, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certClient reads with a client certificate for identity.
func (f *accessFixture) certClient(t *testing.T, identity string) *client.Client {
	t.Helper()
	cert, key, err := f.c.IssueClientCert(identity)
	if err != nil {
		t.Fatal(err)
	}
	return f.c.ClientWith(client.Config{CertFile: cert, CertKeyFile: key, Retry: time.Second})
}

// status is the HTTP status of a GET (200 when it succeeds).
func status(t *testing.T, ctx context.Context, cl *client.Client, path string, out any) (int, string) {
	t.Helper()
	if out == nil {
		out = new(json.RawMessage)
	}
	err := cl.Do(ctx, http.MethodGet, path, nil, out)
	if err == nil {
		return 200, ""
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("GET %s: %v", path, err)
	}
	return ce.Status, ce.Code
}

func expect(t *testing.T, ctx context.Context, cl *client.Client, path string, wantStatus int, wantCode string) {
	t.Helper()
	st, code := status(t, ctx, cl, path, nil)
	if st != wantStatus || code != wantCode {
		t.Errorf("GET %s: %d %q, want %d %q", path, st, code, wantStatus, wantCode)
	}
}

func TestAnonymousClientReadsOnlyHealthUnlessAGroupIsOpen(t *testing.T) {
	f := newAccessFixture(t)
	anon := f.c.ClientWith(client.Config{Retry: time.Second})
	for _, p := range []string{"/v1/head", "/v1/agencies", "/v1/certificates/USMCA-ACME-0001", "/v1/blocks/latest", "/v1/cluster/status",
		"/v1/types", "/v1/policies", "/v1/notes/welcome", "/metrics"} {
		expect(t, f.ctx, anon, p, 401, "unauthenticated")
	}
	if _, err := anon.VerifyCertificate(f.ctx, wire.CertificateQuery{ID: "USMCA-ACME-0001"}, client.ReadOptions{}); !isStatus(err, 401) {
		t.Errorf("anonymous verdict: %v, want 401", err)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		expect(t, f.ctx, anon, p, 200, "")
	}

	// The same network with the verification group opened: verdicts and
	// heads for anyone, the records themselves still not.
	ctx := f.ctx
	o := testcluster.DefaultConfig()
	o.Nodes, o.Dir, o.Access = 1, t.TempDir(), server.AccessConfig{Open: []string{server.GroupVerification}, Metrics: "open"}
	oc, err := testcluster.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	s := &Seed{Client: oc.Client(), Network: oc.Genesis.Network, Admin: oc.Admin, KeysDir: t.TempDir(), Out: io.Discard}
	if err := seedTrade(ctx, s); err != nil {
		t.Fatal(err)
	}
	open := oc.ClientWith(client.Config{Retry: time.Second})
	if vd, err := open.VerifyCertificate(ctx, wire.CertificateQuery{ID: "USMCA-ACME-0001"}, client.ReadOptions{}); err != nil || vd.Verdict != wire.VerdictValid {
		t.Errorf("anonymous verdict on an open verification group: %+v %v", vd, err)
	}
	expect(t, ctx, open, "/v1/head", 200, "")
	expect(t, ctx, open, "/metrics", 200, "")
	expect(t, ctx, open, "/v1/certificates/USMCA-ACME-0001", 401, "unauthenticated")
	expect(t, ctx, open, "/v1/participants/acme-mx", 401, "unauthenticated")
}

func caOnly(t *testing.T, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
}

func isStatus(err error, st int) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == st
}

// A participant reads the records that name it, lists only by itself, sees
// other participants' directory fields only, and no blocks, digests,
// evaluations or cluster topology. Both ways of authenticating (a signed
// request, a client certificate) give the same answers.
func TestParticipantReadsOnlyWhatNamesIt(t *testing.T) {
	f := newAccessFixture(t)
	for name, acme := range map[string]*client.Client{
		"signed":      f.c.ClientWith(client.Config{SignKey: f.key(t, "acme-mx"), Retry: time.Second}),
		"certificate": f.certClient(t, "participant/acme-mx"),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := f.ctx
			expect(t, ctx, acme, "/v1/certificates/USMCA-ACME-0001", 200, "")
			expect(t, ctx, acme, "/v1/certificates/USMCA-ACME-0001/credential", 200, "")
			expect(t, ctx, acme, "/v1/certificates/CAFTA-CAFE-0001", 403, "forbidden")
			expect(t, ctx, acme, "/v1/certificates/CAFTA-CAFE-0001/credential", 403, "forbidden")
			expect(t, ctx, acme, "/v1/licenses/LIC-BIGBOX", 403, "forbidden")
			expect(t, ctx, acme, "/v1/shipments/ENTRY-0001", 403, "forbidden")
			expect(t, ctx, acme, "/v1/certificates", 400, "invalid")
			expect(t, ctx, acme, "/v1/certificates?importer=participant/bigbox-us", 403, "forbidden")
			var page wire.CertificatePage
			if st, _ := status(t, ctx, acme, "/v1/certificates?certifier=participant/acme-mx", &page); st != 200 || len(page.Certificates) != 3 {
				t.Errorf("own certificates: %d, %d listed, want 3", st, len(page.Certificates))
			}
			for _, p := range []string{"/v1/blocks/latest", "/v1/state/digest", "/v1/cluster/status", "/v1/evaluations/USMCA-ACME-0001"} {
				expect(t, ctx, acme, p, 403, "forbidden")
			}
			for _, p := range []string{"/v1/head", "/v1/agencies", "/v1/types", "/v1/policies", "/v1/notes/welcome"} {
				st, code := status(t, ctx, acme, p, nil)
				if st != 200 && !(p == "/v1/notes/welcome" && st == 404) {
					t.Errorf("GET %s: %d %s", p, st, code)
				}
			}
			var self, other wire.ParticipantResponse
			if st, _ := status(t, ctx, acme, "/v1/participants/acme-mx", &self); st != 200 || self.Participant.Contact == nil || len(self.Participant.Identifiers) == 0 {
				t.Errorf("own record: %d %+v, want contact and identifiers", st, self.Participant)
			}
			if st, _ := status(t, ctx, acme, "/v1/participants/maple-ca", &other); st != 200 || other.Participant.Name != "Maple Foods Ltd" ||
				len(other.Participant.Identifiers) != 0 || other.Participant.EnrolTx != "" || len(other.Participant.History) != 0 {
				t.Errorf("another participant: %d %+v, want directory fields only", st, other.Participant)
			}
			if _, err := acme.VerifyCertificate(ctx, wire.CertificateQuery{ID: "USMCA-ACME-0001"}, client.ReadOptions{}); err != nil {
				t.Errorf("verdict on its own certificate: %v", err)
			}
			if _, err := acme.VerifyCertificate(ctx, wire.CertificateQuery{ID: "CAFTA-CAFE-0001"}, client.ReadOptions{}); !isStatus(err, 403) {
				t.Errorf("verdict on another's certificate: %v, want 403", err)
			}
			// A follower forwards a strong read to the leader on the
			// participant's behalf: the leader answers as the participant
			// may read.
			leader, err := f.c.WaitLeader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			follower := (leader + 1) % 3
			fc := f.c.ClientWith(client.Config{SignKey: f.key(t, "acme-mx"), Retry: time.Second}, follower)
			expect(t, ctx, fc, "/v1/certificates/CAFTA-CAFE-0001?consistency=strong", 403, "forbidden")
			expect(t, ctx, fc, "/v1/certificates/USMCA-ACME-0001?consistency=strong", 200, "")
			expect(t, ctx, fc, "/v1/blocks/latest?consistency=strong", 403, "forbidden")
			var h wire.CertificateHistory
			if st, _ := status(t, ctx, acme, "/v1/certificates/USMCA-ACME-0001", &h); st == 200 {
				expect(t, ctx, acme, "/v1/tx/"+h.Versions[0].TxID, 200, "")
			}
			var cafe wire.CertificateHistory
			if err := f.c.Client().Do(ctx, http.MethodGet, "/v1/certificates/CAFTA-CAFE-0001", nil, &cafe); err != nil {
				t.Fatal(err)
			}
			expect(t, ctx, acme, "/v1/tx/"+cafe.Versions[0].TxID, 403, "forbidden")
		})
	}
}

// An agency reads every record and the chain, not the cluster topology.
func TestAgencyReadsEveryRecordButNotTheCluster(t *testing.T) {
	f := newAccessFixture(t)
	cbp := f.certClient(t, "agency/us-cbp")
	for _, p := range []string{"/v1/certificates/CAFTA-CAFE-0001", "/v1/licenses/LIC-BIGBOX", "/v1/shipments/ENTRY-0001", "/v1/blocks/latest",
		"/v1/state/digest", "/v1/certificates?importer=participant/bigbox-us", "/v1/evaluations/ENTRY-0001", "/metrics"} {
		expect(t, f.ctx, cbp, p, 200, "")
	}
	var other wire.ParticipantResponse
	if st, _ := status(t, f.ctx, cbp, "/v1/participants/acme-mx", &other); st != 200 || len(other.Participant.Identifiers) == 0 {
		t.Errorf("agency reading a participant: %d %+v, want the whole record", st, other.Participant)
	}
	expect(t, f.ctx, cbp, "/v1/cluster/status", 403, "forbidden")
	// Signed with the agency's key: the same.
	signed := f.c.ClientWith(client.Config{SignKey: f.key(t, "agency-us-cbp"), Retry: time.Second})
	expect(t, f.ctx, signed, "/v1/certificates/CAFTA-CAFE-0001", 200, "")
	expect(t, f.ctx, signed, "/v1/cluster/status", 403, "forbidden")
}

// The network admin (client certificate or admin key) and the nodes read
// everything, the cluster topology included.
func TestAdminAndNodesReadEverything(t *testing.T) {
	f := newAccessFixture(t)
	m := f.c.Members[0]
	for name, cl := range map[string]*client.Client{
		"admin certificate": f.c.Client(),
		"admin key":         f.c.ClientWith(client.Config{SignKey: f.c.Admin, Retry: time.Second}),
		"node certificate":  f.c.ClientWith(client.Config{CertFile: m.Paths.TLS.Cert, CertKeyFile: m.Paths.TLS.Key, Retry: time.Second}),
	} {
		for _, p := range []string{"/v1/cluster/status", "/v1/certificates/CAFTA-CAFE-0001", "/v1/blocks/latest", "/v1/evaluations/ENTRY-0001"} {
			if st, code := status(t, f.ctx, cl, p, nil); st != 200 {
				t.Errorf("%s: GET %s: %d %s", name, p, st, code)
			}
		}
	}
}

// Credentials that do not authenticate are refused, saying why: an unknown
// key, a stale or tampered signature, a certificate for an identity the
// ledger does not hold.
func TestBadReadCredentialsAreRefused(t *testing.T) {
	f := newAccessFixture(t)
	stranger, _ := tx.GenerateKey()
	expect(t, f.ctx, f.c.ClientWith(client.Config{SignKey: stranger, Retry: time.Second}), "/v1/head", 401, "unauthenticated")
	expect(t, f.ctx, f.certClient(t, "participant/nobody"), "/v1/head", 401, "unauthenticated")

	base := "https://" + f.c.Members[0].APIAddr
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: caOnly(t, f.c.Layout.CACert)}}
	do := func(mod func(r *http.Request)) int {
		req, _ := http.NewRequestWithContext(f.ctx, http.MethodGet, base+"/v1/head", nil)
		client.SignRequest(req, f.key(t, "acme-mx"), nil, time.Now())
		mod(req)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := do(func(*http.Request) {}); st != 200 {
		t.Fatalf("a correctly signed request: %d", st)
	}
	if st := do(func(r *http.Request) { r.URL.RawQuery = "consistency=strong" }); st != 401 {
		t.Errorf("query changed after signing: %d, want 401", st)
	}
	if st := do(func(r *http.Request) {
		old, _ := http.NewRequest(http.MethodGet, base+"/v1/head", nil)
		client.SignRequest(old, f.key(t, "acme-mx"), nil, time.Now().Add(-time.Hour))
		r.Header = old.Header
	}); st != 401 {
		t.Errorf("signed an hour ago: %d, want 401", st)
	}
}
