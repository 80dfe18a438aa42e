package node

import (
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Answers of genesis peers (and one leader found through them).
func emptyPeer(id, incarnation string) peerAnswer {
	return peerAnswer{ID: id, Genesis: true, Status: &wire.Status{Node: id, State: "Follower", Term: "0", Incarnation: incarnation}}
}

func ranPeer(id, state string, voters ...string) peerAnswer {
	return peerAnswer{ID: id, Genesis: true, Status: &wire.Status{Node: id, State: state, Term: "3", CommitIndex: 40, AppliedIndex: 40,
		Height: 12, ConfigIndex: 5, Voters: voters, CommittedVoters: voters}}
}

func silentPeer(id string) peerAnswer {
	return peerAnswer{ID: id, Genesis: true, Err: "connection refused"}
}

func sawMe(a peerAnswer) peerAnswer { a.Status.SawEmpty = []string{"me-1"}; return a }

func lostPeer(id string) peerAnswer {
	a := emptyPeer(id, "x")
	a.Status.DataLost = true
	return a
}

func TestRejoinDecisionBootstrapsOnlyANetworkThatNeverRan(t *testing.T) {
	for _, tc := range []struct {
		name         string
		mayBootstrap bool
		evidence     string
		seen         map[string]string // peers seen empty in earlier rounds
		answers      []peerAnswer
		elapsed      time.Duration
		want         rejoinAction
	}{
		{"every genesis peer empty: a first start bootstraps", true, "", nil,
			[]peerAnswer{emptyPeer("n1", "a"), emptyPeer("n2", "b")}, 0, rejoinBootstrap},
		{"a single-node genesis bootstraps at once", true, "", nil, nil, 0, rejoinBootstrap},
		{"a peer that ran and never was seen empty: data lost", true, "", nil,
			[]peerAnswer{ranPeer("n1", "Follower", "n0", "n1", "n2"), emptyPeer("n2", "b")}, 0, rejoinDataLost},
		{"a leader that ran and still lists it as a voter: data lost", true, "", nil,
			[]peerAnswer{ranPeer("n1", "Leader", "n0", "n1", "n2"), silentPeer("n2")}, 0, rejoinDataLost},
		{"two wiped voters see each other empty but one lost its data: data lost", true, "", nil,
			[]peerAnswer{lostPeer("n1"), silentPeer("n2")}, time.Hour, rejoinDataLost},
		{"a peer seen empty since this node started and now running: the network began after it", true, "",
			map[string]string{"n1": "a"}, []peerAnswer{ranPeer("n1", "Leader", "n0", "n1", "n2"), emptyPeer("n2", "b")}, 0, rejoinBootstrap},
		{"a running peer that saw this run of this node empty vouches for it", true, "", nil,
			[]peerAnswer{sawMe(ranPeer("n1", "Follower", "n0", "n1", "n2")), sawMe(ranPeer("n2", "Leader", "n0", "n1", "n2"))}, 0, rejoinBootstrap},
		{"a peer that saw an earlier run of this node does not vouch", true, "", nil,
			[]peerAnswer{func() peerAnswer {
				a := ranPeer("n1", "Leader", "n0", "n1", "n2")
				a.Status.SawEmpty = []string{"me-0"}
				return a
			}(), emptyPeer("n2", "b")}, 0, rejoinDataLost},
		{"a silent peer is waited for", true, "", nil,
			[]peerAnswer{emptyPeer("n1", "a"), silentPeer("n2")}, time.Second, rejoinWait},
		{"no answer within the bound: bootstrap as before", true, "", nil,
			[]peerAnswer{silentPeer("n1"), silentPeer("n2")}, 30 * time.Second, rejoinBootstrap},
		{"the marker of an earlier start: never bootstrap, even with no answer", true, "marker", nil,
			[]peerAnswer{silentPeer("n1"), silentPeer("n2")}, time.Hour, rejoinDataLost},
		{"a leader whose committed configuration has no vote for it: wait to be added", true, "marker", nil,
			[]peerAnswer{ranPeer("n1", "Leader", "n1", "n2"), silentPeer("n2")}, 0, rejoinOpen},
		{"removed but not yet committed (latest lists no vote, committed does): still lost", true, "marker", nil,
			[]peerAnswer{func() peerAnswer {
				a := ranPeer("n1", "Leader", "n0", "n1", "n2")
				a.Status.Voters = []string{"n1", "n2"}
				return a
			}()}, 0, rejoinDataLost},
		{"a follower's configuration without it is not enough", true, "marker", nil,
			[]peerAnswer{ranPeer("n1", "Follower", "n1", "n2")}, 0, rejoinDataLost},
		{"a leader that saw no configuration since it started is not enough", true, "marker", nil,
			[]peerAnswer{func() peerAnswer {
				a := ranPeer("n1", "Leader", "n1", "n2")
				a.Status.ConfigIndex, a.Status.CommittedVoters = 0, nil
				return a
			}()}, 0, rejoinDataLost},
		{"no-bootstrap: a peer that lists it as a voter means lost data", false, "", nil,
			[]peerAnswer{ranPeer("n1", "Follower", "n0", "n1", "n2")}, 0, rejoinDataLost},
		{"no-bootstrap: nobody lists it (a new member): wait to be added at once", false, "", nil,
			[]peerAnswer{ranPeer("n1", "Follower", "n1", "n2"), silentPeer("n2")}, 0, rejoinOpen},
		{"no-bootstrap: nobody answers (a restored network's genesis addresses): wait to be added at once", false, "", nil,
			[]peerAnswer{silentPeer("n1"), silentPeer("n2")}, 0, rejoinOpen},
	} {
		seen := map[string]string{}
		for k, v := range tc.seen {
			seen[k] = v
		}
		got := decideRejoin(rejoinInput{self: "n0", incarnation: "me-1", mayBootstrap: tc.mayBootstrap, evidence: tc.evidence,
			answers: tc.answers, seenEmpty: seen, elapsed: tc.elapsed, timeout: 30 * time.Second})
		if got.action != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, got.action, got.why, tc.want)
		}
	}
}

