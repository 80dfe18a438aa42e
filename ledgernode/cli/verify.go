package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/credential/tradeclaims"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) verifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify ledger evidence and ask for verdicts: receipts, consistency, certificates, licenses, shipments, credentials",
		Long: `Verify evidence offline (receipt, consistency, credential) or ask the ledger for a
verdict (certificate, license, shipment). Verdicts come with the inclusion
proofs of every record they relied on; with --trust (or $LEDGER_TRUST) those
proofs are checked here, offline, against a head signed by a trusted node.

Verdicts have two time axes: --at is the date the question is about;
--as-of-height H or --known-at T answer from the ledger as it stood then
(what it knew), with the proofs and signed head of that height. A verdict
says what the ledger knew (KNOWN AT: block time and height) and warns about
every record it relies on that was recorded after the date asked.

Exit codes: 0 valid/yes (warnings are printed but do not change it), 2 the
ledger says no (invalid, expired, revoked, ...), 3 evidence that does not
verify, 4 not found (the ledger holds no such record at that height).`,
	}
	cmd.PersistentFlags().StringVar(&a.trustFile, "trust", os.Getenv(EnvTrust), "genesis or trust file naming the node keys to trust ($"+EnvTrust+")")
	cmd.AddCommand(a.verifyReceiptCmd(), a.verifyConsistencyCmd(), a.verifyCertificateCmd(), a.verifyLicenseCmd(), a.verifyShipmentCmd(), a.verifyCredentialCmd())
	return cmd
}

func (a *App) trust() (verify.Trust, error) {
	if a.trustFile == "" {
		return verify.Trust{}, errors.New("--trust FILE is required: the network's genesis.json (or a trust file) names the node keys whose signed heads you accept")
	}
	return verify.LoadTrust(a.trustFile)
}

func (a *App) verifyReceiptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "receipt FILE",
		Short: "Verify saved evidence offline: envelope signature, receipt, inclusion proof, signed head",
		Long: `Verify, without contacting any node, a file written by 'ledgerctl tx get --save'
or 'ledgerctl tx submit --save': the envelope's Ed25519 signature and id, the
receipt that records its outcome, the Merkle inclusion proof of the receipt,
and the ledger head signed by a node key the trust file names.`,
		Example: "  ledgerctl verify receipt receipt.json --trust .dev/network/genesis.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			trust, err := a.trust()
			if err != nil {
				return err
			}
			var ev verify.Evidence
			if err := readJSON(args[0], &ev); err != nil {
				return err
			}
			res, err := verify.Receipt(&ev, trust)
			if err != nil {
				return notVerified("%w", err)
			}
			return a.Print(cmd, res, func(w io.Writer) {
				row(w, "VERIFIED", "TX", "TYPE", "STATUS", "HEIGHT", "TREE SIZE", "HEAD SIGNED BY")
				row(w, "yes", res.TxID, res.Type, res.Status, res.Height, res.TreeSize, res.HeadNode)
			})
		},
	}
}

func (a *App) verifyConsistencyCmd() *cobra.Command {
	var from string
	var update bool
	cmd := &cobra.Command{
		Use:   "consistency --from SAVED_HEAD",
		Short: "Prove the ledger only grew since a head you saved (nothing rewritten), and move to the new head",
		Example: `  ledgerctl head --save last-head.json
  # ... later ...
  ledgerctl verify consistency --from last-head.json --trust genesis.json --update`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from FILE is required (save one with 'ledgerctl head --save FILE')")
			}
			trust, err := a.trust()
			if err != nil {
				return err
			}
			var old chain.Head
			if err := readJSON(from, &old); err != nil {
				return err
			}
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				resp, err := c.Consistency(ctx, old.TreeSize)
				if err != nil {
					return err
				}
				if err := verify.Consistency(&old, &resp.Head, &resp.Proof, trust); err != nil {
					return &ExitError{Code: 3, Err: fmt.Errorf("NOT CONSISTENT: %w", err)}
				}
				if update {
					if err := saveJSON(from, resp.Head); err != nil {
						return err
					}
				}
				out := map[string]any{"consistent": true, "fromTreeSize": old.TreeSize, "toTreeSize": resp.Head.TreeSize,
					"fromHeight": old.Height, "toHeight": resp.Head.Height, "updated": update}
				return a.Print(cmd, out, func(w io.Writer) {
					row(w, "CONSISTENT", "FROM (HEIGHT/SIZE)", "TO (HEIGHT/SIZE)", "SAVED")
					row(w, "yes", fmt.Sprintf("%d/%d", old.Height, old.TreeSize), fmt.Sprintf("%d/%d", resp.Head.Height, resp.Head.TreeSize), update)
				})
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "file with a head saved earlier")
	cmd.Flags().BoolVar(&update, "update", false, "after verifying, save the new head to the same file")
	return cmd
}

