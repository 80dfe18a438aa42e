package node_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
)

// A leader told to stop (SIGTERM: a rolling upgrade) hands leadership over
// before it goes, says "stopping" on /readyz so load balancers drop it,
// and goes on answering while it drains: a write sent to it then is
// forwarded to the new leader and accepted.
func TestADrainingLeaderHandsOverLeadershipAndStillServesWrites(t *testing.T) {
	c, ctx, k := writerCluster(t, 2*time.Minute)
	l := mustLeader(t, c)
	ready := func() (int, string) {
		rec := httptest.NewRecorder()
		c.Node(l).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := ready(); code != http.StatusOK {
		t.Fatalf("setup: leader not ready before the drain: %d %s", code, body)
	}

	drained := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(drained)
		c.Node(l).Drain(ctx, 3*time.Second)
	}()
	// Leadership moves to another node while the drained one still runs.
	var now string
	for deadline := time.Now().Add(20 * time.Second); ; {
		id, _ := c.Node(l).Consensus().Leader()
		if id != "" && id != c.Members[l].ID {
			now = id
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leadership still with %s (or unknown: %q) while it drains", c.Members[l].ID, id)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := ready(); code != http.StatusServiceUnavailable || !strings.Contains(body, "stopping") {
		t.Fatalf("/readyz of a draining node: %d %s, want 503 naming stopping", code, body)
	}
	st, err := c.Sign(k, "note.put", notePayload("drain", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.ClientWith(client.Config{SignKey: k, Timeout: 10 * time.Second, Retry: time.Nanosecond}, l).Submit(ctx, st, client.SubmitOptions{})
	if err != nil || resp.Receipt.Status != chain.Accepted {
		t.Fatalf("write to the draining node (leader now %s): %+v %v", now, resp, err)
	}
	<-drained
	if took := time.Since(start); took < 3*time.Second {
		t.Fatalf("Drain returned after %s, before its 3s drain period", took)
	}
	if err := c.Stop(l); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
}
