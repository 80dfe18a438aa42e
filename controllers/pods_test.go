package controllers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/testcluster"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// fakePods plays the kubelet for the controller suites: envtest runs no
// pods, so the node a pod would run is started here, in-process, from the
// very Secrets and genesis ConfigMap the operator wrote, on loopback
// addresses. It is also the suite's Resolver: the operator reaches these
// nodes, and writes their addresses into the genesis and into membership
// changes, as it would the pods' DNS names.
type fakePods struct {
	dir string
	c   client.Client // records the pods in the API server, as the StatefulSet controller and the kubelet would

	mu    sync.Mutex
	slots map[string]*podSlot // "namespace/pod"
}

type podSlot struct {
	raftLn, apiLn     net.Listener // bound until the node starts
	raftAddr, apiAddr string
	node              *node.Node
}

func newFakePods(dir string, c client.Client) *fakePods {
	return &fakePods{dir: dir, c: c, slots: map[string]*podSlot{}}
}

// slot returns a pod's addresses, binding them on first use so that they
// are known before the pod starts (its genesis must name them).
func (f *fakePods) slot(ns, pod string) *podSlot {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := ns + "/" + pod
	if s, ok := f.slots[k]; ok {
		return s
	}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s := &podSlot{raftLn: rl, apiLn: al, raftAddr: rl.Addr().String(), apiAddr: al.Addr().String()}
	f.slots[k] = s
	return s
}

// MemberAddrs implements Resolver.
func (f *fakePods) MemberAddrs(n *ledgerv1.LedgerNetwork, pod string) (string, string) {
	s := f.slot(n.Namespace, pod)
	return s.raftAddr, s.apiAddr
}

// APIEndpoints implements Resolver: like the client Service, the nodes
// that would pass their readiness probe (they know a leader), so that a
// node waiting to join is not asked.
func (f *fakePods) APIEndpoints(n *ledgerv1.LedgerNetwork) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var eps []string
	for k, s := range f.slots {
		ns, pod, _ := strings.Cut(k, "/")
		if ns != n.Namespace || ordinalOf(n, pod) < 0 || s.node == nil {
			continue
		}
		if leader, _ := s.node.Consensus().Leader(); leader != "" {
			eps = append(eps, "https://"+s.apiAddr)
		}
	}
	sort.Strings(eps)
	return eps
}

// Start runs pod <name>-<ordinal> from the operator's objects: it records
// the pod (from the StatefulSet's template, at its update revision) unless
// it exists, starts its node and marks the pod ready.
func (f *fakePods) Start(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, ordinal int) error {
	pod := podName(n, ordinal)
	var sts appsv1.StatefulSet
	if err := c.Get(ctx, key(n, statefulSetName(n)), &sts); err != nil {
		return err
	}
	if err := ensurePod(ctx, c, &sts, ordinal, sts.Status.UpdateRevision); err != nil {
		return err
	}
	// What the kubelet mounts: the volumes of the pod as the API server
	// admitted it (the node-keys policy chose its Secret).
	p := &corev1.Pod{}
	if err := c.Get(ctx, key(n, pod), p); err != nil {
		return err
	}
	cm, g, err := readGenesis(ctx, c, n)
	if err != nil {
		return err
	}
	dir := filepath.Join(f.dir, n.Namespace, pod)
	genesisDir, err := mountConfigMap(filepath.Join(dir, "genesis"), cm)
	if err != nil {
		return err
	}
	tlsDir, err := f.mountNodeKeys(ctx, c, p)
	if err != nil {
		return err
	}
	keyFile, err := os.ReadFile(filepath.Join(tlsDir, nodeSignKeyFile))
	if err != nil {
		return err
	}
	nodeKey, err := tx.UnmarshalKey(keyFile)
	if err != nil {
		return fmt.Errorf("%s: %w", nodeSignKeyFile, err)
	}
	files := pki.Files{CA: filepath.Join(tlsDir, caCertKey), Cert: filepath.Join(tlsDir, nodeCertFile), Key: filepath.Join(tlsDir, nodeTLSKeyFile)}
	s := f.slot(n.Namespace, pod)
	f.mu.Lock()
	rl, al := s.raftLn, s.apiLn
	s.raftLn, s.apiLn = nil, nil
	f.mu.Unlock()
	nc := testcluster.DefaultNodeConfig()
	nc.ID, nc.DataDir, nc.Genesis, nc.NodeKey, nc.TLS = pod, filepath.Join(dir, "data"), g, nodeKey, files
	nc.RaftAddr, nc.APIAddr, nc.RaftListener, nc.APIListener, nc.NoBootstrap = s.raftAddr, s.apiAddr, rl, al, noBootstrap(p)
	// ledgernode run's default: the marker beside the genesis file.
	nc.NetworkHasRunFile = filepath.Join(genesisDir, wire.NetworkHasRunFile)
	nd, err := testcluster.StartNode(nc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	s.node = nd
	f.mu.Unlock()
	return setPodReady(ctx, c, n, pod, true)
}

// readGenesis reads the network's genesis ConfigMap and the genesis it
// holds, as the pods and Jobs that mount it see them.
func readGenesis(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork) (*corev1.ConfigMap, *chain.Genesis, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, key(n, genesisConfigMapName(n)), &cm); err != nil {
		return nil, nil, err
	}
	var g chain.Genesis
	if err := json.Unmarshal([]byte(cm.Data[genesisKey]), &g); err != nil {
		return nil, nil, fmt.Errorf("genesis ConfigMap %s key %s: %w", cm.Name, genesisKey, err)
	}
	return &cm, &g, nil
}

