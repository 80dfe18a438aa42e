package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) noteCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "note", Short: "Write and read versioned notes (generic signed records)"}
	var sf submitFlags
	var expect string
	put := &cobra.Command{
		Use:     "put KEY VALUE",
		Short:   "Write a note; VALUE is JSON (a bare word is taken as a string)",
		Example: `  ledgerctl note put greeting hello --save receipt.json`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			val := json.RawMessage(args[1])
			if !json.Valid(val) {
				val, _ = json.Marshal(args[1])
			}
			p := wire.NotePut{Key: args[0], Value: val}
			if expect != "" {
				v, err := strconv.ParseUint(expect, 10, 64)
				if err != nil {
					return fmt.Errorf("--expect-version %q: must be a number (0 = the note must not exist)", expect)
				}
				p.ExpectVersion = &v
			}
			return a.SignAndSubmit(cmd, wire.TypeNotePut, p, sf.options(), sf.save)
		},
	}
	sf.add(put)
	put.Flags().StringVar(&expect, "expect-version", "", "compare-and-set: write only if the note is at this version")
	var ro readOpts
	get := &cobra.Command{
		Use:   "get KEY",
		Short: "Read a note",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.Note, error) {
				return c.Note(ctx, args[0], ro.options())
			}, func(w io.Writer, n *wire.Note) {
				row(w, "KEY", "VERSION", "VALUE", "WRITER", "TIME", "TX")
				row(w, n.Key, n.Version, string(n.Value), n.Writer, n.Time, short(n.TxID, 16))
			})
		},
	}
	ro.add(get)
	cmd.AddCommand(put, get)
	return cmd
}
