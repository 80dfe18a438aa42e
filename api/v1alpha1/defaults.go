package v1alpha1

import "time"

// The defaults of the specs, one place for each. Where the API server fills
// the default (a +kubebuilder:default marker on the field), the marker must
// hold a literal, so it repeats the value here: TestCRDDefaultsAreTheConstants
// reads the generated CRDs and fails when the two differ. The operator's
// builders fall back to these constants for objects the API server did not
// default (built in memory, or stored before a default was added).
const (
	// DefaultReplicas of a LedgerNetwork (spec.replicas).
	DefaultReplicas int32 = 3
	// DefaultStorageSize of each node's volume (spec.storage.size).
	DefaultStorageSize = "1Gi"
	// DefaultLogLevel of the nodes (spec.logLevel).
	DefaultLogLevel = "info"
	// DefaultDeletionPolicy keeps the volumes and identity (spec.deletionPolicy).
	DefaultDeletionPolicy = DeletionRetain
	// DefaultScrapeAnnotations: node pods carry Prometheus scrape
	// annotations (spec.monitoring.scrapeAnnotations).
	DefaultScrapeAnnotations = true
	// DefaultBackupRetention: scheduled backups kept (spec.backup.retention).
	DefaultBackupRetention int32 = 7
	// DefaultBackupTimeout bounds a backup's copy when spec.timeout (or
	// spec.backup.timeout) is not set; no marker: the field stays unset.
	DefaultBackupTimeout = time.Hour
	// DefaultRestoreTimeout bounds the restore Job when
	// spec.bootstrap.fromBackup.timeout is not set.
	DefaultRestoreTimeout = time.Hour
)
