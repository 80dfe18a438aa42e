package trade

import (
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// checkCertifier checks, against state, that the signer may certify ct: an
// enrolled participant with the certifier role and the role it certifies
// as, named as the certifier, in a country consistent with that role; and
// that every party named by id is enrolled with its role.
func checkCertifier(c *state.Context, ct *wire.Certificate, prefix string) (map[string]*wire.Participant, error) {
	f := func(name string) string { return prefix + "." + name }
	cert, err := signerParticipant(c, "a certificate of origin")
	if err != nil {
		return nil, err
	}
	if ct.Certifier.ID != cert.Identity {
		return nil, wire.Reject(wire.CodeUnauthorized, f("certifier.id"), "%q: the certificate must be signed by its certifier; it is signed by %s", ct.Certifier.ID, cert.Identity)
	}
	var pr wire.Problems
	for _, role := range []string{wire.RoleCertifier, ct.CertifierRole} {
		if !cert.HasRole(role) {
			pr.Add(CodeWrongRole, "signer", "", "%s is enrolled as %s, not %s; the agency of %s can add the role with participant.update", cert.Identity, joinOr(cert.Roles, "nothing"), role, cert.Country)
		}
	}
	prog := wire.Programs[ct.Program]
	switch ct.CertifierRole {
	case wire.RoleExporter:
		if cert.Country != ct.ExportCountry {
			pr.Add(CodeJurisdiction, f("exportCountry"), ct.ExportCountry, "the certifier certifies as exporter but is enrolled in %s", cert.Country)
		}
	case wire.RoleImporter:
		if cert.Country != ct.ImportCountry {
			pr.Add(CodeJurisdiction, f("importCountry"), ct.ImportCountry, "the certifier certifies as importer but is enrolled in %s", cert.Country)
		}
	case wire.RoleProducer:
		if !prog.HasCountry(cert.Country) {
			pr.Add(CodeJurisdiction, "signer", cert.Country, "the producer is enrolled outside the %s parties", prog.Name)
		}
	}
	parties := map[string]*wire.Participant{"certifier": cert}
	for _, pp := range []struct {
		name string
		p    *wire.Party
		role string
	}{{"exporter", ct.Exporter, wire.RoleExporter}, {"producer", ct.Producer, wire.RoleProducer}, {"importer", ct.Importer, wire.RoleImporter}} {
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
				pr.Add(CodeWrongRole, f(pp.name+".id"), pp.p.ID, "the certifier names itself as %s but is enrolled as %s; the agency of %s can add the role with participant.update",
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
			pr.Add(wire.CodeInvalid, f(pp.name+".country"), pp.p.Country, "%s is enrolled in %s", part.Identity, part.Country)
		}
		parties[pp.name] = part
	}
	if signed, err := tx.ParseTime(ct.SignedAt); err == nil {
		skew := time.Duration(c.Genesis.Params.MaxClockSkewSeconds) * time.Second
		if signed.After(c.Time.Add(skew)) {
			pr.Add(wire.CodeInvalid, f("signedAt"), ct.SignedAt, "is after the ledger time %s; a certification is recorded after it is signed", tx.FormatTime(c.Time))
		}
	}
	return parties, pr.Err()
}

// certificateDocument builds the rule engine's view of a certificate: doc
// (the certificate as signed), parties (the enrolled participants by role)
// and context (action, version, and for an amendment its reason and the
// version it replaces). The shape is documented once, in
// ledgernode/policy/DESIGN.md ("Inputs").
func certificateDocument(ct *wire.Certificate, parties map[string]*wire.Participant, context map[string]any) *state.Document {
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
