package trade

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Source is what verdicts read: a consistent view of the state with the
// ledger's transactions and proofs. *state.View is one. A verdict depends
// only on the view (its height) and the question, never on the clock: every
// node answers the same for the same height and `at`.
type Source interface {
	state.Reader
	TxByID(id string) (*state.TxRecord, error)
	InclusionProof(leaf, size uint64) (*chain.InclusionProofJSON, error)
	Meta() state.Meta
}

var verdictOrder = []string{wire.VerdictInvalid, wire.VerdictRevoked, wire.VerdictSuperseded, wire.VerdictExpired, wire.VerdictNotYetValid, wire.VerdictValid}

// checkList gathers a verdict's checks: every one, the failed ones (the
// reasons) and the warnings.
type checkList struct {
	all, fails, warns []wire.Check
}

func newCheckList() checkList {
	return checkList{all: []wire.Check{}, fails: []wire.Check{}, warns: []wire.Check{}}
}

func (l *checkList) add(c wire.Check) {
	l.all = append(l.all, c)
	switch c.Result {
	case wire.ResultFail:
		l.fails = append(l.fails, c)
	case wire.ResultWarn:
		l.warns = append(l.warns, c)
	}
}

// recordedAfter warns when a record the verdict relies on was recorded
// after the date asked (at). Both are canonical ledger times, which sort as
// times do.
func (l *checkList) recordedAfter(what, recorded, at string) {
	if recorded == "" || recorded <= at {
		return
	}
	l.add(wire.Check{Name: "recorded after the date asked", Result: wire.ResultWarn, Code: wire.CodeRecordedAfter,
		Message: fmt.Sprintf("%s at %s, after %s, the date asked: on that date the ledger did not hold it (ask with --known-at %s for what the ledger knew then)",
			what, recorded, at, at)})
}

// findings turns the agency rules' findings recorded with a transaction
// into checks: a failure or error (under Audit or DryRun: under Enforce the
// transaction would have been rejected) is a warning, passes are summed up.
func (l *checkList) findings(what string, fs []chain.Finding) {
	if len(fs) == 0 {
		return
	}
	passed := 0
	for _, f := range fs {
		if f.Result == "pass" {
			passed++
			continue
		}
		rule := f.Source
		if f.Rule != "" {
			rule += " rule " + f.Rule
		}
		l.add(wire.Check{Name: "agency rules", Result: wire.ResultWarn, Code: wire.CodeAgencyFinding,
			Message: fmt.Sprintf("%s: %s v%d (%s) %s: %s", what, rule, f.Version, f.Enforcement, f.Result, f.Message)})
	}
	l.add(wire.Check{Name: "agency rules", Result: wire.ResultInfo, Message: fmt.Sprintf("%s: %d agency rule(s) evaluated when it was recorded, %d passed", what, len(fs), passed)})
}

// evidenceSet gathers the transactions a verdict relied on, once each.
type evidenceSet struct {
	items []wire.EvidenceItem
}

func (e *evidenceSet) add(role, txID string) {
	if txID == "" || txID == "genesis" {
		return
	}
	for i := range e.items {
		if e.items[i].TxID == txID {
			if !strings.Contains(e.items[i].Role, role) {
				e.items[i].Role += "; " + role
			}
			return
		}
	}
	e.items = append(e.items, wire.EvidenceItem{Role: role, TxID: txID})
}

// resolve attaches each transaction with its receipt and, with proof, its
// inclusion proof at the view's tree size. The caller adds the signed head.
func (e *evidenceSet) resolve(v Source, proof bool) ([]wire.EvidenceItem, error) {
	out := make([]wire.EvidenceItem, 0, len(e.items))
	for _, it := range e.items {
		rec, err := v.TxByID(it.TxID)
		if err != nil {
			return nil, fmt.Errorf("evidence %s (%s): %w", it.TxID, it.Role, err)
		}
		ev := &verify.Evidence{Tx: rec.Tx, Receipt: rec.Receipt}
		if proof {
			p, err := v.InclusionProof(rec.Receipt.LeafIndex, 0)
			if err != nil {
				return nil, fmt.Errorf("evidence %s: %w", it.TxID, err)
			}
			ev.Proof = *p
		}
		it.Evidence = ev
		out = append(out, it)
	}
	return out, nil
}

