package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) participantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "participant",
		Aliases: []string{"participants"},
		Short:   "Enrol and inspect exporters, producers, importers, certifiers, rights holders and licensees",
		Long: `An agency enrols the participants of its own country (sign with the agency's
key). Roles: exporter, producer, importer, certifier, rightsholder, licensee.`,
	}
	cmd.AddCommand(a.participantEnrolCmd(), a.participantUpdateCmd(), a.participantStatusCmd("suspend"), a.participantStatusCmd("reinstate"),
		a.participantGetCmd(), a.participantListCmd())
	return cmd
}

func parseIdentifiers(vals []string) ([]wire.Identifier, error) {
	var out []wire.Identifier
	for _, v := range vals {
		scheme, value, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("--identifier %q: give SCHEME=VALUE, e.g. RFC=ACM010101AB1 or EIN=12-3456789", v)
		}
		out = append(out, wire.Identifier{Scheme: scheme, Value: value})
	}
	return out, nil
}

func (a *App) participantEnrolCmd() *cobra.Command {
	var p wire.ParticipantEnrol
	var keys, idents []string
	var cf contactFlags
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "enrol --id ID --name NAME --country CC --role R... --public-key KEY...",
		Short: "Enrol a participant of the signing agency's country (agency key)",
		Example: `  ledgerctl keys create --out acme.key
  ledgerctl participant enrol --key sat.key --id acme-mx --name "ACME Exportaciones SA de CV" --country MX \
    --role exporter --role producer --role certifier --identifier RFC=ACM010101AB1 --public-key acme.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if p.PublicKeys, err = keyIDs(keys); err != nil {
				return err
			}
			if p.Identifiers, err = parseIdentifiers(idents); err != nil {
				return err
			}
			p.Contact = cf.contact()
			return a.submitTrade(cmd, wire.TypeParticipantEnrol, p, &sf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.ID, "id", "", "participant id (lower case, e.g. acme-mx); its identity is participant/<id>")
	f.StringVar(&p.Name, "name", "", "legal name")
	f.StringVar(&p.Country, "country", "", "ISO 3166-1 alpha-2 country code (the agency's own)")
	f.StringSliceVar(&p.Roles, "role", nil, "exporter, producer, importer, certifier, rightsholder or licensee; repeat")
	f.StringSliceVar(&idents, "identifier", nil, "SCHEME=VALUE business identifier (tax or customs number); repeat")
	f.StringSliceVar(&keys, "public-key", nil, "a public key id or key file; repeat")
	f.StringVar(&p.Evidence, "evidence", "", "what the agency relied on (e.g. a registration certificate's reference)")
	cf.add(cmd, true)
	sf.add(cmd)
	return cmd
}

func (a *App) participantUpdateCmd() *cobra.Command {
	var p wire.ParticipantUpdate
	var sf submitFlags
	cmd := &cobra.Command{
		Use:     "update ID [--name NAME] [--role R...]",
		Short:   "Change a participant's name or roles (agency of its country)",
		Example: "  ledgerctl participant update maker-mx --role licensee --role producer --role certifier --key sat.key",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.ID = args[0]
			if !cmd.Flags().Changed("role") {
				p.Roles = nil
			}
			return a.submitTrade(cmd, wire.TypeParticipantUpdate, p, &sf)
		},
	}
	cmd.Flags().StringVar(&p.Name, "name", "", "new name")
	cmd.Flags().StringSliceVar(&p.Roles, "role", nil, "the roles (replaces the list); repeat")
	sf.add(cmd)
	return cmd
}

func (a *App) participantStatusCmd(verb string) *cobra.Command {
	var p wire.ParticipantStatus
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: map[string]string{"suspend": "Suspend a participant from block time: its keys stop signing (agency of its country)", "reinstate": "Reinstate a suspended participant (agency of its country)"}[verb],
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.ID = args[0]
			return a.submitTrade(cmd, "participant."+verb, p, &sf)
		},
	}
	if verb == "suspend" {
		cmd.Flags().StringVar(&p.Reason, "reason", "", "why (required)")
	}
	sf.add(cmd)
	return cmd
}

func (a *App) participantGetCmd() *cobra.Command {
	var ro readOpts
	cmd := &cobra.Command{
		Use:     "get ID",
		Short:   "Show a participant, its history and its keys (with each key's history)",
		Example: "  ledgerctl participant get acme-mx",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.ParticipantResponse, error) {
				return c.Participant(ctx, args[0], ro.options())
			}, func(w io.Writer, r *wire.ParticipantResponse) {
				p := r.Participant
				row(w, "PARTICIPANT", "NAME", "COUNTRY", "ROLES", "ENROLLED BY", "STATUS", "SINCE")
				row(w, p.Identity, p.Name, p.Country, strings.Join(p.Roles, ","), p.EnrolledBy, p.Status, p.Since)
				printHistory(w, p.History)
				printKeys(w, r.Keys)
			})
		},
	}
	ro.add(cmd)
	return cmd
}

func (a *App) participantListCmd() *cobra.Command {
	var ro readOpts
	var f wire.ParticipantFilter
	cmd := &cobra.Command{
		Use:     "list [--agency A] [--role R] [--country CC]",
		Short:   "List participants",
		Example: "  ledgerctl participant list --role certifier --country MX",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) ([]*wire.Participant, error) {
				return c.Participants(ctx, f, ro.options())
			}, func(w io.Writer, list []*wire.Participant) {
				row(w, "PARTICIPANT", "NAME", "COUNTRY", "ROLES", "ENROLLED BY", "STATUS")
				for _, p := range list {
					row(w, p.Identity, p.Name, p.Country, strings.Join(p.Roles, ","), p.EnrolledBy, p.Status)
				}
			})
		},
	}
	cmd.Flags().StringVar(&f.Agency, "agency", "", "enrolled by this agency")
	cmd.Flags().StringVar(&f.Role, "role", "", "holding this role")
	cmd.Flags().StringVar(&f.Country, "country", "", "of this country")
	ro.add(cmd)
	return cmd
}

func (a *App) keysRotateCmd() *cobra.Command {
	var newKey, retire, retireAt string
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "rotate --new-key FILE [--retire KEY_ID] [--retire-at TIME]",
		Short: "Add a new key and retire an old one (signed with a current key of the same owner)",
		Long: `Register a new key for the owner of --key, valid from block time, and retire
an old key (default: the signing key) at --retire-at (default: block time; never
earlier). Signatures the old key made before then stay valid: every signature
is judged at its own block time against the key's history.`,
		Example: `  ledgerctl keys create --out acme-2026.key
  ledgerctl keys rotate --key acme.key --new-key acme-2026.key
  ledgerctl keys rotate --key acme.key --new-key acme-2026.key --retire-at 2026-06-01T00:00:00Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if newKey == "" {
				return fmt.Errorf("--new-key is required: a key file (ledgerctl keys create) or a key id")
			}
			ids, err := keyIDs([]string{newKey})
			if err != nil {
				return err
			}
			p := wire.KeyRotate{NewKey: ids[0], Retire: retire}
			if p.Retire == "" {
				k, err := a.Key()
				if err != nil {
					return err
				}
				p.Retire = keyIDOf(k)
			}
			if retireAt != "" {
				t, err := tx.ParseTime(retireAt)
				if err != nil {
					return fmt.Errorf("--retire-at %q: %v", retireAt, err)
				}
				if t.Before(time.Now().Add(-time.Minute)) {
					return fmt.Errorf("--retire-at %q is in the past; a rotation retires a key now or later (use 'keys revoke' for a compromise)", retireAt)
				}
				p.RetireAt = tx.FormatTime(t)
			}
			return a.submitTrade(cmd, wire.TypeKeyRotate, p, &sf)
		},
	}
	cmd.Flags().StringVar(&newKey, "new-key", "", "the new key: a key file or key id")
	cmd.Flags().StringVar(&retire, "retire", "", "key id to retire (default: the signing key)")
	cmd.Flags().StringVar(&retireAt, "retire-at", "", "RFC 3339 UTC time the old key stops signing (default: block time)")
	sf.add(cmd)
	return cmd
}
