package wire

import (
	"fmt"

	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

// Certificate verdicts, from the most severe. VerdictNotFound stands apart:
// the ledger holds no such record at the height asked (which may only mean
// that this node has not applied it yet), so nothing was judged.
const (
	VerdictNotFound    = "not-found"
	VerdictInvalid     = "invalid"
	VerdictRevoked     = "revoked"
	VerdictSuperseded  = "superseded"
	VerdictExpired     = "expired"
	VerdictNotYetValid = "not-yet-valid"
	VerdictValid       = "valid"
)

// Check results. A warning does not change the verdict; it says something
// a person relying on it must know (a record made after the date asked, an
// agency rule's Audit finding).
const (
	ResultPass = "pass"
	ResultFail = "fail"
	ResultInfo = "info"
	ResultWarn = "warn"
)

// Warning codes.
const (
	// CodeRecordedAfter: a record the verdict relies on was recorded on the
	// ledger after the date the question is about, so on that date the
	// ledger did not know it (a late certificate, a backdated revocation).
	CodeRecordedAfter = "recorded_after"
	// CodeAgencyFinding: an agency rule under Audit or DryRun failed (or
	// could not be evaluated) when the record was written.
	CodeAgencyFinding = "agency_finding"
)

// Check is one rule a verdict evaluated, with its outcome.
type Check struct {
	Name    string `json:"name"`
	Result  string `json:"result"`         // pass, fail, info, warn
	Code    string `json:"code,omitempty"` // on fail and warn: a stable code
	Message string `json:"message"`
}

// EvidenceItem is a record a verdict relied on: its transaction, receipt
// and inclusion proof against a signed head (verify.Evidence), so that a
// verifier can check each one without trusting the node that answered.
type EvidenceItem struct {
	Role     string           `json:"role"`
	TxID     string           `json:"txId"`
	Evidence *verify.Evidence `json:"evidence,omitempty"`
}

// CertificateQuery asks for a certificate's verdict.
type CertificateQuery struct {
	ID string `json:"id"`
	// Version picks a version (0: the current one); an older version is
	// superseded from the time the next one was recorded.
	Version int `json:"version,omitempty"`
	// At is when the question is asked about (default: the shipment's entry
	// date, else the ledger head's time).
	At string `json:"at,omitempty"`
	// Shipment, when given, must be covered by the certificate: goods lines
	// that reference it (or all lines when none references a certificate).
	Shipment *Shipment `json:"shipment,omitempty"`
	// RequireEndorsement fails a certificate no exporting-country agency
	// endorsed.
	RequireEndorsement bool `json:"requireEndorsement,omitempty"`
	// NoProof leaves the inclusion proofs out (evidence ids only).
	NoProof bool `json:"noProof,omitempty"`
}

// Validate checks a query's shape.
func (q CertificateQuery) Validate() error {
	var pr Problems
	pr.docID("id", q.ID)
	if q.Version < 0 {
		pr.invalid("version", fmt.Sprint(q.Version), "must be a version number or omitted")
	}
	pr.time("at", q.At, false, datesQuery)
	if q.Shipment != nil {
		if err := q.Shipment.validate("shipment", false); !err.ok() {
			pr.reasons = append(pr.reasons, err.reasons...)
		}
	}
	return pr.err()
}

// CertificateVerdict answers `verify certificate`.
type CertificateVerdict struct {
	Certificate string `json:"certificate"`
	Version     int    `json:"version,omitempty"`
	Current     int    `json:"current,omitempty"`
	Program     string `json:"program,omitempty"`
	At          string `json:"at"` // the date the question is about
	// Height and LedgerTime are what the ledger knew: its state at that
	// height, whose block time is LedgerTime (the head, or a past height
	// asked with asOfHeight or knownAt).
	Height     uint64         `json:"height"`
	LedgerTime string         `json:"ledgerTime"`
	Verdict    string         `json:"verdict"`
	Reasons    []Check        `json:"reasons"`  // every failed check
	Warnings   []Check        `json:"warnings"` // what does not change the verdict but must be seen
	Checks     []Check        `json:"checks"`   // everything evaluated
	Endorsed   bool           `json:"endorsed"`
	Evidence   []EvidenceItem `json:"evidence"`
}
