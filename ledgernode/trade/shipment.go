package trade

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// LookupShipment reads a declared shipment.
func LookupShipment(r state.Reader, id string) (*wire.ShipmentRecord, bool, error) {
	return state.Lookup[wire.ShipmentRecord](r, BucketShipments, id)
}

func applyShipmentDeclare(c *state.Context) (any, error) {
	s, err := wire.DecodeAndCheck[wire.Shipment](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	switch c.Signer.Kind {
	case wire.KindParticipant:
		if c.Signer.Owner != s.Importer {
			return nil, wire.Reject(wire.CodeUnauthorized, "payload.importer", "%q: an entry is declared by its importer (or an agency of %s); it is signed by %s", s.Importer, s.DestinationCountry, c.Signer.Owner)
		}
		if _, err := signerParticipant(c, "shipment.declare"); err != nil {
			return nil, err
		}
	case wire.KindAgency:
		ag, err := signerAgency(c, "shipment.declare")
		if err != nil {
			return nil, err
		}
		if ag.Country != s.DestinationCountry {
			return nil, wire.Reject(CodeJurisdiction, "signer", "%s (%s) records entries into %s only", ag.Identity, ag.Country, ag.Country)
		}
		if err := requireCustoms(ag, "recording an entry"); err != nil {
			return nil, err
		}
	default:
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "shipment.declare is signed by the importer or an agency of the destination country")
	}
	if _, ok, err := LookupShipment(c, s.ID); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%q: an entry with this id is recorded", s.ID)
	}
	importer, err := enrolledParty(c, "payload.importer", s.Importer, wire.RoleImporter)
	if err != nil {
		return nil, err
	}
	certs := map[string]any{}
	lics := map[string]any{}
	var hs, origins, programs []string
	var pr wire.Problems
	for i, l := range s.Lines {
		lf := fmt.Sprintf("payload.lines[%d]", i)
		hs = append(hs, l.HSCode[:6])
		origins = append(origins, l.OriginCountry)
		if l.Certificate != "" {
			if _, ok := certs[l.Certificate]; !ok {
				_, cv, err := mustCertificate(c, lf+".certificate", l.Certificate)
				if err != nil {
					pr.Add(CodeUnknownReference, lf+".certificate", l.Certificate, "no certificate with this id is recorded")
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
				pr.Add(CodeUnknownReference, fmt.Sprintf("%s.licenses[%d]", lf, j), id, "no license with this id is recorded")
				continue
			}
			lics[id] = asMap(lic)
		}
	}
	if err := pr.Err(); err != nil {
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
	if err := state.PutJSON(c, BucketShipments, s.ID, &wire.ShipmentRecord{Shipment: s, Recorded: recorded(c)}); err != nil {
		return nil, err
	}
	return map[string]any{"shipment": s.ID, "lines": len(s.Lines)}, nil
}

// VerifyShipment judges every line of a shipment: its certificate (if it
// claims one) must be valid for the line at the entry date, and each
// license it names must resolve to "yes" for the importer, the line's HS
// code and the destination country.
func VerifyShipment(v Source, q wire.ShipmentQuery) (*wire.ShipmentVerdict, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	s := q.Shipment
	meta := v.Meta()
	out := &wire.ShipmentVerdict{Height: meta.Height, LedgerTime: meta.Time, Lines: []wire.LineVerdict{}, Warnings: []wire.Check{}, Evidence: []wire.EvidenceItem{}}
	var ev evidenceSet
	declared := ""
	if s == nil {
		rec, ok, err := LookupShipment(v, q.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			out.Shipment, out.Verdict, out.At = q.ID, wire.VerdictNotFound, q.At
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
		lv := wire.LineVerdict{Line: l.Line, HSCode: l.HSCode, Verdict: wire.ResultPass, Reasons: []string{}}
		if l.Certificate != "" {
			one := *s
			one.Lines = []wire.ShipmentLine{l}
			cv, err := VerifyCertificate(v, wire.CertificateQuery{ID: l.Certificate, At: out.At, Shipment: &one, NoProof: true})
			if err != nil {
				return nil, err
			}
			cv.Evidence = nil
			lv.Certificate = cv
			for _, w := range cv.Warnings {
				w.Message = fmt.Sprintf("line %d: %s", l.Line, w.Message)
				out.Warnings = append(out.Warnings, w)
			}
			if cv.Verdict != wire.VerdictValid {
				lv.Verdict = wire.ResultFail
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
			lq := wire.LicenseQuery{Importer: s.Importer, HSCode: l.HSCode, Right: right, Country: s.DestinationCountry, At: out.At, License: id, NoProof: true}
			lvd, err := resolveLicense(v, lq, &ev)
			if err != nil {
				return nil, err
			}
			lv.Licenses = append(lv.Licenses, lvd)
			for _, w := range lvd.Warnings {
				w.Message = fmt.Sprintf("line %d: %s", l.Line, w.Message)
				out.Warnings = append(out.Warnings, w)
			}
			if lvd.Answer != wire.AnswerYes {
				lv.Verdict = wire.ResultFail
				msg := "no"
				if lvd.Failure != nil {
					msg = lvd.Failure.Reason
				}
				lv.Reasons = append(lv.Reasons, fmt.Sprintf("license %s: %s", id, msg))
			}
		}
		if lv.Verdict != wire.ResultPass {
			ok = false
		}
		out.Lines = append(out.Lines, lv)
	}
	out.Verdict = wire.VerdictValid
	if !ok {
		out.Verdict = wire.VerdictInvalid
	}
	out.Evidence, err = ev.resolve(v, !q.NoProof)
	return out, err
}

func firstMessage(cs []wire.Check) string {
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
		if slices.ContainsFunc(rec.Versions, func(v wire.VersionRef) bool { return v.Version == e.Version }) {
			ev.add("endorsement by "+e.Agency, e.TxID)
		}
	}
	return nil
}
