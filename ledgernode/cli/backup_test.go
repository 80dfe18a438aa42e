package cli_test

import (
	"os"
	"path/filepath"
	"testing"
)

// ledgerctl backup create streams a backup to a file; backup verify checks
// it offline, and each failed check has its own exit code: 3 integrity,
// 7 head, 8 another genesis (6, the chain, is covered in package backup,
// which can alter a database and seal it again).
func TestBackupCreateAndVerifyExitCodesOnTheCommandLine(t *testing.T) {
	d := newDemo(t, 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "pilot.tlbackup")
	d.must(0, []string{"pilot.tlbackup", d.c.Genesis.Network}, "backup", "create", file)
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("the partial file was left behind: %v", err)
	}
	d.must(1, []string{"exists", "--force"}, "backup", "create", file)
	d.must(0, []string{"VERIFIED", "yes"}, "backup", "verify", file, "-q")

	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.tlbackup")
	if err := os.WriteFile(cut, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	d.must(3, []string{"NOT VERIFIED: cut.tlbackup", "truncated"}, "backup", "verify", cut, "-q")

	// A trust file naming no node of this network: the head is not trusted.
	other := newDemo(t, 1)
	d.must(7, []string{"NOT VERIFIED", "backup head"}, "backup", "verify", file, "-q", "--trust", other.c.Layout.Genesis, "--genesis", d.c.Layout.Genesis)
	// Another network's genesis.
	d.must(8, []string{"NOT VERIFIED", "pass the genesis of the network"}, "backup", "verify", file, "-q", "--trust", other.c.Layout.Genesis)
}
