package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) iprightCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ipright",
		Short: "Register and inspect intellectual-property rights (trademarks, patents, copyrights, designs)",
	}
	var p wire.IPRightRegister
	var sf submitFlags
	reg := &cobra.Command{
		Use:   "register --id ID --type T --office O --registration-number N --title T --holder participant/X",
		Short: "Register a right held by an enrolled rights holder (agency acting on IPR)",
		Long: `Register an IP right. The office decides where the right is in force: a
--country outside its territory is refused (USPTO: US, IMPI: MX, CIPO: CA,
EUIPO: the EU; an ISO country code for a national office; WIPO for an
international registration, which may designate any country).`,
		Example: `  ledgerctl ipright register --key cbp.key --id TM-ACME --type trademark --office USPTO \
    --registration-number 5123456 --title "ACME (word mark)" --holder participant/acme-brands-us --country US
  ledgerctl ipright register --key cbp.key --id TM-ACME-INT --type trademark --office WIPO \
    --registration-number 1523456 --title "ACME (word mark)" --holder participant/acme-brands-us --country US --country MX --country CA`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.submitTrade(cmd, wire.TypeIPRightRegister, p, &sf)
		},
	}
	f := reg.Flags()
	f.StringVar(&p.ID, "id", "", "right id")
	f.StringVar(&p.Type, "type", "", "trademark, patent, copyright or design")
	f.StringVar(&p.Office, "office", "", "registering office (USPTO, IMPI, CIPO, EUIPO, UKIPO, JPO, CNIPA, KIPO, an ISO country code, or WIPO)")
	f.StringVar(&p.RegistrationNumber, "registration-number", "", "registration number at the office")
	f.StringVar(&p.Title, "title", "", "title or mark")
	f.StringVar(&p.Holder, "holder", "", "the rights holder's identity (participant/...)")
	f.StringSliceVar(&p.Countries, "country", nil, "countries where it is in force, within the office's territory; repeat")
	f.StringVar(&p.ValidUntil, "valid-until", "", "expiry (RFC 3339 UTC), if any")
	f.StringVar(&p.Evidence, "evidence", "", "what the agency relied on")
	sf.add(reg)
	var ro readOpts
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a registered right",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.IPRight, error) {
				return c.Right(ctx, args[0], ro.options())
			}, func(w io.Writer, r *wire.IPRight) {
				row(w, "RIGHT", "TYPE", "OFFICE", "NUMBER", "TITLE", "HOLDER", "VOUCHED BY")
				row(w, r.ID, r.Type, r.Office, r.RegistrationNumber, r.Title, r.Holder, r.VouchedBy)
			})
		},
	}
	ro.add(get)
	cmd.AddCommand(reg, get)
	return cmd
}

func (a *App) licenseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "license",
		Aliases: []string{"licenses"},
		Short:   "Grant, revoke, list and export IP licenses and sub-licenses",
		Long: `A root license is granted by the right's registered holder; a sub-license names
its parent, is granted by the parent's licensee and may only narrow it (goods,
territory, term) where the parent allows sub-licensing at that depth.

Ask: ledgerctl verify license --importer X --hs CODE --right R --country C --at DATE`,
	}
	cmd.AddCommand(a.licenseGrantCmd(), a.licenseRevokeCmd(), a.licenseGetCmd(), a.licenseListCmd(), a.licenseExportCmd())
	return cmd
}

