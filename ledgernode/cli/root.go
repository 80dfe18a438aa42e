// Package cli implements ledgerctl, the command-line client of the ledger:
// one file per command group, all output through output.go (-o table, json
// or yaml). cmd/ledgerctl only calls NewRoot.
package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Env names the environment variables ledgerctl reads.
const (
	EnvServer  = "LEDGER_SERVER"
	EnvCA      = "LEDGER_CA"
	EnvKey     = "LEDGER_KEY"
	EnvNetwork = "LEDGER_NETWORK"
	EnvTrust   = "LEDGER_TRUST"
	// EnvSession names the file where ledgerctl keeps the height of the
	// last receipt it got, per network, so that a later read asks for it
	// (read your writes); default: the user cache directory.
	EnvSession = "LEDGER_SESSION"
	EnvCert    = "LEDGER_CERT"
	EnvCertKey = "LEDGER_CERT_KEY"
)

// globals are the persistent flags.
type globals struct {
	servers string
	ca      string
	cert    string
	certKey string
	keyFile string
	network string
	output  string
	timeout time.Duration
}

// App holds what every command shares.
type App struct {
	g         globals
	trustFile string
	// sessionHeight is the receipt height the session file gave this
	// invocation (0: none).
	sessionHeight uint64
}

// Run runs ledgerctl with args (what follows the command's name): its
// output goes to stdout, its help and errors to stderr, and it returns the
// process's exit code: 0, an ExitError's code, or 1 for any other error.
// ledgerctl's main is os.Exit(Run(os.Args[1:], os.Stdout, os.Stderr)); tests
// run the command in-process with it.
func Run(args []string, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "error:", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// NewRoot builds the ledgerctl command tree.
func NewRoot() *cobra.Command {
	a := &App{}
	root := &cobra.Command{
		Use:   "ledgerctl",
		Short: "Command-line client of a tradeledger network",
		Long: `ledgerctl talks to a tradeledger network: it signs and submits transactions,
reads blocks, receipts and proofs, verifies evidence offline, and manages the
cluster.

Connection and identity come from flags or the environment:
  --server  LEDGER_SERVER   node API URLs, comma-separated (https://host:port)
  --ca      LEDGER_CA       the network CA certificate (PEM)
  --cert    LEDGER_CERT     client certificate from the network CA, to read with
  --cert-key LEDGER_CERT_KEY  its key
  --key     LEDGER_KEY      your signing key file (ledgerctl keys create); without
                            --cert, reads are signed with it
  --network LEDGER_NETWORK  network id (default: asked from the server)

Every read is authenticated: with the client certificate, else signed with
--key (the ledger decides from your identity what you may read).

After 'make dev', run: source .dev/env`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&a.g.servers, "server", os.Getenv(EnvServer), "node API URLs, comma-separated ($"+EnvServer+")")
	f.StringVar(&a.g.ca, "ca", os.Getenv(EnvCA), "network CA certificate file ($"+EnvCA+")")
	f.StringVar(&a.g.cert, "cert", os.Getenv(EnvCert), "client certificate (PEM) from the network CA, to authenticate reads ($"+EnvCert+")")
	f.StringVar(&a.g.certKey, "cert-key", os.Getenv(EnvCertKey), "key of the client certificate ($"+EnvCertKey+")")
	f.StringVar(&a.g.keyFile, "key", os.Getenv(EnvKey), "signing key file ($"+EnvKey+")")
	f.StringVar(&a.g.network, "network", os.Getenv(EnvNetwork), "network id ($"+EnvNetwork+"; default: from the server)")
	f.StringVarP(&a.g.output, "output", "o", "table", "output format: table, json or yaml")
	f.DurationVar(&a.g.timeout, "timeout", 60*time.Second, "how long to wait for an answer")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		switch a.g.output {
		case "table", "json", "yaml":
			return nil
		}
		return fmt.Errorf("--output %q: must be table, json or yaml", a.g.output)
	}
	root.AddCommand(a.keysCmd(), a.txCmd(), a.blockCmd(), a.headCmd(), a.verifyCmd(), a.clusterCmd(), a.noteCmd(), a.backupCmd(),
		// the trade command groups (trade_common.go) and agency policies
		a.agencyCmd(), a.participantCmd(), a.certCmd(), a.iprightCmd(), a.licenseCmd(), a.shipmentCmd(), a.policyCmd())
	return root
}

// Client connects to the configured servers.
func (a *App) Client() (*client.Client, error) {
	if a.g.servers == "" {
		return nil, errors.New("no server: pass --server https://host:port or set " + EnvServer + " (after 'make dev': source .dev/env)")
	}
	var eps []string
	for _, s := range strings.Split(a.g.servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			eps = append(eps, s)
		}
	}
	cfg := client.Config{Endpoints: eps, CAFile: a.g.ca, Timeout: a.g.timeout, ReadYourWrites: true, CertFile: a.g.cert, CertKeyFile: a.g.certKey}
	if a.g.cert == "" && a.g.certKey == "" && a.g.keyFile != "" {
		// No client certificate: reads are signed with the signing key.
		k, err := a.Key()
		if err != nil {
			return nil, err
		}
		cfg.SignKey = k
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	a.sessionHeight = a.loadSession()
	c.NoteHeight(a.sessionHeight)
	return c, nil
}

