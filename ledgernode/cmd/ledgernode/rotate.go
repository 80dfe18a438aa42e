package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
)

// caNewCmd and nodeCertCmd are the two steps of a CA rotation an operator
// cannot do with the files alone (docs/operations.md, "Rotating the
// network CA"): a new CA, and node TLS certificates issued from it.

func caNewCmd() *cobra.Command {
	var name, out string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "ca-new --name NAME --out DIR",
		Short: "Generate a new network CA (for a CA rotation): DIR/ca.crt and DIR/ca.key",
		Long: `Generate a new network CA certificate and key, as 'ledgernode init' does for a new
network, to rotate the CA of a running network without an outage
(docs/operations.md, "Rotating the network CA"): trust both CAs, reissue every
node and client certificate from the new one ('ledgernode node-cert',
'ledgernode client-cert'), then drop the old one. Keep ca.key offline.`,
		Example: `  ledgernode ca-new --name "pilot network CA 2027" --out ./ca-2027`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || out == "" {
				return errors.New("--name and --out are required")
			}
			ca, err := pki.NewCA(name, time.Now(), validity)
			if err != nil {
				return err
			}
			for _, f := range []string{"ca.crt", "ca.key"} {
				if _, err := os.Stat(out + "/" + f); err == nil {
					return fmt.Errorf("%s/%s exists: a CA is never overwritten; choose another --out", out, f)
				}
			}
			cp, err := pki.WriteFile(out, "ca.crt", ca.CertPEM, 0o644)
			if err != nil {
				return err
			}
			kp, err := pki.WriteFile(out, "ca.key", ca.KeyPEM, 0o600)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new CA %q, valid until %s:\n  certificate %s\n  key         %s (keep it offline)\n", name, ca.Cert.NotAfter.UTC().Format(time.RFC3339), cp, kp)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the CA's common name")
	cmd.Flags().StringVar(&out, "out", "", "directory to write ca.crt and ca.key to")
	cmd.Flags().DurationVar(&validity, "validity", 10*365*24*time.Hour, "how long the CA is valid")
	return cmd
}

func nodeCertCmd() *cobra.Command {
	var caCert, caKey, out, raftAddr, apiAddr string
	var hosts []string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "node-cert ID --raft-addr HOST:PORT --api-addr HOST:PORT --ca-cert ca.crt --ca-key ca.key --out DIR",
		Short: "Issue a node's TLS certificate and a new TLS key from a CA: DIR/tls.crt and DIR/tls.key",
		Long: `Issue a node's TLS certificate (server and client, naming the node id, its
addresses and --host names) with a new TLS key. The node's head-signing key
(node.key, which the genesis names) is not touched. Replace the node's
--tls-cert and --tls-key files with them (key first): the node re-reads them
within a second, no restart.`,
		Example: `  ledgernode node-cert ledger-0 --raft-addr ledger-0.ledger:7000 --api-addr ledger-0.ledger:8443 \
    --ca-cert ca-2027/ca.crt --ca-key ca-2027/ca.key --out ./ledger-0-tls`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !chain.ValidNodeID(id) {
				return fmt.Errorf("node id %q: must be a DNS label (lower-case letters, digits, '-')", id)
			}
			if caCert == "" || caKey == "" || out == "" || raftAddr == "" || apiAddr == "" {
				return errors.New("--raft-addr, --api-addr, --ca-cert, --ca-key and --out are required")
			}
			ca, err := loadCAFlags(caCert, caKey)
			if err != nil {
				return err
			}
			certPEM, keyPEM, err := netgen.IssueNodeTLS(ca, netgen.NodeSpec{ID: id, RaftAddr: raftAddr, APIAddr: apiAddr, Hosts: hosts}, time.Now(), validity)
			if err != nil {
				return err
			}
			c, err := pki.WriteFile(out, "tls.crt", certPEM, 0o644)
			if err != nil {
				return err
			}
			k, err := pki.WriteFile(out, "tls.key", keyPEM, 0o600)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "TLS certificate for node %s, valid %s:\n  certificate %s\n  key         %s\n", id, validity, c, k)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&caCert, "ca-cert", "", "CA certificate (PEM) to issue from")
	f.StringVar(&caKey, "ca-key", "", "CA key (PEM)")
	f.StringVar(&out, "out", "", "directory to write tls.crt and tls.key to")
	f.StringVar(&raftAddr, "raft-addr", "", "address peers dial for the node's Raft")
	f.StringVar(&apiAddr, "api-addr", "", "address of the node's API")
	f.StringSliceVar(&hosts, "host", nil, "another DNS name or IP for the certificate (repeat)")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "how long the certificate is valid")
	return cmd
}
