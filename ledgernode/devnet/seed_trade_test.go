package devnet

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The trade demo data loads on a real cluster and the tour's questions get
// the answers the banner promises.
func TestTradeDemoDataLoadsAndTheTourAnswersHold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := testcluster.Start(ctx, t, 1)
	s := &Seed{Client: c.Client(), Network: c.Genesis.Network, Admin: c.Admin, KeysDir: t.TempDir(), Out: io.Discard}
	if err := seedTrade(ctx, s); err != nil {
		t.Fatal(err)
	}
	cl := c.Client()
	for id, want := range map[string]string{
		"USMCA-ACME-0001": wire.VerdictValid, "USMCA-ACME-0003": wire.VerdictRevoked, "USMCA-MAPLE-0001": wire.VerdictExpired,
		"NAFTA-MAPLE-0001": wire.VerdictExpired, "CAFTA-CAFE-0001": wire.VerdictValid, "USMCA-ACME-0002": wire.VerdictValid,
	} {
		vd, err := cl.VerifyCertificate(ctx, wire.CertificateQuery{ID: id}, client.ReadOptions{})
		if err != nil || vd.Verdict != want {
			t.Fatalf("%s: %+v %v, want %s", id, vd, err, want)
		}
	}
	if vd, _ := cl.VerifyCertificate(ctx, wire.CertificateQuery{ID: "USMCA-ACME-0002", Version: 1}, client.ReadOptions{}); vd.Verdict != wire.VerdictSuperseded {
		t.Fatalf("amended: %s", vd.Verdict)
	}
	if vd, _ := cl.VerifyCertificate(ctx, wire.CertificateQuery{ID: "NAFTA-MAPLE-0001", At: "2020-03-01T00:00:00Z"}, client.ReadOptions{}); vd.Verdict != wire.VerdictValid {
		t.Fatalf("NAFTA in 2020: %s", vd.Verdict)
	}
	for importer, want := range map[string]string{"participant/bigbox-us": wire.AnswerYes, "participant/dist-us": wire.AnswerNo} {
		vd, err := cl.VerifyLicense(ctx, wire.LicenseQuery{Importer: importer, HSCode: "610910", Right: "TM-ACME", Country: "US"}, client.ReadOptions{})
		if err != nil || vd.Answer != want {
			t.Fatalf("%s: %+v %v", importer, vd, err)
		}
	}
	for id, want := range map[string]string{"ENTRY-0001": wire.VerdictInvalid, "ENTRY-0002": wire.VerdictValid} {
		vd, err := cl.VerifyShipment(ctx, wire.ShipmentQuery{ID: id}, client.ReadOptions{})
		if err != nil || vd.Verdict != want {
			t.Fatalf("%s: %+v %v", id, vd, err)
		}
	}
}
