package controllers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// quorumLossBound is how long the ledger must have had no leader before a
// missing majority counts as a quorum loss: ten election timeouts of the
// nodes (1 s each, ledgernode/consensus). An ordinary election takes one
// or two; a rolling restart never leaves a majority without a pod and its
// volume.
const quorumLossBound = 10 * time.Second

// Why a voter does not count towards a quorum (QuorumMember.Reason). The
// first three come back by themselves (the StatefulSet recreates the pod
// with its volume; the kubelet starts it); the others do not.
const (
	quorumNoPod          = "NoPod"
	quorumPodPending     = "PodPending"
	quorumPodTerminating = "PodTerminating"
	quorumUnschedulable  = "Unschedulable"
	quorumVolumeGone     = "VolumeGone"
	quorumEmptyVolume    = "EmptyVolume"
	quorumDataLost       = "DataLost"
	quorumNotRunning     = "NotRunning"
	quorumNoAnswer       = "NoAnswer"
)

// comesBack says whether a voter that does not answer now will, without a
// person: its pod is being (re)created with its volume.
func comesBack(reason string) bool {
	return reason == quorumNoPod || reason == quorumPodPending || reason == quorumPodTerminating
}

// quorumInput is what a quorum check looks at, all observed this pass.
type quorumInput struct {
	now time.Time
	// noLeaderSince is when no leader was first found (zero: this pass).
	noLeaderSince time.Time
	// lastVoters are the voters the operator last saw from a leader
	// (status.members), used when no member answers with its own view.
	lastVoters []string
	pods       map[string]*corev1.Pod
	claims     map[string]*corev1.PersistentVolumeClaim // by pod name
	answers    map[string]*wire.Status                  // by pod: the node's own answer
	errs       map[string]string                        // by pod: why its node did not answer
	// height is the ledger's height the operator last saw: a member that
	// answers with none has lost its data.
	height int64
}

func (in quorumInput) noLeaderSinceOrNow() time.Time {
	if in.noLeaderSince.IsZero() {
		return in.now
	}
	return in.noLeaderSince
}

// judgeQuorum decides whether a ledger without a leader has lost its
// quorum, and describes each voter of the last known Raft configuration.
// It returns nil when a member that answers names a leader whose pod runs
// (the ledger has a leader; the client Service has not caught up).
//
// The voters are those of the most advanced member that answers (highest
// term, then commit index), else those the operator last saw. Each voter
// answers, comes back (its pod is being recreated or started, its volume
// is there), or does not (its volume is gone, its pod cannot be scheduled,
// its node stopped or does not answer, or it answers with an empty
// ledger). The quorum is lost when no leader was seen for quorumLossBound
// and the voters that answer or come back are fewer than a quorum.
func judgeQuorum(n *ledgerv1.LedgerNetwork, in quorumInput) *ledgerv1.QuorumStatus {
	for _, st := range in.answers {
		if st.Leader != "" && podAlive(in.pods[st.Leader]) {
			return nil
		}
	}
	since := in.noLeaderSince
	if since.IsZero() {
		since = in.now
	}
	q := &ledgerv1.QuorumStatus{NoLeaderSince: metav1.NewTime(since), Voters: lastConfiguration(n, in)}
	q.Quorum = quorum(int32(len(q.Voters)))
	var counted int32
	for _, v := range q.Voters {
		m := judgeVoter(v, in)
		if m.Answers || comesBack(m.Reason) {
			counted++
		}
		q.Members = append(q.Members, m)
	}
	q.Lost = len(q.Voters) > 0 && counted < q.Quorum && in.now.Sub(since) >= quorumLossBound
	return q
}

// lastConfiguration is the voters of the most advanced member that answers
// with its view, else those the operator last saw, else spec.replicas'.
func lastConfiguration(n *ledgerv1.LedgerNetwork, in quorumInput) []string {
	var best *wire.Status
	for _, pod := range sortedKeys(in.answers) {
		st := in.answers[pod]
		if len(st.Members) == 0 {
			continue
		}
		if best == nil || moreAdvanced(st, best) {
			best = st
		}
	}
	var voters []string
	switch {
	case best != nil:
		for _, m := range best.Members {
			if isVoter(m) {
				voters = append(voters, m.ID)
			}
		}
	case len(in.lastVoters) > 0:
		voters = slices.Clone(in.lastVoters)
	default:
		for i := range int(n.Spec.Replicas) {
			voters = append(voters, podName(n, i))
		}
	}
	slices.SortFunc(voters, func(a, b string) int {
		if oa, ob := ordinalOf(n, a), ordinalOf(n, b); oa != ob {
			return oa - ob
		}
		return strings.Compare(a, b)
	})
	return voters
}

// moreAdvanced: a's log is ahead of b's (higher term, then commit index).
func moreAdvanced(a, b *wire.Status) bool {
	if ta, tb := termOf(a), termOf(b); ta != tb {
		return ta > tb
	}
	return a.CommitIndex > b.CommitIndex
}

