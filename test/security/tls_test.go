// Package security holds the security tests: mutual TLS between nodes,
// HTTPS for clients, and the catalogue of hostile input. Clusters are real
// (testcluster: Raft over mutual TLS on loopback).
package security

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func cluster(t *testing.T) *testcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := testcluster.Start(ctx, t, 3)
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestNodesWithForeignOrExpiredCertificatesCannotJoinOrVote adds, as
// voters, a node whose certificate comes from another CA and one whose
// certificate from the network CA has expired: neither receives a single
// entry nor casts a vote, and the cluster goes on without them.
func TestNodesWithForeignOrExpiredCertificatesCannotJoinOrVote(t *testing.T) {
	c := cluster(t)
	ctx := ctxT(t, 2*time.Minute)
	foreign, err := pki.NewCA("someone else's CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]testcluster.IssueFunc{
		"foreign": func(s netgen.NodeSpec) ([]byte, []byte, error) {
			return foreign.Issue(pki.LeafOptions{CommonName: s.ID, NodeID: s.ID, Hosts: []string{"127.0.0.1"}, NotBefore: time.Now(), Validity: time.Hour})
		},
		"expired": func(s netgen.NodeSpec) ([]byte, []byte, error) {
			return c.Bundle.CA.Issue(pki.LeafOptions{CommonName: s.ID, NodeID: s.ID, Hosts: []string{"127.0.0.1"}, NotBefore: time.Now().Add(-48 * time.Hour), Validity: time.Hour})
		},
		"not-a-node": func(s netgen.NodeSpec) ([]byte, []byte, error) { // a CA-issued client certificate without the node marker
			return c.Bundle.CA.Issue(pki.LeafOptions{CommonName: s.ID, Hosts: []string{"127.0.0.1"}, NotBefore: time.Now(), Validity: time.Hour})
		},
	}
	k, err := c.Enrol(ctx, "participant/writer")
	if err != nil {
		t.Fatal(err)
	}
	write := func(retry time.Duration) error {
		t.Helper()
		st, err := c.Sign(k, "note.put", wire.NotePut{Key: "x", Value: []byte("1")})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := client.New(client.Config{Endpoints: c.Client(0, 1, 2).Endpoints(), CAFile: c.Layout.CACert, CertFile: c.Layout.ClientCert, CertKeyFile: c.Layout.ClientKey, Timeout: retry, Retry: retry})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.Submit(ctx, st, client.SubmitOptions{})
		return err
	}
	// stalled says whether a write failed for want of a quorum: the node
	// answered 503 (no leader, outcome unknown) or the client timed out.
	stalled := func(err error) bool {
		var ce *client.Error
		if errors.As(err, &ce) {
			return ce.Status == http.StatusServiceUnavailable && (ce.Code == "outcome_unknown" || ce.Code == "no_leader")
		}
		var ne net.Error
		return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	}
	for _, name := range []string{"foreign", "expired", "not-a-node"} {
		t.Run(name, func(t *testing.T) {
			admin := c.Client(0, 1, 2).Admin(c.Genesis.Network, c.Admin)
			idx, err := c.AddNodeWithTLS(name, bad[name])
			if err != nil {
				t.Fatal(err)
			}
			m := c.Members[idx]
			// Added straight as a voter: 4 voters, quorum 3.
			if err := admin.AddMember(ctx, name, m.RaftAddr, m.APIAddr, true); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				if err := write(20 * time.Second); err != nil {
					t.Fatalf("write with 3 good voters of 4: %v", err)
				}
			}
			if applied := c.Node(idx).Store().Applied().Index; applied != 0 {
				t.Fatalf("%s applied index %d: it received entries", name, applied)
			}
			// With one good follower down, the bad node's vote and acks
			// would be needed for quorum: the cluster must stall.
			leader, _ := c.WaitLeaderAmong(ctx, 0, 1, 2)
			follower := (leader + 1) % 3
			_ = c.Stop(follower)
			if err := write(3 * time.Second); !stalled(err) {
				t.Fatalf("a write with 2 good voters of 4: %v; want it stalled for want of quorum (else %s counted towards it)", err, name)
			}
			if c.Node(idx).Consensus().IsLeader() {
				t.Fatalf("%s became leader", name)
			}
			if err := c.Restart(follower); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitLeaderAmong(ctx, 0, 1, 2); err != nil {
				t.Fatal(err)
			}
			if err := admin.RemoveMember(ctx, name); err != nil {
				t.Fatal(err)
			}
			_ = c.Stop(idx)
		})
	}
}

// TestRaftPortRefusesAnythingButANodeCertificate dials a node's Raft port
// directly with various client certificates.
func TestRaftPortRefusesAnythingButANodeCertificate(t *testing.T) {
	c := cluster(t)
	raftAddr := c.Members[0].RaftAddr
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.Bundle.CA.CertPEM)
	nodeCert, err := tls.X509KeyPair(c.Bundle.Nodes[1].CertPEM, c.Bundle.Nodes[1].KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	clientPEM, clientKey, err := c.Bundle.CA.Issue(pki.LeafOptions{CommonName: "a client", Hosts: []string{"x"}, NotBefore: time.Now(), Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := tls.X509KeyPair(clientPEM, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(certs []tls.Certificate) error {
		conn, err := tls.Dial("tcp", raftAddr, &tls.Config{RootCAs: pool, Certificates: certs, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err != nil {
			return err
		}
		defer conn.Close()
		// TLS 1.3: the server's verdict on the client certificate arrives
		// with the first read.
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := conn.Write([]byte{0}); err != nil {
			return err
		}
		var b [1]byte
		_, err = conn.Read(b[:])
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return err
		}
		return nil
	}
	// The refusal must be the TLS handshake's: the server's alert about
	// the client certificate.
	if err := dial(nil); err == nil || !strings.Contains(err.Error(), "tls:") {
		t.Fatalf("Raft port without a client certificate: %v, want a TLS refusal", err)
	}
	if err := dial([]tls.Certificate{clientCert}); err == nil || !strings.Contains(err.Error(), "tls:") {
		t.Fatalf("Raft port with a CA-issued certificate that is not a node certificate: %v, want a TLS refusal", err)
	}
	if err := dial([]tls.Certificate{nodeCert}); err != nil {
		t.Fatalf("a node certificate was refused: %v", err)
	}
}

func TestAPIServesOnlyHTTPSWithTheNetworkCA(t *testing.T) {
	c := cluster(t)
	api := c.Members[0].APIAddr
	plain := &http.Client{Timeout: 3 * time.Second}
	if resp, err := plain.Get("http://" + api + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("API answered plain HTTP")
		}
	}
	if _, err := plain.Get("https://" + api + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("API certificate accepted without the network CA: %v", err)
	}
	if _, err := c.Client(0).Ready(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("with the network CA: %v", err)
	}
}
