package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

func restoreCmd() *cobra.Command {
	var backupFile, genesis, trustFile, dataDir, id, raftAddr, apiAddr, summaryFile, adminKeyID string
	cmd := &cobra.Command{
		Use:   "restore --backup FILE --genesis genesis.json --data-dir DIR --id ID --raft-addr HOST:PORT --api-addr HOST:PORT",
		Short: "Make an empty data directory the first node of a new cluster holding a backup's ledger",
		Long: `Check a backup (as 'ledgerctl backup verify' does: integrity, genesis, head signed
by a trusted node key, chain of blocks) and make DIR the first member of a new
cluster holding its ledger: same genesis and history, this node as its only
voter, its Raft log continuing after the backup's. Start the node on DIR with
'ledgernode run --no-bootstrap' and the node key and certificate you give it
(a new node identity is fine); start the other nodes empty with --no-bootstrap
and add them with 'ledgerctl cluster add': they receive the state from the
first. Nothing is written to DIR unless every check passes.

--trust names the node keys whose signature on the backup's head you accept
(default: the genesis nodes); a head signed by a node added later is accepted
when its key was registered for it on the ledger (key.register, owner
node/<id>, signed by an admin key the ledger holds from the genesis on). Heads of the restored network are signed by its
nodes' keys: give verifiers a trust file naming them (docs/operations.md).

--summary-file writes one line of JSON when the command ends: the backup's
signed head (network, height, treeSize, blockHash, root, node, signer), the
applied index the log continues after, the file's size and the seconds taken,
or {"error": "..."} when it failed. A Kubernetes Job passes
/dev/termination-log (the operator's restore of spec.bootstrap.fromBackup
reads it).`,
		Example: `  ledgernode restore --backup pilot-2026-12-02.tlbackup --genesis genesis.json \
    --data-dir /var/lib/tradeledger --id ledger-0 \
    --raft-addr ledger-0.ledger:7000 --api-addr ledger-0.ledger:8443`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return backup.RunWithSummary(summaryFile, func(summary *map[string]any) error {
				return runRestore(cmd, backupFile, genesis, trustFile, dataDir, id, raftAddr, apiAddr, adminKeyID, summary)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&backupFile, "backup", "", "backup file ('ledgerctl backup create')")
	f.StringVar(&genesis, "genesis", env("GENESIS", ""), "genesis file of the network the backup is of")
	f.StringVar(&trustFile, "trust", "", "trust or genesis file naming the node keys whose signed head to accept (default: the genesis nodes)")
	f.StringVar(&dataDir, "data-dir", env("DATA_DIR", ""), "empty data directory of the new node")
	f.StringVar(&id, "id", env("ID", ""), "the new node's id")
	f.StringVar(&raftAddr, "raft-addr", env("RAFT_ADVERTISE", ""), "address peers dial for the new node's Raft")
	f.StringVar(&apiAddr, "api-addr", "", "address of the new node's API")
	f.StringVar(&adminKeyID, "admin-key-id", "", "refuse the backup unless this key id ('ledgerctl keys show FILE') is an admin key the backed-up ledger holds at its head: the genesis' admin key or the one it was rotated to on the ledger (the operator passes the key of spec.bootstrap.fromBackup.adminSecret)")
	f.StringVar(&summaryFile, "summary-file", "", "write a one-line JSON summary (or the error) here when done, e.g. /dev/termination-log")
	return cmd
}

// runRestore checks the backup and restores it into dataDir, filling
// summary with what it restored.
func runRestore(cmd *cobra.Command, backupFile, genesis, trustFile, dataDir, id, raftAddr, apiAddr, adminKeyID string, summary *map[string]any) error {
	start := time.Now()
	if backupFile == "" || genesis == "" || dataDir == "" || id == "" || raftAddr == "" || apiAddr == "" {
		return errors.New("--backup, --genesis, --data-dir, --id, --raft-addr and --api-addr are required")
	}
	g, err := chain.ReadGenesis(genesis)
	if err != nil {
		return err
	}
	trust := verify.TrustFromGenesis(g)
	if trustFile != "" {
		if trust, err = verify.LoadTrust(trustFile); err != nil {
			return fmt.Errorf("--trust: %w", err)
		}
	}
	f, err := os.Open(backupFile)
	if err != nil {
		return err
	}
	defer f.Close()
	log, err := newLogger("info")
	if err != nil {
		return err
	}
	rep, err := node.Restore(node.RestoreConfig{Backup: f, DataDir: dataDir, Genesis: g, Trust: trust, Logger: log, AdminKeyID: adminKeyID,
		Self: state.Member{ID: id, RaftAddr: raftAddr, APIAddr: apiAddr},
		Progress: func(stage string, done, total int64) {
			fmt.Fprintf(cmd.ErrOrStderr(), "restore: %s %d of %d\n", stage, done, total)
		}})
	if err != nil {
		return err
	}
	h := rep.Header.Head
	*summary = map[string]any{"network": h.Network, "height": h.Height, "treeSize": h.TreeSize, "blockHash": h.BlockHash,
		"root": h.Root, "node": h.Node, "signer": h.Signer, "appliedIndex": rep.Header.AppliedIndex, "fileBytes": rep.FileBytes,
		"id": id, "seconds": time.Since(start).Seconds()}
	fmt.Fprintf(cmd.OutOrStdout(), "restored network %s at height %d (tree size %d, block %s, head signed by %s) into %s\n"+
		"start it with: ledgernode run --no-bootstrap --id %s --data-dir %s ...\n",
		h.Network, h.Height, h.TreeSize, h.BlockHash, h.Node, dataDir, id, dataDir)
	return nil
}

func recoverCmd() *cobra.Command {
	var genesis, dataDir, id, raftAddr string
	var voters []string
	cmd := &cobra.Command{
		Use:   "recover --data-dir DIR --genesis genesis.json --id ID --raft-addr HOST:PORT",
		Short: "Make a stopped node the only voter of a cluster whose quorum is lost for good",
		Long: `The way back after a majority of voters is permanently gone (their data
deleted, their hosts lost). With the node STOPPED, rewrite its Raft
configuration so that it alone is a voter (hashicorp/raft RecoverCluster),
after replaying its whole log into its state. Then start it with
'ledgernode run --no-bootstrap' and add the others back (empty, with
--no-bootstrap) with 'ledgerctl cluster add'.

Pick the survivor furthest ahead: the highest term, then the highest commit
and applied index (the term, commitIndex and appliedIndex each survivor reports
at /v1/cluster/status?self=true while it runs; this command prints the last log
index and term it kept). Entries the lost members had beyond it are lost; none
was acknowledged to a client if the survivor was in the last quorum. Never run
it while a quorum is alive: two clusters would then write two histories.`,
		Example: `  ledgernode recover --data-dir /var/lib/tradeledger --genesis genesis.json \
    --id ledger-0 --raft-addr ledger-0.ledger:7000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if genesis == "" || dataDir == "" || id == "" || raftAddr == "" {
				return errors.New("--genesis, --data-dir, --id and --raft-addr are required")
			}
			g, err := chain.ReadGenesis(genesis)
			if err != nil {
				return err
			}
			members := []state.Member{{ID: id, RaftAddr: raftAddr}}
			for i, v := range voters {
				vid, addr, ok := strings.Cut(v, "=")
				if !ok || vid == "" || addr == "" {
					return fmt.Errorf("--voter[%d] %q: want ID=RAFT_HOST:PORT", i, v)
				}
				members = append(members, state.Member{ID: vid, RaftAddr: addr})
			}
			log, err := newLogger("warn")
			if err != nil {
				return err
			}
			rep, err := node.Recover(node.RecoverConfig{DataDir: dataDir, Genesis: g, Voters: members, ID: id, Logger: log})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recovered: log kept up to index %d (term %d), state at height %d (applied index %d); voters now %s\n"+
				"start it with 'ledgernode run --no-bootstrap', then add the other members back with 'ledgerctl cluster add'\n",
				rep.LastIndex, rep.LastTerm, rep.Height, rep.AppliedIndex, strings.Join(rep.Voters, ", "))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&genesis, "genesis", env("GENESIS", ""), "genesis file of the network")
	f.StringVar(&dataDir, "data-dir", env("DATA_DIR", ""), "the stopped node's data directory")
	f.StringVar(&id, "id", env("ID", ""), "the node's id")
	f.StringVar(&raftAddr, "raft-addr", env("RAFT_ADVERTISE", ""), "the address peers dial for this node's Raft")
	f.StringArrayVar(&voters, "voter", nil, "another voter to keep: ID=RAFT_ADDR (repeat; rarely needed)")
	return cmd
}
