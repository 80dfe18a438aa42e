package trade

import (
	"errors"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// damaged reads as the view does, except one stored record, which reads
// as bytes that do not decode. It stands for a damaged or unreadable
// record: bbolt cannot be made to fail one read on demand here.
type damaged struct {
	*state.View
	bucket, key string
}

func (d damaged) Get(bucket, key string) []byte {
	if bucket == d.bucket && key == d.key {
		return []byte(`{"id":`)
	}
	return d.View.Get(bucket, key)
}

// A record the verdict needs and cannot read is an error (the server
// answers 5xx), never a verdict: a "no" would tell an importer its chain is
// broken when only the node's storage is.
func TestLicenseVerdictOnAnUnreadableRecordIsAnErrorNotANo(t *testing.T) {
	w := newIPWorld(t)
	q := wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", At: ts(w.Now)}
	// The setup holds: with every record readable the answer is yes.
	if got := w.ask(q); got.Answer != wire.AnswerYes {
		t.Fatalf("setup: readable chain answered %s (%+v), want yes", got.Answer, got.Failure)
	}
	for _, tc := range []struct{ name, bucket, key string }{
		{"the importer's license", BucketLicenses, "L1"},
		{"the parent license", BucketLicenses, "L0"},
		{"the licensed right", BucketRights, "TM-ACME"},
	} {
		w.view(func(v *state.View) {
			out, err := VerifyLicense(damaged{View: v, bucket: tc.bucket, key: tc.key}, q)
			if err == nil {
				t.Errorf("%s unreadable: answered %s (%+v), want an error", tc.name, out.Answer, out.Failure)
			}
		})
	}
}

func TestCertificateVerdictOnAnUnreadableRecordIsAnErrorNotAVerdict(t *testing.T) {
	w := newWorld(t)
	w.issue("READ-1")
	q := wire.CertificateQuery{ID: "READ-1"}
	// The setup holds: with every record readable the certificate is valid.
	w.view(func(v *state.View) {
		if vd, err := VerifyCertificate(v, q); err != nil || vd.Verdict != wire.VerdictValid {
			t.Fatalf("setup: readable certificate: %+v %v, want valid", vd, err)
		}
	})
	for _, tc := range []struct{ name, bucket, key string }{
		{"the certificate's version", BucketCertVersions, versionKey("READ-1", 1)},
		{"the certifier's signing key", state.BucketKeys, keyID(w.acme)},
		{"the certifier's enrolment", BucketParticipants, "acme-mx"},
	} {
		w.view(func(v *state.View) {
			vd, err := VerifyCertificate(damaged{View: v, bucket: tc.bucket, key: tc.key}, q)
			if err == nil {
				t.Errorf("%s unreadable: verdict %s (%+v), want an error", tc.name, vd.Verdict, vd.Reasons)
			} else if errors.Is(err, state.ErrNotFound) {
				t.Errorf("%s unreadable: %v; want a read error, not 'not found'", tc.name, err)
			}
		})
	}
}
