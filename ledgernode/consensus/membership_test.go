package consensus

import (
	"context"
	"errors"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

func serverOf(t *testing.T, n *Replica, id string) (Server, bool) {
	t.Helper()
	servers, err := n.Configuration()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		if s.ID == id {
			return s, true
		}
	}
	return Server{}, false
}

// A member joins as a non-voter with its addresses recorded, catches up,
// is promoted, can take over leadership, and is removed with its
// addresses forgotten; each step is what the configuration then says.
func TestAMemberJoinsAsANonVoterIsPromotedLeadsAndIsRemoved(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, 2, 1)
	n0 := tn.start(tn.config("n0"))
	waitFor(t, "n0 to lead", n0.IsLeader)
	submit(t, n0, tn.note("before-join", `1`))
	n1 := tn.start(tn.config("n1"))
	spec := tn.spec("n1")
	if err := n0.AddMember(ctx, state.Member{ID: "n1", RaftAddr: spec.RaftAddr, APIAddr: spec.APIAddr}, false); err != nil {
		t.Fatal(err)
	}
	s, ok := serverOf(t, n0, "n1")
	if !ok || s.Suffrage != "nonvoter" || s.APIAddr != spec.APIAddr || s.Leader {
		t.Fatalf("n1 after AddMember: %+v (present %v), want a non-voter with its API address", s, ok)
	}
	waitFor(t, "n1 to catch up", func() bool { return n1.AppliedIndex() >= n0.AppliedIndex() })
	if _, ok := readNote(t, n1.cfg.Store, "before-join"); !ok {
		t.Fatal("n1 caught up without the note written before it joined")
	}

	if err := n0.Promote(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if s, _ := serverOf(t, n0, "n1"); s.Suffrage != "voter" {
		t.Fatalf("n1 after Promote: %+v, want a voter", s)
	}
	if err := n0.Promote(ctx, "n1"); err != nil {
		t.Fatalf("promoting a voter again: %v, want nothing to do", err)
	}

	if err := n0.TransferLeadership(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to lead", n1.IsLeader)
	waitFor(t, "n0 to follow n1", func() bool { id, _ := n0.Leader(); return id == "n1" })
	if id, api := n0.LastLeader(); id != "n1" || api != spec.APIAddr {
		t.Fatalf("n0's last leader: %s at %q, want n1 at %s", id, api, spec.APIAddr)
	}
	if err := n0.AddMember(ctx, state.Member{ID: "n9", RaftAddr: "127.0.0.1:1"}, false); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("AddMember on a follower: %v, want ErrNotLeader", err)
	}

	if err := n1.RemoveMember(ctx, "n0"); err != nil {
		t.Fatal(err)
	}
	if _, ok := serverOf(t, n1, "n0"); ok {
		t.Fatal("n0 is still in the configuration after RemoveMember")
	}
	members, err := n1.cfg.Store.Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.ID == "n0" {
			t.Fatalf("n0's addresses are still recorded after RemoveMember: %+v", m)
		}
	}
}

// Promoting, removing or handing leadership to a member that is not in
// the configuration is refused naming it, and changes nothing.
func TestAChangeNamingAnUnknownMemberIsRefused(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t, 1, 1)
	n := tn.start(tn.config("n0"))
	waitFor(t, "n0 to lead", n.IsLeader)
	before, err := n.Configuration()
	if err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"promote":  func() error { return n.Promote(ctx, "ghost") },
		"remove":   func() error { return n.RemoveMember(ctx, "ghost") },
		"transfer": func() error { return n.TransferLeadership(ctx, "ghost") },
	} {
		err := op()
		if !errors.Is(err, ErrUnknownMember) || err.Error() != `no such member "ghost"` {
			t.Errorf("%s ghost: %v, want ErrUnknownMember naming it", name, err)
		}
	}
	after, err := n.Configuration()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || len(after) != 1 || after[0].ID != "n0" || !after[0].Leader {
		t.Fatalf("configuration after refused changes: %+v, want only n0 leading", after)
	}
}