// mountConfigMap writes every key of a ConfigMap into dir, and nothing
// else, as the kubelet mounts a ConfigMap volume (the pods' genesis volume
// mounts the whole genesis ConfigMap).
func mountConfigMap(dir string, cm *corev1.ConfigMap) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	for name, data := range cm.Data {
		if _, err := pki.WriteFile(dir, name, []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// mountNodeKeys writes every key of the Secret the pod's node-keys volume
// names into the pod's TLS directory, as the kubelet does (and nothing
// else: the directory is the pod's view of its keys).
func (f *fakePods) mountNodeKeys(ctx context.Context, c client.Client, p *corev1.Pod) (string, error) {
	dir := f.TLSDir(p.Namespace, p.Name)
	for _, v := range p.Spec.Volumes {
		if v.Name != volumeNodeKeys || v.Secret == nil {
			continue
		}
		var sec corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: v.Secret.SecretName}, &sec); err != nil {
			return "", fmt.Errorf("volume %s of pod %s: %w", v.Name, p.Name, err)
		}
		for name, data := range sec.Data {
			if _, err := pki.WriteFile(dir, name, data, 0o600); err != nil {
				return "", err
			}
		}
		return dir, nil
	}
	return "", fmt.Errorf("pod %s has no %s volume", p.Name, volumeNodeKeys)
}

// TLSDir is where a pod's node-keys volume is "mounted".
func (f *fakePods) TLSDir(ns, pod string) string { return filepath.Join(f.dir, ns, pod, "tls") }

// RefreshTLS rewrites a running pod's key files from its Secret, as the
// kubelet refreshes a Secret volume after the Secret changes.
func (f *fakePods) RefreshTLS(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, ordinal int) error {
	p := &corev1.Pod{}
	if err := c.Get(ctx, key(n, podName(n, ordinal)), p); err != nil {
		return err
	}
	_, err := f.mountNodeKeys(ctx, c, p)
	return err
}

// ServedCertificate is the certificate a pod's API presents now.
func (f *fakePods) ServedCertificate(n *ledgerv1.LedgerNetwork, ordinal int, roots *x509.CertPool) (*x509.Certificate, error) {
	s := f.slot(n.Namespace, podName(n, ordinal))
	conn, err := tls.Dial("tcp", s.apiAddr, &tls.Config{RootCAs: roots, ServerName: podName(n, ordinal), MinVersion: tls.VersionTLS13})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// Stop stops a pod's node, deletes the pod and, as a scale-down deletes
// the volume of a removed member, its data.
func (f *fakePods) Stop(n *ledgerv1.LedgerNetwork, ordinal int) error {
	if err := f.Kill(n, ordinal); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(f.dir, n.Namespace, podName(n, ordinal), "data"))
}

// Kill is `kubectl delete pod`: the node stops and the pod goes; its
// volume (the node's data) stays for the pod the StatefulSet makes anew
// (Start).
func (f *fakePods) Kill(n *ledgerv1.LedgerNetwork, ordinal int) error {
	if err := f.stop(n, ordinal); err != nil {
		return err
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: n.Namespace, Name: podName(n, ordinal)}}
	return client.IgnoreNotFound(f.c.Delete(context.Background(), p, client.GracePeriodSeconds(0)))
}

func (f *fakePods) stop(n *ledgerv1.LedgerNetwork, ordinal int) error {
	s := f.slot(n.Namespace, podName(n, ordinal))
	f.mu.Lock()
	nd := s.node
	s.node = nil
	f.mu.Unlock()
	if nd == nil {
		return nil
	}
	return nd.Stop()
}

// Running says whether a pod's node runs.
func (f *fakePods) Running(n *ledgerv1.LedgerNetwork, ordinal int) bool {
	s := f.slot(n.Namespace, podName(n, ordinal))
	f.mu.Lock()
	defer f.mu.Unlock()
	return s.node != nil
}

