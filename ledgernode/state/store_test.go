package state_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

func TestTruncatedStateFileIsRefusedWithAClearError(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/acme")
	for i := 0; i < 50; i++ {
		f.One(f.Sign(k, "note.put", note("x", i)))
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	sn, _ := f.Store.Snapshot()
	out, _ := os.Create(path)
	_, _ = sn.BoltTx().WriteTo(out)
	out.Close()
	sn.Release()
	if err := state.CheckBoltFile(path); err != nil {
		t.Fatalf("intact file refused: %v", err)
	}
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	if err := state.CheckBoltFile(path); !errors.Is(err, state.ErrTruncated) {
		t.Fatalf("truncated file: %v", err)
	}
	if _, err := state.Open(state.Config{Path: path, Genesis: f.Genesis}); err == nil {
		t.Fatal("Open accepted a truncated state file")
	}
	if err := os.WriteFile(path, []byte("not a database at all, just text"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := state.CheckBoltFile(path); err == nil {
		t.Fatal("garbage accepted")
	}
}