// ----- verdicts: certificate, license, shipment; credentials -----

// notVerified is exit code 3: evidence that does not verify.
func notVerified(format string, args ...any) error {
	return &ExitError{Code: 3, Err: fmt.Errorf("NOT VERIFIED: "+format, args...)}
}

// Exit codes of the verdicts.
const (
	exitNo          = 2 // the ledger says no: invalid, expired, revoked, ...
	exitNotVerified = 3 // evidence that does not verify
	exitNotFound    = 4 // the ledger holds no such record at the height asked
	// exitStatusNotChecked: verify credential --require-status, and a
	// status list could not be checked.
	exitStatusNotChecked = 5
)

// verdictExit is how a verdict ends the command: nil when valid, else the
// exit code (not found, or no) with why.
func verdictExit(verdict string, why error) error {
	switch verdict {
	case wire.VerdictValid, wire.AnswerYes:
		return nil
	case wire.VerdictNotFound:
		return &ExitError{Code: exitNotFound, Err: why}
	}
	return &ExitError{Code: exitNo, Err: why}
}

// printVerdict checks a verdict's evidence offline (with --trust; not when
// the proofs were left out with --no-proof), prints the verdict and ends
// with the verdict's exit code (exit, nil when valid).
func (a *App) printVerdict(cmd *cobra.Command, vd any, items []wire.EvidenceItem, noProof bool, table func(w io.Writer, summary string), exit error) error {
	summary, err := a.checkEvidence(items, noProof)
	if err != nil {
		return err
	}
	if err := a.Print(cmd, vd, func(w io.Writer) { table(w, summary) }); err != nil {
		return err
	}
	return exit
}

// knownAt shows what the ledger knew: the block time and height a verdict
// was answered at.
func knownAt(ledgerTime string, height uint64) string {
	return fmt.Sprintf("%s (height %d)", dash(ledgerTime), height)
}

// verdictLabel is the verdict in capitals, with the number of warnings.
func verdictLabel(verdict string, warnings int) string {
	v := strings.ToUpper(strings.ReplaceAll(verdict, "-", " "))
	if warnings > 0 {
		v += fmt.Sprintf(" (%d warning(s))", warnings)
	}
	return v
}

func printWarnings(w io.Writer, warnings []wire.Check) {
	if len(warnings) == 0 {
		return
	}
	fmt.Fprintln(w, "\nwarnings (they do not change the verdict):")
	for _, c := range warnings {
		fmt.Fprintf(w, "  %s: %s\n", c.Code, c.Message)
	}
}

// readShipment reads a shipment JSON file (the shipment.declare shape).
func readShipment(path string) (*wire.Shipment, error) {
	raw, err := readInput(path)
	if err != nil {
		return nil, err
	}
	s, err := wire.DecodeShipment(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, describe(err))
	}
	return &s, nil
}

