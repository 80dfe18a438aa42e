package controllers

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// BuildConfig holds what the builders need beyond the LedgerNetwork: the
// operator's own settings.
type BuildConfig struct {
	// DefaultImage runs the nodes when spec.image is empty.
	DefaultImage string
	// ClusterDomain of the cluster's DNS: the nodes' stable names end
	// with it, as ServiceResolver's do.
	ClusterDomain string
}

// Paths inside a node container.
const (
	dataDir    = "/var/lib/tradeledger"
	genesisDir = "/etc/tradeledger/genesis"
	tlsDir     = "/etc/tradeledger/tls"
	// nodeUID runs the node: distroless' nonroot user.
	nodeUID = 65532
)

// ownerRef makes the network the controller of a child, so that deleting
// the network garbage-collects it.
func ownerRef(n *ledgerv1.LedgerNetwork) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: ledgerv1.GroupVersion.String(), Kind: "LedgerNetwork", Name: n.Name, UID: n.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
}

// childMeta is the metadata of a child owned by the network.
func childMeta(n *ledgerv1.LedgerNetwork, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: n.Namespace, Labels: networkLabels(n, component),
		OwnerReferences: []metav1.OwnerReference{ownerRef(n)}}
}

// identityMeta is the metadata of the network's identity (genesis, CA,
// keys): owned by the network only with deletionPolicy Delete, so that
// Retain keeps what is needed to resume the ledger.
func identityMeta(n *ledgerv1.LedgerNetwork, name string) metav1.ObjectMeta {
	m := childMeta(n, name, "identity")
	if n.Spec.DeletionPolicy != ledgerv1.DeletionDelete {
		m.OwnerReferences = nil
	}
	return m
}

// shutdownDrain is how long a stopping ledger node goes on serving.
const shutdownDrain = "5s"

// quorum is the majority of n voters.
func quorum(n int32) int32 { return n/2 + 1 }