// signatureCheck judges the signature of a recorded transaction at its own
// block time against the signing key's whole history as the view knows it:
// a key revoked later with an effective time before the record makes the
// record's signature invalid; a rotation or a later revocation does not.
// When such a revocation was recorded after the date asked (at), the
// second result is the warning that says so.
func signatureCheck(v Source, what string, rec wire.Recorded, ev *evidenceSet, at string) (wire.Check, *wire.Check, error) {
	k, ok, err := state.LookupKey(v, rec.KeyID)
	if err != nil {
		return wire.Check{}, nil, fmt.Errorf("key %s: %w", tx.FingerprintOf(rec.KeyID), err)
	}
	if !ok {
		return wire.Check{Name: "signature", Result: wire.ResultFail, Code: "signature_invalid",
			Message: fmt.Sprintf("%s was signed by key %s, which is not registered", what, tx.FingerprintOf(rec.KeyID))}, nil, nil
	}
	if len(k.History) > 0 {
		ev.add("signing key "+k.Fingerprint+" of "+k.Owner+" registered", k.History[0].TxID)
	}
	t, _ := tx.ParseTime(rec.Time)
	if rej := k.ValidAt(t); rej != nil {
		var warn *wire.Check
		backdated := ""
		for _, h := range k.History {
			if h.Event != "revoked" && h.Event != "retired" {
				continue
			}
			ev.add("signing key "+k.Fingerprint+" of "+k.Owner+" "+h.Event, h.TxID)
			r, err := v.TxByID(h.TxID)
			if err != nil || h.Event != "revoked" {
				continue
			}
			if r.Receipt.Time > at {
				var l checkList
				l.recordedAfter(fmt.Sprintf("the revocation of key %s of %s (effective %s), which invalidates the signature of %s, was recorded", k.Fingerprint, k.Owner, h.Time, what), r.Receipt.Time, at)
				warn = &l.all[0]
			}
			// Recorded after the record, effective before it: a backdated
			// revocation changed this verdict, and the verdict says so.
			if h.Time <= rec.Time && r.Receipt.Time > rec.Time {
				by := k.RevokedBy
				if by == "" {
					by = "key " + tx.FingerprintOf(r.Receipt.Signer)
				}
				backdated = fmt.Sprintf(" (backdated revocation: recorded at %s by %s with effect from %s, after %s was recorded and accepted)", r.Receipt.Time, by, h.Time, what)
			}
		}
		code := "signature_invalid"
		if backdated != "" {
			code = "signature_revoked_retroactively"
		}
		return wire.Check{Name: "signature", Result: wire.ResultFail, Code: code,
			Message: fmt.Sprintf("%s was recorded at %s, signed by %s with key %s, which was not valid then: %s%s", what, rec.Time, rec.Signer, k.Fingerprint, rej.Reasons[0].Message, backdated)}, warn, nil
	}
	return wire.Check{Name: "signature", Result: wire.ResultPass,
		Message: fmt.Sprintf("%s signed by %s with key %s, valid at %s", what, rec.Signer, k.Fingerprint, rec.Time)}, nil, nil
}

// findingsOf are the agency rules' findings recorded with a transaction.
func findingsOf(v Source, txID string) []chain.Finding {
	r, err := v.TxByID(txID)
	if err != nil {
		return nil
	}
	return r.Receipt.Findings
}

// parseAt reads a query's `at`, defaulting to def.
func parseAt(field, at string, def time.Time) (time.Time, error) {
	if at == "" {
		return def, nil
	}
	t, err := tx.ParseTime(at)
	if err != nil {
		return time.Time{}, &tx.FieldError{Field: field, Value: at, Message: err.Error()}
	}
	return t, nil
}

