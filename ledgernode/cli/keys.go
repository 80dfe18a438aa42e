package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create, inspect, register and revoke Ed25519 keys"}
	cmd.AddCommand(a.keysCreateCmd(), a.keysShowCmd(), a.keysGetCmd(), a.keysRegisterCmd(), a.keysRevokeCmd(), a.keysRotateCmd())
	return cmd
}

type keyInfo struct {
	KeyID       string `json:"keyId"`
	Fingerprint string `json:"fingerprint"`
	File        string `json:"file,omitempty"`
}

// keyIDOf is the key id of a private key's public half.
func keyIDOf(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }

// printKeyFile prints the public side of the key in file: id and fingerprint.
func (a *App) printKeyFile(cmd *cobra.Command, k ed25519.PrivateKey, file string) error {
	info := keyInfo{KeyID: keyIDOf(k), Fingerprint: tx.Fingerprint(k.Public().(ed25519.PublicKey)), File: file}
	return a.Print(cmd, info, func(w io.Writer) {
		row(w, "KEY ID", "FINGERPRINT", "FILE")
		row(w, info.KeyID, info.Fingerprint, info.File)
	})
}

func (a *App) keysCreateCmd() *cobra.Command {
	var out, comment string
	cmd := &cobra.Command{
		Use:   "create --out FILE",
		Short: "Create a new Ed25519 key pair in FILE (mode 0600; never overwritten)",
		Example: `  ledgerctl keys create --out acme.key --comment "ACME Exports signing key"
  ledgerctl keys register --owner participant/acme --public-key $(ledgerctl keys show acme.key -o json | jq -r .keyId)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out FILE is required")
			}
			k, err := tx.GenerateKey()
			if err != nil {
				return err
			}
			if err := tx.WriteKeyFile(out, k, comment); err != nil {
				return err
			}
			return a.printKeyFile(cmd, k, out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the key to")
	cmd.Flags().StringVar(&comment, "comment", "", "a note stored in the key file")
	return cmd
}

func (a *App) keysShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show FILE",
		Short: "Show the public key id and fingerprint of a key file (never the private key)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := tx.ReadKeyFile(args[0])
			if err != nil {
				return err
			}
			return a.printKeyFile(cmd, k, args[0])
		},
	}
}

// keyIDHelp is what --help says about typing key ids.
const keyIDHelp = `A key id is base64url and may begin with '-', which would read as a flag:
give it as key:<id> (the prefix is dropped), as --id=<id>, or after --.`

// keyIDArg is the key id of a command: the --id flag or the one argument,
// either with an optional "key:" prefix.
func keyIDArg(args []string, flag string) (string, error) {
	switch {
	case flag != "" && len(args) > 0:
		return "", fmt.Errorf("give the key id once: as --id or as the argument, not both")
	case flag != "":
		return strings.TrimPrefix(flag, "key:"), nil
	case len(args) == 1:
		return strings.TrimPrefix(args[0], "key:"), nil
	}
	return "", fmt.Errorf("a key id is required: KEY_ID, key:<id> or --id=<id>")
}

func (a *App) keysGetCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "get KEY_ID | key:KEY_ID | --id=KEY_ID",
		Short: "Show a registered key and its history (registered, retired, revoked)",
		Long:  "Show a registered key and its history (registered, retired, revoked).\n\n" + keyIDHelp,
		Example: `  ledgerctl keys get key:-Xb3...
  ledgerctl keys get --id=-Xb3...`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keyID, err := keyIDArg(args, id)
			if err != nil {
				return err
			}
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.Key, error) {
				return c.Key(ctx, keyID)
			}, func(w io.Writer, k *wire.Key) {
				row(w, "FINGERPRINT", "OWNER", "KIND", "VALID FROM", "RETIRED", "REVOKED")
				row(w, k.Fingerprint, k.Owner, k.Kind, k.ValidFrom, dash(k.RetiredAt), dash(k.RevokedAt))
				fmt.Fprintln(w)
				row(w, "TIME", "EVENT", "TX", "DETAIL")
				for _, e := range k.History {
					row(w, e.Time, e.Event, short(e.TxID, 16), e.Detail)
				}
			})
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the key id (use --id=<id> when it begins with '-')")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *App) keysRegisterCmd() *cobra.Command {
	var p wire.KeyRegister
	cmd := &cobra.Command{
		Use:   "register --owner KIND/NAME --public-key KEY_ID",
		Short: "Register a key for a node, agency or participant (signed with the network admin key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.SignAndSubmit(cmd, wire.TypeKeyRegister, p, client.SubmitOptions{}, "")
		},
	}
	cmd.Flags().StringVar(&p.Owner, "owner", "", "identity, e.g. participant/acme-exports")
	cmd.Flags().StringVar(&p.Name, "name", "", "display name")
	cmd.Flags().StringVar(&p.PublicKey, "public-key", "", "key id (ledgerctl keys show FILE)")
	return cmd
}

func (a *App) keysRevokeCmd() *cobra.Command {
	var p wire.KeyRevoke
	var effective, id string
	cmd := &cobra.Command{
		Use:   "revoke KEY_ID | key:KEY_ID | --id=KEY_ID --reason TEXT [--effective TIME]",
		Short: "Revoke a key from an effective time (default now; may be in the past)",
		Long: `Revoke a compromised key. Signatures made at or after the effective time are
invalid; earlier ones stay valid. Signed by the key's owner (with another of its
keys), by the network admin, or by the agency that enrolled the owner. The owner
may date a revocation at most the network's window back (72 hours unless the
genesis says otherwise); further back only the admin or the enrolling agency.

` + keyIDHelp,
		Example: `  ledgerctl keys revoke key:-Xb3... --reason "laptop stolen" --effective 2026-03-01T12:00:00Z
  ledgerctl keys revoke --id=-Xb3... --reason "laptop stolen"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keyID, err := keyIDArg(args, id)
			if err != nil {
				return err
			}
			p.KeyID = keyID
			t := time.Now()
			if effective != "" {
				var err error
				if t, err = tx.ParseTime(effective); err != nil {
					return fmt.Errorf("--effective %q: %v", effective, err)
				}
			}
			p.Effective = tx.FormatTime(t)
			return a.SignAndSubmit(cmd, wire.TypeKeyRevoke, p, client.SubmitOptions{}, "")
		},
	}
	cmd.Flags().StringVar(&p.Reason, "reason", "", "why the key is revoked (required)")
	cmd.Flags().StringVar(&effective, "effective", "", "RFC 3339 UTC time the revocation takes effect (default now)")
	cmd.Flags().StringVar(&id, "id", "", "the key id (use --id=<id> when it begins with '-')")
	return cmd
}
