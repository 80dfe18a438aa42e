package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) certCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "cert",
		Aliases: []string{"certificate", "certificates"},
		Short:   "Issue, amend, withdraw, revoke, endorse, list and export certificates of origin",
		Long: `Certificates of origin under USMCA (the nine data elements), CAFTA-DR and legacy
NAFTA (Form 434). The certifier (an enrolled participant with the certifier
role) issues, amends and withdraws; an agency of the importing or exporting
country revokes; an agency of the exporting country endorses.

Start from a template: ledgerctl cert template > cert.json
Ask for a verdict:    ledgerctl verify certificate ID --at DATE`,
	}
	cmd.AddCommand(a.certTemplateCmd(), a.certIssueCmd(), a.certAmendCmd(), a.certRevokeCmd(), a.certEndorseCmd(), a.certGetCmd(), a.certListCmd(), a.certExportCmd())
	return cmd
}

func (a *App) certTemplateCmd() *cobra.Command {
	var program, certifier, importer, id string
	cmd := &cobra.Command{
		Use:     "template [--program USMCA|CAFTA-DR|NAFTA]",
		Short:   "Print an example certificate (JSON) to edit and issue",
		Example: "  ledgerctl cert template --certifier participant/acme-mx --importer participant/bigbox-us > cert.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now().UTC()
			ct := wire.Certificate{ID: id, Program: program, CertifierRole: wire.RoleExporter,
				Certifier:     wire.Party{ID: certifier, Name: "ACME Exportaciones SA de CV", Title: "Export Manager", Country: "MX", Email: "export@acme.example"},
				Producer:      &wire.Party{Name: wire.ProducerVarious},
				Importer:      &wire.Party{ID: importer, Name: "BigBox Stores Inc.", Country: "US"},
				ExportCountry: "MX", ImportCountry: "US",
				Goods:         []wire.GoodsItem{{Description: "Portable automatic data-processing machines", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"}},
				BlanketPeriod: &wire.Period{ValidFrom: tx.FormatTime(now.Truncate(24 * time.Hour)), ValidUntil: tx.FormatTime(now.Truncate(24*time.Hour).AddDate(1, 0, -1))},
				SignedAt:      tx.FormatTime(now.Truncate(time.Second)), Language: "en",
				Statement: "I certify that the goods described in this document qualify as originating and the information contained in this document is true and accurate."}
			switch program {
			case "USMCA":
			case "CAFTA-DR":
				ct.Certifier.Country, ct.ExportCountry, ct.Goods[0].CountryOfOrigin, ct.Language = "CR", "CR", "CR", "es"
			case "NAFTA":
				ct.SignedAt = "2019-12-15T00:00:00Z"
				ct.BlanketPeriod = &wire.Period{ValidFrom: "2020-01-01T00:00:00Z", ValidUntil: "2020-06-30T00:00:00Z"}
				ct.Goods[0].ProducerIndicator, ct.Goods[0].NetCost = "YES", "NO"
			default:
				return fmt.Errorf("--program %q: one of %s", program, strings.Join(wire.ProgramNames(), ", "))
			}
			return writeJSON(cmd.OutOrStdout(), ct)
		},
	}
	cmd.Flags().StringVar(&program, "program", "USMCA", "USMCA, CAFTA-DR or NAFTA")
	cmd.Flags().StringVar(&id, "id", "USMCA-EXAMPLE-0001", "certificate id")
	cmd.Flags().StringVar(&certifier, "certifier", "participant/acme-mx", "the certifier's identity (the signer)")
	cmd.Flags().StringVar(&importer, "importer", "participant/bigbox-us", "the importer's identity")
	return cmd
}

func (a *App) certIssueCmd() *cobra.Command {
	var file string
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "issue --file CERT.json",
		Short: "Issue a certificate of origin, signed by its certifier (--key)",
		Long: `Issue a certificate of origin. The ledger checks the program's rules (certifier
role and enrolment, parties, 6-digit HS codes, origin criteria, blanket period of
at most 12 months, four-year validity, countries, language) and names every field
at fault. The agencies' rules in scope are evaluated too.`,
		Example: `  ledgerctl cert template > cert.json && $EDITOR cert.json
  ledgerctl cert issue --file cert.json --key acme.key --save issued.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ct wire.Certificate
			if err := readPayload(file, &ct); err != nil {
				return err
			}
			return a.submitTrade(cmd, wire.TypeCertificateIssue, ct, &sf)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "certificate JSON ('-' for standard input)")
	sf.add(cmd)
	return cmd
}

func (a *App) certAmendCmd() *cobra.Command {
	var file, reason string
	var supersedes int
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "amend ID --file CERT.json --reason TEXT [--supersedes N]",
		Short: "Record a new version of a certificate; the old version is kept and becomes superseded (certifier)",
		Long: `Record a new version of a certificate. The amendment names the version it
replaces (--supersedes, by default the current version, read from the ledger
first): if someone else amended the certificate in between, the ledger
refuses this amendment with a conflict instead of silently replacing theirs.
Read the new current version, make your change on it and amend again.`,
		Example: `  ledgerctl cert amend USMCA-ACME-0001 --file fixed.json --reason "line 1 classified under 847150" --key acme.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ct wire.Certificate
			if err := readPayload(file, &ct); err != nil {
				return err
			}
			if ct.ID == "" {
				ct.ID = args[0]
			}
			if supersedes == 0 {
				err := a.withClient(func(c *client.Client, ctx context.Context) error {
					h, err := c.Certificate(ctx, args[0], client.ReadOptions{Strong: true})
					if err != nil {
						return fmt.Errorf("read the current version of %s: %w", args[0], err)
					}
					supersedes = h.Record.Current
					return nil
				})
				if err != nil {
					return err
				}
			}
			return a.submitTrade(cmd, wire.TypeCertificateAmend, wire.CertificateAmend{ID: args[0], Supersedes: supersedes, Reason: reason, Certificate: ct}, &sf)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the amended certificate JSON")
	cmd.Flags().StringVar(&reason, "reason", "", "why it is amended (required)")
	cmd.Flags().IntVar(&supersedes, "supersedes", 0, "the version this amendment replaces (default: the current version, read from the ledger)")
	sf.add(cmd)
	return cmd
}

func (a *App) certRevokeCmd() *cobra.Command {
	return a.revokeCmd(&cobra.Command{
		Use:     "revoke ID --reason TEXT [--effective TIME]",
		Aliases: []string{"withdraw"},
		Short:   "Withdraw (certifier) or revoke (agency of the importing or exporting country) a certificate",
		Example: `  ledgerctl cert revoke USMCA-ACME-0003 --reason "origin verification failed" --key cbp.key
  ledgerctl cert withdraw USMCA-ACME-0004 --reason "order cancelled" --key acme.key`,
	}, wire.TypeCertificateRevoke, func(id, reason, effective string) any {
		return wire.CertificateRevoke{ID: id, Reason: reason, Effective: effective}
	})
}

func (a *App) certEndorseCmd() *cobra.Command {
	var p wire.CertificateEndorse
	var sf submitFlags
	cmd := &cobra.Command{
		Use:     "endorse ID [--version N] [--note TEXT]",
		Short:   "Endorse a certificate (agency of the exporting country)",
		Example: `  ledgerctl cert endorse USMCA-ACME-0001 --note "verified at origin" --key sat.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.ID = args[0]
			return a.submitTrade(cmd, wire.TypeCertificateEndorse, p, &sf)
		},
	}
	cmd.Flags().IntVar(&p.Version, "version", 0, "version to endorse (default: the current one)")
	cmd.Flags().StringVar(&p.Note, "note", "", "a note")
	sf.add(cmd)
	return cmd
}

func (a *App) certGetCmd() *cobra.Command {
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a certificate: status, every version, revocation, endorsements and the agency rules' findings",
		Long: `Show a certificate: its status, every version, the revocation and endorsements,
and (in the table) what the agencies' rules found each time a version was
recorded. A certificate an Enforce rule rejected was never recorded: ask
'ledgerctl policy history ID' for the rejection.`,
		Example: "  ledgerctl cert get USMCA-ACME-0002 -o json\n  ledgerctl policy history USMCA-ACME-0002   # the rules' findings alone, rejections included",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				h, err := c.Certificate(ctx, args[0], ro.options())
				if err != nil {
					if client.IsNotFound(err) {
						return fmt.Errorf("%w; if it was refused, 'ledgerctl policy history %s' shows why", err, args[0])
					}
					return err
				}
				// The findings are shown in the table only: -o json|yaml keeps
				// the certificate's own record.
				var evals *policy.EvaluationsResponse
				if a.g.output == "table" {
					evals, _ = c.Evaluations(ctx, args[0], ro.options()) // a ledger without agency rules has no history
				}
				r := h.Record
				return a.Print(cmd, h, func(w io.Writer) {
					row(w, "CERTIFICATE", "PROGRAM", "CERTIFIER", "STATUS", "VERSIONS")
					row(w, r.ID, r.Program, r.Certifier, r.Status, r.Current)
					fmt.Fprintln(w)
					row(w, "VERSION", "RECORDED", "HS CODES", "EXPORT", "IMPORT", "SIGNED", "TX", "REASON")
					for _, v := range h.Versions {
						ct := v.Certificate
						row(w, v.Version, v.Time, strings.Join(ct.HSCodes(), ","), ct.ExportCountry, ct.ImportCountry, ct.SignedAt, short(v.TxID, 16), dash(v.Reason))
					}
					if rv := r.Revocation; rv != nil {
						fmt.Fprintf(w, "\n%s by %s from %s: %s\n", rv.Kind, rv.By, rv.Effective, rv.Reason)
					}
					for _, e := range r.Endorsements {
						fmt.Fprintf(w, "endorsed (version %d) by %s at %s %s\n", e.Version, e.Agency, e.Time, e.Note)
					}
					if evals != nil && len(evals.Evaluations) > 0 {
						fmt.Fprintln(w)
						row(w, "AGENCY RULES", "TX TYPE", "STATUS", "VERSION", "RULE", "ENFORCEMENT", "RESULT", "MESSAGE")
						for _, e := range evals.Evaluations {
							for _, f := range e.Findings {
								row(w, f.Source, e.TxType, e.Status, f.Version, f.Rule, f.Enforcement, f.Result, f.Message)
							}
						}
					}
				})
			})
		},
	}
	ro.add(cmd)
	return cmd
}

func (a *App) certListCmd() *cobra.Command {
	var ro readOpts
	var f wire.CertificateFilter
	cmd := &cobra.Command{
		Use:   "list (--importer ID | --exporter ID | --certifier ID | --hs PREFIX)",
		Short: "List certificates by importer, exporter, certifier or HS prefix (through indexes, a page at a time)",
		Example: `  ledgerctl cert list --importer bigbox-us
  ledgerctl cert list --hs 8471 --limit 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, v := range []string{f.Importer, f.Exporter, f.Certifier, f.HS} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				return fmt.Errorf("give exactly one of --importer, --exporter, --certifier or --hs")
			}
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.CertificatePage, error) {
				return c.Certificates(ctx, f, ro.options())
			}, func(w io.Writer, p *wire.CertificatePage) {
				row(w, "CERTIFICATE", "PROGRAM", "CERTIFIER", "STATUS", "VERSION")
				for _, r := range p.Certificates {
					row(w, r.ID, r.Program, r.Certifier, r.Status, r.Current)
				}
				printMore(w, p.Next)
			})
		},
	}
	cmd.Flags().StringVar(&f.Importer, "importer", "", "importer identity")
	cmd.Flags().StringVar(&f.Exporter, "exporter", "", "exporter identity")
	cmd.Flags().StringVar(&f.Certifier, "certifier", "", "certifier identity")
	cmd.Flags().StringVar(&f.HS, "hs", "", "HS chapter, heading or subheading (2, 4 or 6 digits)")
	addPageFlags(cmd, &f.After, &f.Limit)
	ro.add(cmd)
	return cmd
}

