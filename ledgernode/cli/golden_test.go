package cli_test

import (
	"crypto/ed25519"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tradeledger/tradeledger/ledgernode/cli"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

var update = flag.Bool("update", false, "rewrite the golden files of ledgerctl's output")

// normalizers replace what differs from run to run (ids, keys, times,
// addresses, temporary paths) so that the rest of the output is compared
// exactly.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`https://127\.0\.0\.1:\d+`), "https://<node>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "<addr>"},
	{regexp.MustCompile(`/tmp/[^\s"']+`), "<path>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<hash>"},
	{regexp.MustCompile(`\bz[1-9A-HJ-NP-Za-km-z]{60,}\b`), "<multibase>"},
	{regexp.MustCompile(`[A-Za-z0-9_-]{86}`), "<sig>"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_-])[A-Za-z0-9_-]{43}([^A-Za-z0-9_-]|$)`), "${1}<keyid>${2}"},
	{regexp.MustCompile(`\b[0-9a-f]{16}\b`), "<fp>"},
	{regexp.MustCompile(`\b[0-9a-f]{16}…`), "<fp>…"},
	{regexp.MustCompile(`\d+(\.\d+)?(ms|µs|s)\b`), "<dur>"},
	{regexp.MustCompile(`[ \t]+\n`), "\n"},
}

func normalize(s string) string {
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

// leafCommands lists every runnable ledgerctl command path.
func leafCommands(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		path := append(append([]string{}, prefix...), sub.Name())
		if sub.Runnable() {
			out = append(out, path)
		}
		out = append(out, leafCommands(sub, path)...)
	}
	return out
}

// TestLedgerctlGolden runs ledgerctl as a user would against a real
// cluster holding the demo data: every command's --help, and the commands
// people run, each compared (after normalizing ids, keys, times and
// addresses) with testdata/golden/<name>.txt together with its exit code.
// go test ./ledgernode/cli -run TestLedgerctlGolden -update rewrites them.
func TestLedgerctlGolden(t *testing.T) {
	d := newDemo(t, 1)
	var acme string
	if k, err := tx.ReadKeyFile(d.key("acme-mx")); err == nil {
		acme = tx.KeyID(k.Public().(ed25519.PublicKey))
	} else {
		t.Fatal(err)
	}
	world := filepath.Join(t.TempDir(), "world.key")
	raw, err := os.ReadFile(d.key("acme-mx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(world, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	type run struct {
		name string
		code int
		args []string
	}
	var runs []run
	for _, path := range leafCommands(cli.NewRoot(), nil) {
		runs = append(runs, run{"help-" + strings.Join(path, "-"), 0, append(path, "--help")})
	}
	runs = append(runs,
		run{"head", 0, []string{"head"}},
		run{"head-json", 0, []string{"head", "-o", "json"}},
		run{"block-get-1", 0, []string{"block", "get", "1"}},
		run{"tx-types", 0, []string{"tx", "types"}},
		run{"cluster-status", 0, []string{"cluster", "status"}},
		run{"agency-list", 0, []string{"agency", "list"}},
		run{"agency-list-yaml", 0, []string{"agency", "list", "-o", "yaml"}},
		run{"agency-get", 0, []string{"agency", "get", "us-cbp"}},
		run{"participant-list", 0, []string{"participant", "list"}},
		run{"participant-get", 0, []string{"participant", "get", "acme-mx"}},
		run{"cert-get", 0, []string{"cert", "get", "USMCA-ACME-0002"}},
		run{"cert-get-missing", 1, []string{"cert", "get", "USMCA-NEVER-0001"}},
		run{"cert-list", 0, []string{"cert", "list", "--importer", "participant/bigbox-us"}},
		run{"license-get", 0, []string{"license", "get", "LIC-BIGBOX"}},
		run{"license-list", 0, []string{"license", "list", "--licensee", "participant/bigbox-us"}},
		run{"ipright-get", 0, []string{"ipright", "get", "TM-ACME"}},
		run{"shipment-get", 0, []string{"shipment", "get", "ENTRY-0001"}},
		run{"policy-list", 0, []string{"policy", "list"}},
		run{"policy-history", 0, []string{"policy", "history", "SHRIMP-MX-0001"}},
		run{"keys-get", 0, []string{"keys", "get", "key:" + acme}},
		run{"note-get", 0, []string{"note", "get", "welcome"}},
		run{"verify-certificate-valid", 0, []string{"verify", "certificate", "USMCA-ACME-0001"}},
		run{"verify-certificate-revoked", 2, []string{"verify", "certificate", "USMCA-ACME-0003"}},
		run{"verify-certificate-not-found", 4, []string{"verify", "certificate", "USMCA-NEVER-0001"}},
		run{"verify-license-yes", 0, []string{"verify", "license", "--importer", "bigbox-us", "--hs", "610910", "--right", "TM-ACME", "--country", "US"}},
		run{"verify-license-no", 2, []string{"verify", "license", "--importer", "dist-us", "--hs", "610910", "--right", "TM-ACME", "--country", "US"}},
		run{"verify-shipment", 2, []string{"verify", "shipment", "ENTRY-0001"}},
		run{"note-put", 0, []string{"--key", d.key("acme-mx"), "note", "put", "golden", "1"}},
		run{"note-put-world-readable-key", 1, []string{"--key", world, "note", "put", "golden", "2"}},
		run{"keys-revoke-no-id", 1, []string{"--key", d.key("acme-mx"), "keys", "revoke", "--reason", "r"}},
		run{"bad-output-format", 1, []string{"head", "-o", "xml"}},
		run{"unknown-command", 1, []string{"frobnicate"}},
	)
	dir := filepath.Join("testdata", "golden")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			out, code := d.run(nil, r.args...)
			got := fmt.Sprintf("$ ledgerctl %s\nexit %d\n%s", strings.Join(normalizeArgs(r.args), " "), code, normalize(out))
			file := filepath.Join(dir, r.name+".txt")
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if code != r.code {
				t.Errorf("exit %d, want %d\n%s", code, r.code, out)
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (rerun with -update if the change is meant):\n--- got\n%s\n--- want\n%s", file, got, want)
			}
		})
	}
}

func normalizeArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = normalize(a)
	}
	return out
}
