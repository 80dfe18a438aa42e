package consensus

// Membership: who is in the Raft configuration and at which addresses,
// who leads, and the changes an admin makes (add as non-voter, promote,
// remove, transfer leadership). Addresses are recorded through Raft
// (EntryMember) so that every node can name every member's API address.

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Server is a member as Raft and the ledger know it.
type Server struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	APIAddr  string `json:"apiAddr,omitempty"`
	Suffrage string `json:"suffrage"` // voter, nonvoter
	Leader   bool   `json:"leader"`
}

// ErrUnknownMember is returned for a member id not in the configuration.
var ErrUnknownMember = errors.New("no such member")

// ErrAlreadyVoter is returned for an add of a voter as a non-voter: Raft
// would keep it a voter and report success.
var ErrAlreadyVoter = errors.New("already a voter")

// IsLeader says whether this node leads now.
func (n *Replica) IsLeader() bool { return n.raft.State() == raft.Leader }

// State is this node's Raft state (Leader, Follower, Candidate, Shutdown).
func (n *Replica) State() string { return n.raft.State().String() }

// Leader returns the leader's id and API address, if known.
func (n *Replica) Leader() (id, apiAddr string) {
	_, lid := n.raft.LeaderWithID()
	return n.withAPIAddr(string(lid))
}

// LastLeader is Leader, or when no leader is known right now, the last one
// this node knew: a follower under load can lose track of the leader for a
// moment (a pre-vote round) while the leader is still leading, and
// forwarding to it then is better than waiting. The answer may be stale;
// a node that no longer leads says so and the caller retries.
func (n *Replica) LastLeader() (id, apiAddr string) {
	if id, addr := n.Leader(); id != "" {
		return id, addr
	}
	last, _ := n.lastLeader.Load().(string)
	return n.withAPIAddr(last)
}

func (n *Replica) withAPIAddr(id string) (string, string) {
	if id == "" {
		return "", ""
	}
	members, _ := n.store.Members()
	for _, m := range members {
		if m.ID == id {
			return m.ID, m.APIAddr
		}
	}
	return id, ""
}

// Configuration lists the current Raft members with their API addresses.
func (n *Replica) Configuration() ([]Server, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, mapRaftError(err, false)
	}
	members, _ := n.store.Members()
	api := map[string]string{}
	for _, m := range members {
		api[m.ID] = m.APIAddr
	}
	_, leader := n.raft.LeaderWithID()
	var out []Server
	for _, s := range f.Configuration().Servers {
		suf := "voter"
		if s.Suffrage != raft.Voter {
			suf = "nonvoter"
		}
		out = append(out, Server{ID: string(s.ID), RaftAddr: string(s.Address), APIAddr: api[string(s.ID)], Suffrage: suf, Leader: s.ID == leader})
	}
	return out, nil
}

// Voters are the voters of the latest Raft configuration (committed or
// not).
func (n *Replica) Voters() []string {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	var ids []string
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			ids = append(ids, string(s.ID))
		}
	}
	return ids
}

// CommittedVoters are the voters of the last configuration entry this node
// applied since it started, and that entry's index (0: none seen yet).
// hashicorp/raft v1.7 gives only the latest configuration, committed or
// not (its GetConfiguration future's Index is always 0), and the FSM sees
// configuration entries once committed.
func (n *Replica) CommittedVoters() ([]string, uint64) {
	c := n.fsm.committed.Load()
	if c == nil {
		return nil, 0
	}
	return c.voters, c.index
}

// AddMember records the member's addresses and adds it to Raft, as a
// non-voter unless voter is set. New members should join as non-voters and
// be promoted once caught up, so that a slow joiner never costs quorum.
func (n *Replica) AddMember(ctx context.Context, m state.Member, voter bool) error {
	if !n.IsLeader() {
		return n.notLeaderError()
	}
	if !voter {
		servers, err := n.Configuration()
		if err != nil {
			return err
		}
		for _, s := range servers {
			if s.ID == m.ID && s.Suffrage == "voter" {
				return fmt.Errorf("member %s is %w (raftAddr %s, apiAddr %s): adding it as a non-voter would leave it voting; "+
					"nothing to do to keep it a voter; to make it a non-voter, remove it (ledgerctl cluster remove %s) and add it again",
					m.ID, ErrAlreadyVoter, s.RaftAddr, s.APIAddr, m.ID)
			}
		}
	}
	if err := n.applyMember(m, false); err != nil {
		return err
	}
	timeout := n.cfg.ApplyTimeout
	var f raft.IndexFuture
	if voter {
		f = n.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, timeout)
	} else {
		f = n.raft.AddNonvoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, timeout)
	}
	if err := f.Error(); err != nil {
		return mapRaftError(err, true)
	}
	n.log.Info("member added", "member", m.ID, "voter", voter)
	return nil
}

// Promote makes a non-voter a voter.
func (n *Replica) Promote(ctx context.Context, id string) error {
	s, err := n.server(id)
	if err != nil {
		return err
	}
	if s.Suffrage == "voter" {
		return nil
	}
	if err := n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(s.RaftAddr), 0, n.cfg.ApplyTimeout).Error(); err != nil {
		return mapRaftError(err, true)
	}
	n.log.Info("member promoted to voter", "member", id)
	return nil
}

// RemoveMember removes a member from Raft, then forgets its addresses.
func (n *Replica) RemoveMember(ctx context.Context, id string) error {
	if _, err := n.server(id); err != nil {
		return err
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout).Error(); err != nil {
		return mapRaftError(err, true)
	}
	n.log.Info("member removed", "member", id)
	if n.IsLeader() {
		return n.applyMember(state.Member{ID: id}, true)
	}
	return nil
}

// TransferLeadership hands leadership to id, or to the most up-to-date
// voter when id is empty.
func (n *Replica) TransferLeadership(ctx context.Context, id string) error {
	if !n.IsLeader() {
		return n.notLeaderError()
	}
	var f raft.Future
	if id == "" {
		f = n.raft.LeadershipTransfer()
	} else {
		s, err := n.server(id)
		if err != nil {
			return err
		}
		f = n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(s.RaftAddr))
	}
	return mapRaftError(f.Error(), false)
}

func (n *Replica) server(id string) (*Server, error) {
	if !n.IsLeader() {
		return nil, n.notLeaderError()
	}
	servers, err := n.Configuration()
	if err != nil {
		return nil, err
	}
	for i := range servers {
		if servers[i].ID == id {
			return &servers[i], nil
		}
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownMember, id)
}

func (n *Replica) applyMember(m state.Member, remove bool) error {
	data, err := encodeEntry(EntryMember, MemberChange{Member: m, Remove: remove})
	if err != nil {
		return err
	}
	return mapRaftError(n.raft.Apply(data, n.cfg.ApplyTimeout).Error(), true)
}
