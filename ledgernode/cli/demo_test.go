package cli_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/cli"
	"github.com/tradeledger/tradeledger/ledgernode/devnet"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
)

// demo is a real cluster loaded with the dev network's demo data, and
// ledgerctl run against it in-process, as a user runs it.
type demo struct {
	t       *testing.T
	c       *testcluster.Cluster
	ctx     context.Context
	keys    string // demo keys: <participant>.key, agency-<id>.key
	session string // ledgerctl's session file
}

func newDemo(t *testing.T, nodes int) *demo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	c := testcluster.Start(ctx, t, nodes)
	d := &demo{t: t, c: c, ctx: ctx, keys: t.TempDir(), session: filepath.Join(t.TempDir(), "session.json")}
	s := &devnet.Seed{Client: c.Client(), Network: c.Genesis.Network, Admin: c.Admin, KeysDir: d.keys, Out: io.Discard}
	for _, sd := range devnet.Seeders() {
		if err := sd.Run(ctx, s); err != nil {
			t.Fatalf("demo data %s: %v", sd.Name, err)
		}
	}
	// The demo is loaded through the Go client, not ledgerctl, so
	// ledgerctl's session does not know its height: wait until every node
	// has applied it, as a person starting the tour after make dev finds.
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *demo) key(name string) string { return filepath.Join(d.keys, name+".key") }

// servers is the --server value for some nodes (all when none).
func (d *demo) servers(nodes ...int) string {
	if len(nodes) == 0 {
		nodes = d.c.Running()
	}
	var eps []string
	for _, i := range nodes {
		eps = append(eps, "https://"+d.c.Members[i].APIAddr)
	}
	return strings.Join(eps, ",")
}

// run runs ledgerctl with the environment `source .dev/env` gives, against
// the given nodes, and returns its output and exit code (as main maps it).
func (d *demo) run(nodes []int, args ...string) (out string, code int) {
	d.t.Helper()
	d.t.Setenv(cli.EnvServer, d.servers(nodes...))
	d.t.Setenv(cli.EnvCA, d.c.Layout.CACert)
	d.t.Setenv(cli.EnvCert, d.c.Layout.ClientCert)
	d.t.Setenv(cli.EnvCertKey, d.c.Layout.ClientKey)
	d.t.Setenv(cli.EnvTrust, d.c.Layout.Genesis)
	d.t.Setenv(cli.EnvNetwork, d.c.Genesis.Network)
	d.t.Setenv(cli.EnvSession, d.session)
	d.t.Setenv(cli.EnvKey, "")
	var buf bytes.Buffer
	code = cli.Run(args, &buf, &buf)
	return buf.String(), code
}

// must runs ledgerctl and requires exit code want and every text in out.
func (d *demo) must(want int, contains []string, args ...string) string {
	d.t.Helper()
	out, code := d.run(nil, args...)
	if code != want {
		d.t.Fatalf("ledgerctl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
	}
	for _, c := range contains {
		if !strings.Contains(out, c) {
			d.t.Fatalf("ledgerctl %s: output lacks %q\n%s", strings.Join(args, " "), c, out)
		}
	}
	return out
}
