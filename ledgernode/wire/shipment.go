package wire

import (
	"fmt"
	"math"
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

func (s *Shipment) validate(prefix string, full bool) *Problems {
	pr := &Problems{}
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

// ShipmentRecord is a declared shipment with its record.
type ShipmentRecord struct {
	Shipment
	Recorded Recorded `json:"recorded"`
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
	var pr Problems
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
