package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

func (a *App) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Publish, inspect and test agency policies (CEL rules evaluated by every node)",
		Long: `An agency policy is a set of CEL rules with a scope (programs, HS prefixes,
countries, document types) and an enforcement mode: Enforce rejects a
document that fails a rule, Audit accepts it and records the findings,
DryRun records what Enforce would have done. Only the owning agency can
publish, update or withdraw its policies: sign with a key of agency/<id>.

Policy files are YAML or JSON:

  id: us-fda-seafood-facility
  agency: us-fda
  enforcement: Enforce
  scope:
    hsPrefixes: ["03", "16"]
    destinationCountries: [US]
  rules:
    - name: registered-facility
      expression: has(doc.producer.fdaRegistration)
      message: producer {{doc.producer.name}} has no FDA food facility registration

Rules read doc, parties, licensePath, context, agency, record and at (the
block time); ledgernode/policy/DESIGN.md ("Inputs") shows their shape for
certificates, shipments and licenses.`,
	}
	cmd.AddCommand(a.policyPublishCmd(policy.TxPublish), a.policyPublishCmd(policy.TxUpdate), a.policyWithdrawCmd(),
		a.policyGetCmd(), a.policyListCmd(), a.policyTestCmd(), a.policyScopeCmd(), a.policyHistoryCmd())
	return cmd
}

// loadPolicy reads and compiles a policy file, printing every compile
// error (rule, line, column, message) before failing.
func loadPolicy(cmd *cobra.Command, path string) (*policy.Policy, *policy.Compiled, error) {
	raw, err := readInput(path)
	if err != nil {
		return nil, nil, err
	}
	p, err := policy.ParseFile(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	c, errs := policy.Compile(p)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", path, e.Error())
		}
		return nil, nil, fmt.Errorf("%s: the policy does not compile (%d error(s) above); fix them and retry", path, len(errs))
	}
	return p, c, nil
}

// parseRFC3339 reads a time flag of the policy commands.
func parseRFC3339(flag, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: must be an RFC 3339 time such as 2026-03-01T12:00:00Z", flag, v)
	}
	return t, nil
}

func (a *App) policyPublishCmd(typ string) *cobra.Command {
	var sf submitFlags
	use, short, example := "publish FILE", "Publish a new policy (version 1), signed with --key of agency/<agency>",
		`  ledgerctl policy publish us-fda-seafood-facility.yaml --key fda.key
  ledgerctl policy test us-fda-seafood-facility.yaml --input shrimp.json   # try it offline first`
	if typ == policy.TxUpdate {
		use, short, example = "update FILE", "Publish a new version of a policy; it applies from its block on (earlier verdicts stand)",
			`  ledgerctl policy update us-fda-seafood-facility.yaml --key fda.key
  # with "version: 3" in the file, the update is refused unless it creates version 3`
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := loadPolicy(cmd, args[0])
			if err != nil {
				return err
			}
			if typ == policy.TxPublish && p.Version != 0 {
				return fmt.Errorf("%s: version %d: the ledger assigns versions; remove the version field to publish (or use 'policy update')", args[0], p.Version)
			}
			return a.SignAndSubmit(cmd, typ, p, sf.options(), sf.save)
		},
	}
	sf.add(cmd)
	return cmd
}

