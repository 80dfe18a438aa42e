package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// A bulk load with ledgerctl: items to sign and envelopes signed before,
// submitted through /v1/txs in chunks, with progress, a summary, a result
// per item, and the exit code saying whether the ledger refused any.
func TestBatchSubmitLoadsInChunksWithProgressAndAResultPerItem(t *testing.T) {
	d := newDemo(t, 3)
	key := d.key("writer")
	k, err := tx.ReadKeyFile(key)
	if err != nil {
		t.Fatal(err)
	}
	pre, err := tx.BuildSigned(d.c.Genesis.Network, "note.put", map[string]any{"key": "bulk-pre", "value": 1}, time.Now(), k)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := 0; i < 25; i++ {
		lines = append(lines, fmt.Sprintf(`{"type":"note.put","payload":{"key":"bulk-%02d","value":%d}}`, i, i))
	}
	lines = append(lines, string(pre.Canonical))
	// The ledger says no to this one: the note is not at version 7.
	lines = append(lines, `{"type":"note.put","payload":{"key":"bulk-00","value":"x","expectVersion":7}}`)
	dir := t.TempDir()
	in, results := filepath.Join(dir, "load.jsonl"), filepath.Join(dir, "results.jsonl")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := d.run(nil, "tx", "submit-batch", "--file", in, "--key", key, "--chunk", "10", "--results", results)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (one rejected)\n%s", code, out)
	}
	for _, want := range []string{"10/27", "20/27", "27/27", "accepted 26", "rejected 1"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	rs := readResults(t, results)
	if len(rs) != 27 {
		t.Fatalf("%d results, want 27", len(rs))
	}
	if rs[25]["txId"] != pre.IDHex() || rs[25]["status"] != "accepted" || rs[26]["status"] != "rejected" || rs[26]["line"] != float64(27) {
		t.Fatalf("results 25, 26: %v / %v", rs[25], rs[26])
	}

	// Envelopes signed before are accepted once: sent again, their
	// original receipts come back.
	again := filepath.Join(dir, "again.jsonl")
	if err := os.WriteFile(again, append(pre.Canonical, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = d.run(nil, "tx", "submit-batch", "--file", again, "--results", results)
	if code != 0 || !strings.Contains(out, "already recorded 1") {
		t.Fatalf("resubmitting: exit %d\n%s", code, out)
	}

	// A line that is neither an envelope nor {type, payload} is named.
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(lines[0]+"\n{\"payload\":{}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = d.run(nil, "tx", "submit-batch", "--file", bad, "--key", key)
	if code != 1 || !strings.Contains(out, "line 2") {
		t.Fatalf("a bad line: exit %d\n%s", code, out)
	}
}

func readResults(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