// With the network-has-run marker no answer leads to a bootstrap; every
// genesis peer answering with no Raft state means every member lost its
// data, and a silent peer is waited for unless the node runs NoBootstrap
// (a restored network's genesis addresses may answer nothing).
func TestRejoinDecisionWithTheNetworkHasRunMarkerNeverBootstraps(t *testing.T) {
	for _, tc := range []struct {
		name        string
		noBootstrap bool
		answers     []peerAnswer
		elapsed     time.Duration
		want        rejoinAction
	}{
		{"every genesis peer empty: every member lost its data", false,
			[]peerAnswer{emptyPeer("n1", "a"), emptyPeer("n2", "b")}, 0, rejoinAllLost},
		{"every genesis peer empty or reporting lost data: every member lost its data", false,
			[]peerAnswer{lostPeer("n1"), emptyPeer("n2", "b")}, time.Hour, rejoinAllLost},
		{"a single-node genesis with no Raft state: it lost its data", false, nil, 0, rejoinAllLost},
		{"no-bootstrap too: every genesis peer empty is still every member lost", true,
			[]peerAnswer{emptyPeer("n1", "a"), emptyPeer("n2", "b")}, 0, rejoinAllLost},
		{"a peer that lists it as a voter: its own data lost", false,
			[]peerAnswer{ranPeer("n1", "Follower", "n0", "n1", "n2"), emptyPeer("n2", "b")}, 0, rejoinDataLost},
		{"a silent peer is waited for, past the bootstrap bound", false,
			[]peerAnswer{emptyPeer("n1", "a"), silentPeer("n2")}, time.Hour, rejoinWait},
		{"a peer holds the ledger without it but another is silent: wait (that one may list it)", false,
			[]peerAnswer{ranPeer("n1", "Follower", "n1", "n2"), silentPeer("n2")}, 0, rejoinWait},
		{"every peer answers, one holds the ledger and none lists it: wait to be added", false,
			[]peerAnswer{ranPeer("n1", "Follower", "n1", "n2"), emptyPeer("n2", "b")}, 0, rejoinOpen},
		{"a leader whose committed configuration has no vote for it: wait to be added", false,
			[]peerAnswer{ranPeer("n1", "Leader", "n1", "n2"), silentPeer("n2")}, 0, rejoinOpen},
		{"no-bootstrap: nobody answers: wait to be added at once", true,
			[]peerAnswer{silentPeer("n1"), silentPeer("n2")}, 0, rejoinOpen},
		{"no-bootstrap: a peer holds the ledger without it, another silent: wait to be added", true,
			[]peerAnswer{ranPeer("n1", "Follower", "n1", "n2"), silentPeer("n2")}, 0, rejoinOpen},
	} {
		got := decideRejoin(rejoinInput{self: "n0", incarnation: "me-1", hasRun: "network-has-run", noBootstrap: tc.noBootstrap,
			answers: tc.answers, seenEmpty: map[string]string{}, elapsed: tc.elapsed, timeout: 30 * time.Second})
		if got.action != tc.want {
			t.Errorf("%s: %d (%s), want %d", tc.name, got.action, got.why, tc.want)
		}
		if got.action == rejoinAllLost && !strings.Contains(got.why, "network-has-run") {
			t.Errorf("%s: why %q does not name the marker", tc.name, got.why)
		}
	}
}
