package wire

import (
	"fmt"
	"slices"
	"time"
)

// Program is a trade agreement (or agency program) whose certificates of
// origin the ledger knows how to validate. Facts from shared/domain/TRADE.md.
type Program struct {
	Name string
	// Countries are the parties to the agreement (ISO 3166-1 alpha-2).
	Countries []string
	// Languages a certification may be written in (ISO 639-1).
	Languages []string
	// OriginCriteria are the preference criteria a goods line may claim.
	OriginCriteria []string
	// CertifierRoles are the roles that may certify.
	CertifierRoles []string
	// SignedFrom and SignedBefore bound the certification date: USMCA
	// replaced NAFTA on 2020-07-01. Zero means unbounded.
	SignedFrom, SignedBefore time.Time
	// InForce is when the agreement entered into force: no certification
	// under it applies to goods before that day.
	InForce time.Time
	// ValidityYears is how long a certification is valid from signing.
	ValidityYears int
	// MaxBlanketMonths bounds a blanket period.
	MaxBlanketMonths int
	// Form434 marks legacy NAFTA (CBP Form 434) fields: producer indicator
	// and net cost on every goods line.
	Form434 bool
}

// usmcaStart is the day USMCA entered into force and NAFTA ended.
var usmcaStart = time.Date(2020, 7, 1, 0, 0, 0, 0, time.UTC)

// Programs are the certificate programs known to the ledger.
var Programs = map[string]*Program{
	"USMCA": {
		Name: "USMCA", Countries: []string{"CA", "MX", "US"}, Languages: []string{"en", "es", "fr"},
		OriginCriteria: []string{"A", "B", "C", "D"}, CertifierRoles: []string{RoleExporter, RoleImporter, RoleProducer},
		SignedFrom: usmcaStart, InForce: usmcaStart, ValidityYears: 4, MaxBlanketMonths: 12,
	},
	"CAFTA-DR": {
		Name: "CAFTA-DR", Countries: []string{"CR", "DO", "GT", "HN", "NI", "SV", "US"}, Languages: []string{"en", "es"},
		OriginCriteria: []string{"A", "B", "C", "D"}, CertifierRoles: []string{RoleExporter, RoleImporter, RoleProducer},
		InForce: day(2006, 3, 1), ValidityYears: 4, MaxBlanketMonths: 12, // US-El Salvador, the first pair
	},
	"NAFTA": {
		Name: "NAFTA", Countries: []string{"CA", "MX", "US"}, Languages: []string{"en", "es", "fr"},
		OriginCriteria: []string{"A", "B", "C", "D", "E", "F"}, CertifierRoles: []string{RoleExporter},
		SignedBefore: usmcaStart, InForce: day(1994, 1, 1), ValidityYears: 4, MaxBlanketMonths: 12, Form434: true,
	},
}

// ProgramNames lists the certificate programs, sorted.
func ProgramNames() []string {
	out := make([]string, 0, len(Programs))
	for n := range Programs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ProgramIPR is the program of intellectual-property records (rights,
// licenses); an agency that vouches for rights declares it.
const ProgramIPR = "IPR"

// HasCountry says whether c is a party to the program.
func (p *Program) HasCountry(c string) bool { return slices.Contains(p.Countries, c) }

// dates is where a certification's blanket period may lie: from the day
// the agreement entered into force.
func (p *Program) dates() dateRange {
	return dateRange{p.InForce, datesTrade.until, fmt.Sprintf("a %s blanket period starts on or after %s, when %s entered into force", p.Name, p.InForce.Format(time.DateOnly), p.Name)}
}

// Form 434 codes.
var (
	naftaProducerIndicators = []string{"YES", "NO1", "NO2", "NO3"}
	naftaNetCost            = []string{"NC", "NO"}
)
