package cli

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) shipmentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "shipment",
		Aliases: []string{"shipments", "entry"},
		Short:   "Declare and inspect shipments (entries): importer, goods lines, certificates and licenses",
		Long: `A shipment (entry) lists the importer, the goods lines with their tariff codes
and countries, and the certificate and licenses each line relies on. Declaring
it records it and runs the agencies' rules on it; 'verify shipment' combines the
certificate and license verdicts per line.`,
	}
	var file string
	var sf submitFlags
	declare := &cobra.Command{
		Use:   "declare --file SHIPMENT.json",
		Short: "Declare a shipment (signed by the importer, or an agency of the destination country)",
		Example: `  cat > entry.json <<'JSON'
  {"id":"ENTRY-0001","importer":"participant/bigbox-us","entryDate":"2026-05-01T00:00:00Z","destinationCountry":"US",
   "lines":[{"line":1,"description":"ACME T-shirts","hsCode":"6109100012","originCountry":"MX",
             "certificate":"USMCA-ACME-0001","licenses":["LIC-BIGBOX"]}]}
  JSON
  ledgerctl shipment declare --file entry.json --key bigbox.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s wire.Shipment
			if err := readPayload(file, &s); err != nil {
				return err
			}
			return a.submitTrade(cmd, wire.TypeShipmentDeclare, s, &sf)
		},
	}
	declare.Flags().StringVar(&file, "file", "", "shipment JSON ('-' for standard input)")
	sf.add(declare)
	var ro readOpts
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a declared shipment",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.ShipmentRecord, error) {
				return c.Shipment(ctx, args[0], ro.options())
			}, func(w io.Writer, s *wire.ShipmentRecord) {
				row(w, "SHIPMENT", "IMPORTER", "ENTRY DATE", "DESTINATION", "LINES", "DECLARED BY", "TX")
				row(w, s.ID, s.Importer, s.EntryDate, s.DestinationCountry, len(s.Lines), s.Recorded.Signer, short(s.Recorded.TxID, 16))
				row(w, "")
				row(w, "LINE", "HS", "ORIGIN", "CERTIFICATE", "LICENSES", "DESCRIPTION")
				for _, l := range s.Lines {
					row(w, l.Line, l.HSCode, l.OriginCountry, dash(l.Certificate), dash(strings.Join(l.Licenses, ",")), l.Description)
				}
			})
		},
	}
	ro.add(get)
	cmd.AddCommand(declare, get)
	return cmd
}
