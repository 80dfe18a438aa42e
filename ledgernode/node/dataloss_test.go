package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// selfStatus is node i's own report (GET /v1/cluster/status?self=true).
func selfStatus(t *testing.T, c *testcluster.Cluster, i int) wire.Status {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Node(i).Handler().ServeHTTP(rec, c.AsAdmin(httptest.NewRequest(http.MethodGet, "/v1/cluster/status?self=true", nil)))
	var st wire.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatalf("status of %s: %v (%s)", c.Members[i].ID, err, rec.Body)
	}
	return st
}

// assertDataLost checks every way node i reports lost data: its status,
// /readyz (503 with the reason and the fix), the metric, the marker, and
// that its Raft log stayed empty (it did not bootstrap, nor take entries).
func assertDataLost(t *testing.T, c *testcluster.Cluster, i int) {
	t.Helper()
	id := c.Members[i].ID
	n := c.Node(i)
	if !n.DataLost() || !n.Held() {
		t.Fatalf("%s: dataLost %v, held %v; want both", id, n.DataLost(), n.Held())
	}
	if st := n.Consensus().Stats(); st["term"] != "0" || st["last_log_index"] != "0" {
		t.Fatalf("%s holds Raft state (term %s, last log index %s): it bootstrapped or took entries", id, st["term"], st["last_log_index"])
	}
	st := selfStatus(t, c, i)
	if !st.DataLost || !strings.Contains(st.DataLostFix, "ledgerctl cluster remove "+id) {
		t.Fatalf("%s status: dataLost %v, fix %q", id, st.DataLost, st.DataLostFix)
	}
	rec := httptest.NewRecorder()
	n.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "data lost: must be re-added as a new member") ||
		!strings.Contains(rec.Body.String(), "ledgerctl cluster add "+id) {
		t.Fatalf("%s /readyz: %d %s", id, rec.Code, rec.Body)
	}
	if v := metricValue(t, c, i, "ledger_data_lost"); v != 1 {
		t.Fatalf("%s ledger_data_lost = %v, want 1", id, v)
	}
	if _, err := os.Stat(filepath.Join(c.Members[i].Paths.Dir, "data", "data-lost.json")); err != nil {
		t.Fatalf("%s: no data-lost marker: %v", id, err)
	}
}

// assertPresent checks that every acknowledged write is on node i.
func assertPresent(ctx context.Context, t *testing.T, c *testcluster.Cluster, i int, acked []string) {
	t.Helper()
	cl := c.Client(i)
	for _, id := range acked {
		if _, err := cl.Tx(ctx, id, false, client.ReadOptions{}); err != nil {
			t.Fatalf("acknowledged write %s on %s: %v", id, c.Members[i].ID, err)
		}
	}
}

// wipe stops each of the given nodes and deletes its data directory.
func wipe(t *testing.T, c *testcluster.Cluster, nodes ...int) {
	t.Helper()
	for _, i := range nodes {
		if err := c.Stop(i); err != nil {
			t.Fatal(err)
		}
		if err := c.Wipe(i); err != nil {
			t.Fatal(err)
		}
	}
}

// restart starts each of the given stopped nodes again.
func restart(t *testing.T, c *testcluster.Cluster, nodes ...int) {
	t.Helper()
	for _, i := range nodes {
		if err := c.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
}

// startAsOnlyVoter starts node i, whose data (recovered or restored) makes
// it the only voter, without bootstrapping; it waits until i leads and
// until each of the others, whose votes its configuration no longer holds,
// stops reporting lost data and waits to be added.
func startAsOnlyVoter(ctx context.Context, t *testing.T, c *testcluster.Cluster, i int, others ...int) {
	t.Helper()
	c.Members[i].NoBootstrap = true
	restart(t, c, i)
	if _, err := c.WaitLeaderAmong(ctx, i); err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, "the others to stop reporting lost data and wait to be added", func() bool {
		for _, o := range others {
			if c.Node(o).DataLost() || c.Node(o).Held() {
				return false
			}
		}
		return true
	})
}

