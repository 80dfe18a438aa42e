package trade_test

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Read your writes and verdicts at a past height, on a real cluster.

func TestAFollowerThatHasNotAppliedAReceiptWaitsForItsHeight(t *testing.T) {
	f := newCluster(t, 3)
	keys := f.cast()
	leader, err := f.c.WaitLeader(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	behind := (leader + 1) % 3
	other := (leader + 2) % 3
	// The follower is stopped while the certificate is issued, and asked
	// right after it starts again: it has not applied the block yet.
	if err := f.c.Stop(behind); err != nil {
		t.Fatal(err)
	}
	st, err := f.c.Sign(keys["acme-mx"], "certificate.issue", certificate("RYW-1", time.Now().UTC()))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.c.Client(leader, other).Submit(f.ctx, st, client.SubmitOptions{})
	if err != nil || resp.Receipt == nil || resp.Receipt.Status != "accepted" {
		t.Fatalf("issue: %+v %v", resp, err)
	}
	if err := f.c.Restart(behind); err != nil {
		t.Fatal(err)
	}
	vd, err := f.c.Client(behind).VerifyCertificate(f.ctx, wire.CertificateQuery{ID: "RYW-1"}, client.ReadOptions{MinHeight: resp.Receipt.Height})
	if err != nil {
		t.Fatal(err)
	}
	if vd.Verdict != wire.VerdictValid || vd.Height < resp.Receipt.Height {
		t.Fatalf("the restarted follower answered %s at height %d; the receipt is at height %d: %+v", vd.Verdict, vd.Height, resp.Receipt.Height, vd.Reasons)
	}

	// A client with ReadYourWrites passes the height of the receipts it got.
	cl := f.c.Client(leader)
	rc, err := cl.Submit(f.ctx, mustSign(t, f, keys["acme-mx"], "certificate.issue", certificate("RYW-2", time.Now().UTC())), client.SubmitOptions{})
	if err != nil || rc.Receipt.Status != "accepted" {
		t.Fatalf("issue RYW-2: %+v %v", rc, err)
	}
	if cl.WrittenHeight() != rc.Receipt.Height {
		t.Fatalf("client noted height %d, the receipt is at %d", cl.WrittenHeight(), rc.Receipt.Height)
	}
}

func mustSign(t *testing.T, f *clusterFx, key ed25519.PrivateKey, typ string, payload any) *tx.Signed {
	t.Helper()
	st, err := f.c.Sign(key, typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestAReadForAHeightNoNodeHasReachedIsRefusedWith503(t *testing.T) {
	f := newCluster(t, 1)
	head := f.c.Node(0).Store().Meta().Height
	cl := f.c.ClientWith(client.Config{CertFile: f.c.Layout.ClientCert, CertKeyFile: f.c.Layout.ClientKey, Timeout: 30 * time.Second, Retry: time.Millisecond}, 0)
	_, err := cl.VerifyCertificate(f.ctx, wire.CertificateQuery{ID: "ANY"}, client.ReadOptions{MinHeight: head + 1000})
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || ce.Code != "height_not_reached" ||
		!strings.Contains(ce.Message, "asks for height") {
		t.Fatalf("a read beyond the head: %v", err)
	}
	_, err = cl.Head(f.ctx, client.ReadOptions{KnownAt: "not a time"})
	if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || ce.Field != "knownAt" {
		t.Fatalf("a bad knownAt: %v", err)
	}
}

func TestAVerdictAsOfAPastHeightComesWithThatHeightsSignedHead(t *testing.T) {
	f := newCluster(t, 3)
	keys := f.cast()
	f.must(keys["acme-mx"], "certificate.issue", certificate("PAST-1", time.Now().UTC()))
	cl := f.c.Client(0)
	issued, err := cl.Head(f.ctx, client.ReadOptions{Strong: true})
	if err != nil {
		t.Fatal(err)
	}
	f.must(keys["us-cbp"], "certificate.revoke", wire.CertificateRevoke{ID: "PAST-1", Reason: "origin verification failed"})
	trust := verify.TrustFromGenesis(f.c.Genesis)

	for i := range f.c.Members {
		h := issued.Height
		vd, err := f.c.Client(i).VerifyCertificate(f.ctx, wire.CertificateQuery{ID: "PAST-1"}, client.ReadOptions{AsOfHeight: &h})
		if err != nil {
			t.Fatal(err)
		}
		if vd.Verdict != wire.VerdictValid || vd.Height != issued.Height || vd.LedgerTime != issued.Time {
			t.Fatalf("node %d as of %d: %s at height %d (%s)", i, h, vd.Verdict, vd.Height, vd.LedgerTime)
		}
		for _, e := range vd.Evidence {
			if e.Evidence.Head.Height != issued.Height || e.Evidence.Head.Root != issued.Root {
				t.Fatalf("node %d: evidence head %d %s, want the head of height %d", i, e.Evidence.Head.Height, e.Evidence.Head.Root, issued.Height)
			}
			if _, err := verify.Receipt(e.Evidence, trust); err != nil {
				t.Fatalf("node %d %s: %v", i, e.Role, err)
			}
		}
		// What the ledger knew at the time of that head is the same.
		known, err := f.c.Client(i).VerifyCertificate(f.ctx, wire.CertificateQuery{ID: "PAST-1"}, client.ReadOptions{KnownAt: issued.Time})
		if err != nil || known.Verdict != wire.VerdictValid || known.Height != issued.Height {
			t.Fatalf("node %d known at %s: %+v %v", i, issued.Time, known, err)
		}
		now, err := f.c.Client(i).VerifyCertificate(f.ctx, wire.CertificateQuery{ID: "PAST-1"}, client.ReadOptions{Strong: true})
		if err != nil || now.Verdict != wire.VerdictRevoked {
			t.Fatalf("node %d now: %+v %v", i, now, err)
		}
		past, err := f.c.Client(i).Head(f.ctx, client.ReadOptions{AsOfHeight: &h})
		if err != nil || past.Root != issued.Root || past.TreeSize != issued.TreeSize || verify.Head(past, trust) != nil {
			t.Fatalf("node %d: head as of %d: %+v %v", i, h, past, err)
		}
	}
}
