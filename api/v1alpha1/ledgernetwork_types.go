package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletionPolicy says what happens to a network's data when its
// LedgerNetwork is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionRetain keeps the nodes' volumes and the network's identity
	// (genesis, CA, node and admin keys): re-creating a LedgerNetwork of the
	// same name in the same namespace resumes the ledger.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete removes the volumes and the identity with the network.
	DeletionDelete DeletionPolicy = "Delete"
)

// NetworkPhase is a one-word summary of a network for people; programs
// read the conditions.
// +kubebuilder:validation:Enum=Pending;Restoring;Bootstrapping;Running;Scaling;Upgrading;Degraded
type NetworkPhase string

// Phases of a LedgerNetwork.
const (
	PhasePending NetworkPhase = "Pending"
	// PhaseRestoring: a network with spec.bootstrap.fromBackup is restoring
	// its first node's volume from the backup; no node runs yet.
	PhaseRestoring     NetworkPhase = "Restoring"
	PhaseBootstrapping NetworkPhase = "Bootstrapping"
	PhaseRunning       NetworkPhase = "Running"
	PhaseScaling       NetworkPhase = "Scaling"
	PhaseUpgrading     NetworkPhase = "Upgrading"
	PhaseDegraded      NetworkPhase = "Degraded"
)

// LedgerNetworkSpec is the desired ledger network.
// +kubebuilder:validation:XValidation:rule=`(has(self.tls) && has(self.tls.caGeneration) ? self.tls.caGeneration : 0) >= (has(oldSelf.tls) && has(oldSelf.tls.caGeneration) ? oldSelf.tls.caGeneration : 0)`,message="spec.tls.caGeneration cannot be lowered: each generation is a CA the network has had, and a CA once dropped is never trusted again; raise it by one to rotate to a new CA"
// +kubebuilder:validation:XValidation:rule=`(has(self.adminKeyGeneration) ? self.adminKeyGeneration : 0) >= (has(oldSelf.adminKeyGeneration) ? oldSelf.adminKeyGeneration : 0)`,message="spec.adminKeyGeneration cannot be lowered: a retired admin key is never valid again on the ledger; raise it by one to rotate to a new key"
// +kubebuilder:validation:XValidation:rule=`has(self.bootstrap) == has(oldSelf.bootstrap) && (!has(self.bootstrap) || self.bootstrap == oldSelf.bootstrap)`,message="spec.bootstrap is immutable: it says how the ledger began; to restore another backup, create a new LedgerNetwork"
// +kubebuilder:validation:XValidation:rule=`!has(self.bootstrap) || !has(self.bootstrap.fromBackup) || has(self.networkID)`,message="spec.networkID is required with spec.bootstrap.fromBackup: set it to the network id of the backed-up ledger (the old LedgerNetwork's status.networkID, or the \"network\" of its genesis.json); every transaction is signed for that id"
// +kubebuilder:validation:XValidation:rule=`(has(self.networkID) ? self.networkID : "") == (has(oldSelf.networkID) ? oldSelf.networkID : "")`,message="spec.networkID is immutable: it is written into the genesis and into every signed transaction; create a new LedgerNetwork for a new network"
type LedgerNetworkSpec struct {
	// NetworkID is the ledger's network name, written into its genesis and
	// into every transaction signed for it. Defaults to metadata.name.
	// Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`
	NetworkID string `json:"networkID,omitempty"`

	// Replicas is the number of ledger nodes, every one a Raft voter.
	// Scaling adds members as non-voters and promotes them once caught up;
	// scaling down removes members from the Raft configuration before their
	// pods go away.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:XValidation:rule="self in [1, 3, 5, 7]",message="spec.replicas must be 1, 3, 5 or 7: Raft needs a majority of voters, and an even count tolerates no more failures than the odd count below it"
	Replicas int32 `json:"replicas,omitempty"`

	// Image of the ledger node; it must contain the ledgernode binary.
	// Defaults to the operator's --ledger-image. Changing it rolls the
	// nodes one at a time, followers first, the leader last.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image,omitempty"`

	// ImagePullPolicy of the ledger node containers.
	// +optional
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// Storage of each node (its state, Raft log and snapshots). Immutable.
	// +optional
	// +kubebuilder:default={size: "1Gi"}
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.storage is immutable: a StatefulSet's volume claims cannot change; resize the PersistentVolumeClaims directly"
	Storage StorageSpec `json:"storage,omitempty"`

	// Resources of each node container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Batching tunes how transactions are packed into blocks.
	// +optional
	Batching BatchingSpec `json:"batching,omitempty"`

	// MemberNamespaceSelector selects the namespaces whose AgencyMembers may
	// join this network. Without it, only AgencyMembers in the network's own
	// namespace may.
	// +optional
	MemberNamespaceSelector *metav1.LabelSelector `json:"memberNamespaceSelector,omitempty"`

	// DeletionPolicy: Retain (default) keeps the volumes and the network's
	// identity (genesis, CA, keys) when the LedgerNetwork is deleted, so
	// that re-creating it resumes the ledger; Delete removes them.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Monitoring of the nodes.
	// +optional
	Monitoring MonitoringSpec `json:"monitoring,omitempty"`

	// LogLevel of the nodes.
	// +optional
	// +kubebuilder:default=info
	// +kubebuilder:validation:Enum=debug;info;warn;error
	LogLevel string `json:"logLevel,omitempty"`

	// Backup, when set, makes the operator back the ledger up on a
	// schedule: a LedgerBackup (owned by this network) at each time the
	// schedule names, one at a time, keeping the newest spec.backup.retention.
	// +optional
	Backup *BackupScheduleSpec `json:"backup,omitempty"`

	// TLS of the nodes: the network CA their certificates chain to.
	// +optional
	TLS *TLSSpec `json:"tls,omitempty"`

	// AdminKeyGeneration: raising it (by one) makes the operator rotate the
	// network admin key, the key in Secret <name>-admin that signs cluster
	// operations and agency registration. The rotation is a key.rotate
	// transaction on the ledger signed by the old key; what the old key
	// signed before stays verifiable. Status.adminKey shows the key in use.
	// It cannot be lowered.
	// +optional
	// +kubebuilder:validation:Minimum=0
	AdminKeyGeneration int64 `json:"adminKeyGeneration,omitempty"`

	// Bootstrap says how the ledger begins: without it, from a new genesis
	// the operator generates; with fromBackup, from a backup of another
	// network. Immutable.
	// +optional
	Bootstrap *BootstrapSpec `json:"bootstrap,omitempty"`
}

