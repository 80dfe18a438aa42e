// Command ledgernode is the tradeledger ledger node: `run` serves one node
// (flags or LEDGERNODE_* environment variables, as a pod spec sets them),
// `init` generates a network, `dev` runs a local demo network.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:           "ledgernode",
		Short:         "tradeledger ledger node",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(runCmd(), initCmd(), devCmd(), clientCertCmd(), caNewCmd(), nodeCertCmd(), restoreCmd(), recoverCmd(), versionCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// env returns the value of LEDGERNODE_<NAME> or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv("LEDGERNODE_" + name); ok {
		return v
	}
	return def
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: must be debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), version) },
	}
}
