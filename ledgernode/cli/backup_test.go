package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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

// backup create makes FILE's directory; --summary-file gets one line of JSON with the backup's figures (what a
// Kubernetes Job leaves in /dev/termination-log for the operator), or the
// error when the backup failed; --keep deletes all but the newest backups
// of the directory after a success, and nothing after a failure.
func TestBackupCreateSummaryFileAndKeep(t *testing.T) {
	d := newDemo(t, 1)
	dir := filepath.Join(t.TempDir(), "customs", "daily") // created by the first backup
	summary := filepath.Join(t.TempDir(), "termination-log")
	readSummary := func() map[string]any {
		t.Helper()
		raw, err := os.ReadFile(summary)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(raw), "\n") != 1 || !strings.HasSuffix(string(raw), "\n") {
			t.Fatalf("summary is not one line: %q", raw)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("summary %q: %v", raw, err)
		}
		return m
	}
	for i, name := range []string{"a.tlbackup", "b.tlbackup", "c.tlbackup"} {
		d.must(0, nil, "backup", "create", filepath.Join(dir, name), "--summary-file", summary, "--keep", "2")
		if i == 0 {
			// An unrelated file in the directory is never counted nor deleted.
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		m := readSummary()
		if m["file"] != filepath.Join(dir, name) || m["network"] != d.c.Genesis.Network || m["height"].(float64) < 1 ||
			m["bytes"].(float64) <= 0 || len(m["blockHash"].(string)) != 64 {
			t.Fatalf("backup %d: summary %v lacks the backup's figures", i, m)
		}
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || int64(m["bytes"].(float64)) != fi.Size() {
			t.Fatalf("backup %d: summary says %v bytes, file: %v %v", i, m["bytes"], fi, err)
		}
		// Distinct modification times order the files as written.
		old := time.Now().Add(time.Duration(i-10) * time.Minute)
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if p, _ := m["pruned"].([]any); len(p) != 1 || p[0] != "a.tlbackup" {
				t.Fatalf("third backup with --keep 2: pruned %v, want [a.tlbackup]", m["pruned"])
			}
		}
	}
	names := func() []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range es {
			n = append(n, e.Name())
		}
		return n
	}
	if got := names(); !slices.Equal(got, []string{"b.tlbackup", "c.tlbackup", "notes.txt"}) {
		t.Fatalf("after three backups with --keep 2 the directory holds %v", got)
	}

	// A failed backup (the file exists) writes its error and deletes nothing.
	d.must(1, []string{"exists"}, "backup", "create", filepath.Join(dir, "c.tlbackup"), "--summary-file", summary, "--keep", "1")
	if m := readSummary(); !strings.Contains(fmt.Sprint(m["error"]), "c.tlbackup exists") || m["height"] != nil {
		t.Fatalf("failed backup: summary %v, want the error alone", m)
	}
	if got := names(); !slices.Equal(got, []string{"b.tlbackup", "c.tlbackup", "notes.txt"}) {
		t.Fatalf("a failed backup deleted files: the directory holds %v", got)
	}
	d.must(1, []string{"--keep -1"}, "backup", "create", filepath.Join(dir, "d.tlbackup"), "--keep", "-1")
}