// VerifyCertificate judges a certificate at q.At. It reads a bounded number
// of records (the certificate, its version, keys, the certifier): its cost
// does not grow with the number of certificates on the ledger.
func VerifyCertificate(v Source, q wire.CertificateQuery) (*wire.CertificateVerdict, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	meta := v.Meta()
	headTime, _ := tx.ParseTime(meta.Time)
	def := headTime
	if q.Shipment != nil && q.Shipment.EntryDate != "" {
		def, _ = tx.ParseTime(q.Shipment.EntryDate)
	}
	at, err := parseAt("at", q.At, def)
	if err != nil {
		return nil, err
	}
	out := &wire.CertificateVerdict{Certificate: q.ID, At: tx.FormatTime(at), Height: meta.Height, LedgerTime: meta.Time, Evidence: []wire.EvidenceItem{}}
	cl := newCheckList()
	defer func() { out.Checks, out.Reasons, out.Warnings = cl.all, cl.fails, cl.warns }()
	var ev evidenceSet
	add := cl.add
	rec, ok, err := LookupCertificate(v, q.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		add(wire.Check{Name: "recorded", Result: wire.ResultFail, Code: "not_found",
			Message: fmt.Sprintf("no certificate %q is recorded on this ledger as of height %d (%s); if it was just issued, ask again with the height of its receipt (minHeight) so that the node waits until it has applied it", q.ID, meta.Height, meta.Time)})
		out.Verdict = wire.VerdictNotFound
		return out, nil
	}
	ver := q.Version
	if ver == 0 {
		ver = rec.Current
	}
	if ver > rec.Current {
		return nil, wire.Reject(wire.CodeNotFound, "version", "certificate %s has %d version(s)", q.ID, rec.Current)
	}
	cv, ok, err := CertificateVersionOf(v, q.ID, ver)
	if err != nil {
		return nil, fmt.Errorf("certificate %s version %d: %w", q.ID, ver, err)
	}
	if !ok {
		return nil, fmt.Errorf("certificate %s version %d: %w", q.ID, ver, state.ErrNotFound)
	}
	ct := &cv.Certificate
	out.Version, out.Current, out.Program = ver, rec.Current, ct.Program
	what := fmt.Sprintf("version %d", ver)
	atS := out.At
	ev.add(fmt.Sprintf("certificate %s %s", q.ID, what), cv.TxID)
	add(wire.Check{Name: "recorded", Result: wire.ResultPass, Message: fmt.Sprintf("%s %s recorded at %s", q.ID, what, cv.Time)})
	cl.recordedAfter(fmt.Sprintf("%s %s was recorded", q.ID, what), cv.Time, atS)

	// The certifier's signature, judged at the record's block time.
	sig, warn, err := signatureCheck(v, what, cv.Recorded, &ev, atS)
	if err != nil {
		return nil, err
	}
	add(sig)
	if warn != nil {
		add(*warn)
	}
	p, ok, err := LookupParticipant(v, ct.Certifier.ID)
	if err != nil {
		return nil, fmt.Errorf("certifier %s: %w", ct.Certifier.ID, err)
	}
	if ok {
		ev.add("certifier "+p.Identity+" enrolled by "+p.EnrolledBy, p.EnrolTx)
		add(wire.Check{Name: "certifier", Result: wire.ResultInfo, Message: fmt.Sprintf("certified by %s (%s) as %s, enrolled by %s", p.Identity, p.Name, ct.CertifierRole, p.EnrolledBy)})
		cl.recordedAfter(fmt.Sprintf("the certifier %s was enrolled", p.Identity), p.Since, atS)
	}
	// What the agencies' rules found when this version was recorded.
	cl.findings(fmt.Sprintf("%s %s", q.ID, what), findingsOf(v, cv.TxID))

	// Superseded by a later version recorded at or before `at`.
	if ver < rec.Current {
		next := rec.Versions[ver] // versions are 1-based; index ver is version ver+1
		ev.add(fmt.Sprintf("certificate %s version %d", q.ID, next.Version), next.TxID)
		if next.Time <= atS {
			add(wire.Check{Name: "current version", Result: wire.ResultFail, Code: "superseded",
				Message: fmt.Sprintf("version %d was superseded by version %d recorded at %s (%s); verify the current version", ver, next.Version, next.Time, next.Reason)})
		} else {
			add(wire.Check{Name: "current version", Result: wire.ResultInfo, Message: fmt.Sprintf("version %d was current at %s; version %d replaced it later, at %s", ver, atS, next.Version, next.Time)})
		}
	} else {
		add(wire.Check{Name: "current version", Result: wire.ResultPass, Message: fmt.Sprintf("version %d is the current version", ver)})
	}

	// Revoked or withdrawn with effect at or before `at`. A revocation takes
	// effect at its effective time (the block time unless the revoker gave
	// an earlier one): a question about an earlier moment is answered as
	// valid; a backdated revocation recorded after the date asked applies
	// (the ledger knows it now) and the verdict says it was recorded later.
	if rv := rec.Revocation; rv != nil {
		ev.add(fmt.Sprintf("certificate %s %s by %s", q.ID, rv.Kind, rv.By), rv.TxID)
		if rv.Effective <= atS {
			add(wire.Check{Name: "revocation", Result: wire.ResultFail, Code: rv.Kind,
				Message: fmt.Sprintf("%s by %s with effect from %s: %s", rv.Kind, rv.By, rv.Effective, rv.Reason)})
			cl.recordedAfter(fmt.Sprintf("the certificate was %s by %s with effect from %s, but that was recorded", rv.Kind, rv.By, rv.Effective), rv.Time, atS)
		} else {
			add(wire.Check{Name: "revocation", Result: wire.ResultInfo, Message: fmt.Sprintf("%s by %s only from %s, after %s: %s", rv.Kind, rv.By, rv.Effective, atS, rv.Reason)})
		}
	} else {
		add(wire.Check{Name: "revocation", Result: wire.ResultPass, Message: "neither withdrawn nor revoked"})
	}

	// The validity window: blanket period (or signing date) and four years.
	from, until := ct.Window()
	switch {
	case at.Before(from):
		add(wire.Check{Name: "validity period", Result: wire.ResultFail, Code: "not_yet_valid", Message: fmt.Sprintf("applies from %s; %s is before", tx.FormatTime(from), atS)})
	case at.After(until):
		add(wire.Check{Name: "validity period", Result: wire.ResultFail, Code: "expired", Message: fmt.Sprintf("applied until %s; %s is after (blanket period or %d-year validity from signing %s)", tx.FormatTime(until), atS, programYears(ct.Program), ct.SignedAt)})
	default:
		add(wire.Check{Name: "validity period", Result: wire.ResultPass, Message: fmt.Sprintf("applies %s to %s", tx.FormatTime(from), tx.FormatTime(until))})
	}

	// Endorsement by the exporting country's agency.
	var endorsers []string
	for _, e := range rec.Endorsements {
		if e.Version == ver && e.Time <= atS {
			endorsers = append(endorsers, e.Agency)
			ev.add("endorsement by "+e.Agency, e.TxID)
		}
	}
	out.Endorsed = len(endorsers) > 0
	switch {
	case out.Endorsed:
		add(wire.Check{Name: "endorsement", Result: wire.ResultPass, Message: "endorsed by " + strings.Join(endorsers, ", ")})
	case q.RequireEndorsement:
		add(wire.Check{Name: "endorsement", Result: wire.ResultFail, Code: "not_endorsed", Message: fmt.Sprintf("no agency of %s endorsed version %d by %s", ct.ExportCountry, ver, atS)})
	default:
		add(wire.Check{Name: "endorsement", Result: wire.ResultInfo, Message: fmt.Sprintf("not endorsed by an agency of %s (not required)", ct.ExportCountry)})
	}

	if q.Shipment != nil {
		for _, c := range shipmentCoverage(ct, q.ID, q.Shipment) {
			add(c)
		}
	}
	out.Verdict = certificateVerdict(cl.fails)
	out.Evidence, err = ev.resolve(v, !q.NoProof)
	return out, err
}