// exportCredential writes a credential to --out or standard output, after
// re-issuing it with --issuer-key if given.
func (a *App) exportCredential(cmd *cobra.Command, raw json.RawMessage, f credentialFlags) error {
	if f.issuerKey != "" {
		k, err := readSigningKey(f.issuerKey, "--issuer-key")
		if err != nil {
			return err
		}
		var vc map[string]any
		if err := json.Unmarshal(raw, &vc); err != nil {
			return err
		}
		signed, err := credential.Sign(vc, credential.Issuer{Key: k, Name: f.issuerName}, tx.FormatTime(time.Now()))
		if err != nil {
			return err
		}
		if raw, err = json.Marshal(signed); err != nil {
			return err
		}
	}
	var pretty any
	if err := json.Unmarshal(raw, &pretty); err != nil {
		return err
	}
	if f.out != "" {
		if err := saveJSON(f.out, pretty); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (check it with: ledgerctl verify credential %s)\n", f.out, f.out)
		return nil
	}
	return writeJSON(cmd.OutOrStdout(), pretty)
}

func (a *App) certExportCmd() *cobra.Command {
	var version int
	var cf credentialFlags
	cmd := &cobra.Command{
		Use:   "export ID [--version N] [--out FILE] [--issuer-key FILE]",
		Short: "Export a certificate as a W3C Verifiable Credential (Traceability Vocabulary, eddsa-jcs-2022 proof)",
		Long: `Export a certificate as a W3C Verifiable Credential shaped after the CCG
Traceability Vocabulary (USMCACertificationOfOrigin, or CertificationOfOrigin for
CAFTA-DR and NAFTA), with the ledger evidence (signed envelope, receipt, inclusion
proof, signed head) in "evidence". The node that answers signs it with its key
(a did:key) using the eddsa-jcs-2022 Data Integrity cryptosuite, which standard
VC verifiers check; --issuer-key re-issues it under your own key instead.`,
		Example: `  ledgerctl cert export USMCA-ACME-0001 --out acme-0001.vc.json
  ledgerctl verify credential acme-0001.vc.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				raw, err := c.CertificateCredential(ctx, args[0], version)
				if err != nil {
					return err
				}
				return a.exportCredential(cmd, raw, cf)
			})
		},
	}
	cmd.Flags().IntVar(&version, "version", 0, "version (default: the current one)")
	cf.add(cmd)
	return cmd
}
