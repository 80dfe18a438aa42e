package client_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
)

// A submission whose first attempt's outcome is unknown (the node said
// 503 outcome_unknown: it may commit) and whose retry is refused (here 429)
// is reported as outcome unknown, never as refused: the caller must not
// conclude it did not happen. The server is scripted (httptest) because no
// real node can be made to answer this sequence on demand.
func TestARefusalAfterAnUnknownOutcomeIsReportedAsUnknown(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"code":"outcome_unknown","message":"leadership lost before commit"}}`))
			return
		}
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":"busy","message":"too many submission bytes in flight"}}`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(client.Config{Endpoints: []string{srv.URL}, CAFile: ca, Timeout: 5 * time.Second, Retry: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.SubmitRaw(context.Background(), []byte(`{}`))
	var ce *client.Error
	if calls.Load() < 2 {
		t.Fatalf("setup: the client made %d attempts, want a retry", calls.Load())
	}
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || ce.Code != "outcome_unknown" {
		t.Fatalf("after an unknown outcome then a refusal: %v, want 503 outcome_unknown", err)
	}
	// A refusal with nothing unknown before it stays a refusal.
	calls.Store(1)
	_, err = cl.SubmitRaw(context.Background(), []byte(`{}`))
	if !errors.As(err, &ce) || ce.Status != http.StatusTooManyRequests {
		t.Fatalf("a refusal alone: %v, want 429", err)
	}
}
