package cli_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/cli"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// ledgerctl will not sign with a key file others can read, as ssh will not
// (issue 12 §4), and says how to fix it.
func TestLedgerctlRefusesAWorldReadableKeyFile(t *testing.T) {
	d := newDemo(t, 1)
	key := filepath.Join(t.TempDir(), "me.key")
	d.must(0, nil, "keys", "create", "--out", key)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys create wrote mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	d.must(0, []string{"welcome"}, "--key", d.c.Layout.Admin, "note", "put", "welcome", "again")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	d.must(1, []string{"readable by others (mode 0644)", "chmod 600 " + key}, "--key", key, "note", "put", "greeting", "hello")
}

// Key ids are base64url, so some begin with '-': such an id is given as
// key:<id> or --id=<id>, and --help says so.
func TestKeyIDsThatLookLikeFlagsAreAcceptedAsKeyPrefixOrFlag(t *testing.T) {
	d := newDemo(t, 1)
	// The bare id must read as an unknown short flag, whatever key the
	// generator gives: an id whose second character is a flag of 'keys
	// revoke' reads otherwise (-o takes the rest as its value, -h prints
	// help, "--" is a long flag), so such ids are passed over.
	revoke, _, err := cli.NewRoot().Find([]string{"keys", "revoke"})
	if err != nil {
		t.Fatal(err)
	}
	revoke.InitDefaultHelpFlag()
	isFlag := func(c string) bool {
		return c == "-" || c == "h" || revoke.Flags().ShorthandLookup(c) != nil || revoke.InheritedFlags().ShorthandLookup(c) != nil
	}
	if !isFlag("o") {
		t.Fatal("setup: 'keys revoke' has no -o (--output): the flag check above reads the wrong command")
	}
	var dash ed25519.PrivateKey
	for dash == nil {
		k, _ := tx.GenerateKey()
		if id := tx.KeyID(k.Public().(ed25519.PublicKey)); strings.HasPrefix(id, "-") && !isFlag(id[1:2]) {
			dash = k
		}
	}
	id := tx.KeyID(dash.Public().(ed25519.PublicKey))
	admin := d.c.Layout.Admin
	d.must(0, nil, "--key", admin, "keys", "register", "--owner", "participant/dash", "--public-key="+id)
	if out, code := d.run(nil, "--key", admin, "keys", "revoke", id, "--reason", "r"); code == 0 || !strings.Contains(out, "unknown shorthand flag") {
		t.Fatalf("setup: a bare id beginning with '-' should read as flags: exit %d\n%s", code, out)
	}
	d.must(0, []string{"revoked"}, "--key", admin, "keys", "revoke", "key:"+id, "--reason", "lost")
	d.must(0, []string{"revoked"}, "keys", "get", "--id="+id)
	d.must(0, []string{"revoked"}, "keys", "get", "key:"+id)
	for _, cmd := range [][]string{{"keys", "revoke", "--help"}, {"keys", "get", "--help"}} {
		d.must(0, []string{"key:<id>", "--id=<id>"}, cmd...)
	}
}
