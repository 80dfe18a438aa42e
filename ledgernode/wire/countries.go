package wire

//go:generate go run ./internal/gencountries /usr/share/iso-codes/json/iso_3166-1.json countries_table.go

// ValidCountry says whether c is an ISO 3166-1 alpha-2 code (upper case).
func ValidCountry(c string) bool { _, ok := countryNames[c]; return ok }

// CountryName is the English short name of an ISO 3166-1 alpha-2 code, or
// the code itself when unknown.
func CountryName(c string) string {
	if n, ok := countryNames[c]; ok {
		return n
	}
	return c
}
