package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) agencyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agency",
		Short: "Register, update, suspend and inspect customs and partner agencies",
		Long: `Agencies are registered, updated, suspended and reinstated by the network admin
(sign with --key $LEDGER_ADMIN_KEY). An agency enrols the participants of its
own country and signs endorsements and revocations with its own keys.`,
	}
	cmd.AddCommand(a.agencyRegisterCmd(), a.agencyUpdateCmd(), a.agencySuspendCmd(), a.agencyReinstateCmd(), a.agencyGetCmd(), a.agencyListCmd())
	return cmd
}

// keyIDs reads --public-key values: key ids, or key files (their public half).
func keyIDs(vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		if _, err := tx.ParseKeyID(v); err == nil {
			out = append(out, v)
			continue
		}
		k, err := tx.ReadKeyFile(v)
		if err != nil {
			return nil, fmt.Errorf("--public-key %q: neither a key id nor a readable key file: %v", v, err)
		}
		out = append(out, keyIDOf(k))
	}
	return out, nil
}

func (a *App) agencyRegisterCmd() *cobra.Command {
	var p wire.AgencyRegister
	var keys []string
	var cf contactFlags
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "register --id ID --name NAME --country CC [--role customs] --program P... --public-key KEY...",
		Short: "Register an agency with its country, roles, programs and public keys (network admin)",
		Long: `Register an agency. --role customs makes it the customs authority of its
country: it revokes and endorses certificates of origin and records entries.
Partner agencies (food, health, sanctions, ...) have no role: they enrol
participants and publish their rules.`,
		Example: `  ledgerctl keys create --out cbp.key
  ledgerctl agency register --key $LEDGER_ADMIN_KEY --id us-cbp --name "U.S. Customs and Border Protection" \
    --country US --role customs --program USMCA --program CAFTA-DR --program NAFTA --program IPR --public-key cbp.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ids, err := keyIDs(keys)
			if err != nil {
				return err
			}
			p.PublicKeys = ids
			p.Contact = cf.contact()
			return a.submitTrade(cmd, wire.TypeAgencyRegister, p, &sf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.ID, "id", "", "agency id (lower case, e.g. us-cbp); its identity is agency/<id>")
	f.StringVar(&p.Name, "name", "", "agency name")
	f.StringVar(&p.Country, "country", "", "ISO 3166-1 alpha-2 country code")
	f.StringSliceVar(&p.Roles, "role", nil, "an authority the agency holds in its country (customs); repeat")
	f.StringSliceVar(&p.Programs, "program", nil, "a program the agency acts on (USMCA, CAFTA-DR, NAFTA, IPR, ...); repeat")
	f.StringSliceVar(&keys, "public-key", nil, "a public key id or key file; repeat")
	cf.add(cmd, false)
	sf.add(cmd)
	return cmd
}

func (a *App) agencyUpdateCmd() *cobra.Command {
	var p wire.AgencyUpdate
	var roles []string
	var noRoles bool
	var cf contactFlags
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "update ID [--name NAME] [--role R... | --no-roles] [--program P...] [--email E --phone P]",
		Short: "Change an agency's name, roles or programs (each replacing the list) or contact (network admin)",
		Example: `  ledgerctl agency update cbsa --program USMCA --program NAFTA --program IPR --key $LEDGER_ADMIN_KEY
  ledgerctl agency update mx-anam --role customs --key $LEDGER_ADMIN_KEY
  ledgerctl agency update us-ofac --no-roles --key $LEDGER_ADMIN_KEY`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.ID = agencyID(args[0])
			if !cmd.Flags().Changed("program") {
				p.Programs = nil
			}
			switch {
			case noRoles:
				p.Roles = wire.Replacing[string](nil)
			case cmd.Flags().Changed("role"):
				p.Roles = wire.Replacing(roles)
			default:
				p.Roles = nil
			}
			p.Contact = cf.contact()
			return a.submitTrade(cmd, wire.TypeAgencyUpdate, p, &sf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Name, "name", "", "new name")
	f.StringSliceVar(&roles, "role", nil, "the roles (replaces the list: customs); repeat")
	f.BoolVar(&noRoles, "no-roles", false, "remove every role the agency holds")
	cmd.MarkFlagsMutuallyExclusive("role", "no-roles")
	f.StringSliceVar(&p.Programs, "program", nil, "the programs (replaces the list); repeat")
	cf.add(cmd, false)
	sf.add(cmd)
	return cmd
}

func (a *App) agencySuspendCmd() *cobra.Command {
	var p wire.AgencySuspend
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "suspend ID --reason TEXT",
		Short: "Suspend an agency from block time: its keys stop signing, its history stays (network admin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.ID = agencyID(args[0])
			return a.submitTrade(cmd, wire.TypeAgencySuspend, p, &sf)
		},
	}
	cmd.Flags().StringVar(&p.Reason, "reason", "", "why the agency is suspended (required)")
	sf.add(cmd)
	return cmd
}

func (a *App) agencyReinstateCmd() *cobra.Command {
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "reinstate ID",
		Short: "Reinstate a suspended agency (network admin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.submitTrade(cmd, wire.TypeAgencyReinstate, wire.AgencyReinstate{ID: agencyID(args[0])}, &sf)
		},
	}
	sf.add(cmd)
	return cmd
}

func (a *App) agencyGetCmd() *cobra.Command {
	var ro readOpts
	cmd := &cobra.Command{
		Use:     "get ID",
		Short:   "Show an agency, its history and its keys (with each key's history)",
		Example: "  ledgerctl agency get us-cbp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.AgencyResponse, error) {
				return c.Agency(ctx, args[0], ro.options())
			}, func(w io.Writer, r *wire.AgencyResponse) {
				ag := r.Agency
				row(w, "AGENCY", "NAME", "COUNTRY", "ROLES", "PROGRAMS", "STATUS", "SINCE")
				row(w, ag.Identity, ag.Name, ag.Country, dash(strings.Join(ag.Roles, ",")), strings.Join(ag.Programs, ","), ag.Status, ag.Since)
				printHistory(w, ag.History)
				printKeys(w, r.Keys)
			})
		},
	}
	ro.add(cmd)
	return cmd
}

func (a *App) agencyListCmd() *cobra.Command {
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the registered agencies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) ([]*wire.Agency, error) {
				return c.Agencies(ctx, ro.options())
			}, func(w io.Writer, list []*wire.Agency) {
				row(w, "AGENCY", "NAME", "COUNTRY", "ROLES", "PROGRAMS", "STATUS")
				for _, ag := range list {
					row(w, ag.Identity, ag.Name, ag.Country, dash(strings.Join(ag.Roles, ",")), strings.Join(ag.Programs, ","), ag.Status)
				}
			})
		},
	}
	ro.add(cmd)
	return cmd
}

func printHistory(w io.Writer, h []wire.StatusEvent) {
	if len(h) == 0 {
		return
	}
	fmt.Fprintln(w)
	row(w, "TIME", "EVENT", "BY", "TX", "DETAIL")
	for _, e := range h {
		row(w, e.Time, e.Event, e.By, short(e.TxID, 16), e.Detail)
	}
}

func printKeys(w io.Writer, keys []*wire.Key) {
	fmt.Fprintln(w)
	row(w, "KEY", "VALID FROM", "RETIRED", "REVOKED", "KEY ID")
	for _, k := range keys {
		row(w, k.Fingerprint, k.ValidFrom, dash(k.RetiredAt), dash(k.RevokedAt), k.KeyID)
	}
}