// buildStatefulSet is the node StatefulSet with the given replica count
// (the membership phase decides it: it only shrinks once the members are
// out of the Raft configuration). Pods are replaced only when the operator
// deletes them (OnDelete), so that a rollout can go follower by follower
// and move leadership before the leader restarts.
func buildStatefulSet(n *ledgerv1.LedgerNetwork, cfg BuildConfig, replicas int32) *appsv1.StatefulSet {
	image := n.Spec.Image
	if image == "" {
		image = cfg.DefaultImage
	}
	logLevel := n.Spec.LogLevel
	if logLevel == "" {
		logLevel = ledgerv1.DefaultLogLevel
	}
	env := []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "LEDGERNODE_ID", Value: "$(POD_NAME)"},
		{Name: "LEDGERNODE_DATA_DIR", Value: dataDir},
		{Name: "LEDGERNODE_GENESIS", Value: genesisDir + "/" + genesisKey},
		{Name: "LEDGERNODE_NODE_KEY", Value: tlsDir + "/" + nodeSignKeyFile},
		{Name: "LEDGERNODE_TLS_CA", Value: tlsDir + "/" + caCertKey},
		{Name: "LEDGERNODE_TLS_CERT", Value: tlsDir + "/" + nodeCertFile},
		{Name: "LEDGERNODE_TLS_KEY", Value: tlsDir + "/" + nodeTLSKeyFile},
		{Name: "LEDGERNODE_RAFT_BIND", Value: fmt.Sprintf("0.0.0.0:%d", RaftPort)},
		{Name: "LEDGERNODE_RAFT_ADVERTISE", Value: fmt.Sprintf("%s:%d", podFQDN(n, "$(POD_NAME)", cfg.ClusterDomain), RaftPort)},
		{Name: "LEDGERNODE_API_BIND", Value: fmt.Sprintf("0.0.0.0:%d", APIPort)},
		{Name: "LEDGERNODE_LOG_LEVEL", Value: logLevel},
		// On SIGTERM a node hands leadership over, then serves on for this
		// long: the Service's endpoints drop a terminating pod only once
		// kube-proxy has caught up, and until then clients still reach it
		// (a write during a rolling upgrade once met "no route to host").
		// Hand-over (≤10s) + drain + stop (≤30s) fit the 45s grace period.
		{Name: "LEDGERNODE_SHUTDOWN_DRAIN", Value: shutdownDrain},
	}
	if n.Status.Recovery != nil || fromBackup(n) != nil {
		// After a recovery, and in a network restored from a backup, a
		// node with an empty volume must wait to be added, never start a
		// cluster of the genesis' voters of its own. (The first node of a
		// restored network holds the restored configuration: it leads.)
		env = append(env, corev1.EnvVar{Name: "LEDGERNODE_NO_BOOTSTRAP", Value: "true"})
	}
	if b := n.Spec.Batching; b.MaxTransactions > 0 {
		env = append(env, corev1.EnvVar{Name: "LEDGERNODE_BATCH_MAX_TX", Value: strconv.Itoa(int(b.MaxTransactions))})
	}
	if b := n.Spec.Batching; b.MaxDelay != nil {
		env = append(env, corev1.EnvVar{Name: "LEDGERNODE_BATCH_MAX_DELAY", Value: b.MaxDelay.Duration.String()})
	}

	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("api"),
				Scheme: corev1.URISchemeHTTPS}},
			PeriodSeconds: period, FailureThreshold: failures, TimeoutSeconds: 3, SuccessThreshold: 1,
		}
	}
	podLabels := networkLabels(n, "ledger-node")
	var annotations map[string]string
	scrape := ledgerv1.DefaultScrapeAnnotations
	if s := n.Spec.Monitoring.ScrapeAnnotations; s != nil {
		scrape = *s
	}
	if scrape {
		// An annotation-driven scrape presents no client certificate: the
		// node's /metrics (counts, latencies, Raft state; no trade data)
		// is opened to it. Every other read stays authenticated.
		env = append(env, corev1.EnvVar{Name: "LEDGERNODE_METRICS_ACCESS", Value: "open"})
		annotations = map[string]string{
			"prometheus.io/scrape": "true",
			"prometheus.io/scheme": "https",
			"prometheus.io/port":   strconv.Itoa(APIPort),
			"prometheus.io/path":   "/metrics",
		}
	}
	whenDeleted := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if n.Spec.DeletionPolicy == ledgerv1.DeletionDelete {
		whenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	}
	// A member removed by a scale-down has left the Raft configuration:
	// its data is of no further use, and a later scale-up must join with an
	// empty volume. But a recovery scales to 0 to stop every node, and
	// whenScaled Delete would then delete every claim, the survivor's too:
	// while it stops the nodes, claims are kept (the recovery deletes the
	// lost members' claims itself), set in the same update as the 0.
	whenScaled := appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	if recoveryStopsNodes(n) {
		whenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	size := resource.MustParse(ledgerv1.DefaultStorageSize)
	if s := n.Spec.Storage.Size; s != nil && !s.IsZero() {
		size = *s
	}

	return &appsv1.StatefulSet{
		ObjectMeta: childMeta(n, statefulSetName(n), "ledger-node"),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To(replicas),
			ServiceName: headlessServiceName(n),
			Selector:    &metav1.LabelSelector{MatchLabels: selectorLabels(n)},
			// All initial voters must run at once to elect a leader, and
			// none is ready before there is one.
			PodManagementPolicy:  appsv1.ParallelPodManagement,
			UpdateStrategy:       appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
			RevisionHistoryLimit: ptr.To[int32](5),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: whenDeleted, WhenScaled: whenScaled},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: annotations},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  ptr.To(false),
					TerminationGracePeriodSeconds: ptr.To[int64](45),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](nodeUID), RunAsGroup: ptr.To[int64](nodeUID),
						FSGroup:        ptr.To[int64](nodeUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
							Weight: 100,
							PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname",
								LabelSelector: &metav1.LabelSelector{MatchLabels: selectorLabels(n)}},
						}},
					}},
					Containers: []corev1.Container{{
						Name:            "ledgernode",
						Image:           image,
						ImagePullPolicy: n.Spec.ImagePullPolicy,
						Command:         []string{"ledgernode", "run"},
						Env:             env,
						Ports: []corev1.ContainerPort{
							{Name: "raft", ContainerPort: RaftPort, Protocol: corev1.ProtocolTCP},
							{Name: "api", ContainerPort: APIPort, Protocol: corev1.ProtocolTCP},
						},
						Resources:      n.Spec.Resources,
						StartupProbe:   probe("/healthz", 2, 60),
						LivenessProbe:  probe("/healthz", 10, 6),
						ReadinessProbe: probe("/readyz", 5, 3),
						VolumeMounts: []corev1.VolumeMount{
							{Name: "data", MountPath: dataDir},
							{Name: "genesis", MountPath: genesisDir, ReadOnly: true},
							{Name: volumeNodeKeys, MountPath: tlsDir, ReadOnly: true},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "genesis", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: genesisConfigMapName(n)}}}},
						// Each pod sees its own node's keys and the CA
						// certificate, never another node's keys, the CA key
						// or the admin key. One template serves every
						// ordinal, so it cannot name the pod's own Secret:
						// the admission policy in config/admission points
						// this volume at "<pod>-node-keys" when the pod is
						// created. Without the policy the placeholder, which
						// never exists, keeps the pod from starting.
						{Name: volumeNodeKeys, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: nodeKeysPlaceholder(n), DefaultMode: ptr.To[int32](0o440)}}},
					},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: selectorLabels(n)},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: n.Spec.Storage.StorageClassName,
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
				},
			}},
		},
	}
}