func (a *App) verifyCertificateCmd() *cobra.Command {
	var q wire.CertificateQuery
	var at, shipment string
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "certificate ID [--at DATE] [--version N] [--shipment FILE] [--require-endorsement]",
		Short: "Is this certificate of origin valid on DATE? valid, invalid, not-yet-valid, expired, revoked or superseded, with every reason and proofs",
		Long: `Ask the ledger for a certificate's verdict at a date (default: now): valid,
invalid, not-yet-valid, expired, revoked or superseded, with every reason and
the inclusion proofs of the records it relied on (the certificate version, the
certifier's enrolment and key, revocation, endorsements). With --shipment the
certificate must also cover the shipment's lines (goods, origin, importer,
destination); the date defaults to the entry date. With --trust the proofs are
verified here, offline.

The verdict also shows the findings the agencies' Audit and DryRun rules
recorded when the version was written, and warns about every record it
relies on that was recorded after --at. --known-at or --as-of-height ask
what the ledger knew then (--at then defaults to that moment).

Exit code 0 when valid, 2 otherwise, 3 when the evidence does not verify,
4 when no such certificate is recorded (at that height).`,
		Example: `  ledgerctl verify certificate USMCA-ACME-0001
  ledgerctl verify certificate USMCA-ACME-0001 --at 2026-05-01
  ledgerctl verify certificate USMCA-ACME-0001 --at 2026-05-01 --known-at 2026-05-01   # what the ledger knew then
  ledgerctl verify certificate USMCA-ACME-0002 --version 1       # superseded by the amendment
  ledgerctl verify certificate USMCA-ACME-0001 --shipment entry.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.ID = args[0]
			if shipment != "" {
				var err error
				if q.Shipment, err = readShipment(shipment); err != nil {
					return err
				}
			}
			if at != "" || (q.Shipment == nil && !ro.pastView()) {
				var err error
				if q.At, err = parseAtFlag("at", at); err != nil {
					return err
				}
			}
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				vd, err := c.VerifyCertificate(ctx, q, ro.options())
				if err != nil {
					return err
				}
				exit := verdictExit(vd.Verdict, fmt.Errorf("certificate %s is %s at %s (ledger as of height %d): %s", vd.Certificate, vd.Verdict, vd.At, vd.Height, reasonsText(vd.Reasons)))
				return a.printVerdict(cmd, vd, vd.Evidence, q.NoProof, func(w io.Writer, summary string) {
					row(w, "CERTIFICATE", "VERSION", "PROGRAM", "AT", "KNOWN AT", "VERDICT")
					version := "-"
					if vd.Version > 0 {
						version = fmt.Sprintf("%d of %d", vd.Version, vd.Current)
					}
					row(w, vd.Certificate, version, dash(vd.Program), vd.At, knownAt(vd.LedgerTime, vd.Height), verdictLabel(vd.Verdict, len(vd.Warnings)))
					fmt.Fprintln(w)
					printChecks(w, vd.Checks)
					printWarnings(w, vd.Warnings)
					printEvidence(w, summary, vd.Evidence)
				}, exit)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&at, "at", "", "date (2026-05-01, midnight UTC) or RFC 3339 UTC time (default: now, or the shipment's entry date)")
	f.IntVar(&q.Version, "version", 0, "judge this version (default: the current one)")
	f.StringVar(&shipment, "shipment", "", "shipment JSON the certificate must cover (the shipment.declare shape)")
	f.BoolVar(&q.RequireEndorsement, "require-endorsement", false, "fail unless an agency of the exporting country endorsed it")
	f.BoolVar(&q.NoProof, "no-proof", false, "leave the inclusion proofs out")
	ro.add(cmd)
	return cmd
}

func reasonsText(cs []wire.Check) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Message)
	}
	return strings.Join(parts, "; ")
}

func (a *App) verifyLicenseCmd() *cobra.Command {
	var q wire.LicenseQuery
	var at string
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "license --importer ID --hs CODE --right R --country CC [--at DATE]",
		Short: "May IMPORTER bring goods HS of RIGHT into COUNTRY on DATE? yes or no, with the license path as evidence",
		Long: `Walk from the licenses the importer holds for the right up to the registered
rights holder: at every step the licensor must be the licensee of the step above,
the grant's signature valid when it was made, the step in term on DATE (and the
parent in term when the step was granted), the goods and territory covered,
sub-licensing allowed at that depth, and nothing revoked before DATE. The answer
is yes or no with the path; on no, the first failing step and why. Records on
the path made after DATE are flagged; --known-at or --as-of-height ask what the
ledger knew then.