// addBack adds each of the given members through admin (the join path)
// and promotes it to a voter.
func addBack(ctx context.Context, t *testing.T, c *testcluster.Cluster, admin *client.Admin, nodes ...int) {
	t.Helper()
	for _, i := range nodes {
		m := c.Members[i]
		if err := admin.JoinAndPromote(ctx, m.ID, m.RaftAddr, m.APIAddr, nil); err != nil {
			t.Fatalf("adding %s back: %v", m.ID, err)
		}
	}
}

// A genesis voter whose data directory is deleted comes back empty. It
// must not bootstrap the genesis again nor vote with a forgotten log: it
// reports lost data, holds its Raft traffic, and takes part only once an
// admin (the operator, on Kubernetes) removed it and added it back; then
// it catches up and holds every acknowledged write.
func TestAWipedVoterReportsDataLostAndRejoinsOnlyOnceRemovedAndAddedBack(t *testing.T) {
	c, ctx, k := writerCluster(t, 2*time.Minute)
	leader := mustLeader(t, c)
	victim, other := (leader+1)%3, (leader+2)%3
	acked := writeNotes(ctx, t, c, k, 60, 3, []int{0, 1, 2})
	wipe(t, c, victim)
	restart(t, c, victim)
	waitUntil(ctx, t, "the wiped node to report lost data", func() bool { return c.Node(victim).DataLost() })
	assertDataLost(t, c, victim)

	// The other two are a quorum: writes go on while it waits, and it is
	// still a voter of their configuration, so it stays held.
	acked = append(acked, writeNotes(ctx, t, c, k, 20, 2, []int{leader, other})...)
	time.Sleep(time.Second) // a few rounds of questions
	assertDataLost(t, c, victim)
	// The leader's cluster status (what the operator and 'ledgerctl cluster
	// status' read) says which member lost its data.
	rec := httptest.NewRecorder()
	c.Node(leader).Handler().ServeHTTP(rec, c.AsAdmin(httptest.NewRequest(http.MethodGet, "/v1/cluster/status", nil)))
	var cs wire.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &cs); err != nil {
		t.Fatal(err)
	}
	for _, m := range cs.Members {
		if m.DataLost != (m.ID == c.Members[victim].ID) || (m.DataLost && m.Suffrage != "voter") {
			t.Fatalf("leader's view of %s: dataLost %v, %s (%s)", m.ID, m.DataLost, m.Suffrage, rec.Body)
		}
	}

	vm := c.Members[victim]
	admin := c.Client(leader, other).Admin(c.Genesis.Network, c.Admin)
	if err := admin.RemoveMember(ctx, vm.ID); err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, "the removed node to stop reporting lost data", func() bool {
		return !c.Node(victim).DataLost() && !c.Node(victim).Held()
	})
	if v := metricValue(t, c, victim, "ledger_data_lost"); v != 0 {
		t.Fatalf("ledger_data_lost = %v after removal, want 0", v)
	}
	addBack(ctx, t, c, admin, victim)
	mustConverge(ctx, t, c)
	assertPresent(ctx, t, c, victim, acked)
	// A restart now is an ordinary one: it has Raft state, the marker goes.
	if err := c.Stop(victim); err != nil {
		t.Fatal(err)
	}
	restart(t, c, victim)
	if c.Node(victim).Held() || c.Node(victim).DataLost() {
		t.Fatal("a re-added node restarted with its data is held again")
	}
	if _, err := os.Stat(filepath.Join(vm.Paths.Dir, "data", "data-lost.json")); !os.IsNotExist(err) {
		t.Fatalf("data-lost marker after a restart with Raft state: %v", err)
	}
	acked = append(acked, writeNotes(ctx, t, c, k, 10, 1, []int{victim})...)
	mustConverge(ctx, t, c)
	assertPresent(ctx, t, c, victim, acked)
}

