package controllers

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/tradeledger/tradeledger/ledgernode/pki"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// Backups: a LedgerBackup runs `ledgerctl backup create` once, in a Job,
// with an admin client certificate (a read-only identity: it reads
// everything, signs nothing) and writes the file to a volume claim.
const (
	// backupContainer runs ledgerctl in a backup Job's pod.
	backupContainer = "backup"
	// backupMountDir is where the claim is mounted; the file is
	// <backupMountDir>/<spec.storage.subPath>/<name>.tlbackup.
	backupMountDir = "/backup"
	// backupClientDir holds the admin client certificate, its key and the
	// network CA certificate.
	backupClientDir = "/etc/tradeledger/client"
	// backupFileExt is what ledgerctl's --keep counts.
	backupFileExt = ".tlbackup"
	// backupDeadlineMargin: the Job is stopped this long after the copy's
	// own timeout (ledgerctl reports its timeout itself before then).
	backupDeadlineMargin = 5 * time.Minute
	// backupClientValidity of the admin client certificate; it is
	// reissued in the last third.
	backupClientValidity = 30 * 24 * time.Hour

	// LabelBackup names the LedgerBackup a Job and its pod run;
	// LabelScheduled marks the LedgerBackups a network's schedule made.
	LabelBackup    = "ledger.tradeledger.io/backup"
	LabelScheduled = "ledger.tradeledger.io/scheduled"
	// componentBackup is the LabelComponent of backup Jobs and pods,
	// componentBackupClient of the admin client certificate's Secret.
	componentBackup       = "backup"
	componentBackupClient = "backup-client"
)

// backupClientSecretName holds the admin client certificate backup pods
// read with.
func backupClientSecretName(n *ledgerv1.LedgerNetwork) string { return n.Name + "-backup-client" }

// backupJobName is the Job of a LedgerBackup: its name, cut to 63
// characters (a label value holds the Job's name) with a hash of the whole.
func backupJobName(b *ledgerv1.LedgerBackup) string {
	if len(b.Name) <= 63 {
		return b.Name
	}
	sum := sha256.Sum256([]byte(b.Name))
	return strings.TrimRight(b.Name[:54], "-.") + "-" + hex.EncodeToString(sum[:4])
}

// backupFile is the backup file's path inside the volume.
func backupFile(b *ledgerv1.LedgerBackup) string {
	return path.Join(b.Spec.Storage.SubPath, b.Name+backupFileExt)
}

// backupTimeout is the copy's bound.
func backupTimeout(b *ledgerv1.LedgerBackup) time.Duration {
	if t := b.Spec.Timeout; t != nil && t.Duration > 0 {
		return t.Duration
	}
	return ledgerv1.DefaultBackupTimeout
}

// backupServers are the --server URLs of a backup: the reachable followers
// the network's status names (the copy's I/O stays off the leader), then
// the client Service (any ready node) should none of them answer.
func backupServers(n *ledgerv1.LedgerNetwork, clusterDomain string) []string {
	var urls []string
	members := slices.Clone(n.Status.Members)
	slices.SortFunc(members, func(a, b ledgerv1.MemberStatus) int { return strings.Compare(a.Name, b.Name) })
	for _, m := range members {
		if m.Leader || !m.Reachable || m.Name == n.Status.Leader || ordinalOf(n, m.Name) < 0 {
			continue
		}
		urls = append(urls, "https://"+net.JoinHostPort(podFQDN(n, m.Name, clusterDomain), strconv.Itoa(APIPort)))
	}
	host := fmt.Sprintf("%s.%s.svc.%s", clientServiceName(n), n.Namespace, clusterDomain)
	return append(urls, "https://"+net.JoinHostPort(host, strconv.Itoa(APIPort)))
}

// backupLabels go on a backup's Job and its pod: the operator's cache
// holds only pods labelled managed-by.
func backupLabels(b *ledgerv1.LedgerBackup) map[string]string {
	return map[string]string{LabelName: "tradeledger", LabelInstance: b.Spec.Network, LabelComponent: componentBackup,
		LabelManagedBy: ManagedBy, LabelBackup: b.Name}
}

// backupOwnerRef makes the LedgerBackup the controller of its Job.
func backupOwnerRef(b *ledgerv1.LedgerBackup) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: ledgerv1.GroupVersion.String(), Kind: "LedgerBackup", Name: b.Name, UID: b.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
}

