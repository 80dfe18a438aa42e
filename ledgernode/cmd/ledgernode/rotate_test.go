package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/pki"
)

// ca-new and node-cert make what a CA rotation needs: a new CA (never over
// an existing one) and a node certificate from it that chains to it, names
// the node and its addresses, is usable by a TLS server and client, and
// comes with its own key.
func TestCANewAndNodeCertIssueACertificateThatChainsToTheNewCA(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		cmd := caNewCmd()
		if args[0] == "node-cert" {
			cmd = nodeCertCmd()
		}
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args[1:])
		err := cmd.Execute()
		return out.String(), err
	}
	caDir := filepath.Join(dir, "ca2")
	if out, err := run("ca-new", "--name", "pilot network CA 2", "--out", caDir); err != nil || !strings.Contains(out, "keep it offline") {
		t.Fatalf("ca-new: %v\n%s", err, out)
	}
	if _, err := run("ca-new", "--name", "again", "--out", caDir); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("ca-new over an existing CA: %v, want refused", err)
	}
	if fi, err := os.Stat(filepath.Join(caDir, "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v %v, want mode 0600", fi, err)
	}
	tlsDir := filepath.Join(dir, "n0")
	if out, err := run("node-cert", "n0", "--raft-addr", "ledger-0.ledger:7000", "--api-addr", "127.0.0.1:8443",
		"--ca-cert", filepath.Join(caDir, "ca.crt"), "--ca-key", filepath.Join(caDir, "ca.key"), "--out", tlsDir); err != nil {
		t.Fatalf("node-cert: %v\n%s", err, out)
	}
	if _, err := run("node-cert", "N_0", "--raft-addr", "a:1", "--api-addr", "a:2", "--ca-cert", "x", "--ca-key", "y", "--out", tlsDir); err == nil || !strings.Contains(err.Error(), `node id "N_0"`) {
		t.Fatalf("node-cert with a bad id: %v, want refused naming it", err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "tls.crt"), filepath.Join(tlsDir, "tls.key"))
	if err != nil {
		t.Fatalf("certificate and key do not pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(caDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		for _, name := range []string{"ledger-0.ledger", "127.0.0.1", "n0"} {
			if err := pki.VerifyChain([]*x509.Certificate{leaf}, pool, name, usage); err != nil {
				t.Errorf("usage %v, name %s: %v", usage, name, err)
			}
		}
	}
	if got := pki.NodeIDOf(leaf); got != "n0" {
		t.Errorf("node id in the certificate %q, want n0", got)
	}
	// It does not chain to another CA.
	other, err := pki.NewCA("other", leaf.NotBefore, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	op := x509.NewCertPool()
	b, _ := pem.Decode(other.CertPEM)
	oc, _ := x509.ParseCertificate(b.Bytes)
	op.AddCert(oc)
	if err := pki.VerifyChain([]*x509.Certificate{leaf}, op, "n0", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("the node certificate verified against another CA")
	}
}
