package trade

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Shipment is an entry (import declaration): the importer, the goods lines
// with their tariff codes and countries, and the certificates and licenses
// each line relies on. Declaring it is a transaction so that the agencies'
// rules are evaluated on it and the declaration is on the record.
type Shipment struct {
	ID                 string         `json:"id"`
	Importer           string         `json:"importer"` // participant identity
	EntryDate          string         `json:"entryDate"`
	DestinationCountry string         `json:"destinationCountry"`
	Lines              []ShipmentLine `json:"lines"`
}

// ShipmentLine is one goods line of an entry.
type ShipmentLine struct {
	Line          int     `json:"line"`
	Description   string  `json:"description"`
	HSCode        string  `json:"hsCode"` // 6, 8 or 10 digits
	OriginCountry string  `json:"originCountry"`
	ExportCountry string  `json:"exportCountry,omitempty"`
	ValueUSD      float64 `json:"valueUsd,omitempty"`
	// Certificate claims preferential treatment under a certificate of
	// origin; Licenses are the licenses (held by the importer) covering the
	// intellectual property on the goods.
	Certificate string   `json:"certificate,omitempty"`
	Licenses    []string `json:"licenses,omitempty"`
}

// Validate checks the payload's shape (shipment.declare).
func (s Shipment) Validate() error { return s.validate("payload", true).err() }

func (s *Shipment) validate(prefix string, full bool) *problems {
	pr := &problems{}
	f := func(n string) string { return prefix + "." + n }
	if full || s.ID != "" {
		pr.docID(f("id"), s.ID)
	}
	pr.participantRef(f("importer"), s.Importer, full)
	pr.time(f("entryDate"), s.EntryDate, full, datesTrade)
	if full || s.DestinationCountry != "" {
		pr.country(f("destinationCountry"), s.DestinationCountry)
	}
	if len(s.Lines) == 0 {
		pr.invalid(f("lines"), "", "at least one goods line is required")
	}
	if len(s.Lines) > maxListItems*5 {
		pr.invalid(f("lines"), "", "%d lines; at most %d", len(s.Lines), maxListItems*5)
		return pr
	}
	seen := map[int]bool{}
	for i, l := range s.Lines {
		lf := fmt.Sprintf("%s[%d]", f("lines"), i)
		if l.Line <= 0 || seen[l.Line] {
			pr.invalid(lf+".line", fmt.Sprint(l.Line), "must be a positive line number, unique in the entry")
		}
		seen[l.Line] = true
		pr.text(lf+".description", l.Description, maxTextBytes, full)
		if err := CheckTariffLine(l.HSCode); err != nil {
			pr.invalid(lf+".hsCode", l.HSCode, "%v", err)
		}
		if full || l.OriginCountry != "" {
			pr.country(lf+".originCountry", l.OriginCountry)
		}
		if l.ExportCountry != "" {
			pr.country(lf+".exportCountry", l.ExportCountry)
		}
		if l.ValueUSD < 0 || math.IsNaN(l.ValueUSD) || math.IsInf(l.ValueUSD, 0) || l.ValueUSD > 1e15 {
			pr.invalid(lf+".valueUsd", fmt.Sprint(l.ValueUSD), "must be a non-negative amount in US dollars")
		}
		if l.Certificate != "" {
			pr.docID(lf+".certificate", l.Certificate)
		}
		if len(l.Licenses) > 10 {
			pr.invalid(lf+".licenses", "", "%d licenses; at most 10", len(l.Licenses))
		}
		for j, id := range l.Licenses {
			pr.docID(fmt.Sprintf("%s.licenses[%d]", lf, j), id)
		}
	}
	return pr
}