// Two of three voters lose their data and come back empty. Before this
// was guarded they bootstrapped the genesis again and elected each other
// at term 1 with an empty log. Now neither bootstraps and no leader is
// elected; the survivor keeps its data, is recovered as the only voter
// (ledgernode recover), and the two rejoin through the join path with
// every acknowledged write.
func TestTwoWipedVotersOfThreeElectNoLeaderAndRejoinAfterTheSurvivorIsRecovered(t *testing.T) {
	c, ctx, k := writerCluster(t, 3*time.Minute)
	leader := mustLeader(t, c)
	survivor, other := (leader+1)%3, (leader+2)%3
	acked := writeNotes(ctx, t, c, k, 60, 3, []int{0, 1, 2})
	mustConverge(ctx, t, c)
	height := c.Node(survivor).Store().Meta().Height
	wipe(t, c, leader, other)
	restart(t, c, leader, other)
	waitUntil(ctx, t, "both wiped nodes to report lost data", func() bool {
		return c.Node(leader).DataLost() && c.Node(other).DataLost()
	})
	// The survivor forgets the old leader within its heartbeat timeout;
	// then, for three election timeouts, nobody leads.
	waitUntil(ctx, t, "the survivor to lose its leader", func() bool { id, _ := c.Node(survivor).Consensus().Leader(); return id == "" })
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for _, i := range []int{0, 1, 2} {
			if id, _ := c.Node(i).Consensus().Leader(); id != "" {
				t.Fatalf("%s sees leader %s among two wiped voters and a survivor", c.Members[i].ID, id)
			}
		}
	}
	assertDataLost(t, c, leader)
	assertDataLost(t, c, other)
	if h := c.Node(survivor).Store().Meta().Height; h != height {
		t.Fatalf("survivor at height %d, had %d", h, height)
	}
	assertPresent(ctx, t, c, survivor, acked)

	// Recovery: the survivor, stopped, becomes the only voter.
	if err := c.Stop(survivor); err != nil {
		t.Fatal(err)
	}
	sm := c.Members[survivor]
	if _, err := node.Recover(node.RecoverConfig{DataDir: filepath.Join(sm.Paths.Dir, "data"), Genesis: c.Genesis, ID: sm.ID,
		Voters: []state.Member{{ID: sm.ID, RaftAddr: sm.RaftAddr, APIAddr: sm.APIAddr}}}); err != nil {
		t.Fatal(err)
	}
	// The survivor's committed configuration has no vote for them: they
	// stop reporting lost data and wait to be added.
	startAsOnlyVoter(ctx, t, c, survivor, leader, other)
	addBack(ctx, t, c, c.Client(survivor).Admin(c.Genesis.Network, c.Admin), leader, other)
	acked = append(acked, writeNotes(ctx, t, c, k, 10, 2, []int{0, 1, 2})...)
	mustConverge(ctx, t, c)
	for _, i := range []int{0, 1, 2} {
		assertPresent(ctx, t, c, i, acked)
	}
}

