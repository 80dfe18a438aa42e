package node_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestJoinAsNonVoterPromoteTransferAndRemove(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, 2*time.Minute)
	k, _ := c.Enrol(ctx, "participant/writer")
	writeNotes(ctx, t, c, k, 60, 4, []int{0, 1, 2})
	admin := c.Client().Admin(c.Genesis.Network, c.Admin)

	idx, err := c.AddNode("n3")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Members[idx]
	if err := admin.AddMember(ctx, "n3", m.RaftAddr, m.APIAddr, false); err != nil {
		t.Fatal(err)
	}
	// The configuration as the leader holds it: a follower applies each
	// change a moment after the leader commits it. The leader is the one
	// the given members (default: every running node) agree on: a node
	// removed from the configuration but still running forgets the leader
	// once it stops hearing from it (its heartbeat timeout, 1 s), so a
	// wait that counted it would never end.
	status := func(members ...int) map[string]string {
		l, err := c.WaitLeaderAmong(ctxT(t, 20*time.Second), members...)
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.Client(l).Status(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, mm := range st.Members {
			out[mm.ID] = mm.Suffrage
		}
		return out
	}
	if s := status(); s["n3"] != "nonvoter" {
		t.Fatalf("n3 joined as %q, want nonvoter (%v)", s["n3"], s)
	}
	var progressed bool
	if err := admin.JoinAndPromote(ctx, "n3", m.RaftAddr, m.APIAddr, func(a, b uint64) { progressed = true }); err != nil {
		t.Fatal(err)
	}
	_ = progressed
	if s := status(); s["n3"] != "voter" {
		t.Fatalf("n3 is %q after promotion", s["n3"])
	}
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}

	// Leadership moves to the new member on request.
	if err := admin.TransferLeadership(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if l := mustLeader(t, c); c.Members[l].ID != "n3" {
		t.Fatalf("leader is %s after transfer to n3", c.Members[l].ID)
	}
	// Remove a member before it goes away; writes go on with the rest.
	if err := admin.RemoveMember(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	if s := status(1, 2, 3); s["n0"] != "" {
		t.Fatalf("n0 still a member: %v", s)
	}
	_ = c.Stop(0)
	writeNotes(ctx, t, c, k, 30, 3, []int{1, 2, 3})
	if _, err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMembershipNeedsTheAdminKeyAndACaughtUpMember(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, time.Minute)
	k, _ := c.Enrol(ctx, "participant/writer")
	notAdmin := c.Client().Admin(c.Genesis.Network, k)
	err := notAdmin.AddMember(ctx, "n9", "127.0.0.1:1", "127.0.0.1:2", false)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 403 {
		t.Fatalf("non-admin add member: %v, want 403", err)
	}
	admin := c.Client().Admin(c.Genesis.Network, c.Admin)
	// A member that never started cannot be promoted without --force.
	if err := admin.AddMember(ctx, "n9", "127.0.0.1:1", "127.0.0.1:2", false); err != nil {
		t.Fatal(err)
	}
	err = admin.Promote(ctx, "n9", false)
	if !errors.As(err, &ae) || ae.Code != "member_behind" {
		t.Fatalf("promote of an unreachable member: %v, want member_behind", err)
	}
	if err := admin.RemoveMember(ctx, "n9"); err != nil {
		t.Fatal(err)
	}
	if err := admin.RemoveMember(ctx, "n9"); !errors.As(err, &ae) || ae.Status != 404 {
		t.Fatalf("removing an unknown member: %v, want 404", err)
	}
}

// Raft keeps a voter a voter when it is added as a non-voter and reports
// success: the node used to answer 200 to such an add. It refuses it now,
// naming the member, its suffrage and the fix; a join that went through
// before (ledgerctl cluster add retried) still ends in success.
func TestAddingAVoterAsANonVoterIsRefusedNamingTheFix(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t, 2*time.Minute)
	admin := c.Client().Admin(c.Genesis.Network, c.Admin)
	voters := func() map[string]string {
		st, err := c.Client().Status(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range st.Members {
			out[m.ID] = m.Suffrage
		}
		return out
	}
	if s := voters(); s["n1"] != "voter" {
		t.Fatalf("setup: n1 is %q, want voter (%v)", s["n1"], s)
	}
	n1 := c.Members[1]
	err := admin.AddMember(ctx, "n1", n1.RaftAddr, n1.APIAddr, false)
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 409 || ae.Code != wire.CodeAlreadyVoter {
		t.Fatalf("add of voter n1 as a non-voter: %v, want 409 %s", err, wire.CodeAlreadyVoter)
	}
	for _, want := range []string{"n1", "already a voter", "ledgerctl cluster remove n1"} {
		if !strings.Contains(ae.Message, want) {
			t.Errorf("refusal %q does not name %q", ae.Message, want)
		}
	}
	if s := voters(); s["n1"] != "voter" {
		t.Fatalf("n1 is %q after the refused add, want voter", s["n1"])
	}
	// A retried join of a node that is a voter at these addresses is done.
	if err := admin.JoinAndPromote(ctx, "n1", n1.RaftAddr, n1.APIAddr, nil); err != nil {
		t.Fatalf("join of n1, a voter at the same addresses: %v, want success", err)
	}
	// At other addresses it is not what was asked: the refusal stands.
	err = admin.JoinAndPromote(ctx, "n1", "127.0.0.1:1", "127.0.0.1:2", nil)
	if !errors.As(err, &ae) || ae.Code != wire.CodeAlreadyVoter {
		t.Fatalf("join of n1 at other addresses: %v, want the %s refusal", err, wire.CodeAlreadyVoter)
	}
}
