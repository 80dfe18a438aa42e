package node_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Many goroutines share one submission stream to a follower and one to the
// leader; each gets its own transaction's receipt, every acknowledged
// transaction is on every node, and a retried envelope gets the original.
func TestStreamedSubmissionsEachGetTheirOwnReceipt(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, 2*time.Minute)
	k, err := c.Enrol(ctx, "participant/streamer")
	if err != nil {
		t.Fatal(err)
	}
	l := mustLeader(t, c)
	streams := []*client.Stream{c.Client((l + 1) % 3).OpenStream(0), c.Client(l).OpenStream(0)}
	const n = 300
	sts := make([]*tx.Signed, n)
	for i := range sts {
		if sts[i], err = c.Sign(k, "note.put", notePayload(fmt.Sprintf("s%d", i%7), i)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range sts {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := streams[i%2].Submit(ctx, sts[i])
			switch {
			case err != nil:
				errs <- fmt.Errorf("tx %d: %w", i, err)
			case resp.TxID != sts[i].IDHex() || resp.Receipt.TxID != sts[i].IDHex():
				errs <- fmt.Errorf("tx %d got the answer of %s", i, resp.TxID)
			case resp.Receipt.Status != chain.Accepted:
				errs <- fmt.Errorf("tx %d rejected: %+v", i, resp.Receipt.Reasons)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	again, err := streams[0].Submit(ctx, sts[5])
	if err != nil || !again.Existing || again.Receipt.TxID != sts[5].IDHex() {
		t.Fatalf("resubmitted envelope: %+v, %v; want the original receipt marked existing", again, err)
	}
	for _, s := range streams {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range c.Members {
		if _, err := c.Client(i).Tx(ctx, sts[n-1].IDHex(), false, client.ReadOptions{MinHeight: again.Receipt.Height}); err != nil {
			t.Fatalf("node %d lacks an acknowledged transaction: %v", i, err)
		}
	}
}

// A bad line in a stream is answered on its own line with the error POST
// /v1/tx would give, and the lines around it are still served.
func TestStreamAnswersABadEnvelopeAndGoesOn(t *testing.T) {
	c := newCluster(t, 1)
	ctx := ctxT(t, time.Minute)
	k, err := c.Enrol(ctx, "participant/streamer")
	if err != nil {
		t.Fatal(err)
	}
	good1, _ := c.Sign(k, "note.put", notePayload("a", 1))
	good2, _ := c.Sign(k, "note.put", notePayload("b", 2))
	stranger, _ := tx.GenerateKey()
	unknown, _ := c.Sign(stranger, "note.put", notePayload("c", 3))
	var body bytes.Buffer
	// The unknown signer comes last: it ends the stream
	// (TestStreamStopsReadingAtAnUnknownSigner).
	for _, line := range [][]byte{good1.Canonical, []byte(`{"v":1,"network":`), nil, good2.Canonical, unknown.Canonical} {
		body.Write(line)
		body.WriteByte('\n')
	}
	rec := httptest.NewRecorder()
	c.Node(0).Handler().ServeHTTP(rec, c.AsAdmin(httptest.NewRequestWithContext(ctx, http.MethodPost, wire.PathTxStream, &body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	got := map[int]wire.StreamResult{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		var r wire.StreamResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("answer line %q: %v", sc.Text(), err)
		}
		got[r.I] = r
	}
	if len(got) != 4 {
		t.Fatalf("%d answers for 4 envelopes (the blank line is not one): %+v", len(got), got)
	}
	for i, want := range map[int]string{0: good1.IDHex(), 2: good2.IDHex()} {
		if r := got[i]; r.Receipt == nil || r.Receipt.TxID != want || r.Receipt.Status != chain.Accepted {
			t.Errorf("line %d: %+v, want the accepted receipt of %s", i, r, want)
		}
	}
	if r := got[1]; r.Error == nil || r.Status != http.StatusBadRequest || r.Error.Field != "envelope" {
		t.Errorf("malformed line: %+v, want 400 naming the envelope", r)
	}
	if r := got[3]; r.Error == nil || r.Status != http.StatusUnauthorized && r.Status != http.StatusForbidden || r.Error.Code != "unknown_key" {
		t.Errorf("unknown signer: %+v, want 401/403 unknown_key", r)
	}
}

// A stream whose node has gone fails the next submission at once (a broken
// stream, or no node to open a new one with) instead of leaving it waiting.
func TestStreamToAStoppedNodeFailsInsteadOfWaiting(t *testing.T) {
	c := newCluster(t, 1)
	ctx := ctxT(t, time.Minute)
	k, err := c.Enrol(ctx, "participant/streamer")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Client(0).OpenStream(0)
	st, _ := c.Sign(k, "note.put", notePayload("a", 1))
	if _, err := s.Submit(ctx, st); err != nil {
		t.Fatalf("stream works before the stop: %v", err)
	}
	if err := c.Stop(0); err != nil {
		t.Fatal(err)
	}
	st2, _ := c.Sign(k, "note.put", notePayload("a", 2))
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = s.Submit(sctx, st2)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("submission after the node stopped: %v, want a failure before the deadline", err)
	}
	t.Logf("failed with: %v", err)
}

// A stream stops reading at the first envelope whose signer is unknown, as
// POST /v1/txs refuses the batch there without reading the rest: that
// envelope is answered with its refusal, the stream ends, and a line sent
// after the refusal is neither read nor written to the ledger. (A client
// with no registered key cannot keep a node reading and buffering.)
func TestStreamStopsReadingAtAnUnknownSigner(t *testing.T) {
	c := newCluster(t, 1)
	ctx := ctxT(t, time.Minute)
	k, err := c.Enrol(ctx, "participant/streamer")
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := tx.GenerateKey()
	unknown, _ := c.Sign(stranger, "note.put", notePayload("u", 1))
	after, _ := c.Sign(k, "note.put", notePayload("after", 2))

	cert, err := tls.LoadX509KeyPair(c.Layout.ClientCert, c.Layout.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(c.Layout.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("setup: no CA certificate in " + c.Layout.CACert)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	pr, pw := io.Pipe()
	defer pw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+c.Members[0].APIAddr+wire.PathTxStream, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	go func() { _, _ = pw.Write(append(bytes.Clone(unknown.Canonical), '\n')) }()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	dec := json.NewDecoder(resp.Body)
	var first wire.StreamResult
	if err := dec.Decode(&first); err != nil {
		t.Fatalf("no answer for the unknown signer's line: %v", err)
	}
	if first.I != 0 || first.Error == nil || first.Status != http.StatusUnauthorized && first.Status != http.StatusForbidden || first.Error.Code != "unknown_key" {
		t.Fatalf("unknown signer: %+v, want line 0 refused 401/403 unknown_key", first)
	}
	// The refusal is known; a line sent now must not be read.
	go func() { _, _ = pw.Write(append(bytes.Clone(after.Canonical), '\n')) }()
	var next wire.StreamResult
	if err := dec.Decode(&next); err == nil {
		t.Fatalf("the stream read on after an unknown signer: line %d answered %+v", next.I, next)
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("the stream ended with: %v", err)
	}
	if _, err := c.Client(0).Tx(ctx, after.IDHex(), false, client.ReadOptions{}); !client.IsNotFound(err) {
		t.Fatalf("the line sent after the refusal: %v, want not found (it was read and submitted)", err)
	}
}
