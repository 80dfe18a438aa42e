package wire

import (
	"fmt"
	"slices"
	"strings"
)

// IP offices: where a right registered by an office is in force. A right
// names its office and, optionally, the countries it covers; a country
// outside the office's territory is refused (a USPTO registration is no
// right in Mexico or Canada: that takes IMPI and CIPO, or an international
// registration through WIPO designating them).

// euMembers are the member states of the European Union (EUIPO marks and
// designs cover all of them).
var euMembers = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
	"LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}

// ipOffices maps an office's acronym to its territory; nil means an
// international registration, which may designate any country.
var ipOffices = map[string][]string{
	"USPTO": {"US"}, // United States Patent and Trademark Office
	"IMPI":  {"MX"}, // Instituto Mexicano de la Propiedad Industrial
	"CIPO":  {"CA"}, // Canadian Intellectual Property Office
	"UKIPO": {"GB"}, // UK Intellectual Property Office
	"JPO":   {"JP"}, // Japan Patent Office
	"CNIPA": {"CN"}, // China National Intellectual Property Administration
	"KIPO":  {"KR"}, // Korean Intellectual Property Office
	"EUIPO": euMembers,
	"WIPO":  nil, // international registrations (Madrid, Hague, PCT) designating countries
}

// IPOfficeNames lists the known offices, sorted.
func IPOfficeNames() []string {
	out := make([]string, 0, len(ipOffices))
	for n := range ipOffices {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// officeTerritory is the territory of an office: a known acronym, or an
// ISO 3166-1 alpha-2 code standing for that country's national office.
// international is true for WIPO; ok is false for an unknown office.
func officeTerritory(office string) (territory []string, international, ok bool) {
	if t, known := ipOffices[office]; known {
		return t, t == nil, true
	}
	if ValidCountry(office) {
		return []string{office}, false, true
	}
	return nil, false, false
}

// checkOffice checks an office and that every country of a right lies in
// its territory.
func checkOffice(pr *Problems, officeField, office, countriesField string, countries []string) {
	if office == "" {
		return // required is reported by the caller
	}
	territory, international, ok := officeTerritory(office)
	if !ok {
		pr.invalid(officeField, office, "unknown IP office: give one of %s, the ISO country code of a national office (e.g. CR), or WIPO for an international registration",
			strings.Join(IPOfficeNames(), ", "))
		return
	}
	if international {
		return
	}
	for i, c := range countries {
		if !slices.Contains(territory, c) {
			pr.invalid(fmt.Sprintf("%s[%d]", countriesField, i), c, "a registration by %s is in force in %s only; a right in %s is registered by that country's office, or through WIPO (an international registration designating it)",
				office, strings.Join(territory, ", "), c)
		}
	}
}
