package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
)

func (a *App) blockCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "block", Short: "Read blocks"}
	var ro readOpts
	get := &cobra.Command{
		Use:   "get [HEIGHT|latest]",
		Short: "Show a block: header, transactions and their outcomes",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var h uint64
			if len(args) == 1 && args[0] != "latest" {
				var err error
				if h, err = strconv.ParseUint(args[0], 10, 64); err != nil || h == 0 {
					return fmt.Errorf("height %q: must be a number >= 1 or latest", args[0])
				}
			}
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*chain.Block, error) {
				return c.Block(ctx, h, ro.options())
			}, func(w io.Writer, b *chain.Block) {
				hd := b.Header
				row(w, "HEIGHT", "TIME", "PROPOSER", "TXS", "TREE SIZE", "HASH")
				row(w, hd.Height, hd.Time, hd.Proposer, hd.TxCount, hd.TreeSize, b.Hash)
				fmt.Fprintf(w, "prev %s\nledger root %s\nstate hash %s\n\n", hd.Prev, hd.LedgerRoot, hd.StateHash)
				row(w, "#", "TX", "TYPE", "STATUS", "REASON")
				for i, r := range b.Receipts {
					reason := ""
					if len(r.Reasons) > 0 {
						reason = r.Reasons[0].Code + ": " + r.Reasons[0].Message
					}
					row(w, i, short(r.TxID, 16), r.Type, r.Status, reason)
				}
			})
		},
	}
	ro.add(get)
	cmd.AddCommand(get)
	return cmd
}
