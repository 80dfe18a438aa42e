package node

// A node whose Raft state is empty may be new, or may have lost its data
// (its volume claim deleted, its disk replaced, its directory moved aside).
// Raft cannot tell: hashicorp/raft grants its vote to any candidate while
// its configuration is empty ("the cluster is very likely trying to
// bootstrap") and takes entries from any leader, and a genesis node with an
// empty log would bootstrap the genesis voters again. A voter that forgot
// its vote and its log breaks Raft's assumptions: two wiped voters of three
// elect each other at term 1 with an empty log and overwrite acknowledged
// writes; one wiped voter turns the next fault into a lost commit.
//
// So such a node starts with its Raft traffic held (consensus.Config.Hold:
// to its peers it is down) and asks the genesis peers over node-to-node
// HTTPS what they hold (decideRejoin):
//
//   - a leader whose committed configuration does not list it as a voter:
//     it is not (or no longer) a voter, and waits to be added like any new
//     node (Open);
//   - a peer that has run (a log, a term, a height) and was never seen
//     empty since this node started: the network ran before, so this node
//     lost its data. It reports it (status dataLost, /readyz 503, the
//     ledger_data_lost metric, an error log with the fix), writes a marker
//     so that no later start bootstraps, and keeps waiting until a leader's
//     committed configuration no longer lists it as a voter (an admin, or
//     the operator, removed it); then it waits to be added back as a new
//     member (a non-voter that catches up, then is promoted). Once the
//     removal is committed, a voter that still lists it lacks the removal,
//     and every voter that has it refuses that voter's candidacy: an
//     amnesiac vote can no longer elect a stale leader;
//   - every genesis peer seen empty since this node started: the network
//     never ran (a first start), or ran only after this node, held, could
//     take part: bootstrap from the genesis;
//   - no answer from some peers within Rejoin.Timeout: bootstrap as
//     before, with a warning (a first start whose peers are slow, or every
//     member lost, which only the network-has-run marker below tells apart).
//
// A node started with NoBootstrap never bootstraps: it reports lost data
// only when a peer lists it as a voter, and otherwise waits to be added at
// once (a restored or recovered network's genesis addresses may answer
// nothing).
//
// A node that finds the network-has-run marker (Config.NetworkHasRunFile:
// on Kubernetes the operator adds it to the genesis ConfigMap once the
// ledger has a block) never bootstraps either: a network that has run
// must not start an empty ledger from its genesis again because every
// member came back empty at once (all volume claims deleted, every data
// directory emptied), which no peer's answer can tell from a first start.
// Its genesis addresses are its own members', so it is stricter than
// NoBootstrap:
//
//   - a peer that lists it as a voter: lost data, as above;
//   - every genesis peer answers, none lists it, and one holds Raft state:
//     not a voter, wait to be added;
//   - every genesis peer answers and none holds Raft state: every member
//     lost its data. It reports that (status dataLost, /readyz 503, the
//     log) with the way back (restore from a backup), keeps its traffic
//     held and goes on asking (a member given its data back ends it);
//   - some genesis peer silent: wait for it (opening now could grant an
//     amnesiac vote to a stale candidate that was not asked).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/server"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// RejoinConfig bounds how a node with an empty Raft state asks its peers.
type RejoinConfig struct {
	// Timeout: how long a genesis node waits for every genesis peer to
	// answer before it bootstraps anyway (DefaultRejoinConfig: 30s).
	Timeout time.Duration
	// Interval between rounds of questions (DefaultRejoinConfig: 1s).
	Interval time.Duration
	// RequestTimeout bounds one question to one peer (DefaultRejoinConfig: 2s).
	RequestTimeout time.Duration
}

// DefaultRejoinConfig: every genesis peer has 30s to answer, asked every
// second, each question bounded by 2s.
func DefaultRejoinConfig() RejoinConfig {
	return RejoinConfig{Timeout: 30 * time.Second, Interval: time.Second, RequestTimeout: 2 * time.Second}
}

// sawEmptyFile keeps, in the data directory, the incarnations of the
// peers this node saw with an empty Raft state while its own was empty
// (wire.Status.SawEmpty), and the node serves them for as long as the
// file lasts. A peer that asks late (its first questions went
// unanswered: a partition, peers not yet listening) is cleared by what
// it finds in them; held only in memory, they were gone once this node
// restarted, and that peer, which had never run, took the network's
// progress for proof that it had lost its data (the fault suite: a
// partition at the first start, then a kill -9 of a peer that had
// bootstrapped). What a node saw while empty stays true of it until its
// data directory goes, and the file with it.
const sawEmptyFile = "saw-empty.json"

