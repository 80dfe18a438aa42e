package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func (a *App) clusterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Cluster status and membership (membership needs the network admin key)"}
	cmd.AddCommand(a.clusterStatusCmd(), a.clusterAddCmd(), a.clusterPromoteCmd(), a.clusterRemoveCmd(), a.clusterTransferCmd())
	return cmd
}

func (a *App) clusterStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show members, leader, height and applied index of every node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(a, cmd, func(c *client.Client, ctx context.Context) (*wire.Status, error) {
				return c.Status(ctx, false)
			}, func(w io.Writer, st *wire.Status) {
				fmt.Fprintf(w, "network %s, leader %s, height %d, tree size %d, block time %s\n", st.Network, dash(st.Leader), st.Height, st.TreeSize, st.BlockTime)
				if st.ClockSkew != "" {
					fmt.Fprintf(w, "CLOCK SKEW: %s\n", st.ClockSkew)
				}
				fmt.Fprintln(w)
				row(w, "MEMBER", "SUFFRAGE", "STATE", "HEIGHT", "APPLIED INDEX", "CLOCK", "API", "NOTE")
				for _, m := range st.Members {
					state := m.State
					if m.Leader {
						state += " *"
					}
					note := ""
					switch {
					case !m.Reachable:
						note = "unreachable: " + m.Error
					case m.DataLost:
						note = fmt.Sprintf("data lost: remove and add back ('ledgerctl cluster remove %[1]s', then 'ledgerctl cluster add %[1]s --raft-addr %[2]s --api-addr %[3]s')", m.ID, m.RaftAddr, m.APIAddr)
					}
					row(w, m.ID, m.Suffrage, dash(state), m.Height, m.AppliedIndex, clockColumn(m), dash(m.APIAddr), note)
				}
			})
		},
	}
}

// clockColumn is a member's clock against the voters' median, as the
// answering node measured it ("-": not measured; "skewed": beyond the
// bound).
func clockColumn(m wire.Member) string {
	if m.ClockOffsetSeconds == nil {
		return "-"
	}
	s := fmt.Sprintf("%+.1fs", *m.ClockOffsetSeconds)
	if m.ClockSkewed {
		s += " skewed"
	}
	return s
}

func (a *App) admin() (*client.Admin, error) {
	c, err := a.Client()
	if err != nil {
		return nil, err
	}
	key, err := a.Key()
	if err != nil {
		return nil, fmt.Errorf("%w (cluster operations are signed with the network admin key)", err)
	}
	ctx, cancel := a.Context()
	defer cancel()
	network, err := a.Network(ctx, c)
	if err != nil {
		return nil, err
	}
	return c.Admin(network, key), nil
}

// withAdmin runs a cluster operation: fn gets the admin client and a fresh
// context bounded by --timeout (the network id lookup has its own).
func (a *App) withAdmin(fn func(ad *client.Admin, ctx context.Context) error) error {
	ad, err := a.admin()
	if err != nil {
		return err
	}
	ctx, cancel := a.Context()
	defer cancel()
	return fn(ad, ctx)
}

// done prints the answer of a cluster operation: v as JSON or YAML, or line.
func (a *App) done(cmd *cobra.Command, v map[string]any, line string) error {
	return a.Print(cmd, v, func(w io.Writer) { fmt.Fprintln(w, line) })
}

func (a *App) clusterAddCmd() *cobra.Command {
	var raftAddr, apiAddr string
	var voter, noPromote bool
	cmd := &cobra.Command{
		Use:   "add ID --raft-addr HOST:PORT --api-addr HOST:PORT",
		Short: "Add a node: as a non-voter, then promoted to voter once caught up",
		Long: `Add a running node (started without bootstrap) to the cluster. It joins as a
non-voter, so a slow start never costs quorum, and is promoted to voter once it
has caught up (progress is shown), unless --no-promote.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if raftAddr == "" || apiAddr == "" {
				return errors.New("--raft-addr and --api-addr are required")
			}
			return a.withAdmin(func(ad *client.Admin, ctx context.Context) error {
				id := args[0]
				if voter || noPromote {
					if err := ad.AddMember(ctx, id, raftAddr, apiAddr, voter); err != nil {
						return err
					}
					return a.done(cmd, map[string]any{"added": id, "voter": voter}, "added "+id)
				}
				err := ad.JoinAndPromote(ctx, id, raftAddr, apiAddr, func(applied, target uint64) {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s catching up: applied index %d of %d\n", id, applied, target)
				})
				if err != nil {
					return err
				}
				return a.done(cmd, map[string]any{"added": id, "voter": true}, id+" added and promoted to voter")
			})
		},
	}
	cmd.Flags().StringVar(&raftAddr, "raft-addr", "", "address peers dial for Raft")
	cmd.Flags().StringVar(&apiAddr, "api-addr", "", "address of the node's API")
	cmd.Flags().BoolVar(&voter, "voter", false, "add directly as a voter (not recommended)")
	cmd.Flags().BoolVar(&noPromote, "no-promote", false, "leave it a non-voter")
	return cmd
}

func (a *App) clusterPromoteCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "promote ID",
		Short: "Promote a caught-up non-voter to voter",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(ad *client.Admin, ctx context.Context) error {
				if err := ad.Promote(ctx, args[0], force); err != nil {
					return err
				}
				return a.done(cmd, map[string]any{"promoted": args[0]}, args[0]+" is a voter")
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "promote even if the member has not caught up")
	return cmd
}

func (a *App) clusterRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a node from the cluster (do it before the node goes away)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(func(ad *client.Admin, ctx context.Context) error {
				if err := ad.RemoveMember(ctx, args[0]); err != nil {
					return err
				}
				return a.done(cmd, map[string]any{"removed": args[0]}, args[0]+" removed")
			})
		},
	}
}

func (a *App) clusterTransferCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "transfer [ID]",
		Short: "Transfer leadership to ID, or to the most caught-up voter",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			to := ""
			if len(args) == 1 {
				to = args[0]
			}
			return a.withAdmin(func(ad *client.Admin, ctx context.Context) error {
				if err := ad.TransferLeadership(ctx, to); err != nil {
					return err
				}
				return a.done(cmd, map[string]any{"transferred": true, "to": to}, "leadership transferred")
			})
		},
	}
}
