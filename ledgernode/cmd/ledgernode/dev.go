package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/devnet"
)

func devCmd() *cobra.Command {
	o := devnet.DefaultConfig()
	var logLevel string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local demo network (3 nodes, TLS on loopback) with demo data; Ctrl-C stops, rerun resumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			o.Logger, o.Out = log, cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return devnet.Run(ctx, o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", o.Dir, "directory for data, keys and certificates")
	cmd.Flags().IntVar(&o.Nodes, "nodes", o.Nodes, "number of nodes")
	cmd.Flags().IntVar(&o.BasePort, "base-port", o.BasePort, "first API port (Raft ports start at base+10)")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "node log level")
	return cmd
}