Exit code 0 on yes, 2 on no, 3 when the evidence does not verify, 4 when the
license named with --license is not recorded.`,
		Example: `  ledgerctl verify license --importer bigbox-us --hs 610910 --right TM-ACME --country US
  ledgerctl verify license --importer bigbox-us --hs 610910 --right TM-ACME --country CA --at 2026-05-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if q.Importer != "" && !strings.Contains(q.Importer, "/") {
				q.Importer = "participant/" + q.Importer
			}
			if at != "" || !ro.pastView() {
				var err error
				if q.At, err = parseAtFlag("at", at); err != nil {
					return err
				}
			}
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				vd, err := c.VerifyLicense(ctx, q, ro.options())
				if err != nil {
					return err
				}
				msg := vd.Answer
				if vd.Failure != nil {
					msg = fmt.Sprintf("%s: step %d (%s): %s", vd.Answer, vd.Failure.Step, dash(vd.Failure.License), vd.Failure.Reason)
				}
				exit := verdictExit(vd.Answer, fmt.Errorf("%s may not import HS %s of %s into %s at %s: %s", q.Importer, q.HSCode, q.Right, q.Country, vd.At, msg))
				return a.printVerdict(cmd, vd, vd.Evidence, q.NoProof, func(w io.Writer, summary string) { printLicenseVerdict(w, vd, summary) }, exit)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&q.Importer, "importer", "", "the importer (participant id or identity)")
	f.StringVar(&q.HSCode, "hs", "", "HS code of the goods (6-10 digits)")
	f.StringVar(&q.Right, "right", "", "the IP right on the goods")
	f.StringVar(&q.Country, "country", "", "the country of import")
	f.StringVar(&at, "at", "", "date or RFC 3339 UTC time (default: now)")
	f.StringVar(&q.License, "license", "", "start from this license instead of every license the importer holds")
	f.BoolVar(&q.NoProof, "no-proof", false, "leave the inclusion proofs out")
	ro.add(cmd)
	return cmd
}

func printLicenseVerdict(w io.Writer, vd *wire.LicenseVerdict, summary string) {
	q := vd.Query
	row(w, "IMPORTER", "HS", "RIGHT", "COUNTRY", "AT", "KNOWN AT", "ANSWER")
	row(w, q.Importer, q.HSCode, q.Right, q.Country, vd.At, knownAt(vd.LedgerTime, vd.Height), verdictLabel(vd.Answer, len(vd.Warnings)))
	if vd.Failure != nil {
		fmt.Fprintf(w, "\nfirst failing step: %d (%s) %s: %s\n", vd.Failure.Step, dash(vd.Failure.License), vd.Failure.Code, vd.Failure.Reason)
	}
	if len(vd.Path) > 0 {
		fmt.Fprintln(w)
		row(w, "STEP", "LICENSE", "LICENSOR", "LICENSEE", "LEVEL", "TERM", "RESULT")
		for _, st := range vd.Path {
			res := st.Status
			for _, c := range st.Checks {
				if c.Result == wire.ResultFail {
					res += "; " + c.Message
				}
			}
			row(w, st.Step, st.License, dash(st.Licensor), dash(st.Licensee), st.Level, st.ValidFrom+" .. "+st.ValidUntil, res)
		}
		if vd.Holder != "" {
			fmt.Fprintf(w, "rights holder: %s\n", vd.Holder)
		}
	}
	for _, alt := range vd.Alternatives {
		why := ""
		if alt.Failure != nil {
			why = ": " + alt.Failure.Reason
		}
		fmt.Fprintf(w, "candidate %s: %s%s\n", alt.License, alt.Answer, why)
	}
	printWarnings(w, vd.Warnings)
	printEvidence(w, summary, vd.Evidence)
}

