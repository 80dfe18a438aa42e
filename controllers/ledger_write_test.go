package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// submitSigned against a real one-node ledger: what it accepts is a
// receipt, what it records as rejected is a *refusal the driver reports,
// and a claimed attempt sent again is the same transaction.
func TestAWriteToTheLedgerIsAReceiptOrATypedRefusal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testcluster.DefaultConfig()
	o.Nodes, o.Dir, o.Network = 1, t.TempDir(), "customs"
	c, err := testcluster.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(0) })
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	n := testNetwork()
	l, err := dialBounded(ctx, &ClientDialer{Resolver: fixedResolver{[]string{"https://" + c.Members[0].APIAddr}}},
		LedgerTarget{Network: n, CAPEM: c.Bundle.CA.CertPEM, AdminKey: c.Admin}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	admin := signer{ledger: l, net: n, key: c.Admin}
	calls := NewMetrics(prometheus.NewRegistry()).LedgerCalls
	k, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	register := ledgerWrite{typ: "agency.register", payload: wire.AgencyRegister{ID: "us-cbp", Name: "CBP", Country: "US", Programs: []string{"USMCA"},
		PublicKeys: []string{publicKeyID(k)}}, what: "register agency/us-cbp", refused: "RegistrationRejected"}

	rc, err := submitSigned(ctx, admin, calls, register)
	if err != nil || rc.Status != chain.Accepted {
		t.Fatalf("setup: the first registration: %v, receipt %+v", err, rc)
	}
	var counted dto.Metric
	if err := calls.WithLabelValues("agency.register", "ok").Write(&counted); err != nil || counted.GetCounter().GetValue() != 1 {
		got := counted.GetCounter().GetValue()
		t.Errorf("counted %v registrations, want 1", got)
	}

	rc, err = submitSigned(ctx, admin, calls, register)
	var refused *refusal
	if !errors.As(err, &refused) {
		t.Fatalf("registering the same agency again: %v, want a refusal", err)
	}
	if rc == nil || rc.Status == chain.Accepted || refused.receipt != rc || refused.reason != "RegistrationRejected" || refused.typ != "agency.register" {
		t.Errorf("refusal %+v with receipt %+v", refused, rc)
	}
	if msg := refused.Error(); !strings.HasPrefix(msg, "the ledger refused to register agency/us-cbp (tx "+rc.TxID+"): ") || len(rc.Reasons) == 0 ||
		!strings.Contains(msg, rc.Reasons[0].Message) {
		t.Errorf("refusal says %q; the ledger's reasons %+v", msg, rc.Reasons)
	}
	v := decide(passOutcome{phase: "register", err: err}, passNotes{}, Intervals{Wait: time.Second, Poll: time.Minute}, 0)
	if v.refusal != refused || v.degraded == nil || v.degraded.reason != "RegistrationRejected" || v.settled || v.retry != nil || v.requeue != time.Minute {
		t.Errorf("a pass that ends on the refusal: %+v", v)
	}

	// A claimed attempt: the same creation time and nonce sign to the same
	// transaction, which the ledger answers with its first receipt.
	nonce, err := tx.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	note := ledgerWrite{typ: "note.put", payload: map[string]string{"key": "k", "value": "v"}, what: "put a note", refused: "NoteRejected",
		attempt: &attempt{created: time.Now(), nonce: nonce}}
	first, err := submitSigned(ctx, admin, calls, note)
	if err != nil {
		t.Fatalf("setup: the note: %v", err)
	}
	again, err := submitSigned(ctx, admin, calls, note)
	if err != nil || again.TxID != first.TxID || again.Height != first.Height {
		t.Errorf("the same attempt sent again: %v, receipt %+v, want the first %+v", err, again, first)
	}

	// An attempt older than the ledger's window that it never recorded.
	note.attempt = &attempt{created: time.Now().Add(-48 * time.Hour), nonce: nonce}
	if _, err := submitSigned(ctx, admin, calls, note); !errors.Is(err, errAttemptExpired) {
		t.Errorf("an attempt from two days ago: %v, want errAttemptExpired", err)
	}
}
