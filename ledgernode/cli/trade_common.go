package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Shared helpers of the trade command groups (agency, participant, cert,
// ipright, license, shipment and the verify subcommands).

// checkLocally runs the ledger's own stateless check of a trade payload
// before signing, so that every field error shows at once without a round
// trip. The ledger checks again.
func checkLocally(typ string, payload any) (json.RawMessage, error) {
	raw, err := tx.Canonicalize(payload)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if err := wire.CheckPayload(typ, raw); err != nil {
		return nil, describe(err)
	}
	return raw, nil
}

// describe turns a rejection into a multi-line error naming every field.
func describe(err error) error {
	var rej *wire.Rejection
	if !errors.As(err, &rej) || len(rej.Reasons) < 2 {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(rej.Reasons))
	for _, r := range rej.Reasons {
		fmt.Fprintf(&b, "\n  %s: %s", r.Field, r.Message)
	}
	return errors.New(b.String())
}

// submitTrade checks, signs with --key and submits a trade transaction.
func (a *App) submitTrade(cmd *cobra.Command, typ string, payload any, sf *submitFlags) error {
	raw, err := checkLocally(typ, payload)
	if err != nil {
		return err
	}
	o := client.SubmitOptions{}
	save := ""
	if sf != nil {
		o, save = sf.options(), sf.save
	}
	return a.SignAndSubmit(cmd, typ, raw, o, save)
}

// readPayload reads a JSON document (a file or "-") into v, strictly.
func readPayload(path string, v any) error {
	if path == "" {
		return errors.New("--file FILE is required (JSON; '-' reads standard input)")
	}
	raw, err := readInput(path)
	if err != nil {
		return err
	}
	if err := tx.DecodePayload(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// prefixed is s after prefix, or "" when s is empty.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// parseAtFlag reads --at: an RFC 3339 UTC time or a date (midnight UTC);
// empty means now.
func parseAtFlag(flag, v string) (string, error) {
	if v == "" {
		return tx.FormatTime(time.Now()), nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return tx.FormatTime(d), nil
	}
	t, err := tx.ParseTime(v)
	if err != nil {
		return "", fmt.Errorf("--%s %q: give a date (2026-05-01) or an RFC 3339 UTC time (2026-05-01T12:00:00Z)", flag, v)
	}
	return tx.FormatTime(t), nil
}

// checkEvidence verifies verdict evidence offline when a trust file is
// configured: each record's signature, receipt, inclusion proof and signed
// head. It returns a one-line summary. With noProof the proofs were left
// out on purpose: nothing can be checked, and the summary says so; without
// it, a record that comes without its proof does not verify.
func (a *App) checkEvidence(items []wire.EvidenceItem, noProof bool) (string, error) {
	if len(items) == 0 {
		return "no records", nil
	}
	if noProof {
		return fmt.Sprintf("%d record(s) without inclusion proofs (--no-proof): not checked offline", len(items)), nil
	}
	h := items[0].Evidence
	where := ""
	if h != nil {
		where = fmt.Sprintf(" against head %d (tree size %d) signed by %s", h.Head.Height, h.Head.TreeSize, h.Head.Node)
	}
	if a.trustFile == "" {
		return fmt.Sprintf("%d record(s) with inclusion proofs%s; not checked offline (pass --trust or set %s)", len(items), where, EnvTrust), nil
	}
	trust, err := a.trust()
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if it.Evidence == nil || it.Evidence.Proof.TreeSize == 0 {
			return "", notVerified("evidence %s (%s) came without its inclusion proof", short(it.TxID, 16), it.Role)
		}
		if _, err := verify.Receipt(it.Evidence, trust); err != nil {
			return "", notVerified("evidence %s (%s): %w", short(it.TxID, 16), it.Role, err)
		}
	}
	return fmt.Sprintf("%d record(s), inclusion proofs verified offline%s", len(items), where), nil
}

// revokeCmd completes a trade revocation (cert revoke, license revoke):
// "ID --reason TEXT [--effective TIME]" becomes the payload of type typ,
// signed with --key and submitted.
func (a *App) revokeCmd(cmd *cobra.Command, typ string, payload func(id, reason, effective string) any) *cobra.Command {
	var reason, effective string
	var sf submitFlags
	cmd.Args = cobra.ExactArgs(1)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		at := ""
		if effective != "" {
			var err error
			if at, err = parseAtFlag("effective", effective); err != nil {
				return err
			}
		}
		return a.submitTrade(cmd, typ, payload(args[0], reason, at), &sf)
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&effective, "effective", "", "effective date or time (default: block time; may be in the past)")
	sf.add(cmd)
	return cmd
}

// credentialFlags choose where an exported credential goes and who
// re-issues it.
type credentialFlags struct{ out, issuerKey, issuerName string }

func (f *credentialFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.out, "out", "", "write the credential to FILE")
	cmd.Flags().StringVar(&f.issuerKey, "issuer-key", "", "re-issue the credential signed by this key file")
	cmd.Flags().StringVar(&f.issuerName, "issuer-name", "", "the issuer's name with --issuer-key")
}

// addPageFlags adds --after and --limit of a paged list.
func addPageFlags(cmd *cobra.Command, after *string, limit *int) {
	cmd.Flags().StringVar(after, "after", "", "cursor printed under the previous page (\"more: --after CURSOR\"); a cursor of another listing is refused")
	cmd.Flags().IntVar(limit, "limit", 0, "page size (default 100, at most 1000)")
}

// printMore tells how to ask for the next page, if there is one. Cursors
// are base64url: they paste into a shell as they are.
func printMore(w io.Writer, next string) {
	if next != "" {
		fmt.Fprintf(w, "\nmore: --after %s\n", next)
	}
}

// contactFlags are the contact of an agency or participant.
type contactFlags struct{ c wire.Contact }

func (f *contactFlags) add(cmd *cobra.Command, address bool) {
	cmd.Flags().StringVar(&f.c.Email, "email", "", "contact email")
	cmd.Flags().StringVar(&f.c.Phone, "phone", "", "contact telephone")
	if address {
		cmd.Flags().StringVar(&f.c.Address, "address", "", "postal address")
	}
}

// contact is nil when no contact flag was given.
func (f *contactFlags) contact() *wire.Contact {
	if f.c == (wire.Contact{}) {
		return nil
	}
	c := f.c
	return &c
}

// agencyID accepts an agency id with or without its "agency/" prefix.
func agencyID(arg string) string { return strings.TrimPrefix(arg, "agency/") }

func printEvidence(w io.Writer, summary string, items []wire.EvidenceItem) {
	fmt.Fprintf(w, "\nevidence: %s\n", summary)
	for _, it := range items {
		row(w, "  "+short(it.TxID, 16), it.Role)
	}
}

func printChecks(w io.Writer, checks []wire.Check) {
	row(w, "CHECK", "RESULT", "DETAIL")
	for _, c := range checks {
		res := c.Result
		if c.Code != "" {
			res += " (" + c.Code + ")"
		}
		row(w, c.Name, res, c.Message)
	}
}
