package testcluster

import (
	"context"
	"strings"
	"testing"
)

// New fills nothing in: each field a config lacks is named with its fix.
func TestNewRefusesAnIncompleteConfigNamingEachField(t *testing.T) {
	c, err := New(context.Background(), Config{})
	if err == nil || c != nil {
		t.Fatalf("an empty config was accepted: %v", err)
	}
	for _, field := range []string{"Nodes", "Dir", "Network", "Logger", "Registry"} {
		if !strings.Contains(err.Error(), "testcluster.Config."+field+":") {
			t.Errorf("error does not name %s:\n%v", field, err)
		}
	}
	err = DefaultConfig().Validate()
	if err == nil || !strings.Contains(err.Error(), "testcluster.Config.Dir: required") {
		t.Fatalf("DefaultConfig without Dir: %v, want Dir named", err)
	}
	if strings.Count(err.Error(), "testcluster.Config.") != 1 {
		t.Fatalf("DefaultConfig: fields it fills are named: %v", err)
	}
	nc := DefaultNodeConfig()
	nc.ID = "n0"
	if _, err := StartNode(nc); err == nil || !strings.Contains(err.Error(), "node.Config.DataDir: required") {
		t.Fatalf("StartNode without DataDir: %v, want DataDir named", err)
	}
}