// Node returns a running pod's node.
func (f *fakePods) Node(n *ledgerv1.LedgerNetwork, ordinal int) *node.Node {
	s := f.slot(n.Namespace, podName(n, ordinal))
	f.mu.Lock()
	defer f.mu.Unlock()
	return s.node
}

// Close stops every node and frees every address.
func (f *fakePods) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.slots {
		if s.node != nil {
			_ = s.node.Stop()
		}
		for _, l := range []net.Listener{s.raftLn, s.apiLn} {
			if l != nil {
				l.Close()
			}
		}
	}
}

// ensurePod records a pod of the StatefulSet at a revision, as the
// StatefulSet controller would (not ready yet), unless it exists.
func ensurePod(ctx context.Context, c client.Client, sts *appsv1.StatefulSet, ordinal int, revision string) error {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", sts.Name, ordinal), Namespace: sts.Namespace,
			Labels: maps.Clone(sts.Spec.Template.Labels)},
		Spec: *sts.Spec.Template.Spec.DeepCopy(),
	}
	p.Labels[appsv1.ControllerRevisionHashLabelKey] = revision
	for _, vct := range sts.Spec.VolumeClaimTemplates {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: vct.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: vct.Name + "-" + p.Name}}})
	}
	if err := c.Create(ctx, p); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// setPodReady writes what the kubelet reports of a running pod: phase
// Running, the node container running, Ready as its probe says.
func setPodReady(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, pod string, ready bool) error {
	p := &corev1.Pod{}
	if err := c.Get(ctx, key(n, pod), p); err != nil {
		return err
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: nodeContainer, Ready: ready, Image: p.Spec.Containers[0].Image,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	return c.Status().Update(ctx, p)
}

// setPodRevision relabels a pod with the revision it runs.
func setPodRevision(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, pod, revision string) error {
	p := &corev1.Pod{}
	if err := c.Get(ctx, key(n, pod), p); err != nil {
		return err
	}
	p.Labels[appsv1.ControllerRevisionHashLabelKey] = revision
	return c.Update(ctx, p)
}

// setStatefulSetStatus writes what the StatefulSet controller would report.
func setStatefulSetStatus(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, st appsv1.StatefulSetStatus) error {
	var sts appsv1.StatefulSet
	if err := c.Get(ctx, key(n, statefulSetName(n)), &sts); err != nil {
		return err
	}
	base := sts.DeepCopy()
	st.ObservedGeneration = sts.Generation
	sts.Status = st
	return c.Status().Patch(ctx, &sts, client.MergeFrom(base))
}

// setRevisions writes the StatefulSet's revisions as its controller would
// after a template change: updated pods run updateRevision.
func setRevisions(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, current, update string, updated int32) error {
	var sts appsv1.StatefulSet
	if err := c.Get(ctx, key(n, statefulSetName(n)), &sts); err != nil {
		return err
	}
	replicas := ptr.Deref(sts.Spec.Replicas, 0)
	return setStatefulSetStatus(ctx, c, n, appsv1.StatefulSetStatus{Replicas: replicas, ReadyReplicas: replicas,
		CurrentReplicas: replicas - updated, UpdatedReplicas: updated, CurrentRevision: current, UpdateRevision: update})
}

// noBootstrap says whether a pod's node runs with --no-bootstrap (its
// LEDGERNODE_NO_BOOTSTRAP), as the node binary reads it.
func noBootstrap(p *corev1.Pod) bool {
	for _, e := range p.Spec.Containers[0].Env {
		if e.Name == "LEDGERNODE_NO_BOOTSTRAP" {
			return e.Value == "true"
		}
	}
	return false
}

// RunRecoverJob plays the Job controller and the kubelet for the Job that
// runs `ledgernode recover`: it runs the command's own function
// (node.Recover) on the data of the pod whose claim the Job mounts, for
// the member its --id names, at the Raft address this fake gives that
// member (the Job's --raft-addr is the pod's cluster DNS name, which does
// not resolve here), then writes the Job's status as the Job controller
// would: Complete.
func (f *fakePods) RunRecoverJob(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, job *batchv1.Job) error {
	spec := job.Spec.Template.Spec
	args := spec.Containers[0].Command
	id := ""
	for i, a := range args {
		if a == "--id" && i+1 < len(args) {
			id = args[i+1]
		}
	}
	claim := ""
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if id == "" || claim != dataClaimName(id) {
		return fmt.Errorf("job %s: --id %q with claim %q: want a member and its own claim", job.Name, id, claim)
	}
	_, g, err := readGenesis(ctx, c, n)
	if err != nil {
		return err
	}
	s := f.slot(n.Namespace, id)
	if _, err := node.Recover(node.RecoverConfig{DataDir: filepath.Join(f.dir, n.Namespace, id, "data"), Genesis: g, ID: id,
		Voters: []state.Member{{ID: id, RaftAddr: s.raftAddr}}}); err != nil {
		return fmt.Errorf("job %s: %w", job.Name, err)
	}
	endJobStatus(job, 0, metav1.Now())
	return c.Status().Update(ctx, job)
}

// endJobStatus writes the status the Job controller gives a Job whose one
// pod exited with code at now: Complete for 0, Failed (backoff limit
// reached) for any other code.
func endJobStatus(job *batchv1.Job, code int32, now metav1.Time) {
	job.Status.StartTime = &now
	if code == 0 {
		job.Status.Succeeded, job.Status.CompletionTime = 1, &now
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}}
		return
	}
	job.Status.Failed = 1
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", LastTransitionTime: now},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now}}
}