func servicePorts(withRaft bool) []corev1.ServicePort {
	ports := []corev1.ServicePort{{Name: "api", Port: APIPort, TargetPort: intstr.FromString("api"), Protocol: corev1.ProtocolTCP}}
	if withRaft {
		ports = append([]corev1.ServicePort{{Name: "raft", Port: RaftPort, TargetPort: intstr.FromString("raft"), Protocol: corev1.ProtocolTCP}}, ports...)
	}
	return ports
}

// buildHeadlessService gives each pod its stable DNS name. Addresses are
// published before the pods are ready: peers must reach each other to
// elect the leader that readiness waits for.
func buildHeadlessService(n *ledgerv1.LedgerNetwork) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: childMeta(n, headlessServiceName(n), "peers"),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 selectorLabels(n),
			Ports:                    servicePorts(true),
		},
	}
}

// buildClientService balances the API over the ready nodes; a follower
// forwards writes to the leader, so clients need not know who leads.
func buildClientService(n *ledgerv1.LedgerNetwork) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: childMeta(n, clientServiceName(n), "api"),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selectorLabels(n),
			Ports:    servicePorts(false),
		},
	}
}

// buildPDB keeps a quorum of voters through voluntary disruptions (drains,
// upgrades of the nodes under the pods).
func buildPDB(n *ledgerv1.LedgerNetwork) *policyv1.PodDisruptionBudget {
	min := intstr.FromInt32(quorum(n.Spec.Replicas))
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: childMeta(n, pdbName(n), "ledger-node"),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &min,
			Selector:     &metav1.LabelSelector{MatchLabels: selectorLabels(n)},
		},
	}
}

// buildRecoverJob runs `ledgernode recover` on a stopped member's volume:
// it rewrites the member's Raft configuration to itself alone (hashicorp/raft
// RecoverCluster). It mounts the member's claim and the genesis, as the
// member's pod does, and runs as the node does; it needs no key.
func buildRecoverJob(n *ledgerv1.LedgerNetwork, cfg BuildConfig, member, name string) *batchv1.Job {
	raftAddr := fmt.Sprintf("%s:%d", podFQDN(n, member, cfg.ClusterDomain), RaftPort)
	return buildMemberJob(n, cfg, member, childMeta(n, name, "recovery"), "recovery", 2, 3600, corev1.Container{
		Name: "recover",
		Command: []string{"ledgernode", "recover", "--data-dir", dataDir, "--genesis", genesisDir + "/" + genesisKey,
			"--id", member, "--raft-addr", raftAddr},
	})
}

// buildMemberJob runs c, a ledgernode command, once on member's volume as
// the member's pod runs: the node's image, resources and security, the
// member's data claim at dataDir and the genesis at genesisDir (ahead of
// c's own mounts), plus the volumes extra; no service account token.
func buildMemberJob(n *ledgerv1.LedgerNetwork, cfg BuildConfig, member string, meta metav1.ObjectMeta, component string,
	backoffLimit int32, deadlineSeconds int64, c corev1.Container, extra ...corev1.Volume) *batchv1.Job {
	sts := buildStatefulSet(n, cfg, 0)
	node := sts.Spec.Template.Spec.Containers[0]
	c.Image, c.ImagePullPolicy = node.Image, node.ImagePullPolicy
	c.Resources = n.Spec.Resources
	c.SecurityContext = node.SecurityContext
	c.VolumeMounts = append([]corev1.VolumeMount{
		{Name: "data", MountPath: dataDir},
		{Name: "genesis", MountPath: genesisDir, ReadOnly: true},
	}, c.VolumeMounts...)
	return &batchv1.Job{
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To(backoffLimit),
			ActiveDeadlineSeconds: ptr.To(deadlineSeconds),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: networkLabels(n, component)},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              sts.Spec.Template.Spec.SecurityContext,
					Containers:                   []corev1.Container{c},
					Volumes: append([]corev1.Volume{
						{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
							ClaimName: dataClaimName(member)}}},
						sts.Spec.Template.Spec.Volumes[0], // the genesis
					}, extra...),
				},
			},
		},
	}
}