func (a *App) policyWithdrawCmd() *cobra.Command {
	var sf submitFlags
	var reason string
	cmd := &cobra.Command{
		Use:     "withdraw ID --reason TEXT",
		Short:   "Withdraw a policy (owning agency only); its versions and verdicts stay on the ledger",
		Example: `  ledgerctl policy withdraw us-fda-seafood-facility --reason "replaced by us-fda-seafood-facility-2" --key fda.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return errors.New("--reason is required: say why the policy is withdrawn")
			}
			w := policy.Withdraw{ID: args[0], Reason: reason}
			if err := w.Validate(); err != nil {
				return err
			}
			return a.SignAndSubmit(cmd, policy.TxWithdraw, w, sf.options(), sf.save)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the policy is withdrawn (recorded on the ledger)")
	sf.add(cmd)
	return cmd
}

func (a *App) policyGetCmd() *cobra.Command {
	var ro readOpts
	cmd := &cobra.Command{
		Use:     "get ID",
		Short:   "Show a policy: its status and every version with the transaction that published it",
		Example: "  ledgerctl policy get us-fda-seafood-facility\n  ledgerctl policy get us-fda-seafood-facility -o yaml   # the rules of every version",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*policy.Response, error) {
				return c.Policy(ctx, args[0], ro.options())
			}, func(w io.Writer, resp *policy.Response) {
				h := resp.Head
				row(w, "ID", "AGENCY", "VERSION", "STATUS", "ENFORCEMENT", "SCOPE")
				row(w, h.ID, h.Agency, h.Version, h.Status, h.Enforcement, scopeString(h.Scope))
				if h.Status == policy.StatusWithdrawn {
					fmt.Fprintf(w, "\nwithdrawn at %s (tx %s): %s\n", h.Withdrawn, short(h.WithdrawnTx, 16), h.Reason)
				}
				fmt.Fprintln(w)
				row(w, "VERSION", "IN FORCE FROM", "HEIGHT", "TX", "RULES")
				for _, v := range resp.Versions {
					names := make([]string, len(v.Policy.Rules))
					for i, r := range v.Policy.Rules {
						names[i] = r.Name
					}
					row(w, v.Policy.Version, v.Time, v.Height, short(v.TxID, 16), strings.Join(names, ","))
				}
			})
		},
	}
	ro.add(cmd)
	return cmd
}

func scopeString(s policy.Scope) string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, name+"="+strings.Join(v, ","))
		}
	}
	add("types", s.DocumentTypes)
	add("programs", s.Programs)
	add("hs", s.HSPrefixes)
	add("origin", s.OriginCountries)
	add("destination", s.DestinationCountries)
	if len(parts) == 0 {
		return "(every document)"
	}
	return strings.Join(parts, " ")
}

func (a *App) policyListCmd() *cobra.Command {
	var agency string
	var ro readOpts
	cmd := &cobra.Command{
		Use:     "list [--agency ID]",
		Short:   "List policies, all of them or one agency's",
		Example: "  ledgerctl policy list\n  ledgerctl policy list --agency us-fda -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) ([]policy.Head, error) {
				return c.Policies(ctx, agency, ro.options())
			}, func(w io.Writer, list []policy.Head) { printHeads(w, list) })
		},
	}
	cmd.Flags().StringVar(&agency, "agency", "", "only this agency's policies (e.g. us-fda)")
	ro.add(cmd)
	return cmd
}

func printHeads(w io.Writer, list []policy.Head) {
	row(w, "ID", "AGENCY", "VERSION", "STATUS", "ENFORCEMENT", "UPDATED", "SCOPE")
	for _, h := range list {
		row(w, h.ID, h.Agency, h.Version, h.Status, h.Enforcement, h.Updated, scopeString(h.Scope))
	}
}

// testResult is what `policy test -o json` prints.
type testResult struct {
	Policy   string          `json:"policy"`
	Version  int             `json:"version,omitempty"`
	Subject  policy.Subject  `json:"subject"`
	At       string          `json:"at"`
	InScope  bool            `json:"inScope"`
	Mismatch string          `json:"scopeMismatch,omitempty"`
	Verdict  *policy.Verdict `json:"verdict"`
	Decision string          `json:"decision"`
}

func (a *App) policyTestCmd() *cobra.Command {
	var input, atFlag string
	cmd := &cobra.Command{
		Use:   "test FILE --input DOC",
		Short: "Evaluate a policy file on a document offline, with the engine the nodes use",
		Long: `Evaluates every rule of the policy in FILE on the input in DOC, offline, and
prints each rule's outcome and the decision the ledger would take. Exit code 2
when the policy is in scope, Enforce, and a rule fails or cannot be evaluated
(the ledger would reject); 1 when FILE does not compile.

DOC (YAML or JSON) holds what a node would pass to the rules:

  record:       {id, type, program, hsCodes, originCountries, destinationCountries}
  doc:          the document (an object)
  parties:      the parties by role (optional)
  licensePath:  the license chain (optional)
  context:      what the transaction adds: action, version, previous, ... (optional)
  agency:       {id, name, country, programs} (optional; default: the policy's agency)
  at:           the block time to evaluate at (optional; default: now)`,
		Example: `  ledgerctl policy test ledgernode/devnet/policies/us-fda-seafood-facility.yaml \
      --input ledgernode/devnet/policies/inputs/shrimp-unregistered.yaml
  ledgerctl policy test my-policy.yaml --input doc.json --at 2026-07-01T00:00:00Z -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if input == "" {
				return errors.New("--input DOC is required: a YAML or JSON file with record, doc, parties, licensePath, context and at (see --help)")
			}
			p, c, err := loadPolicy(cmd, args[0])
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			raw, err := readInput(input)
			if err != nil {
				return err
			}
			in, err := policy.ParseTestInput(raw)
			if err != nil {
				return fmt.Errorf("--input %s: %w", input, err)
			}
			at := in.AtTime(time.Now().UTC())
			if atFlag != "" {
				t, err := parseRFC3339("at", atFlag)
				if err != nil {
					return err
				}
				at = t.UTC()
			}
			agency := policy.Agency{ID: p.Agency}
			if in.Agency != nil {
				agency = *in.Agency
			}
			prep := policy.Prepare(policy.Input{Record: in.Record, Doc: in.Doc, Parties: in.Parties, LicensePath: in.LicensePath, Context: in.Context, At: at, TrackCost: true})
			v := c.Evaluate(prep, agency)
			res := testResult{Policy: p.ID, Version: p.Version, Subject: in.Record, At: tx.FormatTime(at), Verdict: v,
				Mismatch: p.Scope.Mismatch(in.Record)}
			res.InScope = res.Mismatch == ""
			res.Decision = v.Decision()
			if !res.InScope {
				res.Decision = "not evaluated: out of scope"
			}
			err = a.Print(cmd, res, func(w io.Writer) {
				fmt.Fprintf(w, "policy %s (agency %s, %s) on %q at %s\n", p.ID, p.Agency, p.Enforcement, in.Record.ID, res.At)
				if res.InScope {
					fmt.Fprintln(w, "scope:\tin scope")
				} else {
					fmt.Fprintf(w, "scope:\tNOT in scope (%s): the ledger would not evaluate it; outcomes shown anyway\n", res.Mismatch)
				}
				fmt.Fprintln(w)
				row(w, "RULE", "RESULT", "COST", "MESSAGE")
				for _, o := range v.Outcomes {
					row(w, o.Rule, o.Result, o.Cost, o.Message)
				}
				fmt.Fprintf(w, "\ndecision:\t%s\n", res.Decision)
			})
			if err != nil {
				return err
			}
			if res.InScope && v.Rejects() {
				return &ExitError{Code: 2, Err: fmt.Errorf("policy %s would reject the document", p.ID)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "the evaluation input (YAML or JSON; - for standard input)")
	cmd.Flags().StringVar(&atFlag, "at", "", "evaluate at this time (RFC 3339), overriding the input's at")
	return cmd
}

func (a *App) policyScopeCmd() *cobra.Command {
	var sub policy.Subject
	var hs, origin, destination, at string
	var ro readOpts
	cmd := &cobra.Command{
		Use:     "scope --type TYPE [--program P] [--hs CODES] [--origin CC] [--destination CC] [--at TIME]",
		Short:   "List the policies (the version in force) that apply to a document with these attributes",
		Example: "  ledgerctl policy scope --type certificate --program USMCA --hs 030617 --origin MX --destination US",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			split := func(s string) []string {
				var out []string
				for _, v := range strings.Split(s, ",") {
					if v = strings.TrimSpace(v); v != "" {
						out = append(out, v)
					}
				}
				return out
			}
			sub.HSCodes, sub.OriginCountries, sub.DestinationCountries = split(hs), split(origin), split(destination)
			if at != "" {
				t, err := parseRFC3339("at", at)
				if err != nil {
					return err
				}
				at = tx.FormatTime(t)
			}
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*policy.ScopeResponse, error) {
				return c.PoliciesInScope(ctx, sub, at, ro.options())
			}, func(w io.Writer, resp *policy.ScopeResponse) {
				row(w, "ID", "AGENCY", "VERSION", "ENFORCEMENT", "IN FORCE FROM", "RULES")
				for _, v := range resp.Policies {
					row(w, v.Policy.ID, v.Policy.Agency, v.Policy.Version, v.Policy.Enforcement, v.Time, len(v.Policy.Rules))
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&sub.Type, "type", "", "document type: certificate, shipment or license")
	f.StringVar(&sub.Program, "program", "", "program: USMCA, CAFTA-DR, NAFTA, IPR")
	f.StringVar(&hs, "hs", "", "HS codes of the goods, comma-separated")
	f.StringVar(&origin, "origin", "", "countries of origin, comma-separated (ISO alpha-2)")
	f.StringVar(&destination, "destination", "", "countries of destination, comma-separated")
	f.StringVar(&at, "at", "", "as of this time (RFC 3339; default now)")
	ro.add(cmd)
	return cmd
}

func (a *App) policyHistoryCmd() *cobra.Command {
	var ro readOpts
	cmd := &cobra.Command{
		Use:     "history DOCUMENT-ID",
		Short:   "Show every evaluation of a document by the agency rules, rejections included",
		Example: "  ledgerctl policy history cert-2026-0001\n  ledgerctl policy history cert-2026-0001 -o json | jq '.evaluations[].findings'",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*policy.EvaluationsResponse, error) {
				return c.Evaluations(ctx, args[0], ro.options())
			}, func(w io.Writer, resp *policy.EvaluationsResponse) {
				if len(resp.Evaluations) == 0 {
					fmt.Fprintf(w, "no evaluations of %q (no policy was in scope, or no such document)\n", args[0])
					return
				}
				row(w, "HEIGHT", "TIME", "TX", "TYPE", "STATUS", "POLICY", "VERSION", "RULE", "ENFORCEMENT", "RESULT", "MESSAGE")
				for _, e := range resp.Evaluations {
					for _, f := range e.Findings {
						row(w, e.Height, e.Time, short(e.TxID, 16), e.TxType, e.Status, f.Source, f.Version, f.Rule, f.Enforcement, f.Result, f.Message)
					}
				}
				for _, e := range resp.Evaluations {
					for _, r := range e.Reasons {
						fmt.Fprintf(w, "\n%s at height %d rejected: %s\n", short(e.TxID, 16), e.Height, r.Message)
					}
				}
			})
		},
	}
	ro.add(cmd)
	return cmd
}
