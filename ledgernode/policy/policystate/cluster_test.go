package policystate_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
)

// TestSameBlocksGiveIdenticalOutcomesOnThreeNodes runs real nodes over TLS:
// policies of two agencies in all three enforcement modes, documents sent
// concurrently through every node (so blocks carry several of them), then
// every node must hold the same state and give byte-identical receipts,
// findings included, and the same evaluation histories.
func TestSameBlocksGiveIdenticalOutcomesOnThreeNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := testcluster.Start(ctx, t, 3, func(o *testcluster.Config) {
		o.Registry = func() *state.Registry {
			r := node.DefaultRegistry()
			r.MustRegister(testDocumentHandler())
			return r
		}
	})
	fda, err := c.EnrolIn(ctx, "agency/us-fda", "US")
	if err != nil {
		t.Fatal(err)
	}
	cbp, err := c.EnrolIn(ctx, "agency/us-cbp", "US")
	if err != nil {
		t.Fatal(err)
	}
	shipper, err := c.Enrol(ctx, "participant/acme")
	if err != nil {
		t.Fatal(err)
	}
	submit := func(cl *client.Client, key ed25519.PrivateKey, typ string, payload any) *chain.Receipt {
		t.Helper()
		st, err := c.Sign(key, typ, payload)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return resp.Receipt
	}
	origin := policy.Policy{ID: "cbp-origin-c", Agency: "us-cbp", Enforcement: policy.Enforce,
		Scope: policy.Scope{Programs: []string{"USMCA"}},
		Rules: []policy.Rule{{Name: "criterion-c-producer", Expression: `doc.originCriterion != 'C' || doc.producer.name != 'Various'`,
			Message: "origin criterion C needs a named producer, not {{doc.producer.name}}"}}}
	keys := fishPolicy("fda-keys", policy.Audit)
	keys.Rules = []policy.Rule{{Name: "first-key", Expression: `doc.producer.map(k, k)[0] == 'alpha'`, Message: "keys of {{doc.producer}}"}}
	for _, p := range []struct {
		key ed25519.PrivateKey
		p   policy.Policy
	}{{fda, fishPolicy("fda-fish", policy.Enforce)}, {fda, fishPolicy("fda-fish-dry", policy.DryRun)}, {fda, keys}, {cbp, origin}} {
		if rc := submit(c.Client(0), p.key, policystate.TypePublish, p.p); rc.Status != chain.Accepted {
			t.Fatalf("publish %s: %+v", p.p.ID, rc.Reasons)
		}
	}
	// A policy that cannot compile is refused before consensus, with the
	// rule and position.
	bad := fishPolicy("fda-bad", policy.Enforce)
	bad.Rules[0].Expression = "doc.producer.name =="
	st, _ := c.Sign(fda, policystate.TypePublish, bad)
	_, err = c.Client(1).Submit(ctx, st, client.SubmitOptions{})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(err.Error(), "registered-facility") {
		t.Fatalf("publish of a broken policy: %v", err)
	}

	const docs = 24
	ids := make([]string, docs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < docs; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := fishDoc(fmt.Sprintf("cert-%02d", i), i%3 != 0)
			producer := d.Doc["producer"].(map[string]any)
			for _, k := range []string{"zeta", "alpha", "mid", "beta"}[:1+i%4] {
				producer[k] = i
			}
			if i%4 == 0 {
				d.Doc["originCriterion"] = "C"
				producer["name"] = "Various"
			}
			st, err := c.Sign(shipper, "test.document", d)
			if err != nil {
				t.Error(err)
				return
			}
			resp, err := c.Client(i%3).Submit(ctx, st, client.SubmitOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[i] = resp.TxID
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	states, err := c.WaitConverged(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converged at height %d, digest %s", states[0].Height, states[0].Digest[:16])

	var accepted, rejected, multi int
	heights := map[uint64]int{}
	for i, id := range ids {
		var first []byte
		for n := 0; n < 3; n++ {
			ev, err := c.Client(n).Tx(ctx, id, false, client.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(ev.Receipt)
			if n == 0 {
				first = raw
				if ev.Receipt.Status == chain.Accepted {
					accepted++
				} else {
					rejected++
				}
				heights[ev.Receipt.Height]++
				if len(ev.Receipt.Findings) == 0 {
					t.Fatalf("doc %d: no findings", i)
				}
				continue
			}
			if string(raw) != string(first) {
				t.Fatalf("doc %d: node %d receipt differs:\n%s\n%s", i, n, raw, first)
			}
		}
	}
	for _, n := range heights {
		if n > 1 {
			multi++
		}
	}
	if accepted == 0 || rejected == 0 {
		t.Fatalf("accepted %d, rejected %d: the run should have both", accepted, rejected)
	}
	t.Logf("%d accepted, %d rejected, %d blocks with several documents", accepted, rejected, multi)

	// Evaluation histories and queries agree on every node.
	for _, doc := range []string{"cert-00", "cert-05"} {
		var first []byte
		for n := 0; n < 3; n++ {
			h, err := c.Client(n).Evaluations(ctx, doc, client.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(h)
			if n == 0 {
				first = raw
				if len(h.Evaluations) != 1 || h.Evaluations[0].TxID != ids[map[string]int{"cert-00": 0, "cert-05": 5}[doc]] {
					t.Fatalf("history of %s = %s", doc, raw)
				}
				continue
			}
			if string(raw) != string(first) {
				t.Fatalf("node %d history of %s differs", n, doc)
			}
		}
	}
	h, err := c.Client(2).Evaluations(ctx, "cert-00", client.ReadOptions{})
	if err != nil || h.Evaluations[0].Status != chain.Rejected || !h.Evaluations[0].Rejected || len(h.Evaluations[0].Reasons) == 0 {
		t.Fatalf("cert-00 (unregistered, criterion C, Various) should show its rejection: %+v %v", h, err)
	}

	cl := c.Client(1)
	pr, err := cl.Policy(ctx, "fda-fish", client.ReadOptions{Strong: true})
	if err != nil || pr.Head.Version != 1 || len(pr.Versions) != 1 || pr.Versions[0].Policy.Rules[0].Name != "registered-facility" {
		t.Fatalf("policy: %+v %v", pr, err)
	}
	list, err := cl.Policies(ctx, "us-fda", client.ReadOptions{})
	if err != nil || len(list) != 3 {
		t.Fatalf("us-fda policies: %+v %v", list, err)
	}
	scope, err := cl.PoliciesInScope(ctx, policy.Subject{Type: "certificate", Program: "USMCA", HSCodes: []string{"847130"}, OriginCountries: []string{"MX"}, DestinationCountries: []string{"US"}}, "", client.ReadOptions{})
	if err != nil || len(scope.Policies) != 1 || scope.Policies[0].Policy.ID != "cbp-origin-c" {
		t.Fatalf("in scope for a computer: %+v %v", scope, err)
	}
	if _, err := cl.Policy(ctx, "no-such-policy", client.ReadOptions{}); !client.IsNotFound(err) {
		t.Fatalf("unknown policy: %v", err)
	}
}
