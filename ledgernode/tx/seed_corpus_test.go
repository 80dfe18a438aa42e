package tx

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz seed corpus files")

// TestWriteSeedCorpus (re)writes the checked-in seed corpus of
// FuzzDecodeTx with -write-seeds; otherwise it checks the corpus exists.
func TestWriteSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeTx")
	if !*writeSeeds {
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatalf("seed corpus %s missing: go test -run TestWriteSeedCorpus -write-seeds", dir)
		}
		return
	}
	s, _ := signedNote(t)
	seeds := map[string][]byte{
		"valid":         s.Canonical,
		"duplicate-key": []byte(`{"v":1,"v":1}`),
		"invalid-utf8":  []byte("{\"type\":\"\xff\"}"),
		"deep":          []byte(`{"payload":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`),
		"numbers":       []byte(`{"v":1e0,"payload":{"a":-0,"b":1.0000000000000001,"c":1e400}}`),
		"escapes":       []byte(`{"type":"\u0000\ud800","payload":{"\u00e9":"\/"}}`),
		"wrong-types":   []byte(`{"v":"1","network":1,"payload":"x","sig":[]}`),
		"trailing":      append([]byte(nil), append(s.Canonical, ' ', '{')...),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
