package wire

import (
	"fmt"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Party is a business named on a certificate: the certifier, exporter,
// producer or importer. ID links it to an enrolled participant; a producer
// may instead be named "Various" or "Available upon request by the
// importing authorities" (USMCA), without an id.
type Party struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	Address string `json:"address,omitempty"`
	Country string `json:"country,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
}

// GoodsItem is one good covered by a certificate.
type GoodsItem struct {
	Description     string `json:"description"`
	HSCode          string `json:"hsCode"` // six digits
	OriginCriterion string `json:"originCriterion"`
	CountryOfOrigin string `json:"countryOfOrigin"`
	// ProducerIndicator (YES, NO1-NO3) and NetCost (NC, NO) are legacy
	// NAFTA Form 434 fields, required there and refused elsewhere.
	ProducerIndicator string `json:"producerIndicator,omitempty"`
	NetCost           string `json:"netCost,omitempty"`
}

// Period is a blanket period: at most 12 months of identical shipments.
type Period struct {
	ValidFrom  string `json:"validFrom"`
	ValidUntil string `json:"validUntil"`
}

// Certificate is a certification of origin (USMCA's nine data elements,
// CAFTA-DR per 19 CFR 10.584, legacy NAFTA Form 434). Field names follow
// the W3C CCG Traceability Vocabulary where it has them. It is the payload
// of certificate.issue, as signed by the certifier.
type Certificate struct {
	ID            string      `json:"id"`
	Program       string      `json:"program"`       // USMCA, CAFTA-DR, NAFTA
	CertifierRole string      `json:"certifierRole"` // exporter, producer, importer
	Certifier     Party       `json:"certifier"`     // id: the signer
	Exporter      *Party      `json:"exporter,omitempty"`
	Producer      *Party      `json:"producer,omitempty"`
	Importer      *Party      `json:"importer,omitempty"`
	ExportCountry string      `json:"exportCountry"`
	ImportCountry string      `json:"importCountry"`
	Goods         []GoodsItem `json:"goods"`
	BlanketPeriod *Period     `json:"blanketPeriod,omitempty"`
	SignedAt      string      `json:"signedAt"` // date of the authorised signature
	Language      string      `json:"language"` // en, es, fr
	Statement     string      `json:"statement,omitempty"`
}

// ImporterID is the enrolled importer named on the certificate, if any.
func (ct *Certificate) ImporterID() string {
	if ct.CertifierRole == RoleImporter {
		return ct.Certifier.ID
	}
	if ct.Importer != nil {
		return ct.Importer.ID
	}
	return ""
}

// ExporterID is the enrolled exporter named on the certificate, if any.
func (ct *Certificate) ExporterID() string {
	if ct.CertifierRole == RoleExporter {
		return ct.Certifier.ID
	}
	if ct.Exporter != nil {
		return ct.Exporter.ID
	}
	return ""
}

// CertificateAmend is the payload of certificate.amend: a new version of
// the certificate, signed by its certifier, linked to the one it replaces.
// Both are kept. Supersedes is the version the amendment replaces, which
// must be the current one: of two amendments written against the same
// version, exactly one is recorded and the other is refused with a
// conflict (rather than silently replacing the first).
type CertificateAmend struct {
	ID          string      `json:"id"`
	Supersedes  int         `json:"supersedes"`
	Reason      string      `json:"reason"`
	Certificate Certificate `json:"certificate"`
}

// Validate checks the payload's shape.
func (p CertificateAmend) Validate() error {
	pr := p.Certificate.validate("payload.certificate")
	pr.docID("payload.id", p.ID)
	if p.Supersedes < 1 {
		pr.invalid("payload.supersedes", fmt.Sprint(p.Supersedes), "required: the version this amendment replaces, the current one (ledgerctl cert get shows it; ledgerctl cert amend fills it in)")
	}
	pr.text("payload.reason", p.Reason, maxTextBytes, true)
	if p.ID != p.Certificate.ID {
		pr.invalid("payload.certificate.id", p.Certificate.ID, "must equal payload.id %q: an amendment keeps the certificate's id", p.ID)
	}
	return pr.err()
}

// CertificateRevoke is the payload of certificate.revoke: by the certifier
// (a withdrawal) or by an agency of the importing or exporting country (a
// revocation), with a reason, effective from Effective (default block time;
// it may be in the past).
type CertificateRevoke struct {
	ID        string `json:"id"`
	Reason    string `json:"reason"`
	Effective string `json:"effective,omitempty"`
}

// Validate checks the payload's shape.
func (p CertificateRevoke) Validate() error {
	var pr Problems
	pr.docID("payload.id", p.ID)
	pr.text("payload.reason", p.Reason, maxTextBytes, true)
	pr.time("payload.effective", p.Effective, false, datesTrade)
	return pr.err()
}

// CertificateEndorse is the payload of certificate.endorse, by an agency of
// the exporting country. Version 0 endorses the current version.
type CertificateEndorse struct {
	ID      string `json:"id"`
	Version int    `json:"version,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Validate checks the payload's shape.
func (p CertificateEndorse) Validate() error {
	var pr Problems
	pr.docID("payload.id", p.ID)
	if p.Version < 0 {
		pr.invalid("payload.version", fmt.Sprint(p.Version), "must be a version number (1, 2, ...) or omitted for the current version")
	}
	pr.text("payload.note", p.Note, maxTextBytes, false)
	return pr.err()
}

// CertificateRecord is the head record of a certificate: its current
// version, status, revocation and endorsements. Versions are stored apart.
type CertificateRecord struct {
	ID           string        `json:"id"`
	Program      string        `json:"program"`
	Certifier    string        `json:"certifier"`
	Current      int           `json:"current"`
	Status       string        `json:"status"` // active, revoked, withdrawn
	Versions     []VersionRef  `json:"versions"`
	Revocation   *Revocation   `json:"revocation,omitempty"`
	Endorsements []Endorsement `json:"endorsements,omitempty"`
}

// VersionRef is one version's place in the history.
type VersionRef struct {
	Version int    `json:"version"`
	Reason  string `json:"reason,omitempty"` // amendment reason
	Recorded
}

// Endorsement is an exporting-country agency's endorsement of a version.
type Endorsement struct {
	Agency  string `json:"agency"`
	Version int    `json:"version"`
	Note    string `json:"note,omitempty"`
	Recorded
}

// CertificateVersion is one version of a certificate as signed.
type CertificateVersion struct {
	Version     int         `json:"version"`
	Supersedes  int         `json:"supersedes,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Certificate Certificate `json:"certificate"`
	// StatusIndex places the version in the status lists (absent for
	// versions recorded before status lists existed).
	StatusIndex *StatusIndex `json:"statusIndex,omitempty"`
	Recorded
}

// CertificateHistory is a certificate with all its versions.
type CertificateHistory struct {
	Record   *CertificateRecord    `json:"record"`
	Versions []*CertificateVersion `json:"versions"`
}

// CertificateFilter selects certificates in ListCertificates: exactly one
// of Importer, Exporter, Certifier (participant identities) or HS (a
// prefix of 2-6 digits).
type CertificateFilter struct {
	Importer, Exporter, Certifier, HS string
	After                             string // cursor from the previous page
	Limit                             int
}

// CertificatePage is one page of a certificate listing.
type CertificatePage struct {
	Certificates []*CertificateRecord `json:"certificates"`
	Next         string               `json:"next,omitempty"`
}

// Producer names a USMCA certification may give instead of a producer.
const (
	ProducerVarious        = "Various"
	ProducerUponRequest    = "Available upon request by the importing authorities"
	maxGoodsPerCertificate = maxListItems
)

// Validate checks a certificate's shape and the rules of its program,
// naming every field at fault; prefix is where the certificate sits in the
// payload ("payload" or "payload.certificate").
func (ct Certificate) Validate() error { return ct.validate("payload").err() }

func (ct *Certificate) validate(prefix string) *Problems {
	pr := &Problems{}
	f := func(name string) string { return prefix + "." + name }
	pr.docID(f("id"), ct.ID)
	prog, ok := Programs[ct.Program]
	if !ok {
		pr.invalid(f("program"), ct.Program, "unknown certificate program; use one of %s", strings.Join(ProgramNames(), ", "))
		return pr
	}
	pr.oneOf(f("certifierRole"), ct.CertifierRole, prog.CertifierRoles)
	checkParty(pr, f("certifier"), &ct.Certifier, true)
	if ct.Certifier.Title == "" && ct.Program != "CAFTA-DR" {
		pr.invalid(f("certifier.title"), "", "required: the certifier's title (e.g. Export Manager)")
	}
	for _, pp := range []struct {
		name string
		p    *Party
		role string
	}{{"exporter", ct.Exporter, RoleExporter}, {"producer", ct.Producer, RoleProducer}, {"importer", ct.Importer, RoleImporter}} {
		if pp.p == nil {
			continue
		}
		checkParty(pr, f(pp.name), pp.p, false)
		if pp.role == ct.CertifierRole && pp.p.ID != "" && pp.p.ID != ct.Certifier.ID {
			pr.invalid(f(pp.name+".id"), pp.p.ID, "the certifier certifies as %s, so the %s is the certifier %s; omit %s or name the certifier", ct.CertifierRole, pp.name, ct.Certifier.ID, pp.name)
		}
	}
	if ct.Producer != nil && (ct.Producer.Name == ProducerVarious || ct.Producer.Name == ProducerUponRequest) && ct.Producer.ID != "" {
		pr.invalid(f("producer.id"), ct.Producer.ID, "a producer named %q has no id", ct.Producer.Name)
	}
	if prog.Form434 && ct.Exporter == nil && ct.CertifierRole != RoleExporter {
		pr.invalid(f("exporter"), "", "required on a NAFTA certificate (Form 434 field 1)")
	}
	if pr.country(f("exportCountry"), ct.ExportCountry) && !prog.HasCountry(ct.ExportCountry) {
		pr.invalid(f("exportCountry"), ct.ExportCountry, "not a party to %s (%s)", prog.Name, strings.Join(prog.Countries, ", "))
	}
	if pr.country(f("importCountry"), ct.ImportCountry) && !prog.HasCountry(ct.ImportCountry) {
		pr.invalid(f("importCountry"), ct.ImportCountry, "not a party to %s (%s)", prog.Name, strings.Join(prog.Countries, ", "))
	}
	if ct.ExportCountry != "" && ct.ExportCountry == ct.ImportCountry {
		pr.invalid(f("importCountry"), ct.ImportCountry, "is the export country too; a certificate of origin covers goods moving between two parties")
	}
	checkGoods(pr, f("goods"), ct.Goods, prog)
	signed, signedOK := pr.time(f("signedAt"), ct.SignedAt, true, datesTrade)
	if signedOK {
		if !prog.SignedFrom.IsZero() && signed.Before(prog.SignedFrom) {
			pr.invalid(f("signedAt"), ct.SignedAt, "%s certifications exist from %s; before that date use NAFTA", prog.Name, prog.SignedFrom.Format(time.DateOnly))
		}
		if !prog.SignedBefore.IsZero() && !signed.Before(prog.SignedBefore) {
			pr.invalid(f("signedAt"), ct.SignedAt, "%s ended on %s; certify under USMCA", prog.Name, prog.SignedBefore.Format(time.DateOnly))
		}
	}
	if bp := ct.BlanketPeriod; bp != nil {
		from, okF := pr.time(f("blanketPeriod.validFrom"), bp.ValidFrom, true, prog.dates())
		until, okU := pr.time(f("blanketPeriod.validUntil"), bp.ValidUntil, true, prog.dates())
		if okF && okU {
			switch max := from.AddDate(0, prog.MaxBlanketMonths, 0); {
			case !until.After(from):
				pr.invalid(f("blanketPeriod.validUntil"), bp.ValidUntil, "must be after blanketPeriod.validFrom %s", bp.ValidFrom)
			case until.After(max):
				pr.invalid(f("blanketPeriod.validUntil"), bp.ValidUntil, "the blanket period is longer than %d months (validFrom %s allows until %s at the latest); split it into two certifications",
					prog.MaxBlanketMonths, bp.ValidFrom, tx.FormatTime(max))
			}
			if signedOK {
				if end := signed.AddDate(prog.ValidityYears, 0, 0); until.After(end) {
					pr.invalid(f("blanketPeriod.validUntil"), bp.ValidUntil, "ends after the certification's %d-year validity from signing (%s)", prog.ValidityYears, tx.FormatTime(end))
				}
			}
		}
	}
	if pr.required(f("language"), ct.Language) {
		pr.oneOf(f("language"), ct.Language, prog.Languages)
	}
	pr.text(f("statement"), ct.Statement, maxTextBytes, false)
	return pr
}

func checkParty(pr *Problems, field string, p *Party, idRequired bool) {
	pr.participantRef(field+".id", p.ID, idRequired)
	pr.text(field+".name", p.Name, maxNameBytes, true)
	pr.text(field+".title", p.Title, maxNameBytes, false)
	pr.text(field+".address", p.Address, maxTextBytes, false)
	if p.Country != "" {
		pr.country(field+".country", p.Country)
	}
	if p.Email != "" && !emailPattern.MatchString(p.Email) {
		pr.invalid(field+".email", p.Email, "not an email address")
	}
	if p.Phone != "" && !phonePattern.MatchString(p.Phone) {
		pr.invalid(field+".phone", p.Phone, "not a telephone number")
	}
}

func checkGoods(pr *Problems, field string, goods []GoodsItem, prog *Program) {
	if len(goods) == 0 {
		pr.invalid(field, "", "at least one goods line is required")
	}
	if len(goods) > maxGoodsPerCertificate {
		pr.invalid(field, "", "%d goods lines; at most %d (split the certification)", len(goods), maxGoodsPerCertificate)
		return
	}
	for i := range goods {
		g := &goods[i]
		f := fmt.Sprintf("%s[%d]", field, i)
		pr.text(f+".description", g.Description, maxTextBytes, true)
		if err := CheckHSCode(g.HSCode); err != nil {
			pr.invalid(f+".hsCode", g.HSCode, "%v", err)
		} else if len(g.HSCode) != 6 {
			pr.invalid(f+".hsCode", g.HSCode, "a certification of origin classifies goods to six digits: give %s", SubheadingHint(g.HSCode))
		}
		pr.oneOf(f+".originCriterion", g.OriginCriterion, prog.OriginCriteria)
		if pr.country(f+".countryOfOrigin", g.CountryOfOrigin) && !prog.HasCountry(g.CountryOfOrigin) {
			pr.invalid(f+".countryOfOrigin", g.CountryOfOrigin, "goods of %s origin cannot qualify under %s (%s)", g.CountryOfOrigin, prog.Name, strings.Join(prog.Countries, ", "))
		}
		if prog.Form434 {
			pr.oneOf(f+".producerIndicator", g.ProducerIndicator, naftaProducerIndicators)
			pr.oneOf(f+".netCost", g.NetCost, naftaNetCost)
		} else {
			if g.ProducerIndicator != "" {
				pr.invalid(f+".producerIndicator", g.ProducerIndicator, "only NAFTA (Form 434) certificates carry a producer indicator")
			}
			if g.NetCost != "" {
				pr.invalid(f+".netCost", g.NetCost, "only NAFTA (Form 434) certificates carry a net cost indicator")
			}
		}
	}
}

// Window is when the certification applies: from the blanket period's start
// (or the signing date) until the blanket period's end, and never beyond the
// program's validity from signing (four years).
func (ct *Certificate) Window() (from, until time.Time) {
	signed, _ := tx.ParseTime(ct.SignedAt)
	years := 4
	if p, ok := Programs[ct.Program]; ok {
		years = p.ValidityYears
	}
	from, until = signed, signed.AddDate(years, 0, 0)
	if bp := ct.BlanketPeriod; bp != nil {
		f, _ := tx.ParseTime(bp.ValidFrom)
		u, _ := tx.ParseTime(bp.ValidUntil)
		from = f
		if u.Before(until) {
			until = u
		}
	}
	return from, until
}

// HSCodes lists the certificate's six-digit codes, sorted, once each.
func (ct *Certificate) HSCodes() []string {
	var out []string
	for _, g := range ct.Goods {
		out = append(out, g.HSCode)
	}
	return uniqueSorted(out)
}
