package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"
)

// Submission bytes count against the client's budget and the node's while
// a request is served: a client over its share waits and is refused
// (errBusy) while another client still gets in, until the node's budget is
// spent; released bytes are free again.
func TestByteBudgetsBoundEachClientAndTheNode(t *testing.T) {
	b := newByteBudgets(BudgetConfig{NodeBytes: 3 * budgetChunk, ClientBytes: 2 * budgetChunk})
	b.wait = 50 * time.Millisecond
	read := func(remote string, n int) (*bodyBudget, error) {
		r := httptest.NewRequest("POST", "/v1/txs", bytes.NewReader(make([]byte, n)))
		r.RemoteAddr = remote
		bb := b.budgetBody(r)
		_, err := io.Copy(io.Discard, bb)
		if err != nil {
			bb.release() // as the handler's defer does
		}
		return bb, err
	}
	a1, err := read("10.0.0.1:1000", 2*budgetChunk)
	if err != nil {
		t.Fatalf("a client within its share: %v", err)
	}
	if _, err := read("10.0.0.1:1001", budgetChunk); !errors.Is(err, errBusy) {
		t.Fatalf("the same client (another connection) over its share: %v, want errBusy", err)
	}
	b1, err := read("10.0.0.2:1000", budgetChunk/2)
	if err != nil {
		t.Fatalf("another client while the node has room: %v", err)
	}
	if _, err := read("10.0.0.3:1000", budgetChunk); !errors.Is(err, errBusy) {
		t.Fatalf("a third client once the node's budget is spent: %v, want errBusy", err)
	}
	a1.release()
	b1.release()
	if c, err := read("10.0.0.3:1000", 2*budgetChunk); err != nil {
		t.Fatalf("after release: %v", err)
	} else {
		c.release()
	}
	if len(b.clients) != 0 {
		t.Fatalf("client budgets left behind: %d", len(b.clients))
	}
}

// Clients are told apart by their certificate's identity, else their IP
// address; nodes are not limited per client.
func TestClientKeyIsTheCertificateIdentityElseTheIP(t *testing.T) {
	r := httptest.NewRequest("POST", "/v1/tx", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	if k, node := clientKey(r); k != "ip/192.0.2.7" || node {
		t.Fatalf("no certificate: %s %v", k, node)
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{}}}
	if k, _ := clientKey(r); k != "ip/192.0.2.7" {
		t.Fatalf("a certificate naming no identity: %s", k)
	}
}
