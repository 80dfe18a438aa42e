package server

import (
	"strings"
	"testing"
)

// New fills nothing in: a config that did not start from DefaultConfig is
// refused, each missing field named with its fix; DefaultConfig leaves
// only the node's own parts to set.
func TestNewRefusesAnIncompleteConfigNamingEachField(t *testing.T) {
	s, err := New(Config{Access: AccessConfig{Metrics: "sometimes"}})
	if err == nil || s != nil {
		t.Fatalf("an empty config was accepted: %v", err)
	}
	for _, want := range []string{"Config.NodeID: required", "Config.Store: required", "Config.Replica: required", "Config.NodeKey: required",
		"Config.TLS: required", "Config.Logger: nil: start from DefaultConfig", "Config.Clock: nil", "Config.SubmitTimeout: 0: must be positive",
		"Config.ReadyLag: 0", "Config.ReadWait: 0", "Config.Budget.NodeBytes: 0", "Config.Budget.ClientBytes: 0", `Config.Access: metrics access "sometimes"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}

	err = DefaultConfig().Validate()
	if err == nil {
		t.Fatal("DefaultConfig without the node's parts was accepted")
	}
	for _, field := range []string{"NodeID", "Store", "Replica", "NodeKey", "TLS"} {
		if !strings.Contains(err.Error(), "Config."+field+": required") {
			t.Errorf("DefaultConfig: %s is not named:\n%v", field, err)
		}
	}
	for _, field := range []string{"Logger", "Clock", "SubmitTimeout", "ReadyLag", "ReadWait", "Budget", "Access"} {
		if strings.Contains(err.Error(), "Config."+field) {
			t.Errorf("DefaultConfig fills %s, yet it is named:\n%v", field, err)
		}
	}
}
