package devnet

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Trade demo data: four customs services (CBP, CBSA, SAT, Costa Rica's DGA)
// and a partner agency (FDA), their participants, certificates of origin in
// every state (valid and endorsed, amended, revoked, expired, legacy NAFTA,
// CAFTA-DR), an IP license chain that holds and one broken by a revoked
// middle link, a shipment, and attempts the ledger refuses. Keys are in the
// dev keys directory as agency-<id>.key and <participant>.key, so that later
// seeders (agency rules) and people can sign with them.
var tradeSeeder = Seeder{Name: "trade", Run: seedTrade, Tour: []string{
	"ledgerctl agency list && ledgerctl participant get acme-mx",
	"ledgerctl verify certificate USMCA-ACME-0001                      # valid, endorsed; proofs checked offline",
	"ledgerctl verify certificate USMCA-ACME-0003                      # revoked by CBP: exit code 2",
	"ledgerctl verify certificate USMCA-ACME-0002 --version 1          # superseded by its amendment",
	"ledgerctl verify certificate NAFTA-MAPLE-0001 --at 2020-03-01     # legacy NAFTA: valid then, expired now",
	"ledgerctl verify license --importer bigbox-us --hs 610910 --right TM-ACME --country US   # yes, with the path",
	"ledgerctl verify license --importer dist-us --hs 610910 --right TM-ACME --country US     # no: middle link revoked",
	"ledgerctl license get LIC-DIST                                    # active itself, parent-revoked in effect",
	"ledgerctl verify shipment ENTRY-0001                              # line 2 claims a revoked certificate",
	"ledgerctl verify certificate USMCA-ACME-0001 --as-of-height 1     # NOT FOUND (exit 4): what the ledger knew at block 1",
	"ledgerctl cert export USMCA-ACME-0001 --out /tmp/vc.json && ledgerctl verify credential /tmp/vc.json   # VERIFIED: proof, claims vs ledger records, status online",
	"ledgerctl cert export USMCA-ACME-0002 --version 1 --out /tmp/vc1.json && ledgerctl verify credential /tmp/vc1.json   # REVOKED (superseded): exit code 2",
	"ledgerctl verify credential /tmp/vc.json --offline --at 2031-01-01  # EXPIRED, status not checked (docs/verifiers.md)",
}}

type tradeSeed struct {
	*Seed
	ctx  context.Context
	now  time.Time
	keys map[string]ed25519.PrivateKey
}

func (t *tradeSeed) key(name string) (ed25519.PrivateKey, error) {
	if k, ok := t.keys[name]; ok {
		return k, nil
	}
	k, err := t.NewKey(name)
	if err != nil {
		return nil, err
	}
	t.keys[name] = k
	return k, nil
}

func keyID(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }

func (t *tradeSeed) ok(signer, typ string, payload any) error {
	k, err := t.key(signer)
	if err != nil {
		return err
	}
	_, err = t.Submit(t.ctx, k, typ, payload, false)
	return err
}

// refused submits something the ledger must refuse, either before
// consensus (a 4xx naming the field) or in the block (a rejected receipt).
func (t *tradeSeed) refused(signer, typ string, payload any, what string) error {
	k, err := t.key(signer)
	if err != nil {
		return err
	}
	st, err := t.Sign(k, typ, payload)
	if err != nil {
		return err
	}
	resp, err := t.Client.Submit(t.ctx, st, client.SubmitOptions{})
	var ce *client.Error
	switch {
	case errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500:
		fmt.Fprintf(t.Out, "  refused as expected (%s): %s\n", what, ce.Message)
		return nil
	case err != nil:
		return err
	case resp.Receipt.Status == chain.Rejected:
		fmt.Fprintf(t.Out, "  rejected as expected (%s): %s\n", what, resp.Receipt.Reasons[0].Message)
		return nil
	}
	return fmt.Errorf("%s: %s was accepted, the demo expects a refusal", what, typ)
}

func seedTrade(ctx context.Context, s *Seed) error {
	t := &tradeSeed{Seed: s, ctx: ctx, now: time.Now().UTC().Truncate(time.Second), keys: map[string]ed25519.PrivateKey{}}
	for _, step := range []func() error{t.agencies, t.participants, t.certificates, t.licenses, t.shipments} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (t *tradeSeed) agencies() error {
	t.keys["admin"] = t.Admin
	for _, a := range []wire.AgencyRegister{
		{ID: "us-cbp", Name: "U.S. Customs and Border Protection", Country: "US", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "CAFTA-DR", "NAFTA", "IPR"},
			Contact: &wire.Contact{Email: "trade@cbp.example", Phone: "+1 202 555 0100"}},
		{ID: "ca-cbsa", Name: "Canada Border Services Agency", Country: "CA", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "NAFTA"},
			Contact: &wire.Contact{Email: "trade@cbsa.example", Phone: "+1 613 555 0100"}},
		{ID: "mx-sat", Name: "Servicio de Administración Tributaria (Aduanas)", Country: "MX", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "NAFTA", "IPR"},
			Contact: &wire.Contact{Email: "aduanas@sat.example", Phone: "+52 55 5555 0100"}},
		{ID: "cr-dga", Name: "Dirección General de Aduanas de Costa Rica", Country: "CR", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"CAFTA-DR"},
			Contact: &wire.Contact{Email: "aduanas@hacienda.example", Phone: "+506 2555 0100"}},
		{ID: "us-fda", Name: "U.S. Food and Drug Administration", Country: "US", Programs: []string{"USMCA", "CAFTA-DR", "FSMA"},
			Contact: &wire.Contact{Email: "imports@fda.example"}},
	} {
		k, err := t.key("agency-" + a.ID)
		if err != nil {
			return err
		}
		a.PublicKeys = []string{keyID(k)}
		if err := t.ok("admin", wire.TypeAgencyRegister, a); err != nil {
			return err
		}
	}
	return nil
}

