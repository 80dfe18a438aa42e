package controllers

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// runningPod is a pod whose node container runs.
func runningPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{Name: nodeContainer, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
}

func unschedulablePod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodPending,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/3 nodes are available: 3 node(s) had volume node affinity conflict"}}}}
}

func pendingPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodPending}}
}

func claimsFor(names ...string) map[string]*corev1.PersistentVolumeClaim {
	out := map[string]*corev1.PersistentVolumeClaim{}
	for _, n := range names {
		out[n] = &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: dataClaimName(n)}}
	}
	return out
}

func podMap(ps ...*corev1.Pod) map[string]*corev1.Pod {
	out := map[string]*corev1.Pod{}
	for _, p := range ps {
		out[p.Name] = p
	}
	return out
}

// selfView is a member's own answer with its view of the configuration.
func selfView(node, state, term string, commit uint64, leader string, voters ...string) *wire.Status {
	st := &wire.Status{Node: node, State: state, Term: term, CommitIndex: commit, AppliedIndex: commit, Height: commit / 2, Leader: leader}
	for _, v := range voters {
		st.Members = append(st.Members, wire.Member{ID: v, Suffrage: "voter"})
	}
	return st
}

// dataLostView is the answer of a node that lost its Raft state (held,
// term 0, no configuration) with a state file at height h.
func dataLostView(node string, h uint64) *wire.Status {
	return &wire.Status{Node: node, State: "Follower", Term: "0", Height: h, AppliedIndex: h, DataLost: true,
		DataLostFix: "remove it from the Raft configuration and add it back"}
}