// Every member's data directory is emptied at once (every volume claim
// deleted). No peer's answer can tell that from a first start: before the
// network-has-run marker, the three found each other empty and bootstrapped
// an empty ledger from the genesis, silently losing the whole history.
// With the marker (on Kubernetes the operator adds it to the genesis
// ConfigMap once the ledger has a block) none bootstraps: each holds its
// Raft traffic and reports that every member lost its data, with the way
// back; a member given its ledger back from a backup ends it, and the
// others join it as new members.
func TestEveryMemberWipedAtOnceStartsNoEmptyLedgerOnceTheNetworkHasRun(t *testing.T) {
	c, ctx, k := writerCluster(t, 3*time.Minute)
	leader := mustLeader(t, c)
	acked := writeNotes(ctx, t, c, k, 30, 3, []int{0, 1, 2})
	mustConverge(ctx, t, c)
	var bk bytes.Buffer
	if _, err := c.Client((leader+1)%3).Backup(ctx, &bk, nil); err != nil {
		t.Fatal(err)
	}
	height := c.Node(0).Store().Meta().Height
	if height == 0 {
		t.Fatal("setup: the ledger has no block")
	}
	marker := filepath.Join(t.TempDir(), wire.NetworkHasRunFile)
	if err := os.WriteFile(marker, []byte("height 12 seen by the test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wipe(t, c, 0, 1, 2)
	for i := range 3 {
		c.Members[i].NetworkHasRunFile = marker
	}
	restart(t, c, 0, 1, 2)
	waitUntil(ctx, t, "every wiped member to report that every member lost its data", func() bool {
		return c.Node(0).DataLost() && c.Node(1).DataLost() && c.Node(2).DataLost()
	})
	// Well past the rounds that bootstrapped before (every peer seen empty
	// at once) and past FastRejoin's 10 s bound for silent peers.
	time.Sleep(11 * time.Second)
	for i := range 3 {
		id, n := c.Members[i].ID, c.Node(i)
		if !n.Held() || !n.DataLost() {
			t.Fatalf("%s: held %v, dataLost %v; want both", id, n.Held(), n.DataLost())
		}
		if st := n.Consensus().Stats(); st["term"] != "0" || st["last_log_index"] != "0" {
			t.Fatalf("%s holds Raft state (term %s, last log index %s): it bootstrapped an empty ledger", id, st["term"], st["last_log_index"])
		}
		if l, _ := n.Consensus().Leader(); l != "" {
			t.Fatalf("%s sees leader %s", id, l)
		}
		st := selfStatus(t, c, i)
		if !st.DataLost || !strings.Contains(st.DataLostFix, "every member of the network lost its data") ||
			!strings.Contains(st.DataLostFix, "spec.bootstrap.fromBackup") || st.Height != 0 {
			t.Fatalf("%s status: dataLost %v, height %d, fix %q", id, st.DataLost, st.Height, st.DataLostFix)
		}
		rec := httptest.NewRecorder()
		n.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "data lost: every member of the network lost its data") {
			t.Fatalf("%s /readyz: %d %s", id, rec.Code, rec.Body)
		}
		if v := metricValue(t, c, i, "ledger_data_lost"); v != 1 {
			t.Fatalf("%s ledger_data_lost = %v, want 1", id, v)
		}
	}

	// The way back: the backup restored into one member (a new one-voter
	// cluster, started with NoBootstrap as every restored node is). The
	// others see a member that holds the ledger and has no vote for them:
	// they stop reporting and wait to be added.
	r := 0
	rm := c.Members[r]
	wipe(t, c, r)
	rep, err := node.Restore(node.RestoreConfig{Backup: &bk, DataDir: filepath.Join(rm.Paths.Dir, "data"), Genesis: c.Genesis,
		Trust: c.Trust(), Self: state.Member{ID: rm.ID, RaftAddr: rm.RaftAddr, APIAddr: rm.APIAddr}})
	if err != nil {
		t.Fatal(err)
	}
	startAsOnlyVoter(ctx, t, c, r, 1, 2)
	addBack(ctx, t, c, c.Client(r).Admin(c.Genesis.Network, c.Admin), 1, 2)
	mustConverge(ctx, t, c)
	if rep.Header.Head.Height != height {
		t.Fatalf("backup at height %d, the ledger was at %d", rep.Header.Head.Height, height)
	}
	for i := range 3 {
		assertPresent(ctx, t, c, i, acked)
	}
}

// At a network's first start each genesis node, its own Raft state empty,
// records the runs (incarnations) of the peers it saw empty, and serves
// them: a peer whose own questions went unanswered then (a partition,
// peers not yet listening) learns from them that it had never run. A
// restart of the node that saw them must not forget them: the late peer,
// finding the network's progress and no word of having been seen empty,
// reported lost data it never had (the fault suite: a partition at the
// first start, then a kill -9 of a peer).
func TestWhatANodeSawEmptyAtTheFirstStartOutlivesItsRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := testcluster.Start(ctx, t, 3)
	runs := map[string]bool{}
	for i := range 3 {
		if st := selfStatus(t, c, i); st.Incarnation != "" {
			runs[st.Incarnation] = true
		}
	}
	witness, saw := -1, []string(nil)
	for i := range 3 {
		if st := selfStatus(t, c, i); len(st.SawEmpty) > len(saw) {
			witness, saw = i, st.SawEmpty
		}
	}
	if witness < 0 {
		t.Fatal("no node reports a peer seen empty at the first start: the setup needs one")
	}
	for _, inc := range saw {
		if !runs[inc] {
			t.Fatalf("%s reports %q seen empty, not the run of any node (runs %v)", c.Members[witness].ID, inc, runs)
		}
	}
	if err := c.Stop(witness); err != nil {
		t.Fatal(err)
	}
	restart(t, c, witness)
	if c.Node(witness).Held() {
		t.Fatalf("%s restarted with its Raft state and is held", c.Members[witness].ID)
	}
	if got := selfStatus(t, c, witness).SawEmpty; !slices.Equal(got, saw) {
		t.Fatalf("%s after a restart reports %v seen empty, want %v as before it", c.Members[witness].ID, got, saw)
	}
}