func (a *App) verifyShipmentCmd() *cobra.Command {
	var q wire.ShipmentQuery
	var file, at string
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "shipment (ID | --file SHIPMENT.json) [--at DATE]",
		Short: "Does this shipment hold up? Per goods line: its certificate and its licenses, combined",
		Long: `Judge a declared shipment (by id) or one given in a file: for every goods line,
the certificate it claims must be valid for that line on the entry date, and
each license it names must resolve to yes for the importer, the line's HS code
and the destination country.

Exit code 0 when every line passes, 2 otherwise, 3 when the evidence does not
verify, 4 when no shipment with that id is declared.`,
		Example: `  ledgerctl verify shipment ENTRY-0001
  ledgerctl verify shipment --file entry.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && file == "":
				q.ID = args[0]
			case len(args) == 0 && file != "":
				var err error
				if q.Shipment, err = readShipment(file); err != nil {
					return err
				}
			default:
				return fmt.Errorf("give a declared shipment's ID or --file SHIPMENT.json, not both")
			}
			if at != "" {
				var err error
				if q.At, err = parseAtFlag("at", at); err != nil {
					return err
				}
			}
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				vd, err := c.VerifyShipment(ctx, q, ro.options())
				if err != nil {
					return err
				}
				exit := verdictExit(vd.Verdict, fmt.Errorf("shipment %s is %s%s", vd.Shipment, vd.Verdict, prefixed(": ", strings.Join(vd.Reasons, "; "))))
				return a.printVerdict(cmd, vd, vd.Evidence, q.NoProof, func(w io.Writer, summary string) {
					row(w, "SHIPMENT", "DECLARED", "AT", "KNOWN AT", "VERDICT")
					row(w, vd.Shipment, vd.Declared, dash(vd.At), knownAt(vd.LedgerTime, vd.Height), verdictLabel(vd.Verdict, len(vd.Warnings)))
					for _, r := range vd.Reasons {
						fmt.Fprintf(w, "%s\n", r)
					}
					fmt.Fprintln(w)
					row(w, "LINE", "HS", "CERTIFICATE", "LICENSES", "RESULT", "DETAIL")
					for _, l := range vd.Lines {
						cert := "-"
						if l.Certificate != nil {
							cert = l.Certificate.Certificate + ": " + l.Certificate.Verdict
						}
						var lics []string
						for _, lv := range l.Licenses {
							lics = append(lics, lv.Query.License+": "+lv.Answer)
						}
						detail := strings.Join(append(append([]string{}, l.Reasons...), l.Notes...), "; ")
						row(w, l.Line, l.HSCode, cert, dash(strings.Join(lics, ", ")), l.Verdict, detail)
					}
					printWarnings(w, vd.Warnings)
					printEvidence(w, summary, vd.Evidence)
				}, exit)
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "shipment JSON (not declared on the ledger)")
	cmd.Flags().StringVar(&at, "at", "", "date or RFC 3339 UTC time (default: the entry date)")
	cmd.Flags().BoolVar(&q.NoProof, "no-proof", false, "leave the inclusion proofs out")
	ro.add(cmd)
	return cmd
}

func (a *App) verifyCredentialCmd() *cobra.Command {
	var at string
	var offline, requireStatus bool
	cmd := &cobra.Command{
		Use:   "credential FILE [--trust genesis.json] [--at DATE] [--offline | --require-status]",
		Short: "Verify an exported W3C Verifiable Credential: proof, issuer, claims against its ledger records, validity and revocation status",
		Long: `Check a credential written by 'cert export' or 'license export' (or received
from anyone): 

  1. its shape: the W3C VC 2.0 context and tradeledger's own (both held here,
     nothing is fetched), no member the ledger records do not support;
  2. its Data Integrity proof: eddsa-jcs-2022, made for assertionMethod, by a
     verification method the issuer controls (the did:key of the issuer);
  3. its claims: rebuilt from the signed ledger records in its evidence with
     the function the exporter uses; any difference is named field by field;
  4. with --trust (or $LEDGER_TRUST): the issuer is a node key of the network
     (or the key that signed the record), and every ledger record is proven by
     an inclusion proof against a head signed by a trusted node;
  5. validFrom/validUntil at --at (default: now);
  6. online (a server configured, no --offline): its Bitstring Status List
     entries (revocation, suspension), fetched from a node and checked against
     the node's signature. Offline, or when a list cannot be fetched, the output
     says "status not checked".

