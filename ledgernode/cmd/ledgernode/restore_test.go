package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
)

// restore --summary-file leaves one line of JSON with the backup's signed
// head (what the operator's restore Job reports from its termination
// message), and {"error": ...} when the restore is refused.
func TestRestoreSummaryFileHoldsTheBackupsHeadOrTheError(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testcluster.DefaultConfig()
	o.Nodes, o.Dir = 1, filepath.Join(dir, "net")
	c, err := testcluster.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A backup of a ledger that has applied something (a restore needs an
	// applied Raft index to continue after).
	if _, err := c.Enrol(ctx, "participant/exporter-1"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "net.tlbackup")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client(0).Backup(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	hdr := func() backup.Header {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r, err := backup.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		return r.Header
	}()
	run := func(summary string) error {
		cmd := restoreCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"--backup", file, "--genesis", c.Layout.Genesis, "--data-dir", filepath.Join(dir, "r0"),
			"--id", "r0", "--raft-addr", "127.0.0.1:1", "--api-addr", "127.0.0.1:2", "--summary-file", summary})
		return cmd.Execute()
	}
	read := func(path string) map[string]any {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Count(data, []byte("\n")) != 1 {
			t.Errorf("summary %q: want one line", data)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("summary %q: %v", data, err)
		}
		return m
	}
	if err := run(filepath.Join(dir, "ok.json")); err != nil {
		t.Fatal(err)
	}
	got := read(filepath.Join(dir, "ok.json"))
	h := hdr.Head
	for k, want := range map[string]any{"network": h.Network, "height": float64(h.Height), "treeSize": float64(h.TreeSize),
		"blockHash": h.BlockHash, "root": h.Root, "node": h.Node, "signer": h.Signer, "appliedIndex": float64(hdr.AppliedIndex), "id": "r0"} {
		if got[k] != want {
			t.Errorf("summary %s = %v, want %v", k, got[k], want)
		}
	}
	// Again into the same directory: refused, and the summary says why.
	if err := run(filepath.Join(dir, "again.json")); err == nil {
		t.Fatal("a restore into a directory that holds a node was not refused")
	}
	if msg, _ := read(filepath.Join(dir, "again.json"))["error"].(string); !strings.Contains(msg, "not empty") {
		t.Errorf("error summary %q, want the refusal", msg)
	}
}
