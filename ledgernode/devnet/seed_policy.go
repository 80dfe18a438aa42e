package devnet

import (
	"context"
	"crypto/ed25519"
	"embed"
	"fmt"
	"path"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
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
	Programs          []string
}

// policyAgencies own the demo policies. us-cbp is usually registered by the
// trade seeder already; the others are registered here if missing.
var policyAgencies = []demoAgency{
	{ID: "us-fda", Name: "U.S. Food and Drug Administration", Country: "US", Programs: []string{"USMCA", "CAFTA-DR"}},
	{ID: "us-cbp", Name: "U.S. Customs and Border Protection", Country: "US", Programs: []string{"USMCA", "CAFTA-DR", "NAFTA", "IPR"}},
	{ID: "us-ofac", Name: "Office of Foreign Assets Control", Country: "US", Programs: []string{"USMCA", "CAFTA-DR"}},
}

// agencyRegisterType is the admin transaction that registers an agency
// (built with the trade records); without it the policy demo is skipped.
const agencyRegisterType = "agency.register"

func init() {
	Seeders = append(Seeders, Seeder{
		Name:  "policy",
		Order: 20,
		Run:   seedPolicies,
		Tour: []string{
			"ledgerctl policy list",
			"ledgerctl policy get us-fda-seafood-facility -o yaml",
			"ledgerctl policy scope --type certificate --program USMCA --hs 030617 --origin MX --destination US",
			"ledgerctl policy test ledgernode/devnet/policies/us-fda-seafood-facility.yaml --input ledgernode/devnet/policies/inputs/shrimp-unregistered.yaml   # Enforce: reject, exit 2",
			"ledgerctl policy test ledgernode/devnet/policies/us-cbp-usmca-criterion-c.yaml --input ledgernode/devnet/policies/inputs/usmca-criterion-c-various.yaml   # Audit: finding, accepted",
		},
	})
}

func seedPolicies(ctx context.Context, s *Seed) error {
	types, err := s.Client.Types(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, t := range types {
		have[t.Type] = true
	}
	if !have[policystate.TypePublish] {
		fmt.Fprintln(s.Out, "  policy demo skipped: this ledger has no policy.publish")
		return nil
	}
	if !have[agencyRegisterType] {
		fmt.Fprintf(s.Out, "  policy demo skipped: this ledger has no %s yet (agencies come with the trade records)\n", agencyRegisterType)
		return nil
	}
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
		if _, err := s.Submit(ctx, key, policystate.TypePublish, p, false); err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		fmt.Fprintf(s.Out, "  published policy %s (%s, %s)\n", p.ID, p.Agency, p.Enforcement)
	}
	return nil
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
		_, err := s.Submit(ctx, s.Admin, agencyRegisterType, map[string]any{"id": a.ID, "name": a.Name, "country": a.Country,
			"programs": a.Programs, "publicKeys": []string{keyID}}, false)
		return k, err
	case err != nil:
		return nil, err
	}
	for _, have := range ident.Keys {
		if have.KeyID == keyID {
			return k, nil
		}
	}
	_, err = s.Submit(ctx, s.Admin, "key.register", map[string]string{"owner": owner, "name": a.Name, "publicKey": keyID}, false)
	return k, err
}