// BootstrapSpec says how a new network's ledger begins.
type BootstrapSpec struct {
	// FromBackup starts the network from a backup (a .tlbackup file of
	// `ledgerctl backup create` or a LedgerBackup): same genesis, same
	// ledger history, same admin key; a new CA generated for this network
	// and new node identities issued by it. Before any node starts, a Job
	// runs `ledgernode restore` (every check of `ledgerctl backup verify`
	// first: nothing is written unless the backup verifies) into the first
	// node's volume; that node leads alone, and the others join it empty.
	// spec.networkID must be the backed-up ledger's network id.
	// +optional
	FromBackup *FromBackupSpec `json:"fromBackup,omitempty"`
}

// FromBackupSpec names a backup and what restoring it needs from the
// network it was made from, which a backup file does not carry: the
// genesis (the file holds only its hash) and the admin key.
// +kubebuilder:validation:XValidation:rule="has(self.ledgerBackup) != has(self.volume)",message="spec.bootstrap.fromBackup: name exactly one of ledgerBackup (a LedgerBackup in this namespace that succeeded) or volume (a claim and the backup file's path in it)"
// +kubebuilder:validation:XValidation:rule=`has(self.adminSecret) && self.adminSecret != ""`,message="spec.bootstrap.fromBackup.adminSecret is required: name the Secret holding the backed-up network's admin key (key admin.key; the old network's <name>-admin). The restored ledger's cluster membership and agency registrations are signed by the admin key its genesis registers"
// +kubebuilder:validation:XValidation:rule=`has(self.genesisConfigMap) && self.genesisConfigMap != ""`,message="spec.bootstrap.fromBackup.genesisConfigMap is required: name the ConfigMap holding the backed-up network's genesis (key genesis.json; the old network's <name>-genesis). A backup file holds only the genesis' hash"
type FromBackupSpec struct {
	// LedgerBackup names a LedgerBackup in this namespace that succeeded:
	// its claim and file are restored.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	LedgerBackup string `json:"ledgerBackup,omitempty"`

	// Volume names a backup file on a PersistentVolumeClaim in this
	// namespace (a file copied in, or one a LedgerBackup wrote).
	// +optional
	Volume *BackupFileSource `json:"volume,omitempty"`

	// GenesisConfigMap is the ConfigMap, in this namespace, holding the
	// backed-up network's genesis under genesis.json (the operator names it
	// <network>-genesis). The backup file holds only the genesis' hash; the
	// restore refuses a genesis whose hash differs. The operator copies it
	// into this network's own <name>-genesis. It needs the label
	// app.kubernetes.io/managed-by=tradeledger-operator (the operator's
	// cache sees only labelled ConfigMaps).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	GenesisConfigMap string `json:"genesisConfigMap,omitempty"`

	// AdminSecret is the Secret, in this namespace, holding the backed-up
	// network's admin key under admin.key (the operator names it
	// <network>-admin). Required: the restored ledger's genesis registers
	// that key as the network admin, and every cluster membership change
	// (adding the other nodes) and agency registration must be signed by
	// it. The operator copies it into this network's own <name>-admin. It
	// needs the label app.kubernetes.io/managed-by=tradeledger-operator.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	AdminSecret string `json:"adminSecret,omitempty"`

	// Timeout bounds the restore Job (default 1h).
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('48h')",message="spec.bootstrap.fromBackup.timeout must be between 1m and 48h, e.g. 2h"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// BackupFileSource is a backup file on a PersistentVolumeClaim.
type BackupFileSource struct {
	// ClaimName is the PersistentVolumeClaim, in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClaimName string `json:"claimName"`

	// Path of the backup file inside the volume, e.g.
	// customs/customs-20261202-0200.tlbackup.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(p, p == '..' || p == '.')",message="spec.bootstrap.fromBackup.volume.path must be a relative path inside the volume, without '.' or '..'"
	Path string `json:"path"`
}

// TLSSpec is the network CA.
type TLSSpec struct {
	// CAGeneration: raising it (by one) makes the operator rotate the
	// network CA without an outage: a new CA is made and trusted beside the
	// old one (Bundling), every node certificate and the backup client
	// certificate are reissued from it (Reissuing), then the old CA is
	// dropped (Dropping); each step waits until every node is seen to have
	// it. status.tls and the CARotation condition show the phase; the
	// ConfigMap <name>-ca-bundle holds the CAs clients should trust. It
	// cannot be lowered.
	// +optional
	// +kubebuilder:validation:Minimum=0
	CAGeneration int64 `json:"caGeneration,omitempty"`
}

// CARotationPhase is the step a CA rotation is at.
// +kubebuilder:validation:Enum=Bundling;Reissuing;Dropping;Complete
type CARotationPhase string

// CA rotation phases, in order.
const (
	// CABundling: the new CA is made; every node, client and the bundle
	// ConfigMap are given both CAs; it waits until every node trusts both.
	CABundling CARotationPhase = "Bundling"
	// CAReissuing: the new CA issues; node and client certificates are
	// reissued from it; it waits until every node serves its new one.
	CAReissuing CARotationPhase = "Reissuing"
	// CADropping: the old CA is removed from every bundle; it waits until
	// every node trusts the new CA alone.
	CADropping CARotationPhase = "Dropping"
	// CAComplete: the last rotation is done.
	CAComplete CARotationPhase = "Complete"
)

// BackupScheduleSpec is a network's scheduled backups.
type BackupScheduleSpec struct {
	// Schedule in standard cron form (5 fields: minute hour day-of-month
	// month day-of-week, UTC), e.g. "0 2 * * *" for 02:00 every day, or a
	// descriptor such as "@daily". A backup still running when the next is
	// due delays it until it ends; missed times run once, not once each.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Schedule string `json:"schedule"`

	// Retention is how many scheduled backups are kept (their LedgerBackups
	// and their files); older ones are deleted.
	// +optional
	// +kubebuilder:default=7
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Retention int32 `json:"retention,omitempty"`

	// ClaimName is the PersistentVolumeClaim the files are written to, in
	// the network's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClaimName string `json:"claimName"`

	// SubPath is the directory inside the volume that holds the scheduled
	// backups, and only them (retention deletes the oldest *.tlbackup files
	// there). Defaults to the network's name.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(p, p == '..' || p == '.')",message="spec.backup.subPath must be a relative path inside the volume, without '.' or '..'"
	SubPath string `json:"subPath,omitempty"`

	// Timeout of each backup (default 1h).
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('48h')",message="spec.backup.timeout must be between 1m and 48h, e.g. 2h"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// StorageSpec is the volume of each node.
type StorageSpec struct {
	// Size of each node's volume.
	// +optional
	// +kubebuilder:default="1Gi"
	Size *resource.Quantity `json:"size,omitempty"`

	// StorageClassName of the volumes; empty means the cluster's default.
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// BatchingSpec tunes block packing. Zero values keep the node's defaults.
type BatchingSpec struct {
	// MaxTransactions per block.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	MaxTransactions int32 `json:"maxTransactions,omitempty"`

	// MaxDelay is how long a transaction may wait for others to fill its
	// block (a Go duration such as "2ms").
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('10s')",message="spec.batching.maxDelay must be between 0s and 10s, e.g. 2ms"
	MaxDelay *metav1.Duration `json:"maxDelay,omitempty"`
}

// MonitoringSpec says how the nodes' Prometheus metrics are found.
type MonitoringSpec struct {
	// ScrapeAnnotations adds prometheus.io/scrape, scheme, port and path
	// annotations to the node pods (metrics at https://<pod>:8443/metrics).
	// +optional
	// +kubebuilder:default=true
	ScrapeAnnotations *bool `json:"scrapeAnnotations,omitempty"`
}

// MemberRole is a node's place in the Raft configuration.
// +kubebuilder:validation:Enum=Voter;NonVoter
type MemberRole string

// Member roles.
const (
	RoleVoter    MemberRole = "Voter"
	RoleNonVoter MemberRole = "NonVoter"
)

// MemberStatus is one node as the ledger sees it.
type MemberStatus struct {
	// Name of the node: its pod name and Raft server id.
	Name string `json:"name"`
	// Role in the Raft configuration.
	Role MemberRole `json:"role"`
	// Leader is true for the current leader.
	// +optional
	Leader bool `json:"leader,omitempty"`
	// Reachable is false when the node did not answer the status query.
	Reachable bool `json:"reachable"`
	// AppliedIndex is the last Raft log index the node applied.
	// +optional
	AppliedIndex int64 `json:"appliedIndex,omitempty"`
}

// LedgerNetworkStatus is what the operator observed.
type LedgerNetworkStatus struct {
	// ObservedGeneration is the generation the last successful pass acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase is a one-word summary.
	// +optional
	Phase NetworkPhase `json:"phase,omitempty"`
	// NetworkID in effect (spec.networkID or metadata.name).
	// +optional
	NetworkID string `json:"networkID,omitempty"`
	// GenesisHash identifies the ledger (SHA-256 of its canonical genesis).
	// +optional
	GenesisHash string `json:"genesisHash,omitempty"`
	// Replicas is the number of voters in the ledger's Raft configuration.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// ReadyReplicas is the number of node pods passing /readyz, as the
	// API server reports the pods (0 is shown, not left blank).
	// +optional
	// +kubebuilder:default=0
	ReadyReplicas int32 `json:"readyReplicas"`
	// Selector selects the node pods (for the scale subresource).
	// +optional
	Selector string `json:"selector,omitempty"`
	// Leader is the current Raft leader.
	// +optional
	Leader string `json:"leader,omitempty"`
	// Height of the ledger's last block (0 is shown, not left blank).
	// +optional
	// +kubebuilder:default=0
	Height int64 `json:"height"`
	// HeadHash is the hash of the last block.
	// +optional
	HeadHash string `json:"headHash,omitempty"`
	// Members of the Raft configuration.
	// +optional
	// +listType=map
	// +listMapKey=name
	Members []MemberStatus `json:"members,omitempty"`
	// CertificatesNotAfter is when the first node TLS certificate expires.
	// The operator renews each one when a third of its validity is left.
	// +optional
	CertificatesNotAfter *metav1.Time `json:"certificatesNotAfter,omitempty"`
	// CANotAfter is when the network CA that issues the node certificates
	// expires; no node certificate outlives it. Rotate it before then
	// (spec.tls.caGeneration).
	// +optional
	CANotAfter *metav1.Time `json:"caNotAfter,omitempty"`
	// TLS is the network CA: the CAs trusted now and the rotation
	// spec.tls.caGeneration asked for.
	// +optional
	TLS *TLSStatus `json:"tls,omitempty"`
	// AdminKey is the network admin key the operator signs with, and its
	// last rotation (spec.adminKeyGeneration).
	// +optional
	AdminKey *AdminKeyStatus `json:"adminKey,omitempty"`
	// Backup is the state of the scheduled backups (spec.backup) and the
	// network's last successful backup.
	// +optional
	Backup *NetworkBackupStatus `json:"backup,omitempty"`
	// Quorum is shown while the ledger has no leader: since when, the
	// voters of the last known Raft configuration and how each one
	// answers. Lost says that fewer than a quorum of them answer or can
	// come back (docs/operations.md, "Quorum loss"). It goes once a leader
	// is back.
	// +optional
	Quorum *QuorumStatus `json:"quorum,omitempty"`
	// Recovery is the last recovery from a quorum loss the annotation
	// ledger.tradeledger.io/recover-from asked for: its steps, and what may
	// have been lost.
	// +optional
	Recovery *RecoveryStatus `json:"recovery,omitempty"`
	// RecoveryRefused is the recovery request the operator refused. A
	// request is judged once: it stays refused, even if the quorum is lost
	// later, until the annotation is removed or names another member.
	// +optional
	RecoveryRefused *RecoveryRefusal `json:"recoveryRefused,omitempty"`
	// Restore is the restore from a backup spec.bootstrap.fromBackup asked
	// for: its Job, the backup's head, and the first head of this network,
	// proved to extend it.
	// +optional
	Restore *RestoreStatus `json:"restore,omitempty"`
	// Conditions: Ready, Progressing, Degraded; BackupSucceeded with
	// spec.backup; CARotation once a CA rotation was asked for; Restored
	// with spec.bootstrap.fromBackup.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TLSStatus is the network CA and its rotation.
type TLSStatus struct {
	// CAGeneration of the CA that issues the node certificates now.
	CAGeneration int64 `json:"caGeneration"`
	// Phase of the last (or current) rotation; empty before the first.
	// +optional
	Phase CARotationPhase `json:"phase,omitempty"`
	// RotatingTo is the generation a rotation under way brings.
	// +optional
	RotatingTo int64 `json:"rotatingTo,omitempty"`
	// CAs the nodes and clients are to trust now (the ConfigMap
	// <name>-ca-bundle), the issuing one marked.
	// +optional
	CAs []CAStatus `json:"cas,omitempty"`
	// StartedAt is when the last rotation started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// CompletedAt is when the last rotation completed.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
}

// CAStatus is one CA certificate the network trusts.
type CAStatus struct {
	// Fingerprint is the SHA-256 of the certificate (hex, as
	// openssl x509 -fingerprint -sha256 shows it without colons).
	Fingerprint string `json:"fingerprint"`
	// Subject of the certificate.
	// +optional
	Subject string `json:"subject,omitempty"`
	// NotAfter is when it expires.
	NotAfter metav1.Time `json:"notAfter"`
	// Issuing: node and client certificates are issued from it.
	// +optional
	Issuing bool `json:"issuing,omitempty"`
}

// AdminKeyStatus is the network admin key.
type AdminKeyStatus struct {
	// Generation of the key in use (spec.adminKeyGeneration it answers).
	Generation int64 `json:"generation"`
	// KeyID of the key in use (its ledger key id).
	// +optional
	KeyID string `json:"keyID,omitempty"`
	// RotatedAt is when the ledger recorded its rotation.
	// +optional
	RotatedAt *metav1.Time `json:"rotatedAt,omitempty"`
	// RotationTx is the id of the key.rotate transaction that made it the
	// admin key.
	// +optional
	RotationTx string `json:"rotationTx,omitempty"`
}

// NetworkBackupStatus is what the operator knows of a network's backups.
type NetworkBackupStatus struct {
	// LastScheduleTime is the last time of spec.backup.schedule a backup
	// was created for.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// NextScheduleTime is the next time a backup is due.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// LastBackup is the newest LedgerBackup of the network that succeeded.
	// +optional
	LastBackup *LastBackup `json:"lastBackup,omitempty"`
}

// LastBackup is a network's newest successful backup.
type LastBackup struct {
	// Name of the LedgerBackup.
	Name string `json:"name"`
	// Time it completed.
	Time metav1.Time `json:"time"`
	// Height of the ledger in the backup.
	Height int64 `json:"height"`
	// HeadHash is the hash of the block at that height.
	// +optional
	HeadHash string `json:"headHash,omitempty"`
	// File is the backup file's path inside the volume.
	// +optional
	File string `json:"file,omitempty"`
}

// RestorePhase is the step a restore from a backup is at.
// +kubebuilder:validation:Enum=Restoring;Restored;Verified;Failed
type RestorePhase string

// Restore phases, in order.
const (
	// RestoreRestoring: the Job runs `ledgernode restore` into the first
	// node's volume (or waits for the backup to be ready).
	RestoreRestoring RestorePhase = "Restoring"
	// RestoreRestored: the volume holds the backup's ledger; the nodes
	// start.
	RestoreRestored RestorePhase = "Restored"
	// RestoreVerified: the network's leader answered with a head that a
	// consistency proof shows extends the backup's.
	RestoreVerified RestorePhase = "Verified"
	// RestoreFailed: the Job failed; nothing started. It is not retried
	// until a person deletes the Job.
	RestoreFailed RestorePhase = "Failed"
)

// RestoreStatus is a network's restore from a backup.
type RestoreStatus struct {
	// Phase: Restoring, Restored, Verified or Failed.
	Phase RestorePhase `json:"phase"`
	// Source is the backup restored: the LedgerBackup, claim and file.
	Source string `json:"source"`
	// Job runs `ledgernode restore` into the first node's volume.
	// +optional
	Job string `json:"job,omitempty"`
	// StartTime is when the operator created the Job.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the operator saw the Job succeed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// BackupHeight is the height of the backup's signed head.
	// +optional
	BackupHeight int64 `json:"backupHeight,omitempty"`
	// BackupHeadHash is the hash of the block at that height.
	// +optional
	BackupHeadHash string `json:"backupHeadHash,omitempty"`
	// BackupTreeSize and BackupRoot are the Merkle tree of the backup's
	// head, from which the consistency proof starts.
	// +optional
	BackupTreeSize int64 `json:"backupTreeSize,omitempty"`
	// +optional
	BackupRoot string `json:"backupRoot,omitempty"`
	// BackupSignedBy is the node of the backed-up network that signed the
	// backup's head.
	// +optional
	BackupSignedBy string `json:"backupSignedBy,omitempty"`
	// CA says which CA issued the new nodes' certificates: a new CA
	// generated for this network (the backed-up network's CA is not used).
	// +optional
	CA string `json:"ca,omitempty"`
	// FirstHeight and FirstHeadHash are the first head of this network the
	// operator saw, proved (RFC 6962 consistency) to extend the backup's.
	// +optional
	FirstHeight int64 `json:"firstHeight,omitempty"`
	// +optional
	FirstHeadHash string `json:"firstHeadHash,omitempty"`
	// Message says what is under way, or what failed and the fix.
	// +optional
	Message string `json:"message,omitempty"`
}

// AnnotationRecoverFrom on a LedgerNetwork asks the operator to recover
// from a quorum loss with the named surviving member (a pod name): the
// only way a recovery starts. The operator removes it when the recovery is
// done, and refuses (Degraded RecoveryRefused) a name that is not a
// surviving member, or a request while no quorum is lost.
const AnnotationRecoverFrom = "ledger.tradeledger.io/recover-from"

// QuorumStatus is the ledger without a leader.
type QuorumStatus struct {
	// Lost: no leader for longer than the operator's bound, and fewer than
	// a quorum of the voters answer or can come back (a pod recreated with
	// its volume comes back; a member whose volume is gone, whose pod cannot
	// be scheduled or whose node does not answer does not).
	Lost bool `json:"lost"`
	// NoLeaderSince is when the operator first found no leader.
	NoLeaderSince metav1.Time `json:"noLeaderSince"`
	// Since is when the operator first found the quorum lost (kept until a
	// leader is back, even if members come back meanwhile).
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// Voters of the last known Raft configuration (a surviving member's,
	// else the one the operator last saw from a leader).
	// +optional
	Voters []string `json:"voters,omitempty"`
	// Quorum is the number of voters a leader needs.
	// +optional
	Quorum int32 `json:"quorum,omitempty"`
	// Members are the voters, each as it answers or why it does not.
	// +optional
	// +listType=map
	// +listMapKey=name
	Members []QuorumMember `json:"members,omitempty"`
}

// QuorumMember is one voter during a quorum check.
type QuorumMember struct {
	// Name of the member (its pod).
	Name string `json:"name"`
	// Answers: its node answered the operator (a surviving member).
	Answers bool `json:"answers"`
	// State of its Raft node (Follower, Candidate) when it answers.
	// +optional
	State string `json:"state,omitempty"`
	// Term is its current Raft term.
	// +optional
	Term int64 `json:"term,omitempty"`
	// CommitIndex is the last Raft log index it knows committed.
	// +optional
	CommitIndex int64 `json:"commitIndex,omitempty"`
	// AppliedIndex is the last Raft log index applied to its state.
	// +optional
	AppliedIndex int64 `json:"appliedIndex,omitempty"`
	// Height of its last block.
	// +optional
	Height int64 `json:"height,omitempty"`
	// Reason it does not answer: NoPod (being recreated with its volume),
	// PodPending, PodTerminating, Unschedulable, VolumeGone, EmptyVolume
	// (it answers with no ledger: its volume was replaced), NotRunning,
	// NoAnswer.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message says more about Reason.
	// +optional
	Message string `json:"message,omitempty"`
}

// RecoveryPhase is the step a recovery is at.
// +kubebuilder:validation:Enum=StoppingNodes;ClearingVolumes;Recovering;Restarting;Completed;Failed
type RecoveryPhase string

// Recovery phases, in order.
const (
	RecoveryStoppingNodes   RecoveryPhase = "StoppingNodes"
	RecoveryClearingVolumes RecoveryPhase = "ClearingVolumes"
	RecoveryRecovering      RecoveryPhase = "Recovering"
	RecoveryRestarting      RecoveryPhase = "Restarting"
	RecoveryCompleted       RecoveryPhase = "Completed"
	RecoveryFailed          RecoveryPhase = "Failed"
)

// RecoveryStatus is a recovery from a quorum loss.
type RecoveryStatus struct {
	// From is the surviving member the ledger is recovered from.
	From string `json:"from"`
	// Phase is the step under way.
	Phase RecoveryPhase `json:"phase"`
	// RequestedAt is when the operator accepted the request.
	RequestedAt metav1.Time `json:"requestedAt"`
	// CompletedAt is when the recovered member led again.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`
	// SurvivorCommitIndex is the commit index From reported when the
	// request was accepted.
	SurvivorCommitIndex int64 `json:"survivorCommitIndex"`
	// SurvivorHeight is its height then.
	// +optional
	SurvivorHeight int64 `json:"survivorHeight,omitempty"`
	// HighestCommitIndex is the highest commit index any member reported
	// (answering then, or last seen by the operator).
	HighestCommitIndex int64 `json:"highestCommitIndex"`
	// Job runs "ledgernode recover" on From's volume.
	// +optional
	Job string `json:"job,omitempty"`
	// Message says what may have been lost, and what is under way.
	// +optional
	Message string `json:"message,omitempty"`
}

// RecoveryRefusal is a refused recovery request.
type RecoveryRefusal struct {
	// From is the member the request named.
	From string `json:"from"`
	// At is when it was refused.
	At metav1.Time `json:"at"`
	// Message says why, and the fix.
	Message string `json:"message"`
}

// LedgerNetwork is a tradeledger network: a StatefulSet of ledger nodes
// replicating with Raft over mutual TLS, with its genesis, CA and keys.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=lnet;lnets,categories=tradeledger
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Leader",type=string,JSONPath=`.status.leader`
// +kubebuilder:printcolumn:name="Height",type=integer,JSONPath=`.status.height`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="has(self.spec.networkID) || self.metadata.name.matches('^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$')",message="metadata.name is not a valid network id (1-64 lower-case letters, digits or '-'): set spec.networkID"
type LedgerNetwork struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec LedgerNetworkSpec `json:"spec,omitempty"`
	// +optional
	Status LedgerNetworkStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// LedgerNetworkList is a list of LedgerNetworks.
type LedgerNetworkList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LedgerNetwork `json:"items"`
}
