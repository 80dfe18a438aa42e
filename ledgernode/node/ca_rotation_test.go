package node_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
)

// writeFileAtomic replaces path as an operator's tooling (or the kubelet's
// Secret volume) does: a new file renamed over the old one.
func writeFileAtomic(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// The network CA is rotated without an outage (docs/operations.md,
// "Rotating the network CA"), with the files the nodes already re-read:
// both CAs trusted (a bundle) → every node certificate and the admin's
// client certificate reissued from the new CA → the old CA dropped. Writes
// go on throughout from clients that trust the bundle and none fails; a
// node restarted mid-rotation and one restarted after it rejoin; a client
// that still presents an old-CA certificate is refused (401, told to
// present one from the network CA), and one that trusts only the old CA
// cannot verify the nodes.
func TestCARotationUnderWriteLoadLosesNoWrite(t *testing.T) {
	c, ctx, k := writerCluster(t, 3*time.Minute)
	oldCA := c.Bundle.CA
	newCA, err := pki.NewCA("tradeledger network CA (rotated)", time.Now(), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := func() { time.Sleep(1500 * time.Millisecond) } // nodes re-check their files at most once a second

	// Phase 1: trust both.
	writeFileAtomic(t, c.Layout.CACert, append(append([]byte(nil), oldCA.CertPEM...), newCA.CertPEM...), 0o644)
	reloaded()

	var mu sync.Mutex
	var acked int
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := c.ClientWith(client.Config{SignKey: k, Timeout: 10 * time.Second, Retry: 10 * time.Second}, 0, 1, 2)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				st, err := c.Sign(k, "note.put", notePayload(fmt.Sprintf("ca%d-%d", w, i%20), i))
				if err != nil {
					t.Error(err)
					return
				}
				resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
				mu.Lock()
				if err != nil || resp.Receipt.Status != chain.Accepted {
					failures = append(failures, fmt.Sprintf("worker %d write %d: %v", w, i, err))
				} else {
					acked++
				}
				mu.Unlock()
			}
		}(w)
	}
	progress := func(what string) {
		t.Helper()
		mu.Lock()
		start := acked
		mu.Unlock()
		deadline := time.Now().Add(time.Minute)
		for {
			mu.Lock()
			n := acked
			mu.Unlock()
			if n >= start+10 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: writes stalled at %d", what, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	progress("trusting both CAs")

	// Phase 2: reissue every node's certificate from the new CA; node 1 is
	// restarted in the middle of it.
	for i, m := range c.Members {
		certPEM, keyPEM, err := netgen.IssueNodeTLS(newCA, netgen.NodeSpec{ID: m.ID, RaftAddr: m.RaftAddr, APIAddr: m.APIAddr}, time.Now(), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		writeFileAtomic(t, m.Paths.TLS.Key, keyPEM, 0o600)
		writeFileAtomic(t, m.Paths.TLS.Cert, certPEM, 0o644)
		if i == 1 {
			if err := c.Stop(1); err != nil {
				t.Fatal(err)
			}
			if err := c.Restart(1); err != nil {
				t.Fatal(err)
			}
		}
		progress("reissuing " + m.ID)
	}
	certPEM, keyPEM, err := newCA.IssueClient("admin", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oldClientCert, err := os.ReadFile(c.Layout.ClientCert)
	if err != nil {
		t.Fatal(err)
	}
	oldClientKey, err := os.ReadFile(c.Layout.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, c.Layout.ClientKey, keyPEM, 0o600)
	writeFileAtomic(t, c.Layout.ClientCert, certPEM, 0o644)
	reloaded()

	// Phase 3: drop the old CA; node 2 restarts (new Raft connections,
	// new-CA certificates only).
	writeFileAtomic(t, c.Layout.CACert, newCA.CertPEM, 0o644)
	reloaded()
	progress("dropping the old CA")
	if err := c.Stop(2); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(2); err != nil {
		t.Fatal(err)
	}
	progress("after restarting a node on the new CA alone")
	// The writers stop before the nodes are compared: under load the
	// heights move between one node's answer and the next, so "the same
	// height on all" is a race the comparison can lose for minutes.
	close(stop)
	wg.Wait()
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	if len(failures) > 0 {
		t.Fatalf("%d writes failed during the rotation (of %d acknowledged): %s", len(failures), acked, strings.Join(failures[:min(5, len(failures))], "; "))
	}
	t.Logf("%d writes acknowledged during the rotation, none failed", acked)

	// The admin reads with its new-CA certificate.
	if _, err := c.Client().Status(ctx, false); err != nil {
		t.Fatalf("admin with the new client certificate: %v", err)
	}
	// A client still presenting the old-CA certificate is not authenticated
	// by it (the handshake does not verify it, the node finds no identity
	// from the network CA) and is told to present one from the network CA.
	dir := t.TempDir()
	oc, ok := filepath.Join(dir, "old.crt"), filepath.Join(dir, "old.key")
	writeFileAtomic(t, oc, oldClientCert, 0o644)
	writeFileAtomic(t, ok, oldClientKey, 0o600)
	old := c.ClientWith(client.Config{CertFile: oc, CertKeyFile: ok, Timeout: 5 * time.Second, Retry: time.Second}, 0)
	_, err = old.Status(ctx, true)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 401 || !strings.Contains(err.Error(), "client certificate from the network CA") {
		t.Fatalf("old-CA client certificate: %v, want 401 naming the network CA", err)
	}
	// A client that trusts only the old CA cannot verify the nodes.
	oldCAFile := filepath.Join(dir, "old-ca.crt")
	writeFileAtomic(t, oldCAFile, oldCA.CertPEM, 0o644)
	oldTrust, err := client.New(client.Config{Endpoints: []string{"https://" + c.Members[0].APIAddr}, CAFile: oldCAFile, SignKey: k, Timeout: 5 * time.Second, Retry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = oldTrust.Status(ctx, true)
	if err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("old-CA-only client: %v, want the node's certificate refused as signed by an unknown authority", err)
	}
}