func (t *tradeSeed) participants() error {
	type enrol struct {
		agency string
		p      wire.ParticipantEnrol
	}
	for _, e := range []enrol{
		{"mx-sat", wire.ParticipantEnrol{ID: "acme-mx", Name: "ACME Exportaciones SA de CV", Country: "MX", Roles: []string{"exporter", "producer", "certifier"},
			Identifiers: []wire.Identifier{{Scheme: "RFC", Value: "AEX010101AB1"}}, Contact: &wire.Contact{Email: "export@acme-mx.example", Address: "Av. Industrial 100, Monterrey, NL"}}},
		{"mx-sat", wire.ParticipantEnrol{ID: "maker-mx", Name: "Maquiladora del Norte SA de CV", Country: "MX", Roles: []string{"producer", "exporter", "licensee"},
			Identifiers: []wire.Identifier{{Scheme: "RFC", Value: "MNO020202CD2"}}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "bigbox-us", Name: "BigBox Stores Inc.", Country: "US", Roles: []string{"importer", "licensee"},
			Identifiers: []wire.Identifier{{Scheme: "EIN", Value: "12-3456789"}}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "dist-us", Name: "Discount Apparel Distributors LLC", Country: "US", Roles: []string{"importer", "licensee"}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "acme-brands-us", Name: "ACME Brands LLC", Country: "US", Roles: []string{"rightsholder"},
			Evidence: "USPTO registration certificate no. 5123456"}},
		{"ca-cbsa", wire.ParticipantEnrol{ID: "maple-ca", Name: "Maple Foods Ltd", Country: "CA", Roles: []string{"exporter", "producer", "certifier"},
			Identifiers: []wire.Identifier{{Scheme: "BN", Value: "123456789RM0001"}}}},
		{"cr-dga", wire.ParticipantEnrol{ID: "cafe-cr", Name: "Café de Altura SA", Country: "CR", Roles: []string{"exporter", "producer", "certifier"}}},
	} {
		k, err := t.key(e.p.ID)
		if err != nil {
			return err
		}
		e.p.PublicKeys = []string{keyID(k)}
		if err := t.ok("agency-"+e.agency, wire.TypeParticipantEnrol, e.p); err != nil {
			return err
		}
	}
	// An agency enrols only in its own country.
	stray, err := tx.GenerateKey()
	if err != nil {
		return err
	}
	return t.refused("agency-mx-sat", wire.TypeParticipantEnrol, wire.ParticipantEnrol{ID: "texas-imports", Name: "Texas Imports", Country: "US",
		Roles: []string{"importer"}, PublicKeys: []string{keyID(stray)}}, "SAT enrolling a US company")
}