func (a *App) licenseGrantCmd() *cobra.Command {
	var file string
	var p wire.LicenseGrant
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "grant (--file LICENSE.json | --id ID --right R --licensor L --licensee L --hs P... --territory CC... --from T --until T [--sublicense-depth N] [--parent ID])",
		Short: "Grant a license or a sub-license, signed by the licensor (--key)",
		Example: `  ledgerctl license grant --key acme-brands.key --id LIC-ACME-MX --right TM-ACME \
    --licensor participant/acme-brands-us --licensee participant/maker-mx --goods "ACME apparel" \
    --hs 6109 --hs 6110 --territory US --territory MX --territory CA \
    --from 2026-01-01T00:00:00Z --until 2028-01-01T00:00:00Z --sublicense-depth 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				if err := readPayload(file, &p); err != nil {
					return err
				}
			}
			p.Sublicensing.Allowed = p.Sublicensing.Depth > 0
			return a.submitTrade(cmd, wire.TypeLicenseGrant, p, &sf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "license JSON (instead of the flags)")
	f.StringVar(&p.ID, "id", "", "license id")
	f.StringVar(&p.Right, "right", "", "the IP right")
	f.StringVar(&p.Licensor, "licensor", "", "licensor identity (the signer)")
	f.StringVar(&p.Licensee, "licensee", "", "licensee identity")
	f.StringVar(&p.Goods.Description, "goods", "", "description of the licensed goods")
	f.StringSliceVar(&p.Goods.HSPrefixes, "hs", nil, "HS chapter, heading or subheading covered; repeat")
	f.StringSliceVar(&p.Territory, "territory", nil, "country code covered; repeat")
	f.StringVar(&p.ValidFrom, "from", "", "term start (RFC 3339 UTC)")
	f.StringVar(&p.ValidUntil, "until", "", "term end (RFC 3339 UTC)")
	f.IntVar(&p.Sublicensing.Depth, "sublicense-depth", 0, "how many further levels of sub-licenses may exist below this one (0: none)")
	f.StringVar(&p.Parent, "parent", "", "parent license, for a sub-license")
	sf.add(cmd)
	return cmd
}

func (a *App) licenseRevokeCmd() *cobra.Command {
	return a.revokeCmd(&cobra.Command{
		Use:     "revoke ID --reason TEXT [--effective TIME]",
		Short:   "Revoke a license from an effective time (licensor, rights holder or IPR agency)",
		Example: `  ledgerctl license revoke LIC-DIST-CA --reason "distribution agreement terminated" --key maker.key`,
	}, wire.TypeLicenseRevoke, func(id, reason, effective string) any {
		return wire.LicenseRevoke{ID: id, Reason: reason, Effective: effective}
	})
}

func (a *App) licenseGetCmd() *cobra.Command {
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a license, its place in its chain and whether it is in force (its effective status)",
		Long: `Show a license and its effective status: a license is in force only when it
is not revoked, is in term, and every license above it up to the rights holder
is too. STATUS is the license's own record; EFFECTIVE says whether it is in
force now (or at --known-at / --as-of-height) and, when not, which license on
the chain decides it and why (e.g. parent-revoked).`,
		Example: "  ledgerctl license get LIC-DIST",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.LicenseView, error) {
				return c.License(ctx, args[0], ro.options())
			}, func(w io.Writer, l *wire.LicenseView) {
				licenseTable(w, []*wire.LicenseView{l})
				if rv := l.Revocation; rv != nil {
					fmt.Fprintf(w, "\nrevoked by %s from %s: %s\n", rv.By, rv.Effective, rv.Reason)
				}
				if e := l.Effective; e != nil && e.Reason != "" {
					fmt.Fprintf(w, "\neffective status at %s: %s: %s\n", e.At, e.Status, e.Reason)
				}
			})
		},
	}
	ro.add(cmd)
	return cmd
}

func licenseTable(w io.Writer, ls []*wire.LicenseView) {
	row(w, "LICENSE", "RIGHT", "LICENSOR", "LICENSEE", "LEVEL", "PARENT", "HS", "TERRITORY", "UNTIL", "SUB-DEPTH", "STATUS", "EFFECTIVE")
	for _, l := range ls {
		eff := "-"
		if l.Effective != nil {
			eff = l.Effective.Status
			if l.Effective.License != "" && l.Effective.License != l.ID {
				eff += " (" + l.Effective.License + ")"
			}
		}
		row(w, l.ID, l.Right, l.Licensor, l.Licensee, l.Level, dash(l.Parent), strings.Join(l.Goods.HSPrefixes, ","), strings.Join(l.Territory, ","),
			l.ValidUntil, l.Sublicensing.Depth, l.Status, eff)
	}
}

func (a *App) licenseListCmd() *cobra.Command {
	var ro readOpts
	var f wire.LicenseFilter
	cmd := &cobra.Command{
		Use:     "list (--licensee ID | --licensor ID | --right R | --parent ID)",
		Short:   "List licenses by licensee or licensor (optionally for one right), by right, or the sub-licenses of a license",
		Example: "  ledgerctl license list --licensee bigbox-us --right TM-ACME",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Licensee == "" && f.Licensor == "" && f.Right == "" && f.Parent == "" {
				return fmt.Errorf("give --licensee, --licensor, --right or --parent")
			}
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.LicensePage, error) {
				return c.Licenses(ctx, f, ro.options())
			}, func(w io.Writer, p *wire.LicensePage) {
				licenseTable(w, p.Licenses)
				printMore(w, p.Next)
			})
		},
	}
	cmd.Flags().StringVar(&f.Licensee, "licensee", "", "licensee identity")
	cmd.Flags().StringVar(&f.Licensor, "licensor", "", "licensor identity")
	cmd.Flags().StringVar(&f.Right, "right", "", "IP right")
	cmd.Flags().StringVar(&f.Parent, "parent", "", "parent license: list its sub-licenses")
	addPageFlags(cmd, &f.After, &f.Limit)
	ro.add(cmd)
	return cmd
}

func (a *App) licenseExportCmd() *cobra.Command {
	var cf credentialFlags
	cmd := &cobra.Command{
		Use:   "export ID [--out FILE] [--issuer-key FILE]",
		Short: "Export a license as a W3C Verifiable Credential (IntellectualPropertyRightsLicenseCredential, extendsCredential = parent)",
		Example: `  ledgerctl license export LIC-BIGBOX --out lic.vc.json
  ledgerctl verify credential lic.vc.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				raw, err := c.LicenseCredential(ctx, args[0])
				if err != nil {
					return err
				}
				return a.exportCredential(cmd, raw, cf)
			})
		},
	}
	cf.add(cmd)
	return cmd
}
