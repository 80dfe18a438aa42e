package v1alpha1

// Condition types shared by the kinds. Ready summarises the others: it is
// True only when nothing is progressing and nothing is degraded.
const (
	// ConditionReady says whether the object does what its spec asks.
	ConditionReady = "Ready"
	// ConditionProgressing is True while the operator is moving the object
	// towards its spec (creating, scaling, rolling out, rotating a key).
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when something needs a person's attention.
	ConditionDegraded = "Degraded"

	// ConditionRegistered (AgencyMember) is True once the agency is on the ledger.
	ConditionRegistered = "Registered"
	// ConditionCompiled (CertificatePolicy) is True when every rule compiles.
	ConditionCompiled = "Compiled"
	// ConditionPublished (CertificatePolicy) is True when the ledger holds
	// the current generation of the policy.
	ConditionPublished = "Published"

	// ConditionComplete (LedgerBackup) is True once the backup file is
	// whole; ConditionFailed is True when the backup failed. As a Job's,
	// both are final.
	ConditionComplete = "Complete"
	ConditionFailed   = "Failed"
	// ConditionBackupSucceeded (LedgerNetwork with spec.backup) says how
	// the network's last finished backup ended. It does not count towards
	// Ready: the ledger serves whether or not last night's backup worked.
	ConditionBackupSucceeded = "BackupSucceeded"
	// ConditionCARotation (LedgerNetwork) is True while a CA rotation
	// (spec.tls.caGeneration) is under way, its reason the phase and its
	// message what it waits for; False (reason Complete) once done. It
	// does not count towards Ready: the network serves throughout.
	ConditionCARotation = "CARotation"
	// ConditionRestored (LedgerNetwork with spec.bootstrap.fromBackup) is
	// True once the first node's volume holds the backup's ledger; its
	// message names the backup's head (status.restore has the facts).
	ConditionRestored = "Restored"
)
