package trade

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Verdicts have two time axes: the date the question is about (At) and
// what the ledger knew (the view's height: the head, or a past height).

// verdictAsOf asks for a verdict on the ledger as it stood at height.
func (w *world) verdictAsOf(height uint64, q wire.CertificateQuery) *wire.CertificateVerdict {
	w.T.Helper()
	var out *wire.CertificateVerdict
	w.view(func(v *state.View) {
		past, err := v.AsOf(height)
		if err != nil {
			w.T.Fatalf("as of %d: %v", height, err)
		}
		if out, err = VerifyCertificate(past, q); err != nil {
			w.T.Fatalf("verify %s: %v", q.ID, err)
		}
	})
	return out
}

func warningCodes(vd *wire.CertificateVerdict) []string {
	var out []string
	for _, c := range vd.Checks {
		if c.Result == wire.ResultWarn {
			out = append(out, c.Code)
		}
	}
	return out
}

func warned(vd *wire.CertificateVerdict, code, contains string) bool {
	return slices.ContainsFunc(vd.Checks, func(c wire.Check) bool {
		return c.Result == wire.ResultWarn && c.Code == code && strings.Contains(c.Message, contains)
	})
}

func TestAVerdictAboutADateBeforeTheRecordSaysItWasRecordedLater(t *testing.T) {
	w := newWorld(t)
	// Enrolled in 2026 (the fixture's time) and certifying, in 2026, a
	// certificate signed 2021-01-05.
	late := w.participant(w.sat, "late-mx", "MX", wire.RoleExporter, wire.RoleCertifier)
	ct := w.usmca("OLD-2021")
	ct.Certifier.ID, ct.Certifier.Name = "participant/late-mx", "Late Exportaciones"
	ct.SignedAt = "2021-01-05T00:00:00.000000Z"
	ct.BlanketPeriod = &wire.Period{ValidFrom: "2021-01-05T00:00:00.000000Z", ValidUntil: "2022-01-04T00:00:00.000000Z"}
	w.Must(late, "certificate.issue", ct)

	vd := w.verdict(wire.CertificateQuery{ID: "OLD-2021", At: "2021-06-01T00:00:00.000000Z"})
	if vd.Verdict != wire.VerdictValid {
		t.Fatalf("verdict %s: %+v", vd.Verdict, vd.Reasons)
	}
	if !warned(vd, wire.CodeRecordedAfter, "version 1 was recorded at 2026") || !warned(vd, wire.CodeRecordedAfter, "certifier participant/late-mx was enrolled at 2026") {
		t.Fatalf("warnings %v; checks %+v", warningCodes(vd), vd.Checks)
	}
	if len(vd.Warnings) < 2 {
		t.Fatalf("the verdict's warnings %+v must list what was recorded after the date asked", vd.Warnings)
	}

	// Asked about a date after everything was recorded, there is nothing
	// to say.
	vd = w.verdict(wire.CertificateQuery{ID: "OLD-2021", At: ts(w.Now), RequireEndorsement: false})
	if slices.Contains(warningCodes(vd), wire.CodeRecordedAfter) {
		t.Fatalf("a question about now warns: %+v", vd.Warnings)
	}

	// What the ledger knew on that date: nothing.
	vd = w.verdictAsOf(0, wire.CertificateQuery{ID: "OLD-2021", At: "2021-06-01T00:00:00.000000Z"})
	if vd.Verdict != wire.VerdictNotFound || vd.Height != 0 {
		t.Fatalf("as of the genesis: verdict %s at height %d", vd.Verdict, vd.Height)
	}
}

func TestARevocationCountsFromItsEffectiveTimeAndARetroactiveOneSaysSo(t *testing.T) {
	w := newWorld(t)
	w.issue("R-NOW")
	w.issue("R-BACK")
	beforeRevocations := w.Store.Meta().Height
	rc := w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "R-NOW", Reason: "origin verification failed"})
	revokedAt, _ := time.Parse(time.RFC3339Nano, rc.Time)
	back := revokedAt.Add(-10 * time.Second)
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "R-BACK", Reason: "fraud found", Effective: ts(back)})

	cases := []struct {
		name    string
		q       wire.CertificateQuery
		verdict string
		warn    bool
	}{
		{"a revocation recorded at T leaves a question about just before T valid", wire.CertificateQuery{ID: "R-NOW", At: ts(revokedAt.Add(-time.Second))}, wire.VerdictValid, false},
		{"a revocation recorded at T applies to a question about T", wire.CertificateQuery{ID: "R-NOW", At: ts(revokedAt)}, wire.VerdictRevoked, false},
		{"a backdated revocation applies from its effective time", wire.CertificateQuery{ID: "R-BACK", At: ts(back.Add(time.Second))}, wire.VerdictRevoked, true},
		{"before a backdated revocation's effective time the certificate was valid", wire.CertificateQuery{ID: "R-BACK", At: ts(back.Add(-time.Second))}, wire.VerdictValid, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			vd := w.verdict(tc.q)
			if vd.Verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s: %+v", vd.Verdict, tc.verdict, vd.Reasons)
			}
			if got := warned(vd, wire.CodeRecordedAfter, "revoked"); got != tc.warn {
				t.Fatalf("recorded-after warning %v, want %v: %+v", got, tc.warn, vd.Checks)
			}
		})
	}

	t.Run("what the ledger knew before the revocation was recorded: valid", func(t *testing.T) {
		defer w.Use(t)()
		vd := w.verdictAsOf(beforeRevocations, wire.CertificateQuery{ID: "R-BACK", At: ts(back.Add(time.Second))})
		if vd.Verdict != wire.VerdictValid || vd.Height != beforeRevocations {
			t.Fatalf("as of height %d: verdict %s at height %d: %+v", beforeRevocations, vd.Verdict, vd.Height, vd.Reasons)
		}
	})
}

