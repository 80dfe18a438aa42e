package consensus

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Two ways to start a Raft cluster from a state that already holds a
// ledger, both offline (the node is stopped):
//
//   - BootstrapFromStore: a new cluster from a restored backup. The Raft
//     log of the new cluster continues after the backup's applied index:
//     a Raft snapshot at that index and term, holding the state and the new
//     configuration, is written as if Raft had taken it, and the stable
//     store's term is set to the backup's. New members that join receive
//     the state through Raft's InstallSnapshot, since no log entry at or
//     below the snapshot exists anywhere. The state's applied index stays
//     meaningful: entries the new cluster writes all come after it.
//   - Recover: a cluster that lost its quorum for good. hashicorp/raft's
//     RecoverCluster replays this node's log into the state and rewrites the
//     configuration to the given voters (usually this node alone).

func raftStores(dataDir string, noSync bool, logger hclog.Logger) (*raftboltdb.BoltStore, *raft.FileSnapshotStore, error) {
	dir := filepath.Join(dataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	if err := state.CheckBoltFile(filepath.Join(dir, "raft.db")); err != nil {
		return nil, nil, fmt.Errorf("raft log damaged: %w", err)
	}
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db"), NoSync: noSync,
		BoltOptions: logBoltOptions()})
	if err != nil {
		return nil, nil, fmt.Errorf("open raft log %s: %w (is the node still running?)", filepath.Join(dir, "raft.db"), err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, logger)
	if err != nil {
		logs.Close()
		return nil, nil, err
	}
	return logs, snaps, nil
}

func configurationOf(voters []state.Member) (raft.Configuration, error) {
	if len(voters) == 0 {
		return raft.Configuration{}, errors.New("at least one voter is required")
	}
	var c raft.Configuration
	for _, m := range voters {
		if m.ID == "" || m.RaftAddr == "" {
			return raft.Configuration{}, fmt.Errorf("voter %+v: id and Raft address are required", m)
		}
		c.Servers = append(c.Servers, raft.Server{ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.RaftAddr), Suffrage: raft.Voter})
	}
	return c, nil
}

func quietLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, JSONFormat: true, Output: os.Stderr})
}

// peerEncoder is the transport a snapshot's legacy peer list is encoded
// with (addresses as they are, as the network transport does); nothing is
// sent through it.
func peerEncoder() raft.Transport {
	_, t := raft.NewInmemTransport("")
	return t
}

// ErrHasRaftState is returned by BootstrapFromStore for a data directory
// that already holds a Raft log or snapshots.
var ErrHasRaftState = errors.New("the data directory already holds Raft state")

// BootstrapFromStore makes dataDir the first member of a new cluster whose
// ledger is store's (a state restored from a backup): a Raft snapshot of
// the state at its applied index and term, with voters as configuration.
// dataDir must hold no Raft state yet.
func BootstrapFromStore(dataDir string, store *state.Store, voters []state.Member) error {
	conf, err := configurationOf(voters)
	if err != nil {
		return err
	}
	a := store.Applied()
	if a.Index == 0 || a.Term == 0 {
		return fmt.Errorf("state has applied Raft index %d term %d: a restored state must come from a running cluster", a.Index, a.Term)
	}
	logs, snaps, err := raftStores(dataDir, false, quietLogger())
	if err != nil {
		return err
	}
	defer logs.Close()
	has, err := raft.HasExistingState(logs, logs, snaps)
	if err != nil {
		return err
	}
	if has {
		return fmt.Errorf("%w (%s): restore into an empty data directory", ErrHasRaftState, filepath.Join(dataDir, "raft"))
	}
	sn, err := store.Snapshot()
	if err != nil {
		return err
	}
	defer sn.Release()
	sink, err := snaps.Create(raft.SnapshotVersionMax, a.Index, a.Term, conf, a.Index, peerEncoder())
	if err != nil {
		return fmt.Errorf("create raft snapshot: %w", err)
	}
	if _, err := sn.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write raft snapshot: %w", err)
	}
	if err := sink.Close(); err != nil {
		return fmt.Errorf("finish raft snapshot: %w", err)
	}
	// Elections of the new cluster start above the backup's term, so that
	// its entries never carry a term lower than the snapshot's.
	if err := logs.SetUint64([]byte("CurrentTerm"), a.Term); err != nil {
		return err
	}
	return nil
}

// RecoverReport says what Recover found and did.
type RecoverReport struct {
	// LastIndex and LastTerm are the last entry of this node's log before
	// recovery: every entry up to it is kept (and applied), acknowledged or
	// not. Entries other members held beyond it were never acknowledged if
	// this node was in the last quorum; otherwise they may be lost.
	LastIndex uint64 `json:"lastIndex"`
	LastTerm  uint64 `json:"lastTerm"`
	// AppliedIndex is the state's applied index after recovery.
	AppliedIndex uint64   `json:"appliedIndex"`
	Height       uint64   `json:"height"`
	Voters       []string `json:"voters"`
}

// Recover rewrites the Raft configuration of a stopped node to voters
// (hashicorp/raft RecoverCluster): the way back for a cluster whose quorum
// is permanently lost. It replays the node's whole log into the state
// first, committed or not: the survivor's log is the ledger from now on.
// cfg needs DataDir and Store; Logger is optional.
func Recover(cfg Config, voters []state.Member) (*RecoverReport, error) {
	if cfg.DataDir == "" || cfg.Store == nil {
		return nil, errors.New("consensus: DataDir and Store are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	conf, err := configurationOf(voters)
	if err != nil {
		return nil, err
	}
	hlog := quietLogger()
	logs, snaps, err := raftStores(cfg.DataDir, cfg.NoSync, hlog)
	if err != nil {
		return nil, err
	}
	defer logs.Close()
	rep := &RecoverReport{}
	if rep.LastIndex, err = logs.LastIndex(); err != nil {
		return nil, err
	}
	if rep.LastIndex > 0 {
		var l raft.Log
		if err := logs.GetLog(rep.LastIndex, &l); err == nil {
			rep.LastTerm = l.Term
		}
	}
	if list, _ := snaps.List(); len(list) > 0 && list[0].Index > rep.LastIndex {
		rep.LastIndex, rep.LastTerm = list[0].Index, list[0].Term
	}
	rc := raft.DefaultConfig()
	id := cfg.ID
	if id == "" {
		id = voters[0].ID
	}
	rc.LocalID = raft.ServerID(id)
	rc.Logger = hlog
	rf := &recoverFSM{fsm: newFSM(cfg.Store, cfg.Logger, nil, nil)}
	err = raft.RecoverCluster(rc, rf, logs, logs, snaps, peerEncoder(), conf)
	rf.release()
	if err != nil {
		return nil, fmt.Errorf("recover cluster: %w", err)
	}
	rep.AppliedIndex, rep.Height = cfg.Store.Applied().Index, cfg.Store.Meta().Height
	for _, s := range conf.Servers {
		rep.Voters = append(rep.Voters, string(s.ID))
	}
	return rep, nil
}

// recoverFSM releases the snapshots RecoverCluster takes: hashicorp/raft
// v1.7.3 persists the snapshot it takes but never calls Release, and an
// unreleased state snapshot holds the store's read lock (Close would wait
// for ever).
type recoverFSM struct {
	*fsm
	taken []raft.FSMSnapshot
}

func (r *recoverFSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := r.fsm.Snapshot()
	if err == nil {
		r.taken = append(r.taken, s)
	}
	return s, err
}

func (r *recoverFSM) release() {
	for _, s := range r.taken {
		s.Release()
	}
	r.taken = nil
}