func termOf(st *wire.Status) int64 {
	t, _ := strconv.ParseInt(st.Term, 10, 64)
	return t
}

// judgeVoter says how one voter stands.
func judgeVoter(name string, in quorumInput) ledgerv1.QuorumMember {
	m := ledgerv1.QuorumMember{Name: name}
	p, pvc := in.pods[name], in.claims[name]
	volumeGone := pvc == nil || !pvc.DeletionTimestamp.IsZero()
	if st := in.answers[name]; st != nil {
		m.State, m.Term, m.CommitIndex, m.AppliedIndex, m.Height = st.State, termOf(st), int64(st.CommitIndex), int64(st.AppliedIndex), int64(st.Height)
		if st.DataLost {
			m.Reason, m.Message = quorumDataLost, "its node lost its data (its volume was deleted or replaced): it holds no vote and waits to be removed and added back"
			return m
		}
		if in.height > 0 && st.Height == 0 && st.AppliedIndex == 0 {
			m.Reason, m.Message = quorumEmptyVolume, "its node answers with an empty ledger: its volume was deleted and replaced by an empty one"
			return m
		}
		m.Answers = true
		return m
	}
	recreated := !volumeGone && pvc.CreationTimestamp.After(in.noLeaderSinceOrNow())
	switch {
	case recreated:
		m.Reason, m.Message = quorumVolumeGone, "its volume claim "+dataClaimName(name)+" was re-created after the leader was lost: it is empty"
	case volumeGone && (p == nil || !p.DeletionTimestamp.IsZero()):
		m.Reason, m.Message = quorumVolumeGone, "its pod and its volume claim "+dataClaimName(name)+" are gone"
	case volumeGone:
		m.Reason, m.Message = quorumVolumeGone, "its volume claim "+dataClaimName(name)+" is deleted"
	case p == nil:
		m.Reason, m.Message = quorumNoPod, "its pod is being recreated with its volume"
	case !p.DeletionTimestamp.IsZero():
		m.Reason, m.Message = quorumPodTerminating, "its pod is being deleted"
	case p.Status.Phase == corev1.PodPending:
		if c := podCondition(p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			m.Reason, m.Message = quorumUnschedulable, "its pod cannot be scheduled: "+c.Message
		} else {
			m.Reason, m.Message = quorumPodPending, "its pod is starting"
		}
	case !podAlive(p):
		m.Reason, m.Message = quorumNotRunning, "its node is not running: "+podGone(p)
	default:
		m.Reason, m.Message = quorumNoAnswer, "its node does not answer"
		if e := in.errs[name]; e != "" {
			m.Message += ": " + e
		}
	}
	return m
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// dataClaimName is the volume claim the StatefulSet makes for a pod.
func dataClaimName(pod string) string { return "data-" + pod }

// survivors are the members that answer, most advanced first.
func survivors(q *ledgerv1.QuorumStatus) []ledgerv1.QuorumMember {
	var out []ledgerv1.QuorumMember
	for _, m := range q.Members {
		if m.Answers {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b ledgerv1.QuorumMember) int {
		if a.Term != b.Term {
			return int(b.Term - a.Term)
		}
		return int(b.CommitIndex - a.CommitIndex)
	})
	return out
}

// quorumLostMessage names the survivors, the members that are gone and
// the exact request that recovers.
func quorumLostMessage(n *ledgerv1.LedgerNetwork, q *ledgerv1.QuorumStatus) string {
	var b strings.Builder
	alive := survivors(q)
	back := 0
	for _, m := range q.Members {
		if !m.Answers && comesBack(m.Reason) {
			back++
		}
	}
	fmt.Fprintf(&b, "no leader since %s: of the %d voters of the last Raft configuration only %d answer and %d can come back, fewer than a quorum of %d",
		q.NoLeaderSince.UTC().Format(time.RFC3339), len(q.Voters), len(alive), back, q.Quorum)
	var gone []string
	for _, m := range q.Members {
		if !m.Answers {
			gone = append(gone, fmt.Sprintf("%s (%s)", m.Name, m.Message))
		}
	}
	fmt.Fprintf(&b, "; not answering: %s", strings.Join(gone, "; "))
	if len(alive) == 0 {
		fmt.Fprintf(&b, ". No member survives to recover from: restore from a backup, the newest into a new LedgerNetwork with spec.bootstrap.fromBackup "+
			"(kubectl get ledgerbackups -n %s; docs/operations.md, \"Every member lost its data\")", n.Namespace)
		return b.String()
	}
	var names []string
	for _, m := range alive {
		names = append(names, fmt.Sprintf("%s (%s, term %d, commit index %d, applied index %d, height %d)", m.Name, m.State, m.Term, m.CommitIndex, m.AppliedIndex, m.Height))
	}
	fmt.Fprintf(&b, "; surviving: %s. If the others are gone for good, recover from the most advanced survivor: "+
		"kubectl annotate ledgernetwork %s -n %s %s=%s (docs/operations.md, \"Quorum loss\"); entries only the lost members held may be lost",
		strings.Join(names, ", "), n.Name, n.Namespace, ledgerv1.AnnotationRecoverFrom, alive[0].Name)
	return b.String()
}

// checkQuorum records, while the ledger has no leader, how its voters
// stand (status.quorum); it clears the block once a leader answers. It
// only looks: ledger-answers says QuorumLost, the recovery phase acts on
// a request.
func (r *LedgerNetworkReconciler) checkQuorum(ctx context.Context, s *networkScope) error {
	n := s.net
	was := n.Status.Quorum
	if s.view != nil || !hasRun(n) {
		r.clearQuorum(s, was)
		return nil
	}
	in := quorumInput{now: time.Now(), pods: s.pods, answers: map[string]*wire.Status{}, errs: map[string]string{}, height: n.Status.Height}
	if was != nil {
		in.noLeaderSince = was.NoLeaderSince.Time
	}
	for _, m := range n.Status.Members {
		if m.Role == ledgerv1.RoleVoter {
			in.lastVoters = append(in.lastVoters, m.Name)
		}
	}
	var claims corev1.PersistentVolumeClaimList
	if err := r.List(ctx, &claims, client.InNamespace(n.Namespace), client.MatchingLabels(selectorLabels(n))); err != nil {
		return err
	}
	in.claims = map[string]*corev1.PersistentVolumeClaim{}
	for i := range claims.Items {
		c := &claims.Items[i]
		if pod, ok := strings.CutPrefix(c.Name, "data-"); ok {
			in.claims[pod] = c
		}
	}
	r.probeMembers(ctx, s, &in)
	q := judgeQuorum(n, in)
	if q == nil {
		r.clearQuorum(s, was)
		return nil
	}
	// No member names a live leader: the last one's name would read as a
	// leader there is not (the ledger did not answer, so observeLedger
	// left it).
	n.Status.Leader = ""
	if was != nil {
		q.Since = was.Since // kept until a leader is back
	}
	if q.Lost && q.Since == nil {
		q.Since = &metav1.Time{Time: in.now}
		// A pass may read a status that trails the previous pass's patch:
		// the announcement is remembered here too.
		if !r.quorumAnnounced.swap(n, true, false) {
			r.Recorder.Eventf(n, nil, corev1.EventTypeWarning, reasonQuorumLost, "CheckQuorum", "%s", quorumLostMessage(n, q))
		}
	}
	if !q.Lost {
		// Look again when the bound has passed.
		s.requeueAfter(max(time.Second, quorumLossBound-in.now.Sub(q.NoLeaderSince.Time)))
	}
	n.Status.Quorum = q
	r.Metrics.QuorumLost.WithLabelValues(n.Namespace, n.Name).Set(boolGauge(q.Lost))
	return nil
}

// clearQuorum drops the quorum block once a leader answers, with an event
// if the quorum had been lost.
func (r *LedgerNetworkReconciler) clearQuorum(s *networkScope, was *ledgerv1.QuorumStatus) {
	n := s.net
	n.Status.Quorum = nil
	r.Metrics.QuorumLost.WithLabelValues(n.Namespace, n.Name).Set(0)
	if announced := r.quorumAnnounced.swap(n, false, false); announced || (was != nil && was.Since != nil) {
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "QuorumRestored", "CheckQuorum", "a leader is back: the quorum lost since %s is restored",
			lostSince(was))
	}
}

