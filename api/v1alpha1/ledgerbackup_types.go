package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BackupPhase is a one-word summary of a LedgerBackup; programs read the
// Complete and Failed conditions.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type BackupPhase string

// Phases of a LedgerBackup. Succeeded and Failed are final: a LedgerBackup
// runs once; a new backup is a new object.
const (
	BackupPending   BackupPhase = "Pending"
	BackupRunning   BackupPhase = "Running"
	BackupSucceeded BackupPhase = "Succeeded"
	BackupFailed    BackupPhase = "Failed"
)

// LedgerBackupSpec says what to back up and where the file goes. It is
// immutable: a LedgerBackup runs once.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec is immutable: a LedgerBackup runs once; create a new LedgerBackup for another backup"
type LedgerBackupSpec struct {
	// Network names the LedgerNetwork to back up, in this namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Network string `json:"network"`

	// Storage is the volume the backup file is written to.
	Storage BackupStorage `json:"storage"`

	// Keep, when above 0, deletes all but the Keep newest *.tlbackup files
	// of the backup's directory once this backup is whole (nothing when it
	// fails). A LedgerNetwork's spec.backup sets it to its retention; give
	// such a series a directory of its own.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	Keep int32 `json:"keep,omitempty"`

	// Timeout bounds the copy (default 1h); the Job is stopped 5 minutes
	// after it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('48h')",message="spec.timeout must be between 1m and 48h, e.g. 2h"
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// BackupStorage is where backup files are written: a directory of a
// PersistentVolumeClaim in the backup's namespace.
type BackupStorage struct {
	// ClaimName is the PersistentVolumeClaim, in this namespace. A
	// ReadWriteMany claim lets backups run on any node; a ReadWriteOnce
	// claim ties the backup pod to the node that mounts it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClaimName string `json:"claimName"`

	// SubPath is the directory inside the volume (created when missing);
	// empty means the volume's root. The file is <subPath>/<name>.tlbackup.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(p, p == '..' || p == '.')",message="spec.storage.subPath must be a relative path inside the volume, without '.' or '..'"
	SubPath string `json:"subPath,omitempty"`
}

// LedgerBackupStatus is what the backup did.
type LedgerBackupStatus struct {
	// Phase: Pending, Running, Succeeded or Failed.
	// +optional
	Phase BackupPhase `json:"phase,omitempty"`
	// JobName is the Job that runs ledgerctl backup create.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// File is the backup file's path inside the volume.
	// +optional
	File string `json:"file,omitempty"`
	// Height of the ledger in the backup (its last block).
	// +optional
	Height int64 `json:"height,omitempty"`
	// HeadHash is the hash of that block.
	// +optional
	HeadHash string `json:"headHash,omitempty"`
	// Node is the ledger node that served the backup and signed its head.
	// +optional
	Node string `json:"node,omitempty"`
	// SizeBytes of the backup file.
	// +optional
	SizeBytes int64 `json:"sizeBytes,omitempty"`
	// Duration of the copy, as ledgerctl measured it.
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
	// StartTime is when the operator created the Job.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// CompletionTime is when the operator saw the Job end.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Conditions: Complete (True once the file is whole), Failed (True
	// when the backup failed, with the reason and the fix).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// LedgerBackup is one backup of a LedgerNetwork's ledger to a volume: the
// operator runs `ledgerctl backup create` in a Job (against a follower when
// one is known) and records the height, head hash, size and duration.
// Verify the file with `ledgerctl backup verify` (docs/operations.md).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lbak,categories=tradeledger
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Height",type=integer,JSONPath=`.status.height`
// +kubebuilder:printcolumn:name="Size",type=integer,JSONPath=`.status.sizeBytes`
// +kubebuilder:printcolumn:name="File",type=string,JSONPath=`.status.file`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LedgerBackup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec LedgerBackupSpec `json:"spec"`
	// +optional
	Status LedgerBackupStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// LedgerBackupList is a list of LedgerBackups.
type LedgerBackupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LedgerBackup `json:"items"`
}
