package security

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// hostile is one entry of the catalogue: a request body and what the ledger
// must answer. status 200 means "recorded as rejected" (an authorisation
// decision the ledger makes at block time); code is the reason's code.
type hostile struct {
	name   string
	body   []byte
	status int
	code   string
}

// Catalogue returns the core entries; domain packages add theirs.
func coreCatalogue(t *testing.T, c *testcluster.Cluster, writer ed25519.PrivateKey) []hostile {
	sign := func(k ed25519.PrivateKey, typ string, p any) []byte {
		st, err := c.Sign(k, typ, p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Canonical
	}
	ok, _ := c.Sign(writer, "note.put", wire.NotePut{Key: "cat", Value: []byte(`1`)})
	stranger, _ := tx.GenerateKey()
	revokedKey, _ := tx.GenerateKey()
	if _, err := submit(c, sign(c.Admin, "key.register", wire.KeyRegister{Owner: "participant/revoked", PublicKey: tx.KeyID(revokedKey.Public().(ed25519.PublicKey))})); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(c, sign(c.Admin, "key.revoke", wire.KeyRevoke{KeyID: tx.KeyID(revokedKey.Public().(ed25519.PublicKey)),
		Effective: tx.FormatTime(time.Now().Add(-time.Minute)), Reason: "catalogue"})); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(c, ok.Canonical); err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	// A signature over a non-canonical rendering of the body (whitespace,
	// member order as the client pleased): the ledger verifies the RFC 8785
	// bytes, so the signature does not verify.
	env, _ := tx.Build(c.Genesis.Network, "note.put", wire.NotePut{Key: "cat", Value: []byte(`4`)}, time.Now())
	env.Signer = tx.KeyID(writer.Public().(ed25519.PublicKey))
	loose, _ := json.MarshalIndent(env, "", "  ")
	env.Sig = base64.RawURLEncoding.EncodeToString(ed25519.Sign(writer, loose))
	nonCanonicalSigned, _ := json.Marshal(env)
	return []hostile{
		{"signature over non-canonical bytes", nonCanonicalSigned, 401, "bad_signature"},
		{"malformed JSON", []byte(`{"v":1,"type":"note.put",`), 400, "invalid"},
		{"not JSON at all", []byte("\x00\x01garbage"), 400, "invalid"},
		{"wrong types", bytes.Replace(ok.Canonical, []byte(`"v":1`), []byte(`"v":true`), 1), 400, "invalid"},
		{"invalid UTF-8", bytes.Replace(ok.Canonical, []byte(`"note.put"`), []byte("\"note.\xff\xfe\""), 1), 400, "invalid"},
		{"deep nesting", []byte(`{"v":1,"payload":` + deep + `}`), 400, "invalid"},
		{"huge field", sign(writer, "note.put", wire.NotePut{Key: "cat", Value: mustJSON(strings.Repeat("x", 300<<10))}), 413, "too_large"},
		{"request over the limit", bytes.Repeat([]byte(" "), 2<<20), 413, "too_large"},
		{"duplicate keys", bytes.Replace(ok.Canonical, []byte(`{"created"`), []byte(`{"type":"key.register","created"`), 1), 400, "invalid"},
		{"non-canonical signature encoding", bytes.Replace(ok.Canonical, []byte(`"sig":"`), []byte(`"sig":"+`), 1), 400, "invalid"},
		{"bad signature", bytes.Replace(ok.Canonical, []byte(`"key":"cat"`), []byte(`"key":"dog"`), 1), 401, "bad_signature"},
		{"unknown key", sign(stranger, "note.put", wire.NotePut{Key: "cat", Value: []byte(`2`)}), 403, "unknown_key"},
		{"revoked key", sign(revokedKey, "note.put", wire.NotePut{Key: "cat", Value: []byte(`3`)}), 403, "key_not_valid"},
		{"unknown transaction type", sign(writer, "no.such", map[string]int{"a": 1}), 400, "unknown_type"},
		{"payload with unknown field", sign(writer, "note.put", map[string]any{"key": "cat", "value": 1, "admin": true}), 400, "invalid"},
		{"admin operation by a non-admin", sign(writer, "key.register", wire.KeyRegister{Owner: "participant/mine", PublicKey: tx.KeyID(stranger.Public().(ed25519.PublicKey))}), 403, wire.CodeUnauthorized},
		{"revoking someone else's key", sign(writer, "key.revoke", wire.KeyRevoke{KeyID: tx.KeyID(c.Admin.Public().(ed25519.PublicKey)), Effective: tx.FormatTime(time.Now()), Reason: "takeover"}), 200, wire.CodeUnauthorized},
	}
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func submit(c *testcluster.Cluster, body []byte) (*client.Error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := c.Client(1).SubmitRaw(ctx, body)
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae, nil
	}
	if err != nil {
		return nil, err
	}
	if resp.Receipt != nil && resp.Receipt.Status == "rejected" {
		return &client.Error{Status: 200, ErrorDetail: apiDetail(resp.Receipt.Reasons[0].Code, resp.Receipt.Reasons[0].Message)}, nil
	}
	return nil, nil
}

// TestHostileInputCatalogue sends every entry to a follower (which checks
// before forwarding) and checks the answer, and that the state hash did not
// move.
func TestHostileInputCatalogue(t *testing.T) {
	c := cluster(t)
	ctx := ctxT(t, 2*time.Minute)
	writer, err := c.Enrol(ctx, "participant/writer")
	if err != nil {
		t.Fatal(err)
	}
	cat := coreCatalogue(t, c, writer)
	cat = append(cat, extraCatalogue(t, c)...)
	states, err := c.WaitConverged(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := states[0].StateHash
	for _, h := range cat {
		t.Run(h.name, func(t *testing.T) {
			got, err := submit(c, h.body)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatalf("accepted; want %d %s", h.status, h.code)
			}
			if got.Status != h.status || got.Code != h.code {
				t.Fatalf("got %d %s (%s); want %d %s", got.Status, got.Code, got.Message, h.status, h.code)
			}
			if len(got.Message) < 10 {
				t.Fatalf("reason %q does not explain", got.Message)
			}
		})
	}
	after, err := c.WaitConverged(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after[0].StateHash != before {
		t.Fatalf("state hash moved from %s to %s: a hostile request changed state", before, after[0].StateHash)
	}
}

// TestSlowClientsCannotHoldTheAPI opens connections that never finish their
// request headers: the node closes them, and serves others meanwhile.
func TestSlowClientsCannotHoldTheAPI(t *testing.T) {
	c := cluster(t)
	ctx := ctxT(t, time.Minute)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.Bundle.CA.CertPEM)
	var conns []net.Conn
	for i := 0; i < 64; i++ {
		conn, err := tls.Dial("tcp", c.Members[0].APIAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/tx HTTP/1.1\r\nHost: x\r\n") // never finished
		conns = append(conns, conn)
	}
	if _, err := c.Client(0).Status(ctx, true); err != nil {
		t.Fatalf("node unusable while slow clients hold connections: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, conn := range conns {
		_ = conn.SetReadDeadline(deadline)
		var b [256]byte
		for {
			_, err := conn.Read(b[:])
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("a slow client's connection was still open after 20s")
				}
				break // closed by the server
			}
		}
		conn.Close()
	}
}