func programYears(p string) int {
	if pr, ok := wire.Programs[p]; ok {
		return pr.ValidityYears
	}
	return 4
}

// certificateVerdict is the most severe outcome among the failed checks.
func certificateVerdict(reasons []wire.Check) string {
	worst := len(verdictOrder) - 1
	for _, r := range reasons {
		var v string
		switch r.Code {
		case "revoked", "withdrawn":
			v = wire.VerdictRevoked
		case "superseded":
			v = wire.VerdictSuperseded
		case "expired":
			v = wire.VerdictExpired
		case "not_yet_valid":
			v = wire.VerdictNotYetValid
		default:
			v = wire.VerdictInvalid
		}
		worst = min(worst, slices.Index(verdictOrder, v))
	}
	return verdictOrder[worst]
}

// shipmentCoverage checks that a certificate covers a shipment's lines.
func shipmentCoverage(ct *wire.Certificate, id string, s *wire.Shipment) []wire.Check {
	var out []wire.Check
	fail := func(format string, args ...any) {
		out = append(out, wire.Check{Name: "shipment", Result: wire.ResultFail, Code: "shipment_mismatch", Message: fmt.Sprintf(format, args...)})
	}
	if imp := ct.ImporterID(); imp != "" && s.Importer != "" && s.Importer != imp {
		fail("the shipment's importer %s is not the certificate's importer %s", s.Importer, imp)
	}
	if s.DestinationCountry != "" && s.DestinationCountry != ct.ImportCountry {
		fail("the shipment enters %s; the certificate covers imports into %s", s.DestinationCountry, ct.ImportCountry)
	}
	lines := linesFor(s, id)
	for _, l := range lines {
		idx := goodsFor(ct, l.HSCode)
		if len(idx) == 0 {
			fail("line %d: HS %s is not among the certificate's goods (%s)", l.Line, l.HSCode, strings.Join(ct.HSCodes(), ", "))
			continue
		}
		if l.OriginCountry != "" && !slices.ContainsFunc(idx, func(i int) bool { return ct.Goods[i].CountryOfOrigin == l.OriginCountry }) {
			fail("line %d: origin %s does not match the certificate's origin for HS %s (%s)", l.Line, l.OriginCountry, l.HSCode, ct.Goods[idx[0]].CountryOfOrigin)
		}
		if l.ExportCountry != "" && l.ExportCountry != ct.ExportCountry {
			fail("line %d: exported from %s; the certificate covers exports from %s", l.Line, l.ExportCountry, ct.ExportCountry)
		}
	}
	if len(out) == 0 {
		out = append(out, wire.Check{Name: "shipment", Result: wire.ResultPass, Message: fmt.Sprintf("covers %d line(s) of shipment %s", len(lines), s.ID)})
	}
	return out
}

// linesFor lists the lines that reference certificate id, or every line
// when no line references any certificate.
func linesFor(s *wire.Shipment, id string) []wire.ShipmentLine {
	var out []wire.ShipmentLine
	referenced := false
	for _, l := range s.Lines {
		referenced = referenced || l.Certificate != ""
		if l.Certificate == id {
			out = append(out, l)
		}
	}
	if !referenced {
		return s.Lines
	}
	return out
}

func goodsFor(ct *wire.Certificate, hs string) []int {
	var out []int
	for i, g := range ct.Goods {
		if wire.HSCovers(g.HSCode, hs) {
			out = append(out, i)
		}
	}
	return out
}
