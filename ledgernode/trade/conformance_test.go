package trade

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The independent W3C implementation the conformance test runs, pinned.
// It is installed with npm once into a cache outside the work tree (keyed
// by these versions), so a second run starts at once.
var conformancePackages = []string{
	"@digitalbazaar/vc@7.3.0",
	"@digitalbazaar/data-integrity@2.5.0",
	"@digitalbazaar/eddsa-jcs-2022-cryptosuite@1.0.0",
	"@digitalbazaar/vc-bitstring-status-list@2.0.1",
	"jsonld@9.0.0",
}

// conformanceRuntime installs (once) the pinned packages and returns the
// directory holding their node_modules; it skips the test, in one line,
// where node or npm is missing.
func conformanceRuntime(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			// make race says so in one line too (go test hides skips without -v).
			t.Skipf("W3C conformance check SKIPPED: %s is not installed (exported credentials not checked by an independent implementation)", tool)
		}
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(strings.Join(conformancePackages, "\n")))
	dir := filepath.Join(base, "tradeledger", "npm-vc-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".installed")); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "npm-vc-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"private":true,"type":"module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("installing %s into %s (once)", strings.Join(conformancePackages, " "), dir)
	cmd := exec.Command("npm", append([]string{"install", "--no-audit", "--no-fund", "--save-exact"}, conformancePackages...)...)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install of the independent W3C implementation failed (is the npm registry reachable?): %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "node_modules", ".installed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

type conformanceCheck struct {
	Expanded    bool            `json:"expanded"`
	ExpandError string          `json:"expandError"`
	Verified    bool            `json:"verified"`
	Error       string          `json:"error"`
	Status      map[string]bool `json:"status"`
}

type conformanceResult struct {
	Name    string            `json:"name"`
	Trusted conformanceCheck  `json:"trusted"`
	Open    *conformanceCheck `json:"open"`
}

// TestCredentialsVerifyWithAnIndependentW3CImplementation runs Digital
// Bazaar's VC implementation (eddsa-jcs-2022, Bitstring Status List) and
// jsonld.js (safe mode) over tradeledger's exports: genuine certificate and
// license credentials verify and expand; every forgery of the tampering
// table fails there too (given the network's node did:keys as the trusted
// issuers, as our verifier is given genesis.json); and a credential
// exported before its certificate was revoked reads revoked from its
// status list.
func TestCredentialsVerifyWithAnIndependentW3CImplementation(t *testing.T) {
	dir := conformanceRuntime(t)
	genuine, forged, _ := forgeries(t)

	// A credential exported before its certificate's revocation, and the
	// status lists after it.
	w := newWorld(t)
	w.issue("VC-R")
	before := w.exportCredential("certificate", "VC-R", 0)
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "VC-R", Reason: "origin not substantiated"})
	lists := map[string]any{}
	for _, e := range before["credentialStatus"].([]any) {
		url := e.(map[string]any)["statusListCredential"].(string)
		raw, err := w.statusFetcher()(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		_ = json.Unmarshal(raw, &doc)
		lists[url] = doc
	}

	contexts := map[string]any{}
	for url, raw := range credential.Contexts() {
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		contexts[url] = doc
	}
	type entry struct {
		Name string         `json:"name"`
		Doc  map[string]any `json:"doc"`
	}
	var creds []entry
	for i, g := range genuine {
		creds = append(creds, entry{Name: "genuine " + []string{"certificate", "license"}[i], Doc: g})
	}
	byName := map[string]Forgery{}
	for _, f := range forged {
		creds = append(creds, entry{Name: f.Name, Doc: f.Doc})
		byName[f.Name] = f
	}
	input := map[string]any{
		"contexts":    contexts,
		"trustedDIDs": []string{credential.DIDKey(testNodeKey.Public().(ed25519.PublicKey))},
		"now":         time.Now().UTC().Format(time.RFC3339),
		"credentials": creds,
		"statusCheck": map[string]any{"doc": before, "lists": lists},
	}
	in := filepath.Join(t.TempDir(), "input.json")
	raw, _ := json.Marshal(input)
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("testdata/conformance/verify.mjs")
	if err != nil {
		t.Fatal(err)
	}
	// ES modules resolve packages from the script's directory.
	f, err := os.CreateTemp(dir, "verify-*.mjs")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(script); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("node", f.Name(), in)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var results []conformanceResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("node output: %v\n%s", err, stdout.String())
	}
	if len(results) != len(creds)+1 {
		t.Fatalf("%d results for %d credentials", len(results), len(creds)+1)
	}
	for _, r := range results {
		switch {
		case strings.HasPrefix(r.Name, "genuine"):
			if !r.Trusted.Verified || !r.Trusted.Expanded {
				t.Errorf("%s: the independent implementation refuses it: verified=%v (%s) expanded=%v (%s)", r.Name, r.Trusted.Verified, r.Trusted.Error, r.Trusted.Expanded, r.Trusted.ExpandError)
			}
		case r.Name == "status":
			if !r.Trusted.Verified || !r.Trusted.Status["revocation"] || r.Trusted.Status["suspension"] {
				t.Errorf("credential exported before the revocation: verified=%v (%s), status %v; want revocation set, suspension clear", r.Trusted.Verified, r.Trusted.Error, r.Trusted.Status)
			}
		default:
			fg := byName[r.Name]
			if r.Trusted.Verified {
				t.Errorf("forgery %q (%s) verifies in the independent implementation", r.Name, fg.Secure)
			}
			// Without a trust list, what the implementation checks by
			// itself must still catch every forgery not secured as a
			// credential of the forger's own.
			if fg.Secure != selfIssued && r.Open != nil && r.Open.Verified {
				t.Errorf("forgery %q (%s) verifies in the independent implementation without a trust list", r.Name, fg.Secure)
			}
			why := r.Trusted.Error
			if fg.Secure != selfIssued && r.Open != nil {
				why = r.Open.Error // what the implementation finds by itself
			}
			t.Logf("%-48s %-31s refused: %s", r.Name, fg.Secure, shortErr(why))
		}
	}
}

func shortErr(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