Verdicts and exit codes:
  VERIFIED        0  genuine, bound to the ledger, valid at --at, status clear or not checked
  EXPIRED,
  NOT YET VALID   2  genuine, but outside its validity period at --at
  REVOKED         2  revoked, withdrawn or superseded (status list or its own evidence)
  SUSPENDED       2  the party it vouches for is suspended
  NOT VERIFIED    3  forged, tampered with, not bound to its ledger records, or untrusted
  (VERIFIED)      5  with --require-status: genuine and valid, but a status list could not be checked`,
		Example: `  ledgerctl cert export USMCA-ACME-0001 --out vc.json
  ledgerctl verify credential vc.json --trust .dev/network/genesis.json
  ledgerctl verify credential vc.json --offline --at 2026-05-01`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readInput(args[0])
			if err != nil {
				return err
			}
			o := credential.Options{Bind: tradeclaims.BindEvidence}
			if at != "" {
				s, err := parseAtFlag("at", at)
				if err != nil {
					return err
				}
				o.At, _ = tx.ParseTime(s)
			}
			if a.trustFile != "" {
				trust, err := a.trust()
				if err != nil {
					return err
				}
				o.Trust = &trust
			}
			statusNote := ""
			ctx, cancel := a.Context()
			defer cancel()
			switch {
			case offline:
				statusNote = "status not checked (--offline)"
			case a.g.servers == "":
				statusNote = "status not checked: no server (pass --server or set " + EnvServer + " to check revocation online)"
			default:
				c, err := a.Client()
				if err != nil {
					return err
				}
				o.Status = func(ctx context.Context, url string) ([]byte, error) {
					i := strings.Index(url, credential.StatusListPathPrefix)
					if !strings.HasPrefix(url, "https://") || i < 0 {
						return nil, fmt.Errorf("%q is not a tradeledger status list URL", url)
					}
					return c.StatusList(ctx, url[i:])
				}
			}
			res := credential.Verify(ctx, raw, o)
			if statusNote != "" {
				res.Notes = append(res.Notes, statusNote)
			}
			if err := a.Print(cmd, res, func(w io.Writer) { printCredentialResult(w, res) }); err != nil {
				return err
			}
			if err := credentialExit(res); err != nil || !requireStatus {
				return err
			}
			return statusRequired(res)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "date (2026-05-01) or RFC 3339 UTC time the credential must be valid at (default: now)")
	cmd.Flags().BoolVar(&offline, "offline", false, "do not contact any node: the revocation status is not checked")
	cmd.Flags().BoolVar(&requireStatus, "require-status", false, "exit 5 unless every status list was checked (for scripts that must not accept an unknown revocation status)")
	cmd.MarkFlagsMutuallyExclusive("offline", "require-status")
	return cmd
}

// credentialExit maps a credential verdict to ledgerctl's exit codes: 0
// VERIFIED, 2 genuine but not valid (expired, not yet valid, revoked,
// suspended), 3 NOT VERIFIED (forged, tampered with, unbound, untrusted).
func credentialExit(res *credential.Result) error {
	switch res.Verdict {
	case credential.Verified:
		return nil
	case credential.NotVerified:
		return &ExitError{Code: exitNotVerified, Err: fmt.Errorf("NOT VERIFIED: %s", credential.Problems(res.Problems).Error())}
	}
	why := map[string]string{
		credential.Expired:     "its validity ended " + res.ValidUntil,
		credential.NotYetValid: "its validity starts " + res.ValidFrom,
		credential.Revoked:     "it was revoked, withdrawn or superseded",
		credential.Suspended:   "the party it vouches for is suspended",
	}[res.Verdict]
	return &ExitError{Code: exitNo, Err: fmt.Errorf("%s: the credential is genuine, but %s (checked at %s)", res.Verdict, why, res.At)}
}

// statusRequired is exit code 5 when a VERIFIED credential's status was
// not checked (offline, no server, a list that could not be fetched or
// did not verify): it is not known not to be revoked.
func statusRequired(res *credential.Result) error {
	for _, s := range res.Status {
		if s.Result != "set" && s.Result != "clear" {
			return &ExitError{Code: exitStatusNotChecked, Err: fmt.Errorf("STATUS NOT CHECKED: %s list %s: %s (--require-status)", s.Purpose, s.List, s.Result)}
		}
	}
	if len(res.Status) == 0 {
		return &ExitError{Code: exitStatusNotChecked, Err: errors.New("STATUS NOT CHECKED: the credential has no status entries (--require-status)")}
	}
	return nil
}

func printCredentialResult(w io.Writer, res *credential.Result) {
	typ := "-"
	if len(res.Types) > 0 {
		typ = res.Types[len(res.Types)-1]
	}
	issuer := dash(res.Issuer)
	if res.IssuerTrusted != "" {
		issuer += " (" + res.IssuerTrusted + ")"
	}
	row(w, "VERDICT", "TYPE", "VALID", "AT")
	row(w, res.Verdict, typ, dash(res.ValidFrom)+" .. "+dash(res.ValidUntil), res.At)
	fmt.Fprintf(w, "\nid:      %s\nissuer:  %s\ncreated: %s\nledger:  %s\n", dash(res.ID), issuer, dash(res.Created), res.Ledger)
	for _, s := range res.Status {
		fmt.Fprintf(w, "status:  %s %s[%s]: %s\n", s.Purpose, s.List, s.Index, s.Result)
	}
	if len(res.Problems) > 0 {
		fmt.Fprintln(w, "\nwhat is wrong:")
		for _, p := range res.Problems {
			fmt.Fprintf(w, "  %s: %s\n", p.Field, p.Message)
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "note:    %s\n", n)
	}
}
