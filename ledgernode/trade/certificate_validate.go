package trade

import (
	"fmt"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

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

func (ct *Certificate) validate(prefix string) *problems {
	pr := &problems{}
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
	if pr.country(f("exportCountry"), ct.ExportCountry) && !prog.hasCountry(ct.ExportCountry) {
		pr.invalid(f("exportCountry"), ct.ExportCountry, "not a party to %s (%s)", prog.Name, strings.Join(prog.Countries, ", "))
	}
	if pr.country(f("importCountry"), ct.ImportCountry) && !prog.hasCountry(ct.ImportCountry) {
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

func checkParty(pr *problems, field string, p *Party, idRequired bool) {
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

func checkGoods(pr *problems, field string, goods []GoodsItem, prog *Program) {
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
		if pr.country(f+".countryOfOrigin", g.CountryOfOrigin) && !prog.hasCountry(g.CountryOfOrigin) {
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

// checkCertifier checks, against state, that the signer may certify ct: an
// enrolled participant with the certifier role and the role it certifies
// as, named as the certifier, in a country consistent with that role; and
// that every party named by id is enrolled with its role.
func checkCertifier(c *state.Context, ct *Certificate, prefix string) (map[string]*Participant, error) {
	f := func(name string) string { return prefix + "." + name }
	cert, err := signerParticipant(c, "a certificate of origin")
	if err != nil {
		return nil, err
	}
	if ct.Certifier.ID != cert.Identity {
		return nil, state.Reject(state.CodeUnauthorized, f("certifier.id"), "%q: the certificate must be signed by its certifier; it is signed by %s", ct.Certifier.ID, cert.Identity)
	}
	var pr problems
	for _, role := range []string{RoleCertifier, ct.CertifierRole} {
		if !cert.HasRole(role) {
			pr.add(CodeWrongRole, "signer", "", "%s is enrolled as %s, not %s; the agency of %s can add the role with participant.update", cert.Identity, joinOr(cert.Roles, "nothing"), role, cert.Country)
		}
	}
	prog := Programs[ct.Program]
	switch ct.CertifierRole {
	case RoleExporter:
		if cert.Country != ct.ExportCountry {
			pr.add(CodeJurisdiction, f("exportCountry"), ct.ExportCountry, "the certifier certifies as exporter but is enrolled in %s", cert.Country)
		}
	case RoleImporter:
		if cert.Country != ct.ImportCountry {
			pr.add(CodeJurisdiction, f("importCountry"), ct.ImportCountry, "the certifier certifies as importer but is enrolled in %s", cert.Country)
		}
	case RoleProducer:
		if !prog.hasCountry(cert.Country) {
			pr.add(CodeJurisdiction, "signer", cert.Country, "the producer is enrolled outside the %s parties", prog.Name)
		}
	}
	parties := map[string]*Participant{"certifier": cert}
	for _, pp := range []struct {
		name string
		p    *Party
		role string
	}{{"exporter", ct.Exporter, RoleExporter}, {"producer", ct.Producer, RoleProducer}, {"importer", ct.Importer, RoleImporter}} {
		if pp.role == ct.CertifierRole {
			parties[pp.name] = cert
		}
		if pp.p == nil || pp.p.ID == "" {
			continue
		}
		if pp.p.ID == cert.Identity {
			// The certifier names itself in another role (a producer that
			// certifies as exporter): it must hold that role, and the
			// agencies' rules see it in that role too.
			if !cert.HasRole(pp.role) {
				pr.add(CodeWrongRole, f(pp.name+".id"), pp.p.ID, "the certifier names itself as %s but is enrolled as %s; the agency of %s can add the role with participant.update",
					pp.name, joinOr(cert.Roles, "nothing"), cert.Country)
				continue
			}
			parties[pp.name] = cert
			continue
		}
		part, err := enrolledParty(c, f(pp.name+".id"), pp.p.ID, pp.role)
		if err != nil {
			return nil, err
		}
		if pp.p.Country != "" && pp.p.Country != part.Country {
			pr.invalid(f(pp.name+".country"), pp.p.Country, "%s is enrolled in %s", part.Identity, part.Country)
		}
		parties[pp.name] = part
	}
	if signed, err := tx.ParseTime(ct.SignedAt); err == nil {
		skew := time.Duration(c.Genesis.Params.MaxClockSkewSeconds) * time.Second
		if signed.After(c.Time.Add(skew)) {
			pr.invalid(f("signedAt"), ct.SignedAt, "is after the ledger time %s; a certification is recorded after it is signed", tx.FormatTime(c.Time))
		}
	}
	return parties, pr.err()
}

// certificateDocument builds the rule engine's view of a certificate: doc
// (the certificate as signed), parties (the enrolled participants by role)
// and context (action, version, and for an amendment its reason and the
// version it replaces). The shape is documented once, in
// ledgernode/policy/DESIGN.md ("Inputs").
func certificateDocument(ct *Certificate, parties map[string]*Participant, context map[string]any) *state.Document {
	var hs, origins []string
	for _, g := range ct.Goods {
		hs = append(hs, g.HSCode)
		origins = append(origins, g.CountryOfOrigin)
	}
	ps := map[string]any{}
	for k, p := range parties {
		ps[k] = asMap(p)
	}
	in := map[string]any{inputDoc: asMap(ct), inputParties: ps, inputContext: context}
	return &state.Document{ID: ct.ID, Type: "certificate", Program: ct.Program, HSCodes: uniqueSorted(hs),
		OriginCountries: uniqueSorted(origins), DestinationCountries: []string{ct.ImportCountry}, Input: in}
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

func (ct *Certificate) goodsFor(hs string) []int {
	var out []int
	for i, g := range ct.Goods {
		if hsCovers(g.HSCode, hs) {
			out = append(out, i)
		}
	}
	return out
}
