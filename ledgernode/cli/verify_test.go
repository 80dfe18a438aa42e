package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestVerdictsOnTheCommandLine(t *testing.T) {
	d := newDemo(t, 3)
	steps := []struct {
		name     string
		want     int
		contains []string
		args     []string
	}{
		{"with LEDGER_TRUST set, --no-proof answers without a false tamper alarm", 0,
			[]string{"VALID", "without inclusion proofs (--no-proof): not checked offline"},
			[]string{"verify", "certificate", "USMCA-ACME-0001", "--no-proof"}},
		{"with proofs, they are verified offline", 0, []string{"VALID", "inclusion proofs verified offline"},
			[]string{"verify", "certificate", "USMCA-ACME-0001"}},
		{"a revoked certificate: the ledger says no", 2, []string{"REVOKED"},
			[]string{"verify", "certificate", "USMCA-ACME-0003"}},
		{"a certificate never recorded is NOT FOUND, with its own exit code", 4, []string{"NOT FOUND", "as of height"},
			[]string{"verify", "certificate", "USMCA-NEVER-0001"}},
		{"what the ledger knew at the genesis: nothing", 4, []string{"NOT FOUND", "(height 0)"},
			[]string{"verify", "certificate", "USMCA-ACME-0001", "--as-of-height", "0"}},
		{"license --no-proof with trust", 0, []string{"YES", "not checked offline"},
			[]string{"verify", "license", "--importer", "bigbox-us", "--hs", "610910", "--right", "TM-ACME", "--country", "US", "--no-proof"}},
		{"an unrecorded license to start from is NOT FOUND", 4, []string{"NOT FOUND"},
			[]string{"verify", "license", "--importer", "bigbox-us", "--hs", "610910", "--right", "TM-ACME", "--country", "US", "--license", "LIC-NEVER"}},
		{"shipment --no-proof with trust", 2, []string{"INVALID", "not checked offline"},
			[]string{"verify", "shipment", "ENTRY-0001", "--no-proof"}},
		{"an undeclared shipment is NOT FOUND", 4, []string{"NOT FOUND"},
			[]string{"verify", "shipment", "ENTRY-NEVER"}},
		{"a VALID verdict shows the Audit finding the agency recorded", 0, []string{"VALID (1 warning(s))", "agency_finding", "us-cbp-usmca-criterion-c-producer"},
			[]string{"verify", "certificate", "USMCA-ACME-0004"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			d.t = t
			d.must(s.want, s.contains, s.args...)
		})
	}
}

// A certificate issued with ledgerctl and verified right after, through a
// node that has not applied it yet, is found: ledgerctl passes the height
// of its last receipt and the node waits for it.
func TestLedgerctlReadsItsOwnWrites(t *testing.T) {
	d := newDemo(t, 3)
	leader, err := d.c.WaitLeader(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	behind := (leader + 1) % 3
	if err := d.c.Stop(behind); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ct := wire.Certificate{ID: "USMCA-RYW-0001", Program: "USMCA", CertifierRole: "exporter",
		Certifier: wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV", Title: "Director"},
		Producer:  &wire.Party{Name: wire.ProducerVarious}, Importer: &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc."},
		ExportCountry: "MX", ImportCountry: "US",
		Goods:    []wire.GoodsItem{{Description: "Portable computers", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"}},
		SignedAt: tx.FormatTime(now.Add(-time.Hour)), Language: "es"}
	raw, _ := json.Marshal(ct)
	file := filepath.Join(t.TempDir(), "cert.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := d.run([]int{leader}, "cert", "issue", "--file", file, "--key", d.key("acme-mx")); code != 0 {
		t.Fatalf("issue: exit %d\n%s", code, out)
	}
	if err := d.c.Restart(behind); err != nil {
		t.Fatal(err)
	}
	out, code := d.run([]int{behind}, "verify", "certificate", "USMCA-RYW-0001", "--no-proof")
	if code != 0 || !strings.Contains(out, "VALID") {
		t.Fatalf("verify on the restarted node: exit %d\n%s", code, out)
	}
}

func TestPagingAndLicenseStatusOnTheCommandLine(t *testing.T) {
	d := newDemo(t, 1)
	out := d.must(0, []string{"more: --after "}, "cert", "list", "--importer", "bigbox-us", "--limit", "2")
	cursor := strings.TrimSpace(out[strings.LastIndex(out, "--after ")+len("--after "):])
	if strings.ContainsAny(cursor, "\x00\"' ") {
		t.Fatalf("cursor %q is not shell-safe", cursor)
	}
	page2 := d.must(0, []string{"USMCA-ACME-0003"}, "cert", "list", "--importer", "bigbox-us", "--limit", "2", "--after", cursor)
	if strings.Contains(page2, "USMCA-ACME-0001 ") {
		t.Fatalf("page 2 repeats page 1:\n%s", page2)
	}
	d.must(1, []string{"after", "not a cursor of this listing"}, "cert", "list", "--importer", "bigbox-us", "--after", "USMCA-ACME-0002")
	d.must(1, []string{"after"}, "cert", "list", "--exporter", "acme-mx", "--after", cursor)

	// LIC-DIST's own record is active; its parent was revoked.
	d.must(0, []string{"parent-revoked (LIC-ACME-MX-2)", "quality audit failed"}, "license", "get", "LIC-DIST")
	d.must(0, []string{"LIC-BIGBOX", "active"}, "license", "list", "--licensee", "bigbox-us")
	d.must(0, []string{"ROLES", "customs"}, "agency", "get", "us-cbp")
}
