package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

func (a *App) verifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify ledger evidence: receipts offline, consistency of the ledger since a saved head",
	}
	cmd.PersistentFlags().StringVar(&a.trustFile, "trust", os.Getenv(EnvTrust), "genesis or trust file naming the node keys to trust ($"+EnvTrust+")")
	cmd.AddCommand(a.verifyReceiptCmd(), a.verifyConsistencyCmd())
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
				return &ExitError{Code: 3, Err: fmt.Errorf("NOT VERIFIED: %w", err)}
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
			c, err := a.Client()
			if err != nil {
				return err
			}
			ctx, cancel := a.Context()
			defer cancel()
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
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "file with a head saved earlier")
	cmd.Flags().BoolVar(&update, "update", false, "after verifying, save the new head to the same file")
	return cmd
}
