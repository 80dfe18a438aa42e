package trade

import (
	"errors"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// A certificate signed in the year 3000 can never be recorded: it is
// refused before consensus (400 naming payload.signedAt) as one signed in
// 1900 is, instead of being recorded as rejected (issue 12 §4).
func TestCertificateSignedFarInTheFutureIsRefusedBeforeConsensus(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct{ name, signedAt, field string }{
		{"year 3000", "3000-01-01T00:00:00Z", "payload.signedAt"},
		{"year 1900", "1900-01-01T00:00:00Z", "payload.signedAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := w.usmca("FAR-1")
			ct.SignedAt = tc.signedAt
			_, err := w.Store.Precheck(w.Sign(w.acme, "certificate.issue", ct), w.Now)
			var rej *wire.Rejection
			if !errors.As(err, &rej) || rej.Reasons[0].Field != tc.field || rej.Reasons[0].Code != wire.CodeInvalid {
				t.Fatalf("precheck: %v, want invalid on %s", err, tc.field)
			}
			amend := wire.CertificateAmend{ID: "FAR-1", Reason: "r", Certificate: ct}
			_, err = w.Store.Precheck(w.Sign(w.acme, "certificate.amend", amend), w.Now)
			if !errors.As(err, &rej) || rej.Reasons[0].Field != "payload.certificate.signedAt" {
				t.Fatalf("amend precheck: %v, want payload.certificate.signedAt", err)
			}
		})
	}
}