func TestQuorumIsLostOnlyWhenAMajorityCannotComeBackForLongerThanTheBound(t *testing.T) {
	n := testNetwork()
	c0, c1, c2 := "customs-0", "customs-1", "customs-2"
	all := []string{c0, c1, c2}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	long := now.Add(-quorumLossBound - time.Second)
	short := now.Add(-time.Second)
	survivor := map[string]*wire.Status{c0: selfView(c0, "Candidate", "7", 120, "", all...)}
	for _, tc := range []struct {
		name    string
		in      quorumInput
		lost    bool
		reasons map[string]string // by member: "" answers
	}{
		{"two volumes deleted and pods gone for longer than the bound: lost",
			quorumInput{noLeaderSince: long, pods: podMap(runningPod(c0)), claims: claimsFor(c0), answers: survivor},
			true, map[string]string{c0: "", c1: quorumVolumeGone, c2: quorumVolumeGone}},
		{"the same within the bound (an election may still end it): not yet lost",
			quorumInput{noLeaderSince: short, pods: podMap(runningPod(c0)), claims: claimsFor(c0), answers: survivor},
			false, map[string]string{c0: "", c1: quorumVolumeGone, c2: quorumVolumeGone}},
		{"first pass without a leader: the bound starts now",
			quorumInput{pods: podMap(runningPod(c0)), claims: claimsFor(c0), answers: survivor},
			false, map[string]string{c0: "", c1: quorumVolumeGone, c2: quorumVolumeGone}},
		{"two pods being recreated with their volumes (a restart) is never lost",
			quorumInput{noLeaderSince: long, pods: podMap(runningPod(c0)), claims: claimsFor(all...), answers: survivor},
			false, map[string]string{c0: "", c1: quorumNoPod, c2: quorumNoPod}},
		{"pods pending (starting) with their volumes are not lost",
			quorumInput{noLeaderSince: long, pods: podMap(runningPod(c0), pendingPod(c1), pendingPod(c2)), claims: claimsFor(all...), answers: survivor},
			false, map[string]string{c0: "", c1: quorumPodPending, c2: quorumPodPending}},
		{"one pod gone with its volume in three: a quorum answers, not lost",
			quorumInput{noLeaderSince: long, pods: podMap(runningPod(c0), runningPod(c1)), claims: claimsFor(c0, c1),
				answers: map[string]*wire.Status{c0: survivor[c0], c1: selfView(c1, "Follower", "7", 118, "", all...)}},
			false, map[string]string{c0: "", c1: "", c2: quorumVolumeGone}},
		{"unschedulable pods do not come back: lost",
			quorumInput{noLeaderSince: long, pods: podMap(runningPod(c0), unschedulablePod(c1), unschedulablePod(c2)), claims: claimsFor(all...), answers: survivor},
			true, map[string]string{c0: "", c1: quorumUnschedulable, c2: quorumUnschedulable}},
		{"running pods whose nodes do not answer: lost",
			quorumInput{noLeaderSince: long, pods: podMap(runningPod(c0), runningPod(c1), runningPod(c2)), claims: claimsFor(all...), answers: survivor,
				errs: map[string]string{c1: "connection refused", c2: "connection refused"}},
			true, map[string]string{c0: "", c1: quorumNoAnswer, c2: quorumNoAnswer}},
		{"members that answer with an empty ledger (volume replaced) are not survivors: lost",
			quorumInput{noLeaderSince: long, height: 60, pods: podMap(runningPod(c0), runningPod(c1), runningPod(c2)), claims: claimsFor(all...),
				answers: map[string]*wire.Status{c0: survivor[c0], c1: selfView(c1, "Follower", "1", 0, "", all...), c2: selfView(c2, "Follower", "1", 0, "", all...)}},
			true, map[string]string{c0: "", c1: quorumEmptyVolume, c2: quorumEmptyVolume}},
		{"members whose nodes report lost data hold no vote, even with a state file kept: lost",
			quorumInput{noLeaderSince: long, height: 60, pods: podMap(runningPod(c0), runningPod(c1), runningPod(c2)), claims: claimsFor(all...),
				answers: map[string]*wire.Status{c0: survivor[c0], c1: dataLostView(c1, 60), c2: dataLostView(c2, 0)}},
			true, map[string]string{c0: "", c1: quorumDataLost, c2: quorumDataLost}},
		{"one member in three reports lost data: the other two are a quorum, not lost",
			quorumInput{noLeaderSince: long, height: 60, pods: podMap(runningPod(c0), runningPod(c1), runningPod(c2)), claims: claimsFor(all...),
				answers: map[string]*wire.Status{c0: survivor[c0], c1: selfView(c1, "Follower", "7", 118, "", all...), c2: dataLostView(c2, 0)}},
			false, map[string]string{c0: "", c1: "", c2: quorumDataLost}},
		{"volume claims the StatefulSet re-created after the leader was lost are empty: lost",
			quorumInput{noLeaderSince: long, pods: podMap(runningPod(c0), pendingPod(c1), pendingPod(c2)), answers: survivor,
				claims: func() map[string]*corev1.PersistentVolumeClaim {
					cs := claimsFor(all...)
					cs[c1].CreationTimestamp, cs[c2].CreationTimestamp = metav1.NewTime(now.Add(-time.Second)), metav1.NewTime(now.Add(-time.Second))
					return cs
				}()},
			true, map[string]string{c0: "", c1: quorumVolumeGone, c2: quorumVolumeGone}},
		{"no member answers: the voters the operator last saw, lost",
			quorumInput{noLeaderSince: long, lastVoters: all, pods: podMap(), claims: claimsFor()},
			true, map[string]string{c0: quorumVolumeGone, c1: quorumVolumeGone, c2: quorumVolumeGone}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.now = now
			q := judgeQuorum(n, tc.in)
			if q == nil {
				t.Fatal("judged a leader known")
			}
			if q.Lost != tc.lost {
				t.Errorf("lost = %v, want %v (%+v)", q.Lost, tc.lost, q.Members)
			}
			if q.Quorum != 2 || len(q.Voters) != 3 {
				t.Errorf("voters %v, quorum %d; want 3 voters, quorum 2", q.Voters, q.Quorum)
			}
			got := map[string]string{}
			for _, m := range q.Members {
				got[m.Name] = m.Reason
				if m.Answers != (m.Reason == "") {
					t.Errorf("%s: answers=%v with reason %q", m.Name, m.Answers, m.Reason)
				}
			}
			for name, want := range tc.reasons {
				if got[name] != want {
					t.Errorf("%s: reason %q, want %q", name, got[name], want)
				}
			}
		})
	}
}