// buildBackupJob runs `ledgerctl backup create` once: the network's node
// image, the admin client certificate mounted read-only (its files, never
// its values, are named in the arguments), the claim at the backup's
// subPath, and the summary written to the termination message, where the
// operator reads the figures. One attempt: a failed backup is reported,
// and the next one is a new LedgerBackup.
func buildBackupJob(b *ledgerv1.LedgerBackup, n *ledgerv1.LedgerNetwork, cfg BuildConfig) *batchv1.Job {
	image := n.Spec.Image
	if image == "" {
		image = cfg.DefaultImage
	}
	timeout := backupTimeout(b)
	args := []string{"backup", "create", path.Join(backupMountDir, backupFile(b)),
		"--server", strings.Join(backupServers(n, cfg.ClusterDomain), ","),
		"--ca", path.Join(backupClientDir, caCertKey),
		"--cert", path.Join(backupClientDir, corev1.TLSCertKey),
		"--cert-key", path.Join(backupClientDir, corev1.TLSPrivateKeyKey),
		"--network", networkID(n),
		"--timeout", timeout.String(),
		"--summary-file", corev1.TerminationMessagePathDefault,
	}
	if b.Spec.Keep > 0 {
		args = append(args, "--keep", strconv.Itoa(int(b.Spec.Keep)))
	}
	labels := backupLabels(b)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: backupJobName(b), Namespace: b.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{backupOwnerRef(b)}},
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: ptr.To(int64((timeout + backupDeadlineMargin).Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](nodeUID), RunAsGroup: ptr.To[int64](nodeUID),
						FSGroup:        ptr.To[int64](nodeUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            backupContainer,
						Image:           image,
						ImagePullPolicy: n.Spec.ImagePullPolicy,
						Command:         []string{"ledgerctl"},
						Args:            args,
						// ledgerctl keeps a session file under the user's
						// cache directory; the root file system is read-only.
						Env: []corev1.EnvVar{{Name: "HOME", Value: "/tmp"}, {Name: "XDG_CACHE_HOME", Value: "/tmp"}},
						// A ledgerctl that died before writing its summary
						// still leaves the end of its log.
						TerminationMessagePath:   corev1.TerminationMessagePathDefault,
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						VolumeMounts: []corev1.VolumeMount{
							// The whole claim: ledgerctl creates the subPath
							// directory as the pod's user. A volumeMount subPath
							// would have the kubelet create it, owned by root
							// and not writable for uid 65532 (kubernetes#95945).
							{Name: "backup", MountPath: backupMountDir},
							{Name: "client", MountPath: backupClientDir, ReadOnly: true},
							{Name: "tmp", MountPath: "/tmp"},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "backup", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
							ClaimName: b.Spec.Storage.ClaimName}}},
						{Name: "client", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: backupClientSecretName(n), DefaultMode: ptr.To[int32](0o440)}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
				},
			},
		},
	}
}

