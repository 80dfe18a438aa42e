package node

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

// RestoreConfig says which backup to restore where.
type RestoreConfig struct {
	Backup  io.Reader
	DataDir string
	Genesis *chain.Genesis
	// Trust names the node keys whose signature on the backup's head is
	// accepted (verify.TrustFromGenesis for the genesis nodes).
	Trust verify.Trust
	// Self is the node that starts the new cluster, as its only voter;
	// the others join it through the usual join path (and must run with
	// NoBootstrap).
	Self     state.Member
	Logger   *slog.Logger
	Progress func(stage string, done, total int64)
	// Now is the restore's time (default time.Now), recorded in the state.
	Now func() time.Time
	// AdminKeyID, when set, must be an admin key the backed-up ledger
	// holds valid at its head: the genesis' admin key, or the key it was
	// rotated to on the ledger (state.ChainReport.AdminKeys). The restored
	// network's membership changes are signed with it.
	AdminKeyID string
}

// ErrNotAdminKey is returned when RestoreConfig.AdminKeyID is not an admin
// key of the backed-up ledger at its head.
var ErrNotAdminKey = errors.New("not an admin key of the backed-up ledger")

// ErrDataDirInUse is returned when the data directory already holds a node.
var ErrDataDirInUse = errors.New("data directory is not empty")

// Restore checks a backup (backup.Extract: integrity, genesis, signed head,
// chain) and makes DataDir the first member of a new cluster holding its
// ledger: same genesis and history, new member addresses, and a Raft log
// that continues after the backup's (consensus.BootstrapFromStore). The
// node started on DataDir afterwards leads a one-voter cluster; grow it
// with 'ledgerctl cluster add'. Nothing is left in DataDir on error.
func Restore(rc RestoreConfig) (*backup.Report, error) {
	if rc.Genesis == nil || rc.DataDir == "" || rc.Backup == nil {
		return nil, errors.New("restore: backup, data directory and genesis are required")
	}
	if !chain.ValidNodeID(rc.Self.ID) || rc.Self.RaftAddr == "" || rc.Self.APIAddr == "" {
		return nil, fmt.Errorf("restore: node id %q (a DNS label), Raft address %q and API address %q are all required", rc.Self.ID, rc.Self.RaftAddr, rc.Self.APIAddr)
	}
	if rc.Logger == nil {
		rc.Logger = slog.New(slog.DiscardHandler)
	}
	if rc.Now == nil {
		rc.Now = time.Now
	}
	statePath := filepath.Join(rc.DataDir, "state.db")
	for _, p := range []string{statePath, filepath.Join(rc.DataDir, "raft")} {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%w: %s exists; restore into an empty data directory (a running network's data is never overwritten)", ErrDataDirInUse, p)
		}
	}
	if err := os.MkdirAll(rc.DataDir, 0o700); err != nil {
		return nil, err
	}
	tmp := statePath + ".restoring"
	_ = os.Remove(tmp)
	rep, err := backup.Extract(rc.Backup, tmp, backup.Options{Genesis: rc.Genesis, Trust: rc.Trust, Progress: rc.Progress})
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
			_ = os.Remove(statePath)
			_ = os.RemoveAll(filepath.Join(rc.DataDir, "raft"))
		}
	}()
	if err := checkAdminKey(rc.AdminKeyID, rep); err != nil {
		return nil, err
	}
	h := rep.Header.Head
	from := state.Restored{Network: h.Network, Height: h.Height, BlockHash: h.BlockHash, TreeSize: h.TreeSize, Root: h.Root, At: tx.FormatTime(rc.Now())}
	if err := state.PrepareRestore(tmp, []state.Member{rc.Self}, from); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, statePath); err != nil {
		return nil, err
	}
	store, err := state.Open(state.Config{Path: statePath, Genesis: rc.Genesis, Registry: DefaultRegistry(), Logger: rc.Logger})
	if err != nil {
		return nil, err
	}
	err = consensus.BootstrapFromStore(rc.DataDir, store, []state.Member{rc.Self})
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	ok = true
	rc.Logger.Info("restored from backup", "height", h.Height, "treeSize", h.TreeSize, "appliedIndex", rep.Header.AppliedIndex, "node", rc.Self.ID)
	return rep, nil
}

// RecoverConfig says which stopped node becomes the sole voter of a
// cluster that lost its quorum.
type RecoverConfig struct {
	DataDir string
	Genesis *chain.Genesis
	// Voters of the recovered cluster: usually this node alone; the others
	// join again through the usual join path.
	Voters []state.Member
	ID     string
	Logger *slog.Logger
}

// Recover rewrites a stopped node's Raft configuration to cfg.Voters
// (consensus.Recover). Run it on the surviving member that is furthest
// ahead (highest last log term, then index), with the node stopped.
func Recover(cfg RecoverConfig) (*consensus.RecoverReport, error) {
	if cfg.Genesis == nil || cfg.DataDir == "" {
		return nil, errors.New("recover: data directory and genesis are required")
	}
	statePath := filepath.Join(cfg.DataDir, "state.db")
	if _, err := os.Stat(statePath); err != nil {
		return nil, fmt.Errorf("recover: %w: this is not a node's data directory", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	store, err := state.Open(state.Config{Path: statePath, Genesis: cfg.Genesis, Registry: DefaultRegistry(), Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	cc := consensus.DefaultConfig()
	cc.ID, cc.DataDir, cc.Store, cc.Logger = cfg.ID, cfg.DataDir, store, cfg.Logger
	return consensus.Recover(cc, cfg.Voters)
}

// checkAdminKey says whether id ("": no check) is an admin key the ledger
// holds at the backup's head, naming what the ledger says of it otherwise.
func checkAdminKey(id string, rep *backup.Report) error {
	if id == "" || slices.Contains(rep.Chain.AdminKeys, id) {
		return nil
	}
	var current []string
	for _, k := range rep.Chain.AdminKeys {
		current = append(current, tx.FingerprintOf(k))
	}
	why := "the genesis does not name it and no key.rotate on the ledger made it the admin's"
	if ended, ok := rep.Chain.EndedKeys[id]; ok {
		why = "it was the admin's, but " + ended
	}
	return fmt.Errorf("admin key %s: %w: %s; at height %d the admin keys are %s: give the network's current admin key",
		tx.FingerprintOf(id), ErrNotAdminKey, why, rep.Chain.Height, strings.Join(current, ", "))
}
