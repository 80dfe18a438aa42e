package faults

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Quorum loss and the way back (issue 15 §3), at process level: two of
// three voters are killed and their data directories deleted while clients
// write; the survivor is recovered the way a person (or the operator's
// Job) does it: stopped, `ledgernode recover` on its data directory,
// started alone with --no-bootstrap, then two empty members are added
// through the admin API (what `ledgerctl cluster add` calls). The wiped
// members are never started as genesis members on empty directories.

// ackedWrite is a write the ledger acknowledged, with the block it is in.
type ackedWrite struct {
	id     string
	height uint64
}

// writeLoad writes notes from workers until stopped, keeping every
// acknowledgement.
type writeLoad struct {
	mu     sync.Mutex
	acked  []ackedWrite
	failed int
	stop   context.CancelFunc
	done   chan struct{}
}

func startLoad(ctx context.Context, c *Cluster, k ed25519.PrivateKey, workers int, nodes ...int) *writeLoad {
	lctx, stop := context.WithCancel(ctx)
	l := &writeLoad{stop: stop, done: make(chan struct{})}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			cl := c.Client(3*time.Second, nodes...)
			for i := 0; lctx.Err() == nil; i++ {
				raw, _ := json.Marshal(i)
				st, err := tx.BuildSigned(c.Genesis.Network, "note.put", wire.NotePut{Key: fmt.Sprintf("q%d-%d", w, i%7), Value: raw}, time.Now(), k)
				if err != nil {
					continue
				}
				// A request is never cut short by the stop: its answer, when
				// one comes, is an acknowledgement the checks must honour.
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				resp, err := cl.Submit(rctx, st, client.SubmitOptions{})
				cancel()
				l.mu.Lock()
				if err == nil && resp.Receipt != nil && resp.Receipt.Status == chain.Accepted {
					l.acked = append(l.acked, ackedWrite{id: resp.TxID, height: resp.Receipt.Height})
				} else {
					l.failed++
				}
				l.mu.Unlock()
				if err != nil {
					select {
					case <-lctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		})
	}
	go func() { wg.Wait(); close(l.done) }()
	return l
}

// Stop ends the load and returns what was acknowledged.
func (l *writeLoad) Stop() (acked []ackedWrite, failed int) {
	l.stop()
	<-l.done
	return l.acked, l.failed
}

