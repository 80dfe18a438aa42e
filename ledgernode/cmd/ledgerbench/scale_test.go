package main

import (
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestAJoinerIsCaughtUpOnlyWithTheLeadersLedger(t *testing.T) {
	leader := &wire.Status{Node: "node-0", Height: 500, BlockHash: "b500", AppliedIndex: 1020}
	for _, c := range []struct {
		name   string
		joiner wire.Status
		want   bool
		err    string
	}{
		{"at genesis", wire.Status{Node: "join", Height: 0, AppliedIndex: 0}, false, ""},
		{"half way", wire.Status{Node: "join", Height: 250, BlockHash: "b250", AppliedIndex: 510}, false, ""},
		{"the leader's height, index behind", wire.Status{Node: "join", Height: 500, BlockHash: "b500", AppliedIndex: 1019}, false, ""},
		{"the leader's ledger", wire.Status{Node: "join", Height: 500, BlockHash: "b500", AppliedIndex: 1020}, true, ""},
		{"past it", wire.Status{Node: "join", Height: 501, BlockHash: "b501", AppliedIndex: 1021}, true, ""},
		{"another block at the height", wire.Status{Node: "join", Height: 500, BlockHash: "x500", AppliedIndex: 1020}, false, "has block x500"},
		{"another node answered", wire.Status{Node: "node-0", Height: 500, BlockHash: "b500", AppliedIndex: 1020}, false, "answered by node-0"},
	} {
		got, err := caughtUp("join", &c.joiner, leader)
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: caughtUp = %v, %v; want %v, error %q", c.name, got, err, c.want, c.err)
		}
	}
}