// buildBackupClientSecret holds an admin client certificate from the
// network CA, for backup pods: with it a pod reads as the admin (the
// backup route takes admin or node), but it signs nothing: writes and
// cluster operations need the admin key, which no pod sees.
// ca.crt is the network's trust bundle (both CAs during a rotation).
func buildBackupClientSecret(n *ledgerv1.LedgerNetwork, ca *pki.CA, trustPEM []byte, now time.Time) (*corev1.Secret, error) {
	validity := min(backupClientValidity, ca.Cert.NotAfter.Sub(now))
	if validity <= 0 {
		return nil, fmt.Errorf("the network CA expired at %s: no client certificate can be issued", ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	crt, key, err := ca.IssueClient("admin", now, validity)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{ObjectMeta: childMeta(n, backupClientSecretName(n), componentBackupClient), Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key, caCertKey: trustPEM}}, nil
}

// backupClientDue says whether the backup client Secret must be (re)issued:
// unreadable, with another trust bundle than the network's, issued by
// another CA than the issuing one, or in the last third of its validity.
func backupClientDue(sec *corev1.Secret, trustPEM []byte, issuer *x509.Certificate, now time.Time) bool {
	if sec == nil || string(sec.Data[caCertKey]) != string(trustPEM) || len(sec.Data[corev1.TLSPrivateKeyKey]) == 0 {
		return true
	}
	block, _ := pem.Decode(sec.Data[corev1.TLSCertKey])
	if block == nil {
		return true
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil || pki.ClientIdentityOf(c) != "admin" || c.CheckSignatureFrom(issuer) != nil {
		return true
	}
	return now.After(c.NotAfter.Add(-c.NotAfter.Sub(c.NotBefore) / 3))
}

// backupSummary is the line `ledgerctl backup create --summary-file` writes.
type backupSummary struct {
	File      string  `json:"file"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	Network   string  `json:"network"`
	Height    int64   `json:"height"`
	BlockHash string  `json:"blockHash"`
	Node      string  `json:"node"`
	Error     string  `json:"error"`
}

// parseBackupSummary reads a backup pod's termination message.
func parseBackupSummary(msg string) (backupSummary, error) {
	return parseSummary(msg, "ledgerctl's summary", func(s backupSummary) error {
		if s.Error == "" && (s.Height < 0 || s.BlockHash == "" || s.Bytes <= 0) {
			return errors.New("the summary lacks the backup's height, head hash or size")
		}
		return nil
	})
}

// parseSummary reads the JSON summary a Job's pod leaves as its
// termination message (--summary-file); what names the command that
// writes it, complete says what a summary without an error must hold.
func parseSummary[T any](msg, what string, complete func(T) error) (T, error) {
	var s T
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return s, errors.New("the pod left no termination message")
	}
	if err := json.Unmarshal([]byte(msg), &s); err != nil {
		return s, fmt.Errorf("the termination message is not %s: %w", what, err)
	}
	return s, complete(s)
}

// backupFailureFix names what to do about a failed backup, from its error.
func backupFailureFix(b *ledgerv1.LedgerBackup, msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "deadline") || strings.Contains(m, "context deadline exceeded") || strings.Contains(m, "timeout"):
		return fmt.Sprintf("the copy took longer than spec.timeout (%s): create a new LedgerBackup with a longer spec.timeout", backupTimeout(b))
	case strings.Contains(m, "no space left"):
		return fmt.Sprintf("PersistentVolumeClaim %s is full: delete old backups from it (or set spec.backup.retention lower) or resize it, then create a new LedgerBackup", b.Spec.Storage.ClaimName)
	case strings.Contains(m, "permission denied") || strings.Contains(m, "read-only file system"):
		return fmt.Sprintf("the pod (uid %d, fsGroup %d) cannot write to PersistentVolumeClaim %s at %q: make the directory writable for that uid or group", nodeUID, nodeUID, b.Spec.Storage.ClaimName, b.Spec.Storage.SubPath)
	case strings.Contains(m, "exists"):
		return "a file of this name is already in the directory: delete it or create the LedgerBackup under another name"
	case strings.Contains(m, "unauthenticated") || strings.Contains(m, "forbidden") || strings.Contains(m, "certificate"):
		return fmt.Sprintf("the nodes refused the admin client certificate in Secret %s-backup-client: delete that Secret (the operator issues a new one from the network CA) and create a new LedgerBackup", b.Spec.Network)
	case strings.Contains(m, "no node served") || strings.Contains(m, "connection refused") || strings.Contains(m, "no such host") || strings.Contains(m, "unavailable"):
		return fmt.Sprintf("no node of LedgerNetwork %s answered: check that the network is Ready (kubectl get lnet %s), then create a new LedgerBackup", b.Spec.Network, b.Spec.Network)
	}
	return "see the pod's log (kubectl logs job/" + backupJobName(b) + "), fix the cause and create a new LedgerBackup"
}

// scheduledBackupName names the backup due at t: the network's name and
// the time (UTC, to the minute), so that a second pass for the same time
// finds the first one's backup.
func scheduledBackupName(n *ledgerv1.LedgerNetwork, t time.Time) string {
	return n.Name + "-" + t.UTC().Format("20060102-1504")
}

// parseBackupSchedule reads spec.backup.schedule: 5 cron fields or a
// descriptor (@daily), in UTC.
func parseBackupSchedule(spec string) (cron.Schedule, error) {
	if strings.HasPrefix(strings.TrimSpace(spec), "TZ=") || strings.HasPrefix(strings.TrimSpace(spec), "CRON_TZ=") {
		return nil, errors.New("time zones are not supported: the schedule is in UTC")
	}
	return cron.ParseStandard(spec)
}

// maxMissed bounds how far back missed schedule times are looked for: only
// the latest missed time runs, and a backup missed a week ago is not worth
// counting the minutes since.
const maxMissed = 7 * 24 * time.Hour

// backupDue says which schedule time, if any, a backup is due for at now:
// the latest time after last (the last time a backup was made for, or the
// network's creation) that is not after now. next is the first time after
// now.
func backupDue(s cron.Schedule, last, now time.Time) (due time.Time, next time.Time) {
	if last.Before(now.Add(-maxMissed)) {
		last = now.Add(-maxMissed)
	}
	for t := s.Next(last); !t.IsZero() && !t.After(now); t = s.Next(t) {
		due = t
	}
	return due, s.Next(now)
}

// expiredBackups says which of a network's scheduled LedgerBackups go:
// the succeeded ones beyond the newest retention, and the failed ones
// older than the oldest that is kept and those beyond the newest retention
// failures (a newer failure stays, to be read). Unfinished backups never go. Newest is by name (scheduled names carry
// their time), then creation.
func expiredBackups(backups []ledgerv1.LedgerBackup, retention int) []string {
	if retention <= 0 {
		retention = int(ledgerv1.DefaultBackupRetention)
	}
	sorted := slices.Clone(backups)
	slices.SortFunc(sorted, func(a, b ledgerv1.LedgerBackup) int {
		if c := strings.Compare(b.Name, a.Name); c != 0 {
			return c
		}
		return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
	})
	var expired []string
	kept, failed := 0, 0
	for _, b := range sorted {
		switch b.Status.Phase {
		case ledgerv1.BackupSucceeded:
			if kept < retention {
				kept++
				continue
			}
			expired = append(expired, b.Name)
		case ledgerv1.BackupFailed:
			if kept < retention && failed < retention {
				failed++
				continue
			}
			expired = append(expired, b.Name)
		}
	}
	slices.Sort(expired)
	return expired
}