// reasonQuorumLost: the Degraded reason and event of a lost quorum.
const reasonQuorumLost = "QuorumLost"

// probeMembers asks the node of every running pod of the network for its
// own view, each directly (a node without a leader fails its readiness
// probe and leaves the client Service), in parallel, each call bounded.
func (r *LedgerNetworkReconciler) probeMembers(ctx context.Context, s *networkScope, in *quorumInput) {
	prober, ok := r.Dialer.(MemberProber)
	if !ok || s.identity == nil {
		return
	}
	t := s.identity.target(s.net)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pod := range sortedKeys(s.pods) {
		if !podAlive(s.pods[pod]) {
			continue
		}
		_, apiAddr := r.Resolver.MemberAddrs(s.net, pod)
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, r.Intervals.LedgerCall)
			defer cancel()
			st, err := prober.ProbeMember(cctx, t, apiAddr)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				in.errs[pod] = err.Error()
			case st.Node != pod:
				in.errs[pod] = fmt.Sprintf("the node at %s is %q", apiAddr, st.Node)
			default:
				in.answers[pod] = st
			}
		})
	}
	wg.Wait()
}

// quorumLost is ledger-answers' verdict on a lost quorum (nil: none).
func quorumLost(n *ledgerv1.LedgerNetwork) error {
	if q := n.Status.Quorum; q != nil && q.Lost {
		return degraded(reasonQuorumLost, "%s", quorumLostMessage(n, q))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func lostSince(q *ledgerv1.QuorumStatus) string {
	if q == nil || q.Since == nil {
		return "earlier"
	}
	return q.Since.UTC().Format(time.RFC3339)
}
