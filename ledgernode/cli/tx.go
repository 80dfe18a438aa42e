package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) txCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tx", Short: "Sign, submit and look up transactions"}
	cmd.AddCommand(a.txSubmitCmd(), a.txSubmitBatchCmd(), a.txSignCmd(), a.txGetCmd(), a.txTypesCmd())
	return cmd
}

// payloadFlags read a payload from --payload FILE or --payload-json TEXT.
type payloadFlags struct{ file, text string }

func (p *payloadFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.file, "payload", "", "payload JSON file ('-' for standard input)")
	cmd.Flags().StringVar(&p.text, "payload-json", "", "payload JSON inline")
}

func (p *payloadFlags) read() (json.RawMessage, error) {
	switch {
	case p.file != "" && p.text != "":
		return nil, errors.New("give --payload or --payload-json, not both")
	case p.file != "":
		raw, err := readInput(p.file)
		return raw, err
	case p.text != "":
		return json.RawMessage(p.text), nil
	}
	return nil, errors.New("a payload is required: --payload FILE or --payload-json '{...}'")
}

// submitFlags choose how to wait and what to save.
type submitFlags struct {
	async, proof bool
	save         string
}

func (s *submitFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&s.async, "async", false, "return at once with the transaction id; look it up later with 'tx get'")
	cmd.Flags().BoolVar(&s.proof, "proof", false, "include the inclusion proof and signed head in the answer")
	cmd.Flags().StringVar(&s.save, "save", "", "write the evidence (tx, receipt, proof, head) to FILE for 'ledgerctl verify receipt'")
}

func (s *submitFlags) options() client.SubmitOptions {
	return client.SubmitOptions{Async: s.async, Proof: s.proof || s.save != ""}
}

