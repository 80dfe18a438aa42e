package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
)

func (a *App) headCmd() *cobra.Command {
	var save string
	var ro readOpts
	cmd := &cobra.Command{
		Use:   "head",
		Short: "Show the signed ledger head (height, tree size, root); --save keeps it for 'verify consistency'",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withClient(func(c *client.Client, ctx context.Context) error {
				h, err := c.Head(ctx, ro.options())
				if err != nil {
					return err
				}
				if save != "" {
					if err := saveJSON(save, h); err != nil {
						return err
					}
				}
				return a.Print(cmd, h, func(w io.Writer) {
					row(w, "NETWORK", "HEIGHT", "TREE SIZE", "ROOT", "TIME", "SIGNED BY")
					row(w, h.Network, h.Height, h.TreeSize, h.Root, h.Time, h.Node)
				})
			})
		},
	}
	cmd.Flags().StringVar(&save, "save", "", "write the signed head to FILE")
	ro.add(cmd)
	return cmd
}
