package node_test

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// metricValue reads one sample from a node's /metrics.
func metricValue(t *testing.T, c *testcluster.Cluster, i int, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Node(i).Handler().ServeHTTP(rec, c.AsAdmin(httptest.NewRequest(http.MethodGet, "/metrics", nil)))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// A follower sends the single submissions it forwards to the leader in
// batches, and each client still gets its own receipt. The follower is a
// non-voter, so that it stays a follower whatever election a loaded
// machine holds meanwhile (a voter that became leader proposed the rest
// itself: "forwarded 292 of 400").
func TestFollowerCoalescesForwardedSubmissions(t *testing.T) {
	c, ctx, k := writerCluster(t, 2*time.Minute)
	l := mustLeader(t, c)
	f, err := c.AddNode("n3")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members[f]
	if err := c.Client(l).Admin(c.Genesis.Network, c.Admin).AddMember(ctx, m.ID, m.RaftAddr, m.APIAddr, false); err != nil {
		t.Fatal(err)
	}
	acked := writeNotes(ctx, t, c, k, 400, 64, []int{f})
	if len(acked) != 400 {
		t.Fatalf("acked %d of 400", len(acked))
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	batches := metricValue(t, c, f, "ledger_forward_batch_transactions_count")
	forwarded := metricValue(t, c, f, "ledger_forward_batch_transactions_sum")
	t.Logf("follower forwarded %v submissions in %v requests", forwarded, batches)
	if forwarded < 400 {
		t.Fatalf("follower forwarded %v submissions, want all 400", forwarded)
	}
	if batches >= forwarded {
		t.Fatalf("%v requests for %v forwarded submissions: nothing was coalesced", batches, forwarded)
	}
}

// A forwarded submission that the leader refuses gets the leader's answer,
// status and code, as if it had been sent to the leader.
func TestForwardedRefusalCarriesTheLeadersAnswer(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	l := mustLeader(t, c)
	stranger, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var answers []*client.Error
	for _, i := range []int{(l + 1) % 3, l} {
		st, err := c.Sign(stranger, "note.put", notePayload("k", i))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Client(i).Submit(ctx, st, client.SubmitOptions{})
		var ce *client.Error
		if !errors.As(err, &ce) {
			t.Fatalf("node %d: %v, want a refusal", i, err)
		}
		answers = append(answers, ce)
	}
	if answers[0].Status != answers[1].Status || answers[0].Code != answers[1].Code || answers[0].Code != wire.CodeUnknownKey {
		t.Fatalf("through a follower: %d %s; at the leader: %d %s; want both %s",
			answers[0].Status, answers[0].Code, answers[1].Status, answers[1].Code, wire.CodeUnknownKey)
	}
}
