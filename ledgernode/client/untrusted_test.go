package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
)

// A client that trusts only a CA the node's certificate does not chain to
// (the old CA, after a rotation) is refused, and told why and where the
// current bundle is; with a bundle holding the right CA it is served.
func TestClientTrustingOnlyAnotherCAIsToldTheCAMayHaveBeenRotated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testcluster.DefaultConfig()
	o.Nodes, o.Dir = 1, t.TempDir()
	c, err := testcluster.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	other, err := pki.NewCA("another CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := func(pems ...[]byte) *x509.CertPool {
		p := x509.NewCertPool()
		for _, b := range pems {
			if !p.AppendCertsFromPEM(b) {
				t.Fatal("setup: no PEM certificate")
			}
		}
		return p
	}
	eps := []string{"https://" + c.Members[0].APIAddr}
	cl, err := client.New(client.Config{Endpoints: eps[:1], TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool(other.CertPEM)}, Retry: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.Status(ctx, true)
	if !errors.Is(err, client.ErrUntrustedServer) || !strings.Contains(err.Error(), "ca-bundle") || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("status with another CA only: %v, want ErrUntrustedServer naming the unknown authority and the ca-bundle", err)
	}
	ok, err := client.New(client.Config{Endpoints: eps[:1], TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool(other.CertPEM, c.Bundle.CA.CertPEM)}, SignKey: c.Admin, Retry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ok.Status(ctx, true); err != nil {
		t.Fatalf("status with a bundle holding the network CA: %v", err)
	}
}
