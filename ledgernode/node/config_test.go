package node

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
)

// Start fills nothing in: a config that did not start from DefaultConfig
// is refused before anything is written, each missing field named with
// its fix.
func TestStartRefusesAnIncompleteConfigNamingEachField(t *testing.T) {
	dir := t.TempDir()
	n, err := Start(Config{DataDir: dir})
	if err == nil || n != nil {
		t.Fatalf("an empty config was accepted: %v", err)
	}
	for _, want := range []string{"Config.ID: required", "Config.Genesis: required", "Config.NodeKey: required", "Config.Logger: nil",
		"Config.Registry: nil", "Config.Consensus.Clock: nil", "Config.MaxClockOffset: 0s: must be positive", "Config.Rejoin.Timeout: 0s",
		"Config.Rejoin.Interval: 0s", "Config.Rejoin.RequestTimeout: 0s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "Config.DataDir") {
		t.Errorf("DataDir was given but is named:\n%v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused config wrote %d files in the data directory", len(entries))
	}
}

func TestDefaultConfigNeedsOnlyTheNodesIdentity(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.DataDir, cfg.Genesis, cfg.NodeKey = "ledger-0", filepath.Join(t.TempDir(), "data"), &chain.Genesis{}, key
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig with the node's identity: %v", err)
	}
	cfg.ID = "Ledger_0"
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `Config.ID: "Ledger_0": must be a DNS label`) {
		t.Fatalf("id Ledger_0: %v, want it refused as no DNS label", err)
	}
	if strings.Contains(err.Error(), "Config.Registry") || strings.Contains(err.Error(), "Config.Rejoin") {
		t.Fatalf("fields DefaultConfig filled are named: %v", err)
	}
}
