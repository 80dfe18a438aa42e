package state_test

import (
	"os"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
)

// deferredLedger is a ledger whose store commits without fsync, a few
// blocks in, and the path of its file.
func deferredLedger(t *testing.T) (*statetest.Ledger, string, uint64) {
	t.Helper()
	if state.BootID() == "" {
		t.Skip("this kernel does not say its boot id (" + "/proc/sys/kernel/random/boot_id" + ")")
	}
	f := statetest.New(t, statetest.Options{DeferSync: true})
	k := f.Enrol("participant/acme")
	for i := 0; i < 5; i++ {
		f.One(f.Sign(k, "note.put", note("x", i)))
	}
	path := state.PathOf(f.Store)
	if b, err := os.ReadFile(path + state.UnsyncedSuffix); err != nil || strings.TrimSpace(string(b)) != state.BootID() {
		t.Fatalf("marker of a store without fsync = %q, %v; want this boot's id %s", b, err, state.BootID())
	}
	h := f.Store.Meta().Height
	if h < 5 {
		t.Fatalf("height %d after 6 blocks; want at least 5", h)
	}
	return f, path, h
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestAStateFileWrittenWithoutFsyncIsKeptAfterAProcessCrashInTheSameBoot(t *testing.T) {
	f, path, h := deferredLedger(t)
	if err := state.Crash(f.Store); err != nil {
		t.Fatal(err)
	}
	s := f.Open(path)
	if got := s.Meta().Height; got != h {
		t.Fatalf("height after a crash in the same boot = %d; want %d (the file kept)", got, h)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(path + state.UnsyncedSuffix) {
		t.Fatal("the marker is still there after a clean close (which fsyncs the file)")
	}
	if got := statetest.Open(t, path, f.Genesis, f.Registry).Meta().Height; got != h {
		t.Fatalf("height after a clean close = %d; want %d", got, h)
	}
}

func TestAStateFileWrittenWithoutFsyncIsRebuiltAfterAMachineRestart(t *testing.T) {
	f, path, _ := deferredLedger(t)
	if err := state.Crash(f.Store); err != nil {
		t.Fatal(err)
	}
	// A power loss may leave the pages in any state: both meta pages torn.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2*state.DefaultPageSize; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// Control: in this boot the file is trusted, so the torn file is refused.
	if _, err := state.Open(state.Config{Path: path, Genesis: f.Genesis, DeferSync: true}); err == nil || !strings.Contains(err.Error(), "state file damaged") {
		t.Fatalf("torn file with a marker of this boot: %v; want the damaged-file refusal", err)
	}
	if err := os.WriteFile(path+state.UnsyncedSuffix, []byte("another-boot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := f.Open(path)
	if m, a := s.Meta(), s.Applied(); m.Height != 0 || a.Index != 0 {
		t.Fatalf("after a machine restart: height %d, applied index %d; want an empty state (0, 0) for Raft to fill", m.Height, a.Index)
	}
	if m, err := os.ReadFile(path + state.UnsyncedSuffix); err != nil || strings.TrimSpace(string(m)) != state.BootID() {
		t.Fatalf("marker after reopening = %q, %v; want this boot's id", m, err)
	}
}

func TestAStoreOpenedWithFsyncAfterARunWithoutItSyncsAndDropsTheMarker(t *testing.T) {
	f, path, h := deferredLedger(t)
	if err := state.Crash(f.Store); err != nil {
		t.Fatal(err)
	}
	s := statetest.Open(t, path, f.Genesis, f.Registry)
	if got := s.Meta().Height; got != h {
		t.Fatalf("height = %d; want %d", got, h)
	}
	if exists(path + state.UnsyncedSuffix) {
		t.Fatal("a store with fsync kept the marker of the run without it")
	}
}