// maxSawEmpty bounds the incarnations kept (a genesis names few peers;
// each run of a held peer has its own).
const maxSawEmpty = 64

// readSawEmpty is the list kept in sawEmptyFile (none when absent or
// unreadable: the node then vouches only for what it sees from now on).
func (n *Node) readSawEmpty() []string {
	b, err := os.ReadFile(filepath.Join(n.cfg.DataDir, sawEmptyFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			n.log.Warn("could not read the peers seen empty; vouching only for those seen from now on", "file", sawEmptyFile, "err", err)
		}
		return nil
	}
	var f struct {
		SawEmpty []string `json:"sawEmpty"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		n.log.Warn("could not read the peers seen empty; vouching only for those seen from now on", "file", sawEmptyFile, "err", err)
		return nil
	}
	return f.SawEmpty
}

// writeSawEmpty replaces sawEmptyFile with saw (at most maxSawEmpty of
// them), through a temporary file and a rename.
func (n *Node) writeSawEmpty(saw []string) {
	if len(saw) > maxSawEmpty {
		saw = saw[len(saw)-maxSawEmpty:]
	}
	b, _ := json.Marshal(map[string][]string{"sawEmpty": saw})
	if _, err := pki.WriteFile(n.cfg.DataDir, sawEmptyFile, append(b, '\n'), 0o600); err != nil {
		n.log.Warn("could not keep the peers seen empty (a restart forgets them: a peer that asks late may then report lost data)",
			"file", filepath.Join(n.cfg.DataDir, sawEmptyFile), "err", err)
	}
}

// dataLostMarker is written in the data directory once a node learnt that
// it lost its data; while it is there and the Raft state is empty, the
// node never bootstraps. It is removed once the node holds Raft state again.
const dataLostMarker = "data-lost.json"

// peerAnswer is one peer's answer to "what do you hold?".
type peerAnswer struct {
	ID, API string
	Status  *wire.Status // nil: no answer
	Err     string
	Genesis bool // a genesis peer (not a leader found through one)
}

type rejoinAction int

const (
	rejoinWait      rejoinAction = iota // ask again
	rejoinBootstrap                     // start the cluster from the genesis
	rejoinOpen                          // not a voter: wait to be added
	rejoinDataLost                      // report lost data, ask again
	rejoinAllLost                       // report that every member lost its data, ask again
)

// rejoinInput is what one round of questions learnt.
type rejoinInput struct {
	self         string
	incarnation  string // this run's (wire.Status.Incarnation)
	mayBootstrap bool
	// hasRun: the network-has-run marker's text ("": none); noBootstrap:
	// Config.NoBootstrap (a restored or recovered network).
	hasRun      string
	noBootstrap bool
	// evidence is what this node itself knows of having run ("": nothing):
	// the marker of an earlier start, or a state file ahead of an empty log.
	evidence string
	answers  []peerAnswer
	// seenEmpty: genesis peers seen with no Raft state since this node
	// started, by id, with their incarnation (decideRejoin adds to it).
	seenEmpty map[string]string
	elapsed   time.Duration
	timeout   time.Duration
}

type rejoinDecision struct {
	action rejoinAction
	why    string
}

// isEmpty: the peer holds no Raft state and no ledger, and has not lost
// its data (a peer waiting as this node does).
func isEmpty(st *wire.Status) bool {
	return !st.DataLost && (st.Term == "" || st.Term == "0") && st.ConfigIndex == 0 && st.CommitIndex == 0 &&
		st.AppliedIndex == 0 && st.Height == 0
}

// holdsRaftState: the peer has a Raft log, a term or a configuration (a
// held peer whose state file survived its Raft log holds none).
func holdsRaftState(st *wire.Status) bool {
	return (st.Term != "" && st.Term != "0") || st.ConfigIndex != 0 || st.CommitIndex != 0
}

func describe(a peerAnswer) string {
	st := a.Status
	s := fmt.Sprintf("%s (%s, term %s, commit index %d, height %d", a.ID, st.State, cmpOr(st.Term, "0"), st.CommitIndex, st.Height)
	if st.DataLost {
		s += ", lost its data too"
	}
	return s + ")"
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// decideRejoin is the next step of a node whose Raft state is empty (see
// the top of this file). It is pure but for seenEmpty, which it extends.
func decideRejoin(in rejoinInput) rejoinDecision {
	// A leader whose committed configuration has no vote for this node.
	for _, a := range in.answers {
		st := a.Status
		if st == nil || st.State != "Leader" || st.ConfigIndex == 0 || st.ConfigIndex > st.CommitIndex {
			continue
		}
		if !slices.Contains(st.CommittedVoters, in.self) && !slices.Contains(st.Voters, in.self) {
			return rejoinDecision{rejoinOpen, fmt.Sprintf("the leader %s's committed configuration (index %d) has no vote for %s", a.ID, st.ConfigIndex, in.self)}
		}
	}
	for _, a := range in.answers {
		if a.Genesis && a.Status != nil && isEmpty(a.Status) {
			in.seenEmpty[a.ID] = a.Status.Incarnation
		}
	}
	// cleared: the peer was seen empty since this node started, or saw this
	// run of this node empty: whatever it holds began after this node,
	// holding its traffic, could take part.
	cleared := func(a peerAnswer) bool {
		if _, ok := in.seenEmpty[a.ID]; ok {
			return true
		}
		return a.Status != nil && in.incarnation != "" && slices.Contains(a.Status.SawEmpty, in.incarnation)
	}
	if in.evidence != "" {
		return rejoinDecision{rejoinDataLost, in.evidence}
	}
	if !in.mayBootstrap {
		for _, a := range in.answers {
			if a.Status != nil && slices.Contains(a.Status.Voters, in.self) {
				return rejoinDecision{rejoinDataLost, fmt.Sprintf("%s lists %s as a voter", describe(a), in.self)}
			}
		}
		if in.hasRun == "" {
			return rejoinDecision{rejoinOpen, "no peer lists it as a voter"}
		}
		var silent, held []string
		holder := ""
		for _, a := range in.answers {
			switch {
			case !a.Genesis:
			case a.Status == nil:
				silent = append(silent, a.ID)
			case holdsRaftState(a.Status):
				holder = cmpOr(holder, describe(a))
			default:
				held = append(held, describe(a))
			}
		}
		switch {
		case len(silent) == 0 && holder == "":
			why := "the network has run (" + in.hasRun + ") and no member holds its ledger"
			if len(held) > 0 {
				why += ": " + strings.Join(held, ", ")
			}
			return rejoinDecision{rejoinAllLost, why}
		case holder != "" && (len(silent) == 0 || in.noBootstrap):
			return rejoinDecision{rejoinOpen, "no peer lists it as a voter; " + holder + " holds the ledger"}
		case in.noBootstrap:
			return rejoinDecision{rejoinOpen, "no peer lists it as a voter"}
		}
		return rejoinDecision{rejoinWait, fmt.Sprintf("the network has run: waiting for %s to answer before it may vote", strings.Join(silent, ", "))}
	}
	var notSeen, silent []string
	for _, a := range in.answers {
		if !a.Genesis {
			continue
		}
		if !cleared(a) {
			notSeen = append(notSeen, a.ID)
		}
		if a.Status == nil {
			silent = append(silent, a.ID)
		}
	}
	if len(notSeen) == 0 {
		return rejoinDecision{rejoinBootstrap, "every genesis peer was seen with an empty log since this node started, or saw it so: the network had not run before"}
	}
	for _, a := range in.answers {
		if a.Status != nil && !cleared(a) && !isEmpty(a.Status) {
			return rejoinDecision{rejoinDataLost, "the network has run: " + describe(a)}
		}
	}
	if in.elapsed >= in.timeout {
		return rejoinDecision{rejoinBootstrap, fmt.Sprintf("no answer from %s within %s; the peers that answered hold nothing",
			strings.Join(silent, ", "), in.timeout)}
	}
	return rejoinDecision{rejoinWait, fmt.Sprintf("waiting for %s to answer", strings.Join(silent, ", "))}
}

// rejoin runs the rounds of questions until the node bootstraps or opens
// its Raft traffic; it ends early when ctx ends (the node stops).
func (n *Node) rejoin(ctx context.Context, incarnation string, evidence string, sawBefore []string) {
	defer close(n.rejoinDone)
	rc := n.cfg.Rejoin
	hc := &http.Client{Timeout: rc.RequestTimeout, Transport: &http.Transport{
		DialContext:     (&net.Dialer{Timeout: rc.RequestTimeout, LocalAddr: dialSource(n.cfg.Consensus.DialSource)}).DialContext,
		TLSClientConfig: n.tls.ClientConfig(true, ""), IdleConnTimeout: 30 * time.Second}}
	defer hc.CloseIdleConnections()
	start := time.Now()
	seen := map[string]string{}
	kept := sawBefore
	report := func() {
		saw := slices.Clone(kept)
		for _, inc := range seen {
			if inc != "" && !slices.Contains(saw, inc) {
				saw = append(saw, inc)
			}
		}
		slices.Sort(saw)
		n.srv.SetRejoin(server.RejoinInfo{Incarnation: incarnation, SawEmpty: saw})
		if !slices.Equal(saw, kept) {
			n.writeSawEmpty(saw)
			kept = saw
		}
	}
	var lastLog time.Time
	lost, allLost := false, false
	n.log.Info("raft state is empty: asking the genesis peers whether the network has run before starting",
		"peers", len(n.cfg.Genesis.Nodes)-1, "noBootstrap", n.cfg.NoBootstrap, "networkHasRun", n.networkHasRun())
	for round := 1; ; round++ {
		answers := n.askPeers(ctx, hc)
		if ctx.Err() != nil {
			return
		}
		hasRun := n.networkHasRun()
		mayBootstrap := !n.cfg.NoBootstrap && hasRun == "" && inGenesis(n.cfg)
		d := decideRejoin(rejoinInput{self: n.cfg.ID, incarnation: incarnation, mayBootstrap: mayBootstrap, hasRun: hasRun, noBootstrap: n.cfg.NoBootstrap,
			evidence: evidence, answers: answers, seenEmpty: seen, elapsed: time.Since(start), timeout: rc.Timeout})
		report()
		if allLost && d.action != rejoinAllLost && d.action != rejoinWait {
			allLost = false
			n.setDataLost("")
		}
		switch d.action {
		case rejoinBootstrap:
			if d.why != "" && strings.HasPrefix(d.why, "no answer") {
				n.log.Warn("bootstrapping from the genesis although not every peer answered: if this network ran before and every other member lost its data, this starts an empty ledger: a network that has run needs the network-has-run marker (docs/operations.md, \"Every member lost its data\")",
					"why", d.why, "rounds", round)
			} else {
				n.log.Info("bootstrapping from the genesis", "why", d.why, "rounds", round)
			}
			if err := n.cons.BootstrapGenesis(); err != nil {
				n.log.Error("bootstrap failed; waiting to be added instead", "err", err)
				n.cons.Open()
			}
			return
		case rejoinOpen:
			if lost {
				n.log.Info("removed from the configuration: no longer a voter; waiting to be added back as a new member (it catches up as a non-voter, then is promoted)", "why", d.why)
				n.setDataLost("")
			} else {
				n.log.Info("not a voter of the network: waiting to be added", "why", d.why)
			}
			n.cons.Open()
			return
		case rejoinDataLost:
			if !lost {
				lost = true
				n.writeDataLostMarker(d.why)
				evidence = cmpOr(evidence, "an earlier start found: "+d.why)
				n.setDataLost(n.dataLostFix())
				n.log.Error("data lost: this node's Raft state is gone but the network has run; it does not vote or bootstrap and must be re-added as a new member",
					"evidence", d.why, "fix", n.dataLostFix())
				lastLog = time.Now()
			} else if time.Since(lastLog) >= time.Minute {
				n.log.Warn("data lost: still waiting to be removed from the configuration", "fix", n.dataLostFix(), "waiting", time.Since(start).Round(time.Second))
				lastLog = time.Now()
			}
		case rejoinAllLost:
			if !allLost {
				allLost = true
				n.setDataLost(allLostFix)
				n.log.Error("every member lost its data: the network has run, but no genesis member holds its ledger; this node does not bootstrap an empty one",
					"evidence", d.why, "fix", allLostFix)
				lastLog = time.Now()
			} else if time.Since(lastLog) >= time.Minute {
				n.log.Warn("every member lost its data: still no member holds the ledger", "fix", allLostFix, "waiting", time.Since(start).Round(time.Second))
				lastLog = time.Now()
			}
		case rejoinWait:
			if time.Since(lastLog) >= 10*time.Second || round == 1 {
				n.log.Info("asking the genesis peers whether the network has run", "status", d.why, "round", round,
					"bootstrapIn", max(0, rc.Timeout-time.Since(start)).Round(time.Second))
				lastLog = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(rc.Interval):
		}
	}
}

// allLostFix is the way back when no member holds the ledger: only a
// backup has it.
const allLostFix = "every member of the network lost its data, so only a backup holds its ledger: restore the newest backup into a new network " +
	"(on Kubernetes a LedgerNetwork with spec.bootstrap.fromBackup; by hand 'ledgernode restore'; docs/operations.md \"Every member lost its data\"). " +
	"While the network-has-run marker exists no node starts an empty ledger from the genesis"

// dataLostFix is the exact way back, for logs, the status and /readyz.
func (n *Node) dataLostFix() string {
	raftAddr, apiAddr := n.cfg.RaftAdvertise, n.cfg.APIAdvertise
	for _, g := range n.cfg.Genesis.Nodes {
		if g.ID == n.cfg.ID {
			raftAddr, apiAddr = cmpOr(raftAddr, g.RaftAddr), cmpOr(apiAddr, g.APIAddr)
		}
	}
	return fmt.Sprintf("must be re-added as a new member: remove it from the Raft configuration and add it back, with the network admin key: "+
		"'ledgerctl cluster remove %[1]s' then 'ledgerctl cluster add %[1]s --raft-addr %[2]s --api-addr %[3]s' "+
		"(on Kubernetes the operator does it while the other voters are a quorum; if they are not, see docs/operations.md \"Quorum loss\")",
		n.cfg.ID, cmpOr(raftAddr, "HOST:PORT"), cmpOr(apiAddr, "HOST:PORT"))
}

func (n *Node) setDataLost(fix string) {
	n.srv.SetDataLost(fix)
	if n.metrics != nil {
		v := 0.0
		if fix != "" {
			v = 1
		}
		n.metrics.DataLost.Set(v)
	}
}

func (n *Node) writeDataLostMarker(why string) {
	b, _ := json.Marshal(map[string]string{"node": n.cfg.ID, "evidence": why, "detected": time.Now().UTC().Format(time.RFC3339)})
	if err := os.WriteFile(filepath.Join(n.cfg.DataDir, dataLostMarker), append(b, '\n'), 0o600); err != nil {
		n.log.Warn("could not write the data-lost marker (a restart asks the peers again)", "err", err)
	}
}

// askPeers asks every genesis peer, in parallel, and the leader one of
// them names when it is not a genesis peer.
func (n *Node) askPeers(ctx context.Context, hc *http.Client) []peerAnswer {
	var out []peerAnswer
	for _, g := range n.cfg.Genesis.Nodes {
		if g.ID != n.cfg.ID {
			out = append(out, peerAnswer{ID: g.ID, API: g.APIAddr, Genesis: true})
		}
	}
	ask := func(as []peerAnswer) {
		var wg sync.WaitGroup
		for i := range as {
			wg.Go(func() {
				st, err := askPeer(ctx, hc, as[i].API)
				switch {
				case err != nil:
					as[i].Err = err.Error()
				case st.Node != as[i].ID && as[i].Genesis:
					as[i].Err = fmt.Sprintf("the node at %s is %q", as[i].API, st.Node)
				default:
					as[i].ID, as[i].Status = st.Node, st
				}
			})
		}
		wg.Wait()
	}
	ask(out)
	var extra []peerAnswer
	for _, a := range out {
		if a.Status == nil || a.Status.LeaderAPI == "" || a.Status.Leader == n.cfg.ID {
			continue
		}
		if !slices.ContainsFunc(out, func(b peerAnswer) bool { return b.API == a.Status.LeaderAPI || b.ID == a.Status.Leader }) &&
			!slices.ContainsFunc(extra, func(b peerAnswer) bool { return b.API == a.Status.LeaderAPI }) {
			extra = append(extra, peerAnswer{ID: a.Status.Leader, API: a.Status.LeaderAPI})
		}
	}
	ask(extra)
	return append(out, extra...)
}

func askPeer(ctx context.Context, hc *http.Client, apiAddr string) (*wire.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+apiAddr+"/v1/cluster/status?self=true", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", apiAddr, strconv.Itoa(resp.StatusCode))
	}
	var st wire.Status
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&st); err != nil {
		return nil, fmt.Errorf("%s: %w", apiAddr, err)
	}
	return &st, nil
}

func newIncarnation() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func dialSource(ip string) net.Addr {
	if p := net.ParseIP(ip); p != nil {
		return &net.TCPAddr{IP: p}
	}
	return nil
}
