package client_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func cluster(t *testing.T) (*testcluster.Cluster, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c := testcluster.Start(ctx, t, 3)
	return c, ctx
}

// A client given a dead endpoint first goes on to the next one; a
// transaction submitted twice is answered with its original receipt; a
// refusal comes back as an *Error with status, code and field.
func TestClientFailsOverSubmitsOnceAndDecodesRefusals(t *testing.T) {
	c, ctx := cluster(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	cl, err := client.New(client.Config{Endpoints: []string{"https://" + deadAddr, "https://" + c.Members[1].APIAddr},
		CAFile: c.Layout.CACert, CertFile: c.Layout.ClientCert, CertKeyFile: c.Layout.ClientKey, Timeout: 10 * time.Second, Retry: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.Enrol(ctx, "participant/writer")
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Sign(k, "note.put", wire.NotePut{Key: "k", Value: []byte(`1`)})
	if err != nil {
		t.Fatal(err)
	}
	first, err := cl.Submit(ctx, st, client.SubmitOptions{})
	if err != nil || first.Receipt.Status != chain.Accepted {
		t.Fatalf("submit through a dead endpoint first: %+v %v", first, err)
	}
	again, err := cl.Submit(ctx, st, client.SubmitOptions{})
	if err != nil || !again.Existing || again.Receipt.LeafIndex != first.Receipt.LeafIndex {
		t.Fatalf("the same envelope again: %+v %v, want the original receipt", again, err)
	}
	stranger, _ := tx.GenerateKey()
	bad, _ := c.Sign(stranger, "note.put", wire.NotePut{Key: "k", Value: []byte(`2`)})
	_, err = cl.Submit(ctx, bad, client.SubmitOptions{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusForbidden || ce.Code != wire.CodeUnknownKey || ce.Field != "signer" {
		t.Fatalf("unknown signer: %v, want 403 unknown_key on signer", err)
	}
	if _, err := cl.Note(ctx, "nothing-here", client.ReadOptions{}); !client.IsNotFound(err) {
		t.Fatalf("a missing note: %v, want not found", err)
	}
}

// A client without a certificate signs its reads with SignKey: the node
// accepts the signature of a registered key and refuses an unregistered
// one; without either the read is unauthenticated.
func TestClientSignsReadsWithItsKey(t *testing.T) {
	c, ctx := cluster(t)
	k, err := c.Enrol(ctx, "participant/reader")
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := tx.GenerateKey()
	for _, tc := range []struct {
		name   string
		key    ed25519.PrivateKey
		status int
	}{{"registered key", k, 0}, {"unregistered key", stranger, 401}, {"no credential", nil, 401}} {
		cl := c.ClientWith(client.Config{SignKey: tc.key, Retry: time.Second})
		_, err := cl.Head(ctx, client.ReadOptions{})
		var ce *client.Error
		switch {
		case tc.status == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.status != 0 && (!errors.As(err, &ce) || ce.Status != tc.status):
			t.Errorf("%s: %v, want %d", tc.name, err, tc.status)
		}
	}
}

// SignRequest signs exactly what wire.RequestSigningBytes says, with the
// key named in the headers.
func TestSignRequestCoversMethodURITimeAndBody(t *testing.T) {
	k, _ := tx.GenerateKey()
	body := []byte(`{"id":"X"}`)
	req, _ := http.NewRequest(http.MethodPost, "https://node:8443/v1/verify/certificate?consistency=strong", nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	client.SignRequest(req, k, body, at)
	if req.Header.Get(wire.HeaderAuthKey) != tx.KeyID(k.Public().(ed25519.PublicKey)) || req.Header.Get(wire.HeaderAuthSignedAt) != tx.FormatTime(at) {
		t.Fatalf("headers %v", req.Header)
	}
	sig, err := base64.RawURLEncoding.DecodeString(req.Header.Get(wire.HeaderAuthSignature))
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public().(ed25519.PublicKey)
	msg := wire.RequestSigningBytes(http.MethodPost, "/v1/verify/certificate?consistency=strong", tx.FormatTime(at), body)
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatal("the signature does not cover method, URI, time and body")
	}
	if ed25519.Verify(pub, wire.RequestSigningBytes(http.MethodPost, "/v1/verify/certificate", tx.FormatTime(at), body), sig) {
		t.Fatal("the signature does not depend on the query")
	}
}
