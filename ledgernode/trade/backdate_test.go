package trade

import (
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// An owner may backdate the revocation of its own key only within the
// network's window (genesis, 72 hours by default): further back it would
// turn certificates agencies accepted into invalid ones with no agency
// involved. The network admin and the agency that enrolled the owner may
// backdate further; another agency may not revoke at all. A verdict that a
// backdated revocation changed says so.
func TestOwnerBackdatesItsOwnRevocationOnlyWithinTheWindow(t *testing.T) {
	w := newWorld(t)
	w.issue("BACK-1")
	accepted := w.Now
	w.advance(10 * 24 * time.Hour)
	k1, k2 := newKey(), newKey()
	w.Must(w.sat, "participant.enrol", wire.ParticipantEnrol{ID: "self-mx", Name: "Self", Country: "MX", Roles: []string{wire.RoleExporter},
		PublicKeys: []string{keyID(k1), keyID(k2)}})
	window := chain.DefaultSelfRevokeBackdate
	// The owner, one key revoking the other: 73 hours back is too far ...
	w.reject(k2, "key.revoke", wire.KeyRevoke{KeyID: keyID(k1), Effective: ts(w.Now.Add(-window - time.Hour)), Reason: "lost"}, wire.CodeBackdated, "payload.effective")
	// ... 71 hours back is allowed.
	w.Must(k2, "key.revoke", wire.KeyRevoke{KeyID: keyID(k1), Effective: ts(w.Now.Add(-window + time.Hour)), Reason: "lost"})
	// acme's own second key cannot take its certificates back 10 days.
	acme2 := newKey()
	w.Must(w.acme, "key.rotate", wire.KeyRotate{NewKey: keyID(acme2), Retire: keyID(w.acme), RetireAt: ts(w.Now.AddDate(1, 0, 0))})
	w.reject(acme2, "key.revoke", wire.KeyRevoke{KeyID: keyID(w.acme), Effective: ts(accepted.Add(-time.Hour)), Reason: "disown"}, wire.CodeBackdated, "payload.effective")
	w.view(func(v *state.View) {
		if vd, err := VerifyCertificate(v, wire.CertificateQuery{ID: "BACK-1"}); err != nil || vd.Verdict != wire.VerdictValid {
			t.Fatalf("BACK-1 after a refused self-revocation: %+v %v", vd, err)
		}
	})
	// Another agency may not revoke acme's key; the agency that enrolled
	// acme may, as far back as it finds the compromise went.
	w.reject(w.cbp, "key.revoke", wire.KeyRevoke{KeyID: keyID(w.acme), Effective: ts(accepted.Add(-time.Hour)), Reason: "rival"}, wire.CodeUnauthorized, "signer")
	w.Must(w.sat, "key.revoke", wire.KeyRevoke{KeyID: keyID(w.acme), Effective: ts(accepted.Add(-time.Hour)), Reason: "plant audit: key shared since before"})
	w.view(func(v *state.View) {
		vd, err := VerifyCertificate(v, wire.CertificateQuery{ID: "BACK-1"})
		if err != nil || vd.Verdict != wire.VerdictInvalid {
			t.Fatalf("BACK-1 after the agency's backdated revocation: %+v %v", vd, err)
		}
		r := vd.Reasons[0]
		if r.Code != "signature_revoked_retroactively" || !strings.Contains(r.Message, "backdated revocation") || !strings.Contains(r.Message, "agency/sat-mx") {
			t.Fatalf("the verdict does not say a backdated revocation changed it: %+v", r)
		}
	})
}
