package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/netgen"
)

func initCmd() *cobra.Command {
	var network, out string
	var nodes []string
	cmd := &cobra.Command{
		Use:   "init --network ID --node ID=RAFT_ADDR,API_ADDR ... --out DIR",
		Short: "Generate a new network: genesis, CA, node keys and certificates, admin key",
		Example: `  ledgernode init --network pilot --out ./pilot \
    --node ledger-0=ledger-0.ledger:7000,ledger-0.ledger:8443 \
    --node ledger-1=ledger-1.ledger:7000,ledger-1.ledger:8443 \
    --node ledger-2=ledger-2.ledger:7000,ledger-2.ledger:8443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if network == "" || out == "" || len(nodes) == 0 {
				return errors.New("--network, --out and at least one --node are required")
			}
			var specs []netgen.NodeSpec
			for i, n := range nodes {
				id, addrs, ok := strings.Cut(n, "=")
				raft, api, ok2 := strings.Cut(addrs, ",")
				if !ok || !ok2 || id == "" || raft == "" || api == "" {
					return fmt.Errorf("--node[%d] %q: want ID=RAFT_HOST:PORT,API_HOST:PORT", i, n)
				}
				specs = append(specs, netgen.NodeSpec{ID: id, RaftAddr: raft, APIAddr: api})
			}
			b, err := netgen.Generate(netgen.Options{Network: network, Nodes: specs})
			if err != nil {
				return err
			}
			l, err := b.Write(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "network %q written to %s\n  genesis   %s\n  CA        %s (keep ca.key offline)\n  admin key %s (keep it safe: it registers agencies and changes membership)\n  admin client certificate %s, key %s (ledgerctl --cert/--cert-key: reads everything)\n",
				network, l.Dir, l.Genesis, l.CACert, l.Admin, l.ClientCert, l.ClientKey)
			for _, s := range specs {
				p := l.Nodes[s.ID]
				fmt.Fprintf(cmd.OutOrStdout(), "  node %-10s key %s, tls %s\n", s.ID, p.NodeKey, p.TLS.Cert)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "network id (lower-case letters, digits, '-')")
	cmd.Flags().StringVar(&out, "out", "", "directory to write to (must not hold a network)")
	cmd.Flags().StringArrayVar(&nodes, "node", nil, "initial node: ID=RAFT_ADDR,API_ADDR (repeat)")
	return cmd
}
