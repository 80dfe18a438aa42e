package security

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/trade"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// extraCatalogue is where domain transaction types add hostile entries:
// each agency, participant and policy may only touch what it owns or what
// its jurisdiction (its country) and its role allow. The cast is set up
// here, through the real handlers, before the state hash is taken.
func extraCatalogue(t *testing.T, c *testcluster.Cluster) []hostile {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now().UTC()
	keys := map[string]ed25519.PrivateKey{"admin": c.Admin}
	pub := func(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }
	sign := func(signer, typ string, p any) []byte {
		st, err := c.Sign(keys[signer], typ, p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Canonical
	}
	must := func(signer, typ string, p any) {
		t.Helper()
		st, err := c.Sign(keys[signer], typ, p)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Client(0).Submit(ctx, st, client.SubmitOptions{})
		if err != nil {
			t.Fatalf("setup %s by %s: %v", typ, signer, err)
		}
		if resp.Receipt.Status != chain.Accepted {
			t.Fatalf("setup %s by %s rejected: %+v", typ, signer, resp.Receipt.Reasons)
		}
	}

	// Agencies A (CBP, US) and B (CBSA, CA; SAT, MX), and one that the
	// admin suspends (DGA, CR).
	for _, a := range []wire.AgencyRegister{
		{ID: "us-cbp", Name: "U.S. Customs and Border Protection", Country: "US", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "IPR"}},
		{ID: "ca-cbsa", Name: "Canada Border Services Agency", Country: "CA", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "IPR"}},
		{ID: "mx-sat", Name: "Servicio de Administración Tributaria", Country: "MX", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "IPR"}},
		{ID: "cr-dga", Name: "Dirección General de Aduanas", Country: "CR", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"CAFTA-DR"}},
	} {
		k, _ := tx.GenerateKey()
		keys[a.ID] = k
		a.PublicKeys = []string{pub(k)}
		must("admin", "agency.register", a)
	}
	for _, p := range []struct {
		agency string
		enrol  wire.ParticipantEnrol
	}{
		{"mx-sat", wire.ParticipantEnrol{ID: "acme-mx", Name: "ACME Exportaciones", Country: "MX", Roles: []string{"exporter", "producer", "certifier", "licensee"}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "bigbox-us", Name: "BigBox Stores", Country: "US", Roles: []string{"importer", "licensee"}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "holder-us", Name: "ACME Brands", Country: "US", Roles: []string{"rightsholder"}}},
	} {
		k, _ := tx.GenerateKey()
		keys[p.enrol.ID] = k
		p.enrol.PublicKeys = []string{pub(k)}
		must(p.agency, "participant.enrol", p.enrol)
	}
	cert := wire.Certificate{ID: "USMCA-CAT-0001", Program: "USMCA", CertifierRole: "exporter",
		Certifier: wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones", Title: "Director"},
		Importer:  &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores"}, ExportCountry: "MX", ImportCountry: "US",
		Goods:    []wire.GoodsItem{{Description: "Laptops", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"}},
		SignedAt: tx.FormatTime(now.Add(-time.Hour)), Language: "en"}
	must("acme-mx", "certificate.issue", cert)
	must("us-cbp", "ipright.register", wire.IPRightRegister{ID: "TM-CAT", Type: "trademark", Office: "USPTO", RegistrationNumber: "1",
		Title: "CAT", Holder: "participant/holder-us"})
	grant := func(id, licensor, licensee, parent string, territory []string, depth int) wire.LicenseGrant {
		return wire.LicenseGrant{ID: id, Right: "TM-CAT", Licensor: "participant/" + licensor, Licensee: "participant/" + licensee,
			Goods: wire.LicensedGoods{Description: "CAT apparel", HSPrefixes: []string{"6109"}}, Territory: territory,
			ValidFrom: tx.FormatTime(now.Add(-time.Hour)), ValidUntil: tx.FormatTime(now.AddDate(1, 0, 0)),
			Sublicensing: wire.Sublicensing{Allowed: depth > 0, Depth: depth}, Parent: parent}
	}
	// acme-mx may use the mark in the US but not sub-license it.
	must("holder-us", "license.grant", grant("LIC-CAT", "holder-us", "acme-mx", "", []string{"US"}, 0))
	cbpPolicy := policy.Policy{ID: "us-cbp-cat", Agency: "us-cbp", Enforcement: policy.Audit,
		Scope: policy.Scope{DocumentTypes: []string{"shipment"}, DestinationCountries: []string{"US"}},
		Rules: []policy.Rule{{Name: "has-lines", Expression: `size(doc.lines) > 0`}}}
	must("us-cbp", policystate.TypePublish, cbpPolicy)
	must("admin", "agency.suspend", wire.AgencySuspend{ID: "cr-dga", Reason: "catalogue: keys reported lost"})

	amended := cert
	amended.Goods = []wire.GoodsItem{{Description: "Laptops", HSCode: "847130", OriginCriterion: "A", CountryOfOrigin: "MX"}}
	takeover := cbpPolicy
	takeover.Enforcement = policy.Enforce
	takeover.Rules = []policy.Rule{{Name: "nothing-passes", Expression: `false`}}
	foreign := takeover
	foreign.ID = "ca-cbsa-in-cbp-name"
	foreign.Agency = "us-cbp"
	stray, _ := tx.GenerateKey()
	importerCert := cert
	importerCert.ID, importerCert.CertifierRole = "USMCA-CAT-0002", "importer"
	importerCert.Certifier = wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores", Title: "Buyer"}
	importerCert.Importer = nil
	return []hostile{
		// Agency B touching agency A's records.
		{"agency B revokes a certificate between A and C (CBSA revoking a Mexico-US certificate)",
			sign("ca-cbsa", "certificate.revoke", wire.CertificateRevoke{ID: cert.ID, Reason: "not ours"}), 200, trade.CodeJurisdiction},
		{"agency B amends another country's certificate (CBSA amending a Mexico-US certificate)",
			sign("ca-cbsa", "certificate.amend", wire.CertificateAmend{ID: cert.ID, Supersedes: 1, Reason: "criterion changed", Certificate: amended}), 403, wire.CodeUnauthorized},
		{"agency B endorses a certificate of A's exports (CBSA endorsing a Mexican export)",
			sign("ca-cbsa", "certificate.endorse", wire.CertificateEndorse{ID: cert.ID}), 200, trade.CodeJurisdiction},
		{"agency B updates agency A's policy",
			sign("ca-cbsa", policystate.TypeUpdate, takeover), 403, wire.CodeUnauthorized},
		{"agency B withdraws agency A's policy",
			sign("ca-cbsa", policystate.TypeWithdraw, policystate.Withdraw{ID: cbpPolicy.ID, Reason: "in the way"}), 200, wire.CodeUnauthorized},
		{"agency B publishes a policy in agency A's name",
			sign("ca-cbsa", policystate.TypePublish, foreign), 403, wire.CodeUnauthorized},
		{"agency B enrols a participant of A's country (SAT enrolling a US importer)",
			sign("mx-sat", "participant.enrol", wire.ParticipantEnrol{ID: "texas-imports", Name: "Texas Imports", Country: "US",
				Roles: []string{"importer"}, PublicKeys: []string{pub(stray)}}), 200, trade.CodeJurisdiction},
		{"agency B changes the roles of A's participant (SAT making a US importer a certifier)",
			sign("mx-sat", "participant.update", wire.ParticipantUpdate{ID: "bigbox-us", Roles: []string{"importer", "certifier"}}), 200, trade.CodeJurisdiction},
		{"agency B suspends A's participant (CBSA suspending a US importer)",
			sign("ca-cbsa", "participant.suspend", wire.ParticipantStatus{ID: "bigbox-us", Reason: "rival"}), 200, trade.CodeJurisdiction},
		{"agency B vouches for an IP right of A's rights holder (SAT registering a US holder's mark)",
			sign("mx-sat", "ipright.register", wire.IPRightRegister{ID: "TM-HIJACK", Type: "trademark", Office: "USPTO", RegistrationNumber: "2",
				Title: "hijack", Holder: "participant/holder-us"}), 200, trade.CodeJurisdiction},
		{"agency B revokes a license covering only A's territory (CBSA revoking a US license)",
			sign("ca-cbsa", "license.revoke", wire.LicenseRevoke{ID: "LIC-CAT", Reason: "not ours"}), 200, trade.CodeJurisdiction},
		{"agency B declares an entry into A's country",
			sign("ca-cbsa", "shipment.declare", wire.Shipment{ID: "ENTRY-CAT", Importer: "participant/bigbox-us", EntryDate: tx.FormatTime(now), DestinationCountry: "US",
				Lines: []wire.ShipmentLine{{Line: 1, Description: "Laptops", HSCode: "847130", OriginCountry: "MX", Certificate: cert.ID}}}), 200, trade.CodeJurisdiction},

		// Participants acting outside their role.
		{"an importer issues a certificate without the certifier role",
			sign("bigbox-us", "certificate.issue", importerCert), 200, trade.CodeWrongRole},
		{"a licensee grants a sub-license its license does not allow",
			sign("acme-mx", "license.grant", grant("LIC-CAT-SUB", "acme-mx", "bigbox-us", "LIC-CAT", []string{"US"}, 0)), 200, trade.CodeSublicensingNotAllowed},
		{"a participant issues a certificate in another certifier's name",
			sign("bigbox-us", "certificate.issue", func() wire.Certificate { c := cert; c.ID = "USMCA-CAT-0003"; return c }()), 200, wire.CodeUnauthorized},
		{"a participant revokes someone else's certificate",
			sign("bigbox-us", "certificate.revoke", wire.CertificateRevoke{ID: cert.ID, Reason: "competitor"}), 200, wire.CodeUnauthorized},
		{"a participant declares an entry for another importer",
			sign("acme-mx", "shipment.declare", wire.Shipment{ID: "ENTRY-CAT-2", Importer: "participant/bigbox-us", EntryDate: tx.FormatTime(now), DestinationCountry: "US",
				Lines: []wire.ShipmentLine{{Line: 1, Description: "Laptops", HSCode: "847130", OriginCountry: "MX", Certificate: cert.ID}}}), 200, wire.CodeUnauthorized},
		{"a participant enrols a participant",
			sign("bigbox-us", "participant.enrol", wire.ParticipantEnrol{ID: "friend-us", Name: "Friend", Country: "US",
				Roles: []string{"certifier"}, PublicKeys: []string{pub(stray)}}), 403, wire.CodeUnauthorized},
		{"a participant publishes an agency policy",
			sign("bigbox-us", policystate.TypePublish, policy.Policy{ID: "bigbox-rules", Agency: "us-cbp", Enforcement: policy.Enforce,
				Rules: []policy.Rule{{Name: "r", Expression: "true"}}}), 403, wire.CodeUnauthorized},

		// Agency operations by a non-admin.
		{"agency.register by an agency",
			sign("us-cbp", "agency.register", wire.AgencyRegister{ID: "us-shadow", Name: "Shadow agency", Country: "US", Programs: []string{"USMCA"},
				PublicKeys: []string{pub(stray)}}), 403, wire.CodeUnauthorized},
		{"agency.suspend of another agency by an agency",
			sign("us-cbp", "agency.suspend", wire.AgencySuspend{ID: "ca-cbsa", Reason: "rival"}), 403, wire.CodeUnauthorized},
		{"agency.reinstate of a suspended agency by a participant",
			sign("acme-mx", "agency.reinstate", wire.AgencyReinstate{ID: "cr-dga"}), 403, wire.CodeUnauthorized},

		// A suspended agency's keys sign nothing.
		{"a suspended agency's key enrols a participant",
			sign("cr-dga", "participant.enrol", wire.ParticipantEnrol{ID: "cafe-cr", Name: "Cafe", Country: "CR", Roles: []string{"exporter"},
				PublicKeys: []string{pub(stray)}}), 403, wire.CodeUnauthorized},
		{"a suspended agency's key publishes a policy",
			sign("cr-dga", policystate.TypePublish, policy.Policy{ID: "cr-dga-rules", Agency: "cr-dga", Enforcement: policy.Enforce,
				Rules: []policy.Rule{{Name: "r", Expression: "true"}}}), 403, wire.CodeUnauthorized},
	}
}

func apiDetail(code, msg string) wire.ErrorDetail { return wire.ErrorDetail{Code: code, Message: msg} }
