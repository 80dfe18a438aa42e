package devnet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Run fills nothing in: what did not start from DefaultConfig is refused,
// each field named with its fix, before any file is written.
func TestRunRefusesAnIncompleteConfigNamingEachField(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	err := Run(context.Background(), Config{})
	if err == nil {
		t.Fatal("an empty config was accepted")
	}
	for _, field := range []string{"Dir", "Nodes", "BasePort", "Network", "Logger", "Out"} {
		if !strings.Contains(err.Error(), "devnet.Config."+field+":") {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}

	dir := filepath.Join(t.TempDir(), "dev")
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"eleven nodes share a port", func(c *Config) { c.Nodes = 11 }, "devnet.Config.Nodes: 11: must be 1 to 10"},
		{"Raft ports past 65535", func(c *Config) { c.BasePort = 65530 }, "devnet.Config.BasePort: 65530: must leave room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Dir = dir
			tc.mod(&c)
			err := Run(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("a refused config created %s (%v)", dir, err)
			}
		})
	}
}