func TestAnUnrecordedCertificateIsNotFoundNotInvalid(t *testing.T) {
	w := newWorld(t)
	vd := w.verdict(wire.CertificateQuery{ID: "NEVER-ISSUED"})
	if vd.Verdict != wire.VerdictNotFound || len(vd.Reasons) != 1 || vd.Reasons[0].Code != "not_found" ||
		!strings.Contains(vd.Reasons[0].Message, "height") {
		t.Fatalf("verdict %s: %+v", vd.Verdict, vd.Reasons)
	}
}

func TestAVerdictAsOfAPastHeightIsProvenAgainstThatHead(t *testing.T) {
	w := newWorld(t)
	w.issue("P-1")
	issued := w.Store.Meta()
	w.Must(w.cbp, "certificate.revoke", wire.CertificateRevoke{ID: "P-1", Reason: "x"})
	for i := 0; i < 3; i++ {
		w.issue("P-FILL-" + string(rune('A'+i)))
	}
	if w.verdict(wire.CertificateQuery{ID: "P-1"}).Verdict != wire.VerdictRevoked {
		t.Fatal("P-1 is revoked now")
	}
	vd := w.verdictAsOf(issued.Height, wire.CertificateQuery{ID: "P-1"})
	if vd.Verdict != wire.VerdictValid || vd.Height != issued.Height || vd.LedgerTime != issued.Time || vd.At != issued.Time {
		t.Fatalf("as of %d: verdict %s height %d ledger time %s at %s", issued.Height, vd.Verdict, vd.Height, vd.LedgerTime, vd.At)
	}
	root, _ := hex.DecodeString(issued.Root)
	for _, e := range vd.Evidence {
		p := e.Evidence.Proof
		if p.TreeSize != issued.TreeSize {
			t.Fatalf("%s: proof at tree size %d, the head of height %d has %d", e.Role, p.TreeSize, issued.Height, issued.TreeSize)
		}
		leaf, _ := e.Evidence.Receipt.LeafData()
		hashes, _ := chain.ParseHexHashes(p.Hashes)
		if err := proof.VerifyInclusion(chain.Hasher, p.LeafIndex, p.TreeSize, chain.Hasher.HashLeaf(leaf), hashes, root); err != nil {
			t.Fatalf("%s: %v", e.Role, err)
		}
		if e.Evidence.Receipt.Type == "certificate.revoke" {
			t.Fatal("the revocation, recorded later, is evidence of a verdict about the ledger before it")
		}
	}
}

func TestALicenseVerdictAboutADateBeforeTheGrantSaysItWasGrantedLater(t *testing.T) {
	w := newIPWorld(t)
	q := wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", At: ts(w.start.Add(time.Hour))}
	vd := w.ask(q)
	if vd.Answer != wire.AnswerYes {
		t.Fatalf("answer %s: %+v", vd.Answer, vd.Failure)
	}
	var msgs []string
	for _, c := range vd.Warnings {
		if c.Code == wire.CodeRecordedAfter {
			msgs = append(msgs, c.Message)
		}
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"license L1 was granted", "license L0 was granted", "right TM-ACME was registered"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("warnings %q lack %q", msgs, want)
		}
	}
	q.At = ts(w.Now)
	if vd := w.ask(q); len(vd.Warnings) != 0 {
		t.Fatalf("a question about now warns: %+v", vd.Warnings)
	}
	q.License = "L-NEVER"
	if vd := w.ask(q); vd.Answer != wire.AnswerNotFound || vd.Failure == nil || vd.Failure.Code != "not_found" {
		t.Fatalf("an unrecorded license: answer %s %+v", vd.Answer, vd.Failure)
	}
}

func TestAnUndeclaredShipmentIsNotFound(t *testing.T) {
	w := newWorld(t)
	var vd *wire.ShipmentVerdict
	w.view(func(v *state.View) {
		var err error
		if vd, err = VerifyShipment(v, wire.ShipmentQuery{ID: "ENTRY-NEVER"}); err != nil {
			t.Fatal(err)
		}
	})
	if vd.Verdict != wire.VerdictNotFound || len(vd.Reasons) != 1 || !strings.Contains(vd.Reasons[0], "as of height") {
		t.Fatalf("verdict %s %q", vd.Verdict, vd.Reasons)
	}
}