// WipeData deletes a pod's node data, as deleting its volume claim
// deletes its volume.
func (f *fakePods) WipeData(n *ledgerv1.LedgerNetwork, pod string) error {
	return os.RemoveAll(filepath.Join(f.dir, n.Namespace, pod, "data"))
}

// RunRestoreJob plays the Job controller and the kubelet for the Job that
// runs `ledgernode restore`: it records the Job's pod, runs the command's
// own function (node.Restore, with the checks of backup verify against the
// genesis the Job mounts) on the data of the pod whose claim the Job
// mounts, reading the backup from claimDir (what the Job's backup claim
// holds here), for the member and addresses its arguments name; then it
// writes what the command would leave in the termination message (its
// summary, or {"error": ...}) and the Job's status as the Job controller
// ends it: Complete, or Failed. It returns the restore's error.
func (f *fakePods) RunRestoreJob(ctx context.Context, c client.Client, n *ledgerv1.LedgerNetwork, job *batchv1.Job, claimDir string) error {
	spec := job.Spec.Template.Spec
	args := spec.Containers[0].Command
	arg := func(flag string) string {
		for i, a := range args {
			if a == flag && i+1 < len(args) {
				return args[i+1]
			}
		}
		return ""
	}
	id, file := arg("--id"), arg("--backup")
	claim := ""
	for _, v := range spec.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	rel, ok := strings.CutPrefix(file, restoreBackupDir+"/")
	if id == "" || claim != dataClaimName(id) || !ok {
		return fmt.Errorf("job %s: --id %q, claim %q, --backup %q: want a member, its own claim and a file under %s", job.Name, id, claim, file, restoreBackupDir)
	}
	_, g, err := readGenesis(ctx, c, n)
	if err != nil {
		return err
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-r5x9z", Namespace: job.Namespace, Labels: maps.Clone(job.Spec.Template.Labels)},
		Spec: *spec.DeepCopy()}
	pod.Labels[batchv1.JobNameLabel] = job.Name
	if err := c.Create(ctx, pod); err != nil {
		return err
	}
	summary := map[string]any{}
	restoreErr := func() error {
		in, err := os.Open(filepath.Join(claimDir, rel))
		if err != nil {
			return err
		}
		defer in.Close()
		rep, err := node.Restore(node.RestoreConfig{Backup: in, DataDir: filepath.Join(f.dir, n.Namespace, id, "data"), Genesis: g,
			Trust: verify.TrustFromGenesis(g), AdminKeyID: arg("--admin-key-id"), Self: state.Member{ID: id, RaftAddr: arg("--raft-addr"), APIAddr: arg("--api-addr")}})
		if err != nil {
			return err
		}
		h := rep.Header.Head
		summary = map[string]any{"network": h.Network, "height": h.Height, "treeSize": h.TreeSize, "blockHash": h.BlockHash,
			"root": h.Root, "node": h.Node, "signer": h.Signer, "appliedIndex": rep.Header.AppliedIndex, "fileBytes": rep.FileBytes, "id": id}
		return nil
	}()
	code := int32(0)
	if restoreErr != nil {
		summary, code = map[string]any{"error": restoreErr.Error()}, 1
	}
	msg, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	now := metav1.Now()
	pod.Status.Phase = corev1.PodSucceeded
	if code != 0 {
		pod.Status.Phase = corev1.PodFailed
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: restoreContainer, Image: spec.Containers[0].Image, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: string(msg), StartedAt: now, FinishedAt: now}}}}
	if err := c.Status().Update(ctx, pod); err != nil {
		return err
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(job), job); err != nil {
		return err
	}
	endJobStatus(job, code, now)
	if err := c.Status().Update(ctx, job); err != nil {
		return err
	}
	return restoreErr
}

// DataDirEntries lists what a pod's volume holds.
func (f *fakePods) DataDirEntries(n *ledgerv1.LedgerNetwork, pod string) []string {
	entries, _ := os.ReadDir(filepath.Join(f.dir, n.Namespace, pod, "data"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
