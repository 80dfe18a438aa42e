package node_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Every admin cluster operation runs at most once: the same envelope sent
// again, to any node and after leadership moved, gets the first answer and
// changes nothing (issue: a replayed addMember brought a removed member
// back; a replayed transfer flipped leadership back).
func TestClusterOperationsRunAtMostOnce(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, 2*time.Minute)
	idx, err := c.AddNode("n3")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members[idx]
	sign := func(typ string, req wire.MemberRequest) *tx.Signed {
		st, err := tx.BuildSigned(c.Genesis.Network, typ, req, time.Now(), c.Admin)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	send := func(node int, method, path string, st *tx.Signed) map[string]any {
		t.Helper()
		var out map[string]any
		if err := c.Client(node).Do(ctx, method, path, st.Canonical, &out); err != nil {
			t.Fatalf("%s %s to node %d: %v", method, path, node, err)
		}
		return out
	}
	members := func() map[string]string {
		st, err := c.Client(leaderOf(t, ctx, c)).Status(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, mm := range st.Members {
			out[mm.ID] = mm.Suffrage
		}
		return out
	}

	add := sign(wire.OpAddMember, wire.MemberRequest{ID: "n3", RaftAddr: m.RaftAddr, APIAddr: m.APIAddr})
	first := send(0, http.MethodPost, "/v1/cluster/members", add)
	remove := sign(wire.OpRemoveMember, wire.MemberRequest{ID: "n3"})
	send(1, http.MethodDelete, "/v1/cluster/members/n3", remove)
	if s := members(); s["n3"] != "" {
		t.Fatalf("n3 still a member after removal: %v", s)
	}
	for node := range 3 {
		again := send(node, http.MethodPost, "/v1/cluster/members", add)
		if a, b := mustJSON(t, first), mustJSON(t, again); a != b {
			t.Fatalf("replayed addMember to node %d answered %s, first %s", node, b, a)
		}
	}
	if s := members(); s["n3"] != "" {
		t.Fatalf("a replayed addMember brought n3 back: %v", s)
	}

	// A transfer replayed after it moved leadership does not move it again.
	before := leaderOf(t, ctx, c)
	transfer := sign(wire.OpTransferLeadership, wire.MemberRequest{})
	send(before, http.MethodPost, "/v1/cluster/leadership", transfer)
	after := waitNewLeader(t, ctx, c, before)
	for node := range 3 {
		send(node, http.MethodPost, "/v1/cluster/leadership", transfer)
	}
	if l := leaderOf(t, ctx, c); l != after {
		t.Fatalf("replayed transfer moved leadership from node %d to node %d", after, l)
	}

	// Under the new leader, the old removal replayed does not remove n3
	// once it is back.
	send(after, http.MethodPost, "/v1/cluster/members", sign(wire.OpAddMember, wire.MemberRequest{ID: "n3", RaftAddr: m.RaftAddr, APIAddr: m.APIAddr}))
	send(after, http.MethodDelete, "/v1/cluster/members/n3", remove)
	if s := members(); s["n3"] != "nonvoter" {
		t.Fatalf("a replayed removeMember under a new leader removed n3 again: %v", s)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// leaderOf is the leader the three voters agree on (n3, removed, may not
// know one).
func leaderOf(t *testing.T, ctx context.Context, c *testcluster.Cluster) int {
	t.Helper()
	l, err := c.WaitLeaderAmong(ctx, 0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waitNewLeader waits until every node agrees on a leader other than old.
func waitNewLeader(t *testing.T, ctx context.Context, c *testcluster.Cluster, old int) int {
	t.Helper()
	for {
		if l, err := c.WaitLeaderAmong(ctx, 0, 1, 2); err != nil {
			t.Fatal(err)
		} else if l != old {
			return l
		}
		time.Sleep(50 * time.Millisecond)
	}
}