// Key loads the signing key.
func (a *App) Key() (ed25519.PrivateKey, error) {
	if a.g.keyFile == "" {
		return nil, errors.New("no signing key: pass --key FILE or set " + EnvKey + " (create one with 'ledgerctl keys create')")
	}
	return readSigningKey(a.g.keyFile, "--key")
}

// readSigningKey reads a private key to sign with, refusing (as ssh does)
// a file that others can read: a key others can read is not the signer's
// alone, and what it signs is binding.
func readSigningKey(path, flag string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s %s: the key file is readable by others (mode %04o); ledgerctl will not sign with it, as ssh will not: run chmod 600 %s (and replace the key if others may have read it)", flag, path, perm, path)
	}
	return tx.ReadKeyFile(path)
}

// Network returns the network id, asking the server when not configured.
func (a *App) Network(ctx context.Context, c *client.Client) (string, error) {
	if a.g.network != "" {
		return a.g.network, nil
	}
	h, err := c.Head(ctx, client.ReadOptions{})
	if err != nil {
		return "", fmt.Errorf("network id: %w (or pass --network)", err)
	}
	a.g.network = h.Network
	return h.Network, nil
}

// Context is a context bounded by --timeout.
func (a *App) Context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.g.timeout)
}

// withClient runs fn with a client and a context bounded by --timeout:
// every command that talks to the ledger goes through it.
//
// Reads ask for the height of the last receipt this user got from the
// network (the session file) so that a node that has not applied it yet
// waits; if no node reaches it (a lagging cluster, or a session from
// another incarnation of the network), the read is answered from what the
// nodes hold, with a warning, and the session is forgotten.
func (a *App) withClient(fn func(c *client.Client, ctx context.Context) error) error {
	c, err := a.Client()
	if err != nil {
		return err
	}
	ctx, cancel := a.Context()
	defer cancel()
	err = fn(c, ctx)
	if a.sessionHeight > 0 && c.WrittenHeight() == a.sessionHeight && isHeightNotReached(err) {
		fmt.Fprintf(os.Stderr, "warning: no node has applied height %d, the height of your last write (%s); answering from what the nodes hold\n", a.sessionHeight, a.sessionPath())
		a.forgetSession()
		if c, err = a.Client(); err != nil {
			return err
		}
		c.NoteHeight(0)
		err = fn(c, ctx)
	}
	if c.WrittenHeight() > a.sessionHeight {
		a.saveSession(c.WrittenHeight())
	}
	return err
}

// show is the shape of a read command: ask the ledger (within --timeout)
// and print the answer, as a table through table or as JSON or YAML.
func show[T any](a *App, cmd *cobra.Command, ask func(c *client.Client, ctx context.Context) (T, error), table func(w io.Writer, v T)) error {
	return a.withClient(func(c *client.Client, ctx context.Context) error {
		v, err := ask(c, ctx)
		if err != nil {
			return err
		}
		return a.Print(cmd, v, func(w io.Writer) { table(w, v) })
	})
}

// readOpts are the flags shared by reads: consistency and the height the
// read is answered at.
type readOpts struct {
	strong    bool
	minHeight uint64
	asOf      uint64
	knownAt   string
	cmd       *cobra.Command
}

func (r *readOpts) add(cmd *cobra.Command) {
	r.cmd = cmd
	f := cmd.Flags()
	f.BoolVar(&r.strong, "strong", false, "linearizable read through the leader")
	f.Uint64Var(&r.minHeight, "min-height", 0, "wait until the node has applied this height (a receipt's height; ledgerctl passes the height of your last write itself)")
	f.Uint64Var(&r.asOf, "as-of-height", 0, "answer from the ledger as it stood after this block (records, proofs and signed head of that height)")
	f.StringVar(&r.knownAt, "known-at", "", "answer from the ledger as it stood at this date or RFC 3339 UTC time: what it knew then")
}

// pastView says whether the read asks about the ledger at a past height.
func (r *readOpts) pastView() bool {
	return r.knownAt != "" || (r.cmd != nil && r.cmd.Flags().Changed("as-of-height"))
}

func (r *readOpts) options() client.ReadOptions {
	o := client.ReadOptions{Strong: r.strong, MinHeight: r.minHeight}
	if r.cmd != nil && r.cmd.Flags().Changed("as-of-height") {
		h := r.asOf
		o.AsOfHeight = &h
	}
	if r.knownAt != "" {
		// A date means its midnight UTC; anything unparsable goes as is
		// and the node names the field.
		o.KnownAt = r.knownAt
		if t, err := parseAtFlag("known-at", r.knownAt); err == nil {
			o.KnownAt = t
		}
	}
	return o
}

// SignAndSubmit builds, signs and submits a transaction, printing the receipt.
func (a *App) SignAndSubmit(cmd *cobra.Command, typ string, payload any, o client.SubmitOptions, save string) error {
	return a.withClient(func(c *client.Client, ctx context.Context) error {
		key, err := a.Key()
		if err != nil {
			return err
		}
		network, err := a.Network(ctx, c)
		if err != nil {
			return err
		}
		st, err := tx.BuildSigned(network, typ, payload, time.Now(), key)
		if err != nil {
			return err
		}
		return a.submit(cmd, ctx, c, st, o, save)
	})
}