func TestAMemberNamingALeaderWhosePodRunsIsNoQuorumLoss(t *testing.T) {
	n := testNetwork()
	now := time.Now()
	in := quorumInput{now: now, noLeaderSince: now.Add(-time.Hour), pods: podMap(runningPod("customs-0"), runningPod("customs-1")),
		claims:  claimsFor("customs-0", "customs-1"),
		answers: map[string]*wire.Status{"customs-0": selfView("customs-0", "Follower", "3", 10, "customs-1", "customs-0", "customs-1", "customs-2")}}
	if q := judgeQuorum(n, in); q != nil {
		t.Fatalf("a leader is known, got %+v", q)
	}
	// The same answer naming a leader whose pod is gone (a follower names
	// the old leader until its election timeout) is no leader.
	delete(in.pods, "customs-1")
	q := judgeQuorum(n, in)
	if q == nil {
		t.Fatal("a leader whose pod is gone was taken for a leader")
	}
}

func TestTheConfigurationIsTheMostAdvancedSurvivorsView(t *testing.T) {
	n := testNetwork()
	// customs-1 trails (an older term) and still sees a configuration of
	// three; customs-0, in a later term, saw customs-3 join and customs-2
	// leave.
	in := quorumInput{now: time.Now(), pods: podMap(runningPod("customs-0"), runningPod("customs-1")),
		answers: map[string]*wire.Status{
			"customs-0": selfView("customs-0", "Candidate", "9", 50, "", "customs-0", "customs-1", "customs-3"),
			"customs-1": selfView("customs-1", "Candidate", "8", 70, "", "customs-0", "customs-1", "customs-2"),
		}}
	q := judgeQuorum(n, in)
	if got := strings.Join(q.Voters, ","); got != "customs-0,customs-1,customs-3" {
		t.Fatalf("voters %s, want the term-9 member's customs-0,customs-1,customs-3", got)
	}
}