// linesFor lists the lines that reference certificate id, or every line
// when no line references any certificate.
func (s *Shipment) linesFor(id string) []ShipmentLine {
	var out []ShipmentLine
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

// ShipmentRecord is a declared shipment with its record.
type ShipmentRecord struct {
	Shipment
	Recorded Recorded `json:"recorded"`
}

// LookupShipment reads a declared shipment.
func LookupShipment(r state.Reader, id string) (*ShipmentRecord, bool, error) {
	return get[ShipmentRecord](r, BucketShipments, id)
}

func applyShipmentDeclare(c *state.Context) (any, error) {
	s, err := state.DecodeAndCheck[Shipment](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	switch c.Signer.Kind {
	case state.KindParticipant:
		if c.Signer.Owner != s.Importer {
			return nil, state.Reject(state.CodeUnauthorized, "payload.importer", "%q: an entry is declared by its importer (or an agency of %s); it is signed by %s", s.Importer, s.DestinationCountry, c.Signer.Owner)
		}
		if _, err := signerParticipant(c, "shipment.declare"); err != nil {
			return nil, err
		}
	case state.KindAgency:
		ag, err := signerAgency(c, "shipment.declare")
		if err != nil {
			return nil, err
		}
		if ag.Country != s.DestinationCountry {
			return nil, state.Reject(CodeJurisdiction, "signer", "%s (%s) records entries into %s only", ag.Identity, ag.Country, ag.Country)
		}
		if err := requireCustoms(ag, "recording an entry"); err != nil {
			return nil, err
		}
	default:
		return nil, state.Reject(state.CodeUnauthorized, "signer", "shipment.declare is signed by the importer or an agency of the destination country")
	}
	if _, ok, err := LookupShipment(c, s.ID); err != nil {
		return nil, err
	} else if ok {
		return nil, state.Reject(state.CodeConflict, "payload.id", "%q: an entry with this id is recorded", s.ID)
	}
	importer, err := enrolledParty(c, "payload.importer", s.Importer, RoleImporter)
	if err != nil {
		return nil, err
	}
	certs := map[string]any{}
	lics := map[string]any{}
	var hs, origins, programs []string
	var pr problems
	for i, l := range s.Lines {
		lf := fmt.Sprintf("payload.lines[%d]", i)
		hs = append(hs, l.HSCode[:6])
		origins = append(origins, l.OriginCountry)
		if l.Certificate != "" {
			if _, ok := certs[l.Certificate]; !ok {
				_, cv, err := mustCertificate(c, lf+".certificate", l.Certificate)
				if err != nil {
					pr.add(CodeUnknownReference, lf+".certificate", l.Certificate, "no certificate with this id is recorded")
					continue
				}
				certs[l.Certificate] = asMap(&cv.Certificate)
				programs = append(programs, cv.Certificate.Program)
			}
		}
		for j, id := range l.Licenses {
			if _, ok := lics[id]; ok {
				continue
			}
			lic, ok, err := LookupLicense(c, id)
			if err != nil {
				return nil, err
			}
			if !ok {
				pr.add(CodeUnknownReference, fmt.Sprintf("%s.licenses[%d]", lf, j), id, "no license with this id is recorded")
				continue
			}
			lics[id] = asMap(lic)
		}
	}
	if err := pr.err(); err != nil {
		return nil, err
	}
	programs = append([]string{}, uniqueSorted(programs)...) // [] rather than null for rules
	program := ""
	if len(programs) > 0 {
		program = programs[0]
	}
	doc := &state.Document{ID: s.ID, Type: "shipment", Program: program, HSCodes: uniqueSorted(hs), OriginCountries: uniqueSorted(origins),
		DestinationCountries: []string{s.DestinationCountry}, Input: map[string]any{
			inputDoc: asMap(&s), inputParties: map[string]any{"importer": asMap(importer)},
			inputContext: map[string]any{"action": "declare", "certificates": certs, "licenses": lics, "programs": programs},
		}}
	if err := c.Evaluate(doc); err != nil {
		return nil, err
	}
	if err := state.PutJSON(c, BucketShipments, s.ID, &ShipmentRecord{Shipment: s, Recorded: recorded(c)}); err != nil {
		return nil, err
	}
	return map[string]any{"shipment": s.ID, "lines": len(s.Lines)}, nil
}

// ShipmentQuery asks for a shipment's verdict: a declared one by ID, or one
// given in full (not on the ledger).
type ShipmentQuery struct {
	ID       string    `json:"id,omitempty"`
	Shipment *Shipment `json:"shipment,omitempty"`
	At       string    `json:"at,omitempty"` // default: the entry date
	NoProof  bool      `json:"noProof,omitempty"`
}

// Validate checks a query's shape.
func (q ShipmentQuery) Validate() error {
	var pr problems
	switch {
	case (q.ID == "") == (q.Shipment == nil):
		pr.invalid("id", q.ID, "give either the id of a declared shipment or the shipment itself")
	case q.Shipment != nil:
		pr.reasons = append(pr.reasons, q.Shipment.validate("shipment", true).reasons...)
	default:
		pr.docID("id", q.ID)
	}
	pr.time("at", q.At, false, datesQuery)
	return pr.err()
}

// LineVerdict combines the certificate and license verdicts of one line.
type LineVerdict struct {
	Line        int                 `json:"line"`
	HSCode      string              `json:"hsCode"`
	Verdict     string              `json:"verdict"`         // pass, fail
	Reasons     []string            `json:"reasons"`         // why the line fails
	Notes       []string            `json:"notes,omitempty"` // what was not checked and why
	Certificate *CertificateVerdict `json:"certificate,omitempty"`
	Licenses    []*LicenseVerdict   `json:"licenses,omitempty"`
}

// ShipmentVerdict answers `verify shipment`.
type ShipmentVerdict struct {
	Shipment string `json:"shipment"`
	Declared bool   `json:"declared"`
	At       string `json:"at"` // the date the question is about
	// Height and LedgerTime are what the ledger knew (see CertificateVerdict).
	Height     uint64 `json:"height"`
	LedgerTime string `json:"ledgerTime"`
	Verdict    string `json:"verdict"` // valid, invalid, not-found (a shipment id not declared)
	// Reasons says why the verdict is not-found.
	Reasons  []string       `json:"reasons,omitempty"`
	Warnings []Check        `json:"warnings"` // of the declaration and of every line
	Lines    []LineVerdict  `json:"lines"`
	Evidence []EvidenceItem `json:"evidence"`
}

// VerifyShipment judges every line of a shipment: its certificate (if it
// claims one) must be valid for the line at the entry date, and each
// license it names must resolve to "yes" for the importer, the line's HS
// code and the destination country.
func VerifyShipment(v Source, q ShipmentQuery) (*ShipmentVerdict, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	s := q.Shipment
	meta := v.Meta()
	out := &ShipmentVerdict{Height: meta.Height, LedgerTime: meta.Time, Lines: []LineVerdict{}, Warnings: []Check{}, Evidence: []EvidenceItem{}}
	var ev evidenceSet
	declared := ""
	if s == nil {
		rec, ok, err := LookupShipment(v, q.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			out.Shipment, out.Verdict, out.At = q.ID, VerdictNotFound, q.At
			out.Reasons = []string{fmt.Sprintf("no shipment %q is declared on this ledger as of height %d (%s); if it was just declared, ask again with the height of its receipt (minHeight)", q.ID, meta.Height, meta.Time)}
			return out, nil
		}
		s = &rec.Shipment
		out.Declared = true
		declared = rec.Recorded.Time
		ev.add("shipment "+s.ID+" declared", rec.Recorded.TxID)
	}
	out.Shipment = s.ID
	at := q.At
	if at == "" {
		at = s.EntryDate
	}
	if at == "" {
		at = v.Meta().Time
	}
	t, err := parseAt("at", at, time.Time{})
	if err != nil {
		return nil, err
	}
	out.At = tx.FormatTime(t)
	var cl checkList
	cl.recordedAfter(fmt.Sprintf("shipment %s was declared", s.ID), declared, out.At)
	out.Warnings = append(out.Warnings, cl.all...)
	ok := true
	for _, l := range s.Lines {
		lv := LineVerdict{Line: l.Line, HSCode: l.HSCode, Verdict: ResultPass, Reasons: []string{}}
		if l.Certificate != "" {
			one := *s
			one.Lines = []ShipmentLine{l}
			cv, err := VerifyCertificate(v, CertificateQuery{ID: l.Certificate, At: out.At, Shipment: &one, NoProof: true})
			if err != nil {
				return nil, err
			}
			cv.Evidence = nil
			lv.Certificate = cv
			for _, w := range cv.Warnings {
				w.Message = fmt.Sprintf("line %d: %s", l.Line, w.Message)
				out.Warnings = append(out.Warnings, w)
			}
			if cv.Verdict != VerdictValid {
				lv.Verdict = ResultFail
				lv.Reasons = append(lv.Reasons, fmt.Sprintf("certificate %s is %s: %s", l.Certificate, cv.Verdict, firstMessage(cv.Reasons)))
			}
			if err := addVerdictEvidence(&ev, v, l.Certificate); err != nil {
				return nil, err
			}
		} else {
			note := "no preferential treatment claimed (no certificate)"
			if l.ValueUSD > 0 && l.ValueUSD <= 2500 {
				note += "; under CAFTA-DR a commercial import of US$2,500 or less needs none"
			}
			lv.Notes = append(lv.Notes, note)
		}
		for _, id := range l.Licenses {
			lic, found, err := LookupLicense(v, id)
			if err != nil {
				return nil, err
			}
			right := ""
			if found {
				right = lic.Right
			}
			lq := LicenseQuery{Importer: s.Importer, HSCode: l.HSCode, Right: right, Country: s.DestinationCountry, At: out.At, License: id, NoProof: true}
			lvd, err := resolveLicense(v, lq, &ev)
			if err != nil {
				return nil, err
			}
			lv.Licenses = append(lv.Licenses, lvd)
			for _, w := range lvd.Warnings {
				w.Message = fmt.Sprintf("line %d: %s", l.Line, w.Message)
				out.Warnings = append(out.Warnings, w)
			}
			if lvd.Answer != AnswerYes {
				lv.Verdict = ResultFail
				msg := "no"
				if lvd.Failure != nil {
					msg = lvd.Failure.Reason
				}
				lv.Reasons = append(lv.Reasons, fmt.Sprintf("license %s: %s", id, msg))
			}
		}
		if lv.Verdict != ResultPass {
			ok = false
		}
		out.Lines = append(out.Lines, lv)
	}
	out.Verdict = VerdictValid
	if !ok {
		out.Verdict = VerdictInvalid
	}
	out.Evidence, err = ev.resolve(v, !q.NoProof)
	return out, err
}

func firstMessage(cs []Check) string {
	if len(cs) == 0 {
		return ""
	}
	msgs := make([]string, 0, len(cs))
	for _, c := range cs {
		msgs = append(msgs, c.Message)
	}
	return strings.Join(msgs, "; ")
}

// addVerdictEvidence adds the records of a certificate verdict (the
// certificate's versions, revocation and endorsements) once.
func addVerdictEvidence(ev *evidenceSet, r state.Reader, id string) error {
	rec, ok, err := LookupCertificate(r, id)
	if err != nil {
		return fmt.Errorf("certificate %s: %w", id, err)
	}
	if !ok {
		return nil
	}
	for _, vr := range rec.Versions {
		ev.add(fmt.Sprintf("certificate %s version %d", id, vr.Version), vr.TxID)
	}
	if rv := rec.Revocation; rv != nil {
		ev.add(fmt.Sprintf("certificate %s %s", id, rv.Kind), rv.TxID)
	}
	for _, e := range rec.Endorsements {
		if slices.ContainsFunc(rec.Versions, func(v VersionRef) bool { return v.Version == e.Version }) {
			ev.add("endorsement by "+e.Agency, e.TxID)
		}
	}
	return nil
}
