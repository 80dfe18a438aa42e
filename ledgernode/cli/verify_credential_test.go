package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
)

// TestCredentialVerdictsHaveDistinctExitCodes: a forgery (3) is told apart
// from a genuine credential that is expired, not yet valid, revoked or
// suspended (2), and both from a verified one (0); the message says which.
func TestCredentialVerdictsHaveDistinctExitCodes(t *testing.T) {
	cases := []struct {
		verdict string
		code    int
		says    string
	}{
		{credential.Verified, 0, ""},
		{credential.NotVerified, 3, "NOT VERIFIED: proof.proofValue: changed"},
		{credential.Expired, 2, "EXPIRED: the credential is genuine, but its validity ended 2027-01-01T00:00:00Z"},
		{credential.NotYetValid, 2, "NOT YET VALID: the credential is genuine, but its validity starts 2026-01-01T00:00:00Z"},
		{credential.Revoked, 2, "REVOKED: the credential is genuine, but it was revoked"},
		{credential.Suspended, 2, "SUSPENDED: the credential is genuine, but the party it vouches for is suspended"},
	}
	for _, c := range cases {
		res := &credential.Result{Verdict: c.verdict, ValidFrom: "2026-01-01T00:00:00Z", ValidUntil: "2027-01-01T00:00:00Z", At: "2028-01-01T00:00:00Z"}
		if c.verdict == credential.NotVerified {
			res.Problems = []credential.Problem{{Field: "proof.proofValue", Message: "changed"}}
		}
		err := credentialExit(res)
		if c.code == 0 {
			if err != nil {
				t.Fatalf("%s: %v", c.verdict, err)
			}
			continue
		}
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != c.code || !strings.HasPrefix(ee.Error(), c.says) {
			t.Fatalf("%s: exit %v %q, want %d %q", c.verdict, ee, err, c.code, c.says)
		}
	}
}

// TestRequireStatusRefusesAnUncheckedStatus: with --require-status a
// verified credential whose lists could not be read exits 5, one whose
// lists were read exits 0.
func TestRequireStatusRefusesAnUncheckedStatus(t *testing.T) {
	checked := &credential.Result{Verdict: credential.Verified, Status: []credential.StatusCheck{{Purpose: "revocation", Result: "clear"}, {Purpose: "suspension", Result: "clear"}}}
	if err := statusRequired(checked); err != nil {
		t.Fatalf("checked: %v", err)
	}
	for _, res := range []*credential.Result{
		{Verdict: credential.Verified, Status: []credential.StatusCheck{{Purpose: "revocation", Result: "clear"}, {Purpose: "suspension", Result: "not checked: unauthenticated (401)"}}},
		{Verdict: credential.Verified},
	} {
		var ee *ExitError
		if err := statusRequired(res); !errors.As(err, &ee) || ee.Code != 5 || !strings.HasPrefix(ee.Error(), "STATUS NOT CHECKED") {
			t.Fatalf("%+v: %v", res.Status, err)
		}
	}
}