func TestQuorumLostMessageNamesSurvivorsAndTheExactRequest(t *testing.T) {
	n := testNetwork()
	n.Namespace = "trade"
	q := &ledgerv1.QuorumStatus{Lost: true, Quorum: 3, Voters: []string{"customs-0", "customs-1", "customs-2", "customs-3", "customs-4"},
		Members: []ledgerv1.QuorumMember{
			{Name: "customs-0", Reason: quorumDataLost, Message: "its node lost its data (its volume was deleted or replaced): it holds no vote and waits to be removed and added back"},
			{Name: "customs-3", Reason: quorumUnschedulable, Message: "its pod cannot be scheduled"},
			{Name: "customs-4", Reason: quorumNoAnswer, Message: "its node does not answer"},
			{Name: "customs-1", Answers: true, State: "Candidate", Term: 7, CommitIndex: 100},
			{Name: "customs-2", Answers: true, State: "Candidate", Term: 7, CommitIndex: 120},
		}}
	msg := quorumLostMessage(n, q)
	for _, want := range []string{"of the 5 voters of the last Raft configuration only 2 answer and 0 can come back, fewer than a quorum of 3",
		"customs-0 (its node lost its data (its volume was deleted or replaced)", "customs-1 (Candidate, term 7, commit index 100",
		"kubectl annotate ledgernetwork customs -n trade ledger.tradeledger.io/recover-from=customs-2"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	q.Members[3].Answers, q.Members[4].Answers = false, false
	if msg := quorumLostMessage(n, q); !strings.Contains(msg, "restore from a backup") || !strings.Contains(msg, "spec.bootstrap.fromBackup") || strings.Contains(msg, "kubectl annotate") {
		t.Errorf("without survivors the message must point at a backup, not a recovery:\n%s", msg)
	}
}

func TestARecoveryRequestIsAcceptedOnlyForASurvivorOfALostQuorum(t *testing.T) {
	lostQuorum := &ledgerv1.QuorumStatus{Lost: true, Quorum: 2, Voters: []string{"customs-0", "customs-1", "customs-2"},
		Members: []ledgerv1.QuorumMember{
			{Name: "customs-0", Reason: quorumVolumeGone},
			{Name: "customs-1", Answers: true, Term: 7, CommitIndex: 100},
			{Name: "customs-2", Answers: true, Term: 7, CommitIndex: 120},
		}}
	electing := lostQuorum.DeepCopy()
	electing.Lost = false
	nobody := lostQuorum.DeepCopy()
	for i := range nobody.Members {
		nobody.Members[i].Answers = false
	}
	for _, tc := range []struct {
		name   string
		quorum *ledgerv1.QuorumStatus
		from   string
		want   []string // in the refusal; none: accepted
	}{
		{"a survivor of a lost quorum: accepted", lostQuorum, "customs-1", nil},
		{"the ledger has a leader: refused, with the command that withdraws the request", nil, "customs-1",
			[]string{"the ledger has a leader", "kubectl annotate ledgernetwork customs -n trade ledger.tradeledger.io/recover-from-"}},
		{"no leader but the quorum is not lost: refused", electing, "customs-1", []string{"the quorum is not lost"}},
		{"a member that does not answer: refused, naming the survivors, most advanced first", lostQuorum, "customs-0",
			[]string{"not a surviving member (surviving: customs-2, customs-1)", "ledger.tradeledger.io/recover-from=customs-2"}},
		{"a name that is no member: refused", lostQuorum, "customs-9", []string{"not a surviving member"}},
		{"no survivor at all: refused, pointing at a backup", nobody, "customs-1", []string{"restore from a backup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := testNetwork()
			n.Status.Quorum = tc.quorum
			m, refused := judgeRecoveryRequest(n, tc.from)
			if tc.want == nil {
				if refused != "" || m == nil || m.Name != tc.from {
					t.Fatalf("refused %q (member %v), want accepted", refused, m)
				}
				return
			}
			if m != nil || refused == "" {
				t.Fatalf("accepted %v, want refused", m)
			}
			for _, w := range tc.want {
				if !strings.Contains(refused, w) {
					t.Errorf("refusal lacks %q:\n%s", w, refused)
				}
			}
		})
	}
}

func TestTheLossStatementComparesTheSurvivorWithTheHighestIndexAnyMemberReported(t *testing.T) {
	n := testNetwork()
	n.Status.Quorum = &ledgerv1.QuorumStatus{Lost: true, Members: []ledgerv1.QuorumMember{
		{Name: "customs-1", Answers: true, CommitIndex: 100, Height: 40}, {Name: "customs-2", Answers: true, CommitIndex: 90}}}
	n.Status.Members = []ledgerv1.MemberStatus{{Name: "customs-0", AppliedIndex: 104}, {Name: "customs-1", AppliedIndex: 99}}
	highest, msg := lossStatement(n, n.Status.Quorum.Members[0])
	if highest != 104 || !strings.Contains(msg, "entries 101-104 may be lost") || !strings.Contains(msg, "customs-0 (last seen by the operator)") {
		t.Errorf("highest %d, %q", highest, msg)
	}
	n.Status.Members[0].AppliedIndex = 95
	if highest, msg := lossStatement(n, n.Status.Quorum.Members[0]); highest != 100 || !strings.Contains(msg, "nothing acknowledged is lost") {
		t.Errorf("highest %d, %q", highest, msg)
	}
}

func TestTheRecoverJobRunsLedgernodeRecoverOnTheSurvivorsOwnClaimAsTheNodeDoes(t *testing.T) {
	n := testNetwork()
	job := buildRecoverJob(n, testBuild("tradeledger:1"), "customs-2", "customs-recover-x")
	spec := job.Spec.Template.Spec
	c := spec.Containers[0]
	want := []string{"ledgernode", "recover", "--data-dir", dataDir, "--genesis", genesisDir + "/" + genesisKey,
		"--id", "customs-2", "--raft-addr", podFQDN(n, "customs-2", testBuild("").ClusterDomain) + ":7000"}
	if strings.Join(c.Command, " ") != strings.Join(want, " ") {
		t.Errorf("command %v, want %v", c.Command, want)
	}
	if c.Image != "tradeledger:1" || spec.RestartPolicy != corev1.RestartPolicyNever || *spec.SecurityContext.RunAsNonRoot != true {
		t.Errorf("image %s, restart %s, security %+v", c.Image, spec.RestartPolicy, spec.SecurityContext)
	}
	claims := map[string]string{}
	for _, v := range spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			claims[v.Name] = v.PersistentVolumeClaim.ClaimName
		case v.ConfigMap != nil:
			claims[v.Name] = "configmap:" + v.ConfigMap.Name
		default:
			t.Errorf("volume %s: only the claim and the genesis may be mounted (no key)", v.Name)
		}
	}
	if claims["data"] != "data-customs-2" || claims["genesis"] != "configmap:"+genesisConfigMapName(n) {
		t.Errorf("volumes %v", claims)
	}
	if job.Spec.Template.Labels[LabelComponent] == "ledger-node" {
		t.Error("the Job's pod must not carry the node pods' selector labels")
	}
	// The StatefulSet: stopped while the survivor is rewritten, and from
	// the request on, no empty node bootstraps.
	n.Status.Recovery = &ledgerv1.RecoveryStatus{From: "customs-2", Phase: ledgerv1.RecoveryRecovering}
	if got := statefulSetReplicas(n, nil, nil); got != 0 {
		t.Errorf("replicas during the recovery: %d, want 0", got)
	}
	if env := envOf(buildStatefulSet(n, testBuild("x"), 3).Spec.Template.Spec.Containers[0]); env["LEDGERNODE_NO_BOOTSTRAP"] != "true" {
		t.Error("no LEDGERNODE_NO_BOOTSTRAP after a recovery request")
	}
	// Scaled to 0 with whenScaled: Delete, the StatefulSet controller
	// deletes every claim, the survivor's too (found by the E2E step on a
	// real cluster: the recover Job then waited for a claim that was gone).
	for _, ph := range []ledgerv1.RecoveryPhase{ledgerv1.RecoveryStoppingNodes, ledgerv1.RecoveryClearingVolumes, ledgerv1.RecoveryRecovering} {
		n.Status.Recovery.Phase = ph
		if p := buildStatefulSet(n, testBuild("x"), statefulSetReplicas(n, nil, nil)).Spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
			t.Errorf("%s: the StatefulSet scaled to 0 with whenScaled %s: the survivor's claim would be deleted", ph, p.WhenScaled)
		}
	}
	n.Status.Recovery.Phase = ledgerv1.RecoveryRestarting
	if got := statefulSetReplicas(n, nil, nil); got != 3 {
		t.Errorf("replicas once restarting: %d, want 3", got)
	}
	if p := buildStatefulSet(n, testBuild("x"), 3).Spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		t.Errorf("once restarting, whenScaled %s: a member removed later must leave its claim behind it deleted", p.WhenScaled)
	}
	n.Status.Recovery = nil
	if _, ok := envOf(buildStatefulSet(n, testBuild("x"), 3).Spec.Template.Spec.Containers[0])["LEDGERNODE_NO_BOOTSTRAP"]; ok {
		t.Error("LEDGERNODE_NO_BOOTSTRAP without a recovery (it would change every network's template)")
	}
}
