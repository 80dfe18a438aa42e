package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func clientCertCmd() *cobra.Command {
	var caCert, caKey, out string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "client-cert IDENTITY --ca-cert ca.crt --ca-key ca.key --out DIR",
		Short: "Issue a client certificate from the network CA for reading the ledger as an identity",
		Long: `Issue a client certificate from the network CA. The certificate names the ledger
identity its holder reads as: "admin" (everything), "agency/<id>" (every
record) or "participant/<id>" (the records that name it); docs/api.md lists
what each may read. The identity must be on the ledger and active when the
certificate is used (admin always is).

Writes the certificate and its key as DIR/<name>.crt and DIR/<name>.key
(key mode 0600), where <name> is the identity with '/' as '-'.`,
		Example: `  ledgernode client-cert agency/us-cbp --ca-cert pilot/ca.crt --ca-key pilot/ca.key --out ./certs
  ledgerctl --cert certs/agency-us-cbp.crt --cert-key certs/agency-us-cbp.key agency list`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ident := args[0]
			if ident != wire.KindAdmin && (!wire.ValidIdentityID(ident) || wire.KindOf(ident) == wire.KindNode) {
				return fmt.Errorf("identity %q: must be admin, agency/<id> or participant/<id>", ident)
			}
			if caCert == "" || caKey == "" || out == "" {
				return errors.New("--ca-cert, --ca-key and --out are required")
			}
			ca, err := loadCAFlags(caCert, caKey)
			if err != nil {
				return err
			}
			certPEM, keyPEM, err := ca.IssueClient(ident, time.Now(), validity)
			if err != nil {
				return err
			}
			name := filepath.Base(filepath.Clean("/" + ident))
			if wire.KindOf(ident) != ident {
				name = wire.KindOf(ident) + "-" + name
			}
			cp2, err := pki.WriteFile(out, name+".crt", certPEM, 0o644)
			if err != nil {
				return err
			}
			kp2, err := pki.WriteFile(out, name+".key", keyPEM, 0o600)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "client certificate for %s, valid %s:\n  certificate %s\n  key         %s\n", ident, validity, cp2, kp2)
			return nil
		},
	}
	cmd.Flags().StringVar(&caCert, "ca-cert", "", "network CA certificate (PEM)")
	cmd.Flags().StringVar(&caKey, "ca-key", "", "network CA key (PEM)")
	cmd.Flags().StringVar(&out, "out", "", "directory to write the certificate and key to")
	cmd.Flags().DurationVar(&validity, "validity", 365*24*time.Hour, "how long the certificate is valid")
	return cmd
}

// loadCAFlags loads the network CA from the files --ca-cert and --ca-key
// name, for the commands that issue certificates from it.
func loadCAFlags(caCert, caKey string) (*pki.CA, error) {
	cp, err := os.ReadFile(caCert)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	kp, err := os.ReadFile(caKey)
	if err != nil {
		return nil, fmt.Errorf("--ca-key: %w", err)
	}
	return pki.LoadCA(cp, kp)
}
