package pki

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A node reports the CAs it trusts by fingerprint, and a CA file replaced
// by a bundle is reported as the bundle once the reloader picks it up: a
// CA rotation observes this before it reissues certificates.
func TestReloaderReportsTheFingerprintsOfTheCAsItTrusts(t *testing.T) {
	now := time.Now()
	oldCA, err := NewCA("old", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	newCA, err := NewCA("new", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crt, key, err := oldCA.Issue(LeafOptions{CommonName: "n0", NodeID: "n0", Hosts: []string{"localhost"}, NotBefore: now, Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := Files{CA: filepath.Join(dir, "ca.crt"), Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key")}
	for p, data := range map[string][]byte{f.CA: oldCA.CertPEM, f.Cert: crt, f.Key: key} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReloader(f)
	if err != nil {
		t.Fatal(err)
	}
	oldFP, newFP := Fingerprint(oldCA.Cert.Raw), Fingerprint(newCA.Cert.Raw)
	if got := r.TrustedCAs(); !slices.Equal(got, []string{oldFP}) {
		t.Fatalf("trusted CAs: %v, want the old CA's %s", got, oldFP)
	}
	// Bundle both (the stamp differs by size, so no wait for mtime).
	bundle := append(append([]byte{}, oldCA.CertPEM...), newCA.CertPEM...)
	if err := os.WriteFile(f.CA, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now.Add(time.Hour) } // the next use checks the files
	if got := r.TrustedCAs(); !slices.Equal(got, []string{oldFP, newFP}) {
		t.Fatalf("trusted CAs after the bundle: %v, want [%s %s]", got, oldFP, newFP)
	}
	if got := Fingerprints(append([]byte("junk\n"), bundle...)); !slices.Equal(got, []string{oldFP, newFP}) {
		t.Fatalf("Fingerprints of a bundle: %v", got)
	}
}