func (t *tradeSeed) acmeCert(id string) wire.Certificate {
	return wire.Certificate{ID: id, Program: "USMCA", CertifierRole: "exporter",
		Certifier:     wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV", Title: "Gerente de Exportación", Country: "MX", Email: "export@acme-mx.example"},
		Producer:      &wire.Party{Name: wire.ProducerVarious},
		Importer:      &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc.", Country: "US"},
		ExportCountry: "MX", ImportCountry: "US",
		Goods: []wire.GoodsItem{
			{Description: "Portable computers", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"},
			{Description: "Cotton T-shirts bearing the ACME mark", HSCode: "610910", OriginCriterion: "C", CountryOfOrigin: "MX"},
		},
		BlanketPeriod: &wire.Period{ValidFrom: tx.FormatTime(t.now.AddDate(0, -1, 0)), ValidUntil: tx.FormatTime(t.now.AddDate(0, 11, 0))},
		SignedAt:      tx.FormatTime(t.now.Add(-24 * time.Hour)), Language: "es",
		Statement: "Certifico que las mercancías descritas califican como originarias y que la información es verdadera y exacta."}
}

func (t *tradeSeed) certificates() error {
	c1 := t.acmeCert("USMCA-ACME-0001")
	if err := t.ok("acme-mx", wire.TypeCertificateIssue, c1); err != nil {
		return err
	}
	if err := t.ok("agency-mx-sat", wire.TypeCertificateEndorse, wire.CertificateEndorse{ID: c1.ID, Note: "origin verified at the plant"}); err != nil {
		return err
	}
	c2 := t.acmeCert("USMCA-ACME-0002")
	if err := t.ok("acme-mx", wire.TypeCertificateIssue, c2); err != nil {
		return err
	}
	c2.Goods[0].HSCode = "847150"
	c2.Goods[0].Description = "Processing units"
	if err := t.ok("acme-mx", wire.TypeCertificateAmend, wire.CertificateAmend{Supersedes: 1, ID: c2.ID, Reason: "line 1 reclassified from 847130 to 847150", Certificate: c2}); err != nil {
		return err
	}
	c3 := t.acmeCert("USMCA-ACME-0003")
	c3.Goods = c3.Goods[:1]
	if err := t.ok("acme-mx", wire.TypeCertificateIssue, c3); err != nil {
		return err
	}
	if err := t.ok("agency-us-cbp", wire.TypeCertificateRevoke, wire.CertificateRevoke{ID: c3.ID, Reason: "origin verification found non-originating processors"}); err != nil {
		return err
	}
	maple := wire.Certificate{ID: "USMCA-MAPLE-0001", Program: "USMCA", CertifierRole: "exporter",
		Certifier: wire.Party{ID: "participant/maple-ca", Name: "Maple Foods Ltd", Title: "President"}, Importer: &wire.Party{Name: "BigBox Stores Inc."},
		ExportCountry: "CA", ImportCountry: "US", Goods: []wire.GoodsItem{{Description: "Maple syrup", HSCode: "170220", OriginCriterion: "A", CountryOfOrigin: "CA"}},
		BlanketPeriod: &wire.Period{ValidFrom: "2024-01-15T00:00:00Z", ValidUntil: "2025-01-14T00:00:00Z"}, SignedAt: "2024-01-10T00:00:00Z", Language: "en"}
	if err := t.ok("maple-ca", wire.TypeCertificateIssue, maple); err != nil {
		return err
	}
	nafta := wire.Certificate{ID: "NAFTA-MAPLE-0001", Program: "NAFTA", CertifierRole: "exporter",
		Certifier: wire.Party{ID: "participant/maple-ca", Name: "Maple Foods Ltd", Title: "President"}, Producer: &wire.Party{Name: wire.ProducerVarious},
		Importer: &wire.Party{Name: "BigBox Stores Inc."}, ExportCountry: "CA", ImportCountry: "US",
		Goods:         []wire.GoodsItem{{Description: "Maple syrup", HSCode: "170220", OriginCriterion: "A", CountryOfOrigin: "CA", ProducerIndicator: "YES", NetCost: "NO"}},
		BlanketPeriod: &wire.Period{ValidFrom: "2020-01-01T00:00:00Z", ValidUntil: "2020-06-30T00:00:00Z"}, SignedAt: "2019-12-15T00:00:00Z", Language: "en"}
	if err := t.ok("maple-ca", wire.TypeCertificateIssue, nafta); err != nil {
		return err
	}
	cafe := wire.Certificate{ID: "CAFTA-CAFE-0001", Program: "CAFTA-DR", CertifierRole: "exporter",
		Certifier: wire.Party{ID: "participant/cafe-cr", Name: "Café de Altura SA"}, Importer: &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc."},
		ExportCountry: "CR", ImportCountry: "US", Goods: []wire.GoodsItem{{Description: "Green arabica coffee", HSCode: "090111", OriginCriterion: "A", CountryOfOrigin: "CR"}},
		SignedAt: tx.FormatTime(t.now.Add(-2 * time.Hour)), Language: "es"}
	if err := t.ok("cafe-cr", wire.TypeCertificateIssue, cafe); err != nil {
		return err
	}
	if err := t.ok("agency-cr-dga", wire.TypeCertificateEndorse, wire.CertificateEndorse{ID: cafe.ID}); err != nil {
		return err
	}
	// What the ledger refuses, and says why.
	long := t.acmeCert("USMCA-ACME-0099")
	long.BlanketPeriod.ValidUntil = tx.FormatTime(t.now.AddDate(0, 12, 0))
	if err := t.refused("acme-mx", wire.TypeCertificateIssue, long, "13-month blanket period"); err != nil {
		return err
	}
	badHS := t.acmeCert("USMCA-ACME-0098")
	badHS.Goods[0].HSCode = "84A1"
	if err := t.refused("acme-mx", wire.TypeCertificateIssue, badHS, "HS code 84A1"); err != nil {
		return err
	}
	ghost := t.acmeCert("USMCA-GHOST-0001")
	ghost.Certifier.ID = "participant/maker-mx"
	if err := t.refused("maker-mx", wire.TypeCertificateIssue, ghost, "a participant without the certifier role"); err != nil {
		return err
	}
	if err := t.refused("agency-us-fda", wire.TypeCertificateRevoke, wire.CertificateRevoke{ID: c1.ID, Reason: "not ours to decide"}, "FDA, not the customs authority, revoking a certificate of origin"); err != nil {
		return err
	}
	return t.refused("agency-ca-cbsa", wire.TypeCertificateRevoke, wire.CertificateRevoke{ID: c1.ID, Reason: "not ours"}, "CBSA revoking a Mexico-US certificate")
}

func (t *tradeSeed) licenses() error {
	// An international registration (Madrid) designating the three
	// countries: a USPTO registration alone is no right in Mexico or Canada.
	if err := t.ok("agency-us-cbp", wire.TypeIPRightRegister, wire.IPRightRegister{ID: "TM-ACME", Type: "trademark", Office: "WIPO", RegistrationNumber: "1523456",
		Title: "ACME (word mark), class 25 apparel", Holder: "participant/acme-brands-us", Countries: []string{"US", "MX", "CA"},
		Evidence: "WIPO international registration no. 1523456 (basic registration USPTO 5123456)"}); err != nil {
		return err
	}
	if err := t.refused("agency-us-cbp", wire.TypeIPRightRegister, wire.IPRightRegister{ID: "TM-ACME-USPTO", Type: "trademark", Office: "USPTO", RegistrationNumber: "5123456",
		Title: "ACME (word mark)", Holder: "participant/acme-brands-us", Countries: []string{"US", "MX", "CA"}}, "a USPTO registration claimed for Mexico and Canada"); err != nil {
		return err
	}
	grant := func(id, licensor, licensee, parent string, territory, hs []string, depth int) wire.LicenseGrant {
		return wire.LicenseGrant{ID: id, Right: "TM-ACME", Licensor: "participant/" + licensor, Licensee: "participant/" + licensee,
			Goods: wire.LicensedGoods{Description: "Apparel bearing the ACME mark", HSPrefixes: hs}, Territory: territory,
			ValidFrom: tx.FormatTime(t.now.AddDate(0, -2, 0)), ValidUntil: tx.FormatTime(t.now.AddDate(2, 0, 0)),
			Sublicensing: wire.Sublicensing{Allowed: depth > 0, Depth: depth}, Parent: parent}
	}
	for _, g := range []struct {
		signer string
		g      wire.LicenseGrant
	}{
		{"acme-brands-us", grant("LIC-ACME-MX", "acme-brands-us", "maker-mx", "", []string{"US", "MX", "CA"}, []string{"6109", "6110"}, 1)},
		{"maker-mx", grant("LIC-BIGBOX", "maker-mx", "bigbox-us", "LIC-ACME-MX", []string{"US"}, []string{"6109"}, 0)},
		{"acme-brands-us", grant("LIC-ACME-MX-2", "acme-brands-us", "maker-mx", "", []string{"US", "CA"}, []string{"61"}, 1)},
		{"maker-mx", grant("LIC-DIST", "maker-mx", "dist-us", "LIC-ACME-MX-2", []string{"US"}, []string{"6109", "6110"}, 0)},
	} {
		if err := t.ok(g.signer, wire.TypeLicenseGrant, g.g); err != nil {
			return err
		}
	}
	if err := t.ok("acme-brands-us", wire.TypeLicenseRevoke, wire.LicenseRevoke{ID: "LIC-ACME-MX-2", Reason: "quality audit failed"}); err != nil {
		return err
	}
	return t.refused("maker-mx", wire.TypeLicenseGrant, grant("LIC-BRAZIL", "maker-mx", "bigbox-us", "LIC-ACME-MX", []string{"US", "BR"}, []string{"6109"}, 0),
		"sub-license wider in territory than its parent")
}

func (t *tradeSeed) shipments() error {
	// Entered now, after USMCA-ACME-0003 was revoked.
	entered := tx.FormatTime(time.Now())
	s := wire.Shipment{ID: "ENTRY-0001", Importer: "participant/bigbox-us", EntryDate: entered, DestinationCountry: "US",
		Lines: []wire.ShipmentLine{
			{Line: 1, Description: "ACME cotton T-shirts", HSCode: "6109100012", OriginCountry: "MX", ExportCountry: "MX", ValueUSD: 48200,
				Certificate: "USMCA-ACME-0001", Licenses: []string{"LIC-BIGBOX"}},
			{Line: 2, Description: "Portable computers", HSCode: "8471300100", OriginCountry: "MX", ExportCountry: "MX", ValueUSD: 125000, Certificate: "USMCA-ACME-0003"},
			{Line: 3, Description: "Green coffee", HSCode: "0901110020", OriginCountry: "CR", ExportCountry: "CR", ValueUSD: 9000, Certificate: "CAFTA-CAFE-0001"},
		}}
	if err := t.ok("bigbox-us", wire.TypeShipmentDeclare, s); err != nil {
		return err
	}
	s2 := s
	s2.ID = "ENTRY-0002"
	s2.Lines = []wire.ShipmentLine{s.Lines[0], s.Lines[2]}
	return t.ok("bigbox-us", wire.TypeShipmentDeclare, s2)
}
