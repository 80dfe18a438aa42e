package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestTruncatedStateFileIsRefusedWithAClearError(t *testing.T) {
	f := newFixture(t)
	k := f.enrol("participant/acme")
	for i := 0; i < 50; i++ {
		f.one(f.sign(k, "note.put", note("x", i)))
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	sn, _ := f.store.Snapshot()
	out, _ := os.Create(path)
	_, _ = sn.btx.WriteTo(out)
	out.Close()
	sn.Release()
	if err := CheckBoltFile(path); err != nil {
		t.Fatalf("intact file refused: %v", err)
	}
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	if err := CheckBoltFile(path); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated file: %v", err)
	}
	if _, err := Open(Config{Path: path, Genesis: f.g}); err == nil {
		t.Fatal("Open accepted a truncated state file")
	}
	if err := os.WriteFile(path, []byte("not a database at all, just text"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckBoltFile(path); err == nil {
		t.Fatal("garbage accepted")
	}
}
