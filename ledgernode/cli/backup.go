package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
)

// Exit codes of 'backup verify': which check failed.
const (
	exitBackupIntegrity = 3 // not a whole, unaltered backup file
	exitBackupChain     = 6 // the blocks do not form the chain the head claims
	exitBackupHead      = 7 // the head is not signed by a trusted node key, or not the state's
	exitBackupGenesis   = 8 // another network's (or genesis') backup
)

func (a *App) backupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Make a backup of a node's state and check backups offline",
		Long: `A backup is one node's whole state at a committed height, streamed (never held
in memory) with the ledger head of that height signed by the node that made it.
'backup verify' checks a file offline; 'ledgernode restore' starts a new cluster
from it (docs/operations.md, Backup and restore).`,
	}
	cmd.AddCommand(a.backupCreateCmd(), a.backupVerifyCmd())
	return cmd
}

func (a *App) backupCreateCmd() *cobra.Command {
	var force bool
	var summaryFile string
	var keep int
	cmd := &cobra.Command{
		Use:   "create FILE",
		Short: "Stream a backup of the state of the first node that answers into FILE",
		Long: `Stream a backup of a node's state into FILE: the state at the last block the node
applied (a committed height), with the head of that height signed by the node.
Reads need the admin identity (--cert/--cert-key of the admin client
certificate, or --key with the admin key). FILE's directory is created when
missing. The file is written as FILE.partial and renamed once whole and synced; progress goes to stderr. --timeout bounds the
whole copy (raise it for a large ledger). Name a follower with --server to keep
the copy's I/O off the leader.

--summary-file writes one line of JSON when the command ends: the figures of
the backup (file, bytes, seconds, network, height, blockHash, ...), or
{"error": "..."} when it failed. A Kubernetes Job passes /dev/termination-log,
so the figures land in the pod's status (the operator's LedgerBackup reads them).

--keep N deletes, after the new file is whole, all but the N newest *.tlbackup
files of FILE's directory (newest by modification time); nothing is deleted
when the backup fails. Give a directory of its own to a series that prunes.`,
		Example: `  ledgerctl backup create pilot-$(date +%F).tlbackup --server https://ledger-1.ledger:8443 --timeout 1h
  ledgerctl backup verify pilot-2026-12-02.tlbackup --trust genesis.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backup.RunWithSummary(summaryFile, func(summary *map[string]any) error {
				return a.backupCreate(cmd, args[0], force, keep, summary)
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	cmd.Flags().StringVar(&summaryFile, "summary-file", "", "write a one-line JSON summary (or the error) here when done, e.g. /dev/termination-log")
	cmd.Flags().IntVar(&keep, "keep", 0, "after success, delete all but the N newest *.tlbackup files in FILE's directory (0: delete nothing)")
	return cmd
}

// backupCreate streams the backup into path and fills summary with its
// figures.
func (a *App) backupCreate(cmd *cobra.Command, path string, force bool, keep int, summary *map[string]any) error {
	if keep < 0 {
		return fmt.Errorf("--keep %d: must be 0 (delete nothing) or the number of backups to keep", keep)
	}
	if _, err := os.Stat(path); err == nil && !force {
		return fmt.Errorf("%s exists: choose another name, or pass --force to replace it", path)
	}
	return a.withClient(func(c *client.Client, ctx context.Context) error {
		start := time.Now()
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return err
		}
		partial := path + ".partial"
		f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		n, err := c.Backup(ctx, f, func(done, total int64) {
			fmt.Fprintf(cmd.ErrOrStderr(), "backup: %s of %s\n", bytesText(done), bytesText(total))
		})
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(partial)
			return err
		}
		if err := os.Rename(partial, path); err != nil {
			return err
		}
		hdr, err := readBackupHeader(path)
		if err != nil {
			return err
		}
		out := map[string]any{"file": path, "bytes": n, "seconds": time.Since(start).Seconds(), "network": hdr.Network,
			"height": hdr.Head.Height, "treeSize": hdr.Head.TreeSize, "blockHash": hdr.Head.BlockHash, "node": hdr.Node, "createdAt": hdr.CreatedAt}
		if keep > 0 {
			pruned, err := pruneBackups(path, keep)
			if err != nil {
				return fmt.Errorf("backup %s is whole, but pruning its directory failed: %w", path, err)
			}
			if len(pruned) > 0 {
				out["pruned"] = pruned
				fmt.Fprintf(cmd.ErrOrStderr(), "backup: deleted %d older backups (--keep %d): %s\n", len(pruned), keep, strings.Join(pruned, ", "))
			}
		}
		*summary = out
		return a.Print(cmd, out, func(w io.Writer) {
			row(w, "FILE", "NETWORK", "HEIGHT", "TREE SIZE", "BLOCK HASH", "NODE", "SIZE", "TIME")
			row(w, path, hdr.Network, hdr.Head.Height, hdr.Head.TreeSize, short(hdr.Head.BlockHash, 16), hdr.Node, bytesText(n), time.Since(start).Round(time.Millisecond))
		})
	})
}

// pruneBackups deletes all but the keep newest *.tlbackup files (by
// modification time, then name) of the directory of path, never path
// itself, and returns the names it deleted, oldest first.
func pruneBackups(path string, keep int) ([]string, error) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		name string
		mod  time.Time
	}
	var files []file
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), backupExt) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		files = append(files, file{e.Name(), fi.ModTime()})
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var pruned []string
	for _, f := range files[:max(0, len(files)-keep)] {
		if f.name == filepath.Base(path) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, f.name)); err != nil {
			return pruned, err
		}
		pruned = append(pruned, f.name)
	}
	return pruned, nil
}

// backupExt is the extension of backup files (what --keep counts).
const backupExt = ".tlbackup"

func readBackupHeader(path string) (*backup.Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := backup.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r.Header, nil
}

func (a *App) backupVerifyCmd() *cobra.Command {
	var genesisFile, saveHead, tmpDir string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "verify FILE --trust genesis.json",
		Short: "Check a backup offline: integrity, chain of block hashes and Merkle roots, head signature",
		Long: `Check a backup file without contacting any node:

  integrity  the file is whole and unaltered (frame, SHA-256 of the state and of the
             file, bbolt's consistency check of the database)
  genesis    it holds the ledger of the genesis given (--genesis, or --trust when
             that is the genesis file)
  head       its head is signed by a node key the trust file names, and is the
             head of the state in the file
  chain      every block from genesis to the head: header hash, link to the block
             before, the receipts (the Merkle leaves) and the transaction ids they
             name, and the ledger-wide Merkle root each header commits to

The state is unpacked into a temporary file (--tmp-dir; as large as the state)
and removed afterwards. --save-head writes the signed head, for
'ledgerctl verify consistency --from' against the network restored from it.

Exit codes: 0 verified, 3 integrity (damaged, truncated or altered file),
6 chain, 7 head signature or head, 8 another network or genesis.`,
		Example: `  ledgerctl backup verify pilot-2026-12-02.tlbackup --trust genesis.json
  ledgerctl backup verify pilot.tlbackup --trust trust.json --genesis genesis.json --save-head backup-head.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			trust, err := a.trust()
			if err != nil {
				return err
			}
			if genesisFile == "" {
				genesisFile = a.trustFile
			}
			g, err := chain.ReadGenesis(genesisFile)
			if err != nil {
				if genesisFile == a.trustFile {
					return fmt.Errorf("--trust %s is not a genesis file (%v): pass the network's genesis with --genesis", a.trustFile, err)
				}
				return fmt.Errorf("--genesis: %w", err)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			start := time.Now()
			o := backup.Options{Genesis: g, Trust: trust}
			if !quiet {
				o.Progress = func(stage string, done, total int64) {
					switch stage {
					case "read":
						fmt.Fprintf(cmd.ErrOrStderr(), "reading: %s of %s\n", bytesText(done), bytesText(total))
					case "chain":
						fmt.Fprintf(cmd.ErrOrStderr(), "chain: block %d of %d\n", done, total)
					}
				}
			}
			rep, err := backup.Verify(f, tmpDir, o)
			if err != nil {
				return backupExit(args[0], err)
			}
			if saveHead != "" {
				if err := saveJSON(saveHead, rep.Header.Head); err != nil {
					return err
				}
			}
			h := rep.Header.Head
			out := map[string]any{"verified": true, "file": args[0], "network": rep.Header.Network, "height": h.Height, "treeSize": h.TreeSize,
				"blockHash": h.BlockHash, "root": h.Root, "blockTime": h.Time, "headSignedBy": h.Node, "appliedIndex": rep.Header.AppliedIndex,
				"createdAt": rep.Header.CreatedAt, "bytes": rep.FileBytes, "seconds": time.Since(start).Seconds()}
			return a.Print(cmd, out, func(w io.Writer) {
				row(w, "VERIFIED", "NETWORK", "HEIGHT", "TREE SIZE", "BLOCK HASH", "BLOCK TIME", "HEAD SIGNED BY", "SIZE")
				row(w, "yes", rep.Header.Network, h.Height, h.TreeSize, short(h.BlockHash, 16), h.Time, h.Node, bytesText(rep.FileBytes))
			})
		},
	}
	cmd.Flags().StringVar(&a.trustFile, "trust", os.Getenv(EnvTrust), "genesis or trust file naming the node keys whose signed head to accept ($"+EnvTrust+")")
	cmd.Flags().StringVar(&genesisFile, "genesis", "", "the network's genesis file (default: --trust, when it is the genesis)")
	cmd.Flags().StringVar(&saveHead, "save-head", "", "write the backup's signed head to this file")
	cmd.Flags().StringVar(&tmpDir, "tmp-dir", "", "directory for the unpacked state (default: the system's temporary directory)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}

// backupExit maps a failed check to its exit code.
func backupExit(file string, err error) error {
	code := 1
	switch {
	case errors.Is(err, backup.ErrIntegrity):
		code = exitBackupIntegrity
	case errors.Is(err, backup.ErrChain):
		code = exitBackupChain
	case errors.Is(err, backup.ErrHead):
		code = exitBackupHead
	case errors.Is(err, backup.ErrGenesis):
		code = exitBackupGenesis
	}
	return &ExitError{Code: code, Err: fmt.Errorf("NOT VERIFIED: %s: %w", filepath.Base(file), err)}
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