func (a *App) txSubmitCmd() *cobra.Command {
	var typ, envelope string
	var pf payloadFlags
	var sf submitFlags
	cmd := &cobra.Command{
		Use:   "submit (--type TYPE --payload FILE | --envelope FILE)",
		Short: "Sign a payload with --key and submit it, or submit a signed envelope",
		Example: `  ledgerctl tx submit --type note.put --payload-json '{"key":"greeting","value":"hello"}' --save receipt.json
  ledgerctl tx sign --type note.put --payload note.json > env.json && ledgerctl tx submit --envelope env.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if envelope != "" {
				raw, err := readInput(envelope)
				if err != nil {
					return err
				}
				st, err := tx.Decode(raw, tx.Limits{MaxEnvelopeBytes: 64 << 20})
				if err != nil {
					return fmt.Errorf("%s: %w", envelope, err)
				}
				return a.withClient(func(c *client.Client, ctx context.Context) error {
					return a.submit(cmd, ctx, c, st, sf.options(), sf.save)
				})
			}
			if typ == "" {
				return errors.New("--type is required (ledgerctl tx types lists them)")
			}
			payload, err := pf.read()
			if err != nil {
				return err
			}
			return a.SignAndSubmit(cmd, typ, payload, sf.options(), sf.save)
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "transaction type, e.g. note.put")
	cmd.Flags().StringVar(&envelope, "envelope", "", "submit this signed envelope file as is")
	pf.add(cmd)
	sf.add(cmd)
	return cmd
}

// submit sends st and prints the receipt (and saves evidence if asked).
func (a *App) submit(cmd *cobra.Command, ctx context.Context, c *client.Client, st *tx.Signed, o client.SubmitOptions, save string) error {
	resp, err := c.Submit(ctx, st, o)
	if err != nil {
		return err
	}
	if save != "" && resp.Evidence != nil {
		if err := saveJSON(save, resp.Evidence); err != nil {
			return err
		}
	}
	if err := a.printSubmit(cmd, resp); err != nil {
		return err
	}
	if resp.Receipt != nil && resp.Receipt.Status == chain.Rejected {
		return &ExitError{Code: 2, Err: fmt.Errorf("transaction %s rejected", short(resp.TxID, 16))}
	}
	return nil
}

// ExitError carries a process exit code (2: the ledger said no).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

func (a *App) printSubmit(cmd *cobra.Command, resp *wire.SubmitResponse) error {
	return a.Print(cmd, resp, func(w io.Writer) {
		if resp.Pending {
			row(w, "TX", "STATUS")
			row(w, resp.TxID, "pending (look it up with: ledgerctl tx get "+resp.TxID+")")
			return
		}
		printReceipt(w, resp.Receipt, resp.Existing)
	})
}

func printReceipt(w io.Writer, rc *chain.Receipt, existing bool) {
	note := ""
	if existing {
		note = " (already recorded)"
	}
	row(w, "TX", "TYPE", "HEIGHT", "INDEX", "LEAF", "TIME", "STATUS")
	row(w, rc.TxID, rc.Type, rc.Height, rc.Index, rc.LeafIndex, rc.Time, string(rc.Status)+note)
	if len(rc.Result) > 0 {
		fmt.Fprintf(w, "\nresult: %s\n", rc.Result)
	}
	for _, r := range rc.Reasons {
		fmt.Fprintf(w, "reason: %s", r.Code)
		if r.Field != "" {
			fmt.Fprintf(w, " [%s]", r.Field)
		}
		fmt.Fprintf(w, ": %s\n", r.Message)
	}
	for _, f := range rc.Findings {
		fmt.Fprintf(w, "finding: %s v%d %s (%s): %s %s\n", f.Source, f.Version, f.Rule, f.Enforcement, f.Result, f.Message)
	}
}

func (a *App) txSignCmd() *cobra.Command {
	var typ string
	var pf payloadFlags
	cmd := &cobra.Command{
		Use:   "sign --type TYPE --payload FILE",
		Short: "Sign a transaction offline with --key and print the envelope (needs --network)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if typ == "" || a.g.network == "" {
				return errors.New("--type and --network are required to sign offline")
			}
			payload, err := pf.read()
			if err != nil {
				return err
			}
			key, err := a.Key()
			if err != nil {
				return err
			}
			st, err := tx.BuildSigned(a.g.network, typ, payload, time.Now(), key)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(st.Canonical))
			return err
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "transaction type")
	pf.add(cmd)
	return cmd
}

func (a *App) txGetCmd() *cobra.Command {
	var proof bool
	var save string
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "get TX_ID",
		Short: "Show a transaction, its receipt and (with --proof) its inclusion proof",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				ev, err := c.Tx(ctx, args[0], proof || save != "", ro.options())
				if err != nil {
					return err
				}
				if save != "" {
					if err := saveJSON(save, ev); err != nil {
						return err
					}
				}
				return a.Print(cmd, ev, func(w io.Writer) {
					printReceipt(w, &ev.Receipt, false)
					fmt.Fprintf(w, "\nenvelope: %s\n", ev.Tx)
					if ev.Proof.TreeSize > 0 {
						fmt.Fprintf(w, "proof: leaf %d in tree of %d (%d hashes), head height %d signed by %s\n",
							ev.Proof.LeafIndex, ev.Proof.TreeSize, len(ev.Proof.Hashes), ev.Head.Height, ev.Head.Node)
					}
					if save != "" {
						fmt.Fprintf(w, "evidence saved to %s: ledgerctl verify receipt %s\n", save, save)
					}
				})
			})
		},
	}
	cmd.Flags().BoolVar(&proof, "proof", false, "include the inclusion proof and signed head")
	ro.add(cmd)
	cmd.Flags().StringVar(&save, "save", "", "write the evidence to FILE for offline verification")
	return cmd
}

func (a *App) txTypesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "types",
		Short: "List the transaction types the network accepts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) ([]wire.TypeInfo, error) {
				return c.Types(ctx)
			}, func(w io.Writer, types []wire.TypeInfo) {
				row(w, "TYPE", "SUMMARY")
				for _, t := range types {
					row(w, t.Type, t.Summary)
				}
			})
		},
	}
}