func (l *writeLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitAcked waits until the load has n more acknowledgements than now.
func (l *writeLoad) waitAcked(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	want := l.count() + n
	for l.count() < want {
		select {
		case <-ctx.Done():
			t.Fatalf("only %d of %d acknowledgements under load on a healthy cluster", l.count(), want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// highestAcked is the highest block height of an acknowledged write so far.
func (l *writeLoad) highestAcked() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := uint64(0)
	for _, a := range l.acked {
		h = max(h, a.height)
	}
	return h
}

// waitStatus asks node i for its own status until ok holds, and returns
// it; when ctx ends first the case fails, saying what was awaited.
func waitStatus(ctx context.Context, t *testing.T, c *Cluster, i int, what string, ok func(*wire.Status) bool) *wire.Status {
	t.Helper()
	for {
		st, err := c.Client(2*time.Second, i).Status(ctx, true)
		if err == nil && ok(st) {
			return st
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s %s: %+v %v", c.Procs[i].ID, what, st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitApplied waits until node i has applied height h: a member about to
// be cut off holds what was acknowledged so far, so that the case's "it
// lags" is about what it missed while cut off, not a start it never made
// (on a loaded machine a voter can still be catching up, at term 0, when
// the others have acknowledged hundreds of writes).
func waitApplied(ctx context.Context, t *testing.T, c *Cluster, i int, h uint64) {
	t.Helper()
	waitStatus(ctx, t, c, i, fmt.Sprintf("has not applied height %d, acknowledged by the others", h),
		func(st *wire.Status) bool { return st.Height >= h })
}

// recoverReport is what `ledgernode recover` printed.
type recoverReport struct {
	lastIndex, lastTerm, height, applied uint64
	out                                  string
}

var recoverLine = regexp.MustCompile(`log kept up to index (\d+) \(term (\d+)\), state at height (\d+) \(applied index (\d+)\); voters now (\S+)`)

// runRecover runs `ledgernode recover` on node i's data directory (the
// node stopped), as the operator's Job does.
func runRecover(t *testing.T, c *Cluster, i int) recoverReport {
	t.Helper()
	p := c.Procs[i]
	out, err := exec.Command(c.Bin, "recover", "--data-dir", p.DataDir, "--genesis", c.Layout.Genesis,
		"--id", p.ID, "--raft-addr", p.RaftAddr).CombinedOutput()
	c.Logf("recover %s: %v: %s", p.ID, err, out)
	if err != nil {
		t.Fatalf("ledgernode recover on %s: %v\n%s", p.ID, err, out)
	}
	m := recoverLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("ledgernode recover printed no report line:\n%s", out)
	}
	if m[5] != p.ID {
		t.Fatalf("ledgernode recover left voters %s, want %s alone", m[5], p.ID)
	}
	n := func(s string) uint64 { v, _ := strconv.ParseUint(s, 10, 64); return v }
	return recoverReport{lastIndex: n(m[1]), lastTerm: n(m[2]), height: n(m[3]), applied: n(m[4]), out: string(out)}
}

// waitNoLeader waits until node i reports no leader (its lease ran out:
// the state the operator's quorum check sees) and returns its own report.
func waitNoLeader(ctx context.Context, t *testing.T, c *Cluster, i int) *statusView {
	t.Helper()
	st := waitStatus(ctx, t, c, i, "still reports a leader (or no status) with two of three voters gone",
		func(st *wire.Status) bool { return st.Leader == "" })
	return &statusView{state: st.State, term: st.Term, commit: st.CommitIndex, applied: st.AppliedIndex, height: st.Height}
}

type statusView struct {
	state, term             string
	commit, applied, height uint64
}

// waitLeads waits until node i reports itself as the leader.
func waitLeads(ctx context.Context, t *testing.T, c *Cluster, i int) {
	t.Helper()
	waitStatus(ctx, t, c, i, "does not lead alone after recovery",
		func(st *wire.Status) bool { return st.Leader == c.Procs[i].ID })
}

// trustOf trusts the genesis nodes and the spares' keys (a head is signed
// by the node that serves it).
func trustOf(t *testing.T, c *Cluster) verify.Trust {
	t.Helper()
	trust := verify.TrustFromGenesis(c.Genesis)
	for _, p := range c.Procs[c.Voters:] {
		k, err := tx.ReadKeyFile(p.Paths.NodeKey)
		if err != nil {
			t.Fatal(err)
		}
		trust.Nodes[tx.KeyID(k.Public().(ed25519.PublicKey))] = p.ID
	}
	return trust
}

// joinBack adds node i as a non-voter and promotes it once caught up
// (ledgerctl cluster add), through the members so far. An answer of
// unknown outcome (an election on a loaded machine, with the suite's
// 300 ms timeouts) is met as a person meets it: by asking again, after
// looking at what the cluster now holds.
func joinBack(ctx context.Context, t *testing.T, c *Cluster, members []int, i int) {
	t.Helper()
	p := c.Procs[i]
	cl := c.Client(10*time.Second, members...)
	admin := cl.Admin(c.Genesis.Network, c.Admin)
	jctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	for jctx.Err() == nil {
		st, err := cl.Status(jctx, false)
		if err != nil {
			last = err
			time.Sleep(250 * time.Millisecond)
			continue
		}
		idx := slices.IndexFunc(st.Members, func(m wire.Member) bool { return m.ID == p.ID })
		switch {
		case idx >= 0 && st.Members[idx].Suffrage == "voter":
			return
		case idx >= 0:
			err = admin.Promote(jctx, p.ID, false)
		default:
			err = admin.AddMember(jctx, p.ID, p.RaftAddr, p.APIAddr, false)
		}
		if err != nil {
			last = err
			c.Logf("join %s: %v (asking again)", p.ID, err)
			time.Sleep(250 * time.Millisecond)
		}
	}
	t.Fatalf("add %s back: %v (last answer: %v)", p.ID, jctx.Err(), last)
}

// quorumCase is one way of losing two of three voters.
type quorumCase struct {
	// lagging: the survivor is cut off from the others (so it lags) before
	// they are lost; else the survivor is the leader, a member of the last
	// quorum.
	lagging bool
	// spares: the two members added are the spares (new ids); else the
	// wiped members' own ids, started empty with --no-bootstrap (what the
	// operator's pods do).
	spares bool
}

func TestQuorumLossRecoveryFromTheLeaderLosesNothingAcknowledged(t *testing.T) {
	runQuorumLoss(t, quorumCase{lagging: false, spares: true})
}

func TestQuorumLossRecoveryFromTheMostLaggingMemberLosesOnlyWhatItNeverHad(t *testing.T) {
	runQuorumLoss(t, quorumCase{lagging: true, spares: false})
}

func runQuorumLoss(t *testing.T, qc quorumCase) {
	spares := 0
	if qc.spares {
		spares = 2
	}
	c := startCluster(t, 3, spares)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	trust := trustOf(t, c)
	k := enrolWriter(ctx, t, c)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lost []int
	others := func(survivor int) {
		lost = nil
		for i := 0; i < 3; i++ {
			if i != survivor {
				lost = append(lost, i)
			}
		}
	}
	survivor := leader
	if qc.lagging {
		survivor = (leader + 1) % 3
	}
	others(survivor)
	loadNodes := []int{0, 1, 2}
	if qc.lagging {
		loadNodes = lost // the survivor is cut off: clients write to the others
	}
	load := startLoad(ctx, c, k, 6, loadNodes...)
	defer load.Stop()
	load.waitAcked(ctx, t, 150) // past the snapshot threshold: recover replays a snapshot and a log

	// A head an auditor kept before the loss, from the survivor: the
	// recovered ledger must be provably its extension.
	before, err := c.Client(5*time.Second, survivor).Head(ctx, client.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Head(before, trust); err != nil {
		t.Fatal(err)
	}
	var lostHead *chain.Head // the last head the lost members signed (lagging case)
	highest := uint64(0)     // the highest commit index a lost member reported
	if qc.lagging {
		waitApplied(ctx, t, c, survivor, load.highestAcked())
		c.Partition([]int{survivor}, lost)
		load.waitAcked(ctx, t, 100)
		for _, i := range lost {
			if st, err := c.Client(2*time.Second, i).Status(ctx, true); err == nil {
				highest = max(highest, st.CommitIndex)
			}
		}
		if lostHead, err = c.Client(5*time.Second, lost...).Head(ctx, client.ReadOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	if !qc.lagging {
		// The leader now (an election under load may have moved it): it
		// holds every committed entry, so it is in the last quorum.
		if survivor, err = c.WaitLeader(ctx); err != nil {
			t.Fatal(err)
		}
		others(survivor)
	}
	// The loss: kill -9 two voters at once, under write load, and delete
	// their data.
	t.Logf("losing %s and %s (kill -9, data deleted) under write load; survivor %s (%s)",
		c.Procs[lost[0]].ID, c.Procs[lost[1]].ID, c.Procs[survivor].ID, map[bool]string{true: "cut off, lagging", false: "the leader"}[qc.lagging])
	var wg sync.WaitGroup
	for _, i := range lost {
		wg.Go(func() { c.Kill(i) })
	}
	wg.Wait()
	for _, i := range lost {
		if err := os.RemoveAll(c.Procs[i].DataDir); err != nil {
			t.Fatal(err)
		}
	}
	c.Heal()
	lossAt := time.Now()
	// What the operator's quorum check reads: the survivor answers, with
	// no leader, its term and indexes.
	sv := waitNoLeader(ctx, t, c, survivor)
	t.Logf("survivor %s answers without a leader %s after the loss: state %s, term %s, commit index %d, applied index %d, height %d",
		c.Procs[survivor].ID, time.Since(lossAt).Round(time.Millisecond), sv.state, sv.term, sv.commit, sv.applied, sv.height)
	time.Sleep(500 * time.Millisecond) // writes go on failing against the survivor alone
	acked, failed := load.Stop()
	if failed == 0 {
		t.Fatal("no write failed after the quorum was lost: the loss did not happen")
	}

	// The way back: stop the survivor, rewrite its configuration, start
	// it alone.
	c.Stop(survivor)
	rep := runRecover(t, c, survivor)
	t.Logf("ledgernode recover: log kept up to index %d (term %d), state at height %d (applied index %d)", rep.lastIndex, rep.lastTerm, rep.height, rep.applied)
	if rep.applied < sv.applied || rep.height < sv.height {
		t.Fatalf("recover went back: the survivor had applied index %d at height %d, recover reports %d at %d", sv.applied, sv.height, rep.applied, rep.height)
	}
	var kept, beyond []ackedWrite
	for _, a := range acked {
		if a.height <= rep.height {
			kept = append(kept, a)
		} else {
			beyond = append(beyond, a)
		}
	}
	if qc.lagging {
		// What the operator's status says (lossStatement), then what it
		// meant: the acknowledged writes the survivor never had.
		if highest <= rep.lastIndex || len(beyond) == 0 {
			t.Fatalf("the survivor did not lag (its last index %d, the others' commit index %d, %d acknowledged writes beyond its height %d): the case tests nothing",
				rep.lastIndex, highest, len(beyond), rep.height)
		}
		t.Logf("as the status says: recovering from %s (last index %d, height %d): a lost member reported index %d, so entries %d-%d may be lost; "+
			"%s was not in the last quorum, and %d of %d acknowledged writes are beyond its height (blocks %d-%d): lost",
			c.Procs[survivor].ID, rep.lastIndex, rep.height, highest, rep.lastIndex+1, highest, c.Procs[survivor].ID,
			len(beyond), len(acked), beyond[0].height, slices.MaxFunc(beyond, func(a, b ackedWrite) int { return int(a.height) - int(b.height) }).height)
	} else if len(beyond) > 0 {
		t.Fatalf("%d acknowledged writes are beyond the height %d of the survivor %s, a member of the last quorum (first: %s at height %d)",
			len(beyond), rep.height, c.Procs[survivor].ID, beyond[0].id, beyond[0].height)
	}

	c.Procs[survivor].Extra = []string{"--no-bootstrap"}
	if err := c.Start(survivor); err != nil {
		t.Fatal(err)
	}
	waitLeads(ctx, t, c, survivor)

	// Grow back with two empty members through the admin API.
	joiners := lost
	if qc.spares {
		joiners = []int{3, 4}
	}
	members := []int{survivor}
	for _, i := range joiners {
		p := c.Procs[i]
		if _, err := os.Stat(p.DataDir); !os.IsNotExist(err) {
			t.Fatalf("%s must join with an empty data directory: %v", p.ID, err)
		}
		p.Extra = []string{"--no-bootstrap"}
		if err := c.Start(i); err != nil {
			t.Fatal(err)
		}
		joinBack(ctx, t, c, members, i)
		members = append(members, i)
	}
	st, err := c.Client(5*time.Second, survivor).Status(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var voters []string
	for _, m := range st.Members {
		if m.Suffrage == "voter" {
			voters = append(voters, m.ID)
		}
	}
	if len(voters) != 3 {
		t.Fatalf("after growing back the voters are %v, want 3", voters)
	}
	recovered := time.Since(lossAt)

	// Writes succeed after recovery, through every member.
	after := write(ctx, t, c, k, 40, 4, members...)
	if len(after) < 38 {
		t.Fatalf("only %d of 40 writes acknowledged after recovery", len(after))
	}
	if qc.lagging {
		// Enough for the recovered tree to reach the size of the last head
		// the lost members signed (needed to ask for a proof from it).
		for {
			h, err := c.Client(5*time.Second, survivor).Head(ctx, client.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if h.TreeSize >= lostHead.TreeSize {
				break
			}
			write(ctx, t, c, k, int(lostHead.TreeSize-h.TreeSize), 6, members...)
		}
	}
	view, err := c.Converge(ctx, members)
	if err != nil {
		t.Fatal(err)
	}

	// The chain of block hashes from genesis to the new head, the same on
	// every member.
	ledger := NewLedger()
	if err := ledger.Scan(ctx, c, survivor, view.Height); err != nil {
		t.Fatalf("chain after recovery: %v", err)
	}
	for _, h := range []uint64{1, rep.height, rep.height + 1, view.Height} {
		if err := ledger.SameChain(ctx, c, members, h); err != nil {
			t.Fatal(err)
		}
	}
	// Every acknowledged write the survivor had: present once, readable
	// on a new member, with an inclusion proof that verifies.
	for _, a := range kept {
		if ledger.Accepted[a.id] != 1 {
			t.Fatalf("acknowledged write %s (height %d ≤ survivor height %d) accepted %d times in the recovered ledger", a.id, a.height, rep.height, ledger.Accepted[a.id])
		}
		ev, err := c.Client(5*time.Second, survivor).Tx(ctx, a.id, true, client.ReadOptions{})
		if err != nil {
			t.Fatalf("acknowledged write %s: %v", a.id, err)
		}
		if res, err := verify.Receipt(ev, trust); err != nil || res.Height != a.height {
			t.Fatalf("acknowledged write %s: proof %v, height %+v, acknowledged at %d", a.id, err, res, a.height)
		}
		if _, err := c.Client(5*time.Second, joiners[0]).Tx(ctx, a.id, false, client.ReadOptions{}); err != nil {
			t.Fatalf("acknowledged write %s not on the new member %s: %v", a.id, c.Procs[joiners[0]].ID, err)
		}
	}
	// What was lost is gone: the recovered ledger does not hold it.
	for _, a := range beyond {
		if ledger.Accepted[a.id] != 0 {
			t.Fatalf("write %s acknowledged at height %d, beyond the survivor's %d, is in the recovered ledger", a.id, a.height, rep.height)
		}
	}
	// A consistency proof from the head kept before the loss to the new
	// head verifies.
	cons, err := c.Client(5*time.Second, survivor).Consistency(ctx, before.TreeSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Consistency(before, &cons.Head, &cons.Proof, trust); err != nil {
		t.Fatalf("consistency from the head kept before the loss (tree size %d) to the new head (%d): %v", before.TreeSize, cons.Head.TreeSize, err)
	}
	if qc.lagging {
		// A head the lost members signed beyond the survivor is not
		// extended by the recovered ledger: an auditor who kept it sees
		// the fork.
		forked, err := c.Client(5*time.Second, survivor).Consistency(ctx, lostHead.TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify.Consistency(lostHead, &forked.Head, &forked.Proof, trust); err == nil || !strings.Contains(err.Error(), "consistency proof") {
			t.Fatalf("the lost members' head at tree size %d, which holds writes the survivor never had: want a consistency proof that fails, got %v", lostHead.TreeSize, err)
		} else {
			t.Logf("the lost members' last head (tree size %d) is not extended by the recovered ledger, as expected: %v", lostHead.TreeSize, err)
		}
	}
	t.Logf("recovered: %d acknowledged before the loss, %d of them on the survivor and present with verifying proofs, %d lost; "+
		"%d written after; 3 voters (%v) at height %d; loss → 3 voters again %s", len(acked), len(kept), len(beyond), len(after), voters, view.Height,
		recovered.Round(100*time.Millisecond))
}
