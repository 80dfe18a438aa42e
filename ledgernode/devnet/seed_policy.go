package devnet

import (
	"context"
	"crypto/ed25519"
	"embed"
	"fmt"
	"path"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// demoPolicies are the agency policies the dev network publishes; the
// files under policies/inputs are evaluation inputs for the README tour
// (`ledgerctl policy test`).
//
//go:embed policies/*.yaml
var demoPolicies embed.FS

// demoAgency is an agency that owns demo policies.
type demoAgency struct {
	ID, Name, Country string
	Roles, Programs   []string
}

// policyAgencies own the demo policies. us-cbp is usually registered by the
// trade seeder already; the others are registered here if missing.
var policyAgencies = []demoAgency{
	{ID: "us-fda", Name: "U.S. Food and Drug Administration", Country: "US", Programs: []string{"USMCA", "CAFTA-DR"}},
	{ID: "us-cbp", Name: "U.S. Customs and Border Protection", Country: "US", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA", "CAFTA-DR", "NAFTA", "IPR"}},
	{ID: "us-ofac", Name: "Office of Foreign Assets Control", Country: "US", Programs: []string{"USMCA", "CAFTA-DR"}},
}

var policySeeder = Seeder{
	Name: "policy",
	Run:  seedPolicies,
	Tour: []string{
		"ledgerctl policy list                           # demo policies of US FDA, US CBP and OFAC",
		"ledgerctl policy get us-fda-seafood-facility -o yaml",
		"ledgerctl policy scope --type certificate --program USMCA --hs 030617 --origin MX --destination US",
		"ledgerctl policy history " + demoRejectedCert + "          # REJECTED on the ledger: FDA's Enforce rule, producer not a registered facility",
		"ledgerctl cert get " + demoRejectedCert + "                # not found (exit 1): a rejected certificate is never recorded",
		"ledgerctl policy history " + demoRegisteredCert + "          # accepted: the producer is registered, every rule passes",
		"ledgerctl policy history " + demoAuditedCert + "         # accepted with CBP's Audit finding: criterion C, producer \"Various\"",
		"ledgerctl cert get " + demoAuditedCert + "               # active; the agency rules' findings listed under it",
		"ledgerctl verify certificate " + demoAuditedCert + "      # VALID (1 warning): the verdict shows the Audit finding",
		"ledgerctl policy test ledgernode/devnet/policies/us-fda-seafood-facility.yaml --input ledgernode/devnet/policies/inputs/shrimp-unregistered.yaml   # offline: reject, exit 2",
		"ledgerctl policy test ledgernode/devnet/policies/us-cbp-usmca-criterion-c.yaml --input ledgernode/devnet/policies/inputs/usmca-criterion-c-various.yaml   # offline: Audit finding, accepted",
	},
}

func seedPolicies(ctx context.Context, s *Seed) error {
	keys := map[string]ed25519.PrivateKey{}
	for _, a := range policyAgencies {
		k, err := ensureAgencyKey(ctx, s, a)
		if err != nil {
			return fmt.Errorf("agency %s: %w", a.ID, err)
		}
		keys[a.ID] = k
	}
	files, err := demoPolicies.ReadDir("policies")
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.IsDir() {
			continue
		}
		raw, err := demoPolicies.ReadFile(path.Join("policies", f.Name()))
		if err != nil {
			return err
		}
		p, err := policy.ParseFile(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		key, ok := keys[p.Agency]
		if !ok {
			return fmt.Errorf("%s: agency %s has no demo key", f.Name(), p.Agency)
		}
		if _, err := s.Client.Policy(ctx, p.ID, client.ReadOptions{}); err == nil {
			continue // published by an earlier, interrupted run
		} else if !client.IsNotFound(err) {
			return err
		}
		if _, err := s.Submit(ctx, key, policy.TxPublish, p, false); err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		fmt.Fprintf(s.Out, "  published policy %s (%s, %s)\n", p.ID, p.Agency, p.Enforcement)
	}
	return seedRuledDocuments(ctx, s)
}

// ensureAgencyKey returns the agency's demo key (agency-<id>.key, the same
// file the trade seeder signs with), registering the agency
// (agency.register) or, when it exists with other keys, the key for it
// (key.register, by the admin).
func ensureAgencyKey(ctx context.Context, s *Seed, a demoAgency) (ed25519.PrivateKey, error) {
	k, err := s.NewKey("agency-" + a.ID)
	if err != nil {
		return nil, err
	}
	keyID := tx.KeyID(k.Public().(ed25519.PublicKey))
	owner := "agency/" + a.ID
	ident, err := s.Client.Identity(ctx, owner)
	switch {
	case client.IsNotFound(err):
		reg := wire.AgencyRegister{ID: a.ID, Name: a.Name, Country: a.Country, Roles: a.Roles, Programs: a.Programs, PublicKeys: []string{keyID}}
		_, err := s.Submit(ctx, s.Admin, wire.TypeAgencyRegister, reg, false)
		return k, err
	case err != nil:
		return nil, err
	}
	for _, have := range ident.Keys {
		if have.KeyID == keyID {
			return k, nil
		}
	}
	_, err = s.Submit(ctx, s.Admin, wire.TypeKeyRegister, wire.KeyRegister{Owner: owner, Name: a.Name, PublicKey: keyID}, false)
	return k, err
}

// Documents the demo policies decide on, on the ledger, submitted after
// the policies are in force: one the FDA's Enforce rule rejects, one it
// accepts, one CBP's Audit rule accepts with a finding.
const (
	demoRejectedCert   = "SHRIMP-MX-0001"
	demoRegisteredCert = "SHRIMP-MX-0002"
	demoAuditedCert    = "USMCA-ACME-0004"
)

// seedRuledDocuments enrols two shrimp producers (one with an FDA food
// facility registration, one without) and an importer, then issues their
// certificates and a criterion C certificate with the producer "Various".
// It signs with the trade seeder's keys (agency-mx-sat, agency-us-cbp,
// acme-mx) and is safe to run again after an interruption.
func seedRuledDocuments(ctx context.Context, s *Seed) error {
	for _, a := range []string{"agency/mx-sat", "agency/us-cbp", "participant/acme-mx"} {
		if _, err := s.Client.Identity(ctx, a); client.IsNotFound(err) {
			fmt.Fprintf(s.Out, "  documents for the agency rules skipped: %s is not on this ledger (it comes with the trade demo data)\n", a)
			return nil
		} else if err != nil {
			return err
		}
	}
	for _, e := range []struct {
		agency string
		p      wire.ParticipantEnrol
	}{
		{"mx-sat", wire.ParticipantEnrol{ID: "camarones-mx", Name: "Camarones del Pacifico SA de CV", Country: "MX", Roles: []string{"exporter", "producer", "certifier"},
			Identifiers: []wire.Identifier{{Scheme: "RFC", Value: "CPA010101AB1"}}}},
		{"mx-sat", wire.ParticipantEnrol{ID: "mariscos-mx", Name: "Mariscos de Sinaloa SA de CV", Country: "MX", Roles: []string{"exporter", "producer", "certifier"},
			Identifiers: []wire.Identifier{{Scheme: "RFC", Value: "MSI020202CD2"}, {Scheme: "fda-ffr", Value: "12345678901"}}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "gulf-foods-us", Name: "Gulf Coast Foods LLC", Country: "US", Roles: []string{"importer"}}},
	} {
		k, err := s.NewKey(e.p.ID)
		if err != nil {
			return err
		}
		if _, err := s.Client.Participant(ctx, e.p.ID, client.ReadOptions{}); err == nil {
			continue
		} else if !client.IsNotFound(err) {
			return err
		}
		ak, err := s.NewKey("agency-" + e.agency)
		if err != nil {
			return err
		}
		e.p.PublicKeys = []string{tx.KeyID(k.Public().(ed25519.PublicKey))}
		if _, err := s.Submit(ctx, ak, wire.TypeParticipantEnrol, e.p, false); err != nil {
			return fmt.Errorf("enrol %s: %w", e.p.ID, err)
		}
	}
	signed := tx.FormatTime(time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second))
	shrimp := func(id, producer, name string) wire.Certificate {
		return wire.Certificate{ID: id, Program: "USMCA", CertifierRole: "producer",
			Certifier:     wire.Party{ID: "participant/" + producer, Name: name, Title: "Director General", Country: "MX"},
			Importer:      &wire.Party{ID: "participant/gulf-foods-us", Name: "Gulf Coast Foods LLC", Country: "US"},
			ExportCountry: "MX", ImportCountry: "US",
			Goods:    []wire.GoodsItem{{Description: "Frozen shrimp, shell-on, 16/20 count", HSCode: "030617", OriginCriterion: "A", CountryOfOrigin: "MX"}},
			SignedAt: signed, Language: "es"}
	}
	docs := []struct {
		signer string
		cert   wire.Certificate
		reject bool
		what   string
	}{
		{"camarones-mx", shrimp(demoRejectedCert, "camarones-mx", "Camarones del Pacifico SA de CV"), true,
			"rejected by us-fda-seafood-facility (Enforce): the producer has no FDA food facility registration"},
		{"mariscos-mx", shrimp(demoRegisteredCert, "mariscos-mx", "Mariscos de Sinaloa SA de CV"), false,
			"accepted: the producer is a registered facility"},
		{"acme-mx", wire.Certificate{ID: demoAuditedCert, Program: "USMCA", CertifierRole: "exporter",
			Certifier:     wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV", Title: "Gerente de Exportacion", Country: "MX"},
			Producer:      &wire.Party{Name: wire.ProducerVarious},
			Importer:      &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc.", Country: "US"},
			ExportCountry: "MX", ImportCountry: "US",
			Goods:    []wire.GoodsItem{{Description: "Cotton T-shirts bearing the ACME mark", HSCode: "610910", OriginCriterion: "C", CountryOfOrigin: "MX"}},
			SignedAt: signed, Language: "es"}, false,
			"accepted with a finding of us-cbp-usmca-criterion-c-producer (Audit): criterion C, producer \"Various\""},
	}
	for _, d := range docs {
		if h, err := s.Client.Evaluations(ctx, d.cert.ID, client.ReadOptions{}); err != nil {
			return err
		} else if len(h.Evaluations) > 0 {
			continue // submitted by an earlier, interrupted run
		}
		k, err := s.NewKey(d.signer)
		if err != nil {
			return err
		}
		rc, err := s.Submit(ctx, k, wire.TypeCertificateIssue, d.cert, d.reject)
		if err != nil {
			return fmt.Errorf("%s: %w", d.cert.ID, err)
		}
		if d.reject {
			fmt.Fprintf(s.Out, "  %s %s\n    %s\n", d.cert.ID, d.what, rc.Reasons[0].Message)
		} else {
			fmt.Fprintf(s.Out, "  %s %s\n", d.cert.ID, d.what)
		}
	}
	return nil
}
