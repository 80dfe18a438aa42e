package controllers

import (
	"crypto/x509"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/pki"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

func testBackup(mut ...func(*ledgerv1.LedgerBackup)) *ledgerv1.LedgerBackup {
	b := &ledgerv1.LedgerBackup{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "trade", UID: "uid-b"},
		Spec: ledgerv1.LedgerBackupSpec{Network: "customs",
			Storage: ledgerv1.BackupStorage{ClaimName: "backups", SubPath: "customs/daily"}},
	}
	for _, m := range mut {
		m(b)
	}
	return b
}

func TestBackupJobNamesFitALabelValueAndStayDistinct(t *testing.T) {
	long := strings.Repeat("a", 70)
	for _, tc := range []struct{ name, want string }{
		{"nightly", "nightly"},
		{strings.Repeat("b", 63), strings.Repeat("b", 63)},
	} {
		if got := backupJobName(testBackup(func(b *ledgerv1.LedgerBackup) { b.Name = tc.name })); got != tc.want {
			t.Errorf("job name of %q = %q, want %q", tc.name, got, tc.want)
		}
	}
	a := backupJobName(testBackup(func(b *ledgerv1.LedgerBackup) { b.Name = long + "-1" }))
	b := backupJobName(testBackup(func(b *ledgerv1.LedgerBackup) { b.Name = long + "-2" }))
	if len(a) > 63 || len(b) > 63 || a == b || !strings.HasPrefix(a, strings.Repeat("a", 54)) {
		t.Errorf("long names: %q and %q: want distinct names of at most 63 characters keeping the prefix", a, b)
	}
}

func TestScheduledBackupsAreNamedByTheirTimeInUTC(t *testing.T) {
	n := testNetwork()
	at := time.Date(2026, 12, 2, 3, 4, 59, 0, time.FixedZone("X", 5*3600))
	if got, want := scheduledBackupName(n, at), "customs-20261201-2204"; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
}

func TestBackupDueIsTheLatestMissedTimeAndNextIsAfterNow(t *testing.T) {
	hourly, err := parseBackupSchedule("0 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	daily, err := parseBackupSchedule("30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 12, 2, h, m, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name            string
		spec            string
		last, now       time.Time
		wantDue, wantNx time.Time
	}{
		{"nothing due before the first time", "hourly", at(9, 10), at(9, 59), time.Time{}, at(10, 0)},
		{"due exactly at the time", "hourly", at(9, 10), at(10, 0), at(10, 0), at(11, 0)},
		{"the time just made is not due again", "hourly", at(10, 0), at(10, 30), time.Time{}, at(11, 0)},
		{"several missed: only the latest runs", "hourly", at(6, 0), at(9, 15), at(9, 0), at(10, 0)},
		{"daily at 02:30 UTC", "daily", at(0, 0), at(3, 0), at(2, 30), at(2, 30).Add(24 * time.Hour)},
		{"a month away is looked back on a week only", "hourly", at(9, 0).Add(-30 * 24 * time.Hour), at(9, 30), at(9, 0), at(10, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := hourly
			if tc.spec == "daily" {
				s = daily
			}
			due, next := backupDue(s, tc.last, tc.now)
			if !due.Equal(tc.wantDue) || !next.Equal(tc.wantNx) {
				t.Errorf("due %v next %v, want due %v next %v", due, next, tc.wantDue, tc.wantNx)
			}
		})
	}
}

func TestBackupSchedulesAreFiveFieldCronInUTC(t *testing.T) {
	for _, ok := range []string{"0 2 * * *", "*/15 * * * *", "@daily", "0 3 * * 1-5"} {
		if _, err := parseBackupSchedule(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "0 2 * *", "0 0 2 * * *", "61 * * * *", "CRON_TZ=Europe/Paris 0 2 * * *", "daily"} {
		if _, err := parseBackupSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRetentionKeepsTheNewestSuccessesAndNeverARunningBackup(t *testing.T) {
	bk := func(name string, phase ledgerv1.BackupPhase) ledgerv1.LedgerBackup {
		return ledgerv1.LedgerBackup{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: ledgerv1.LedgerBackupStatus{Phase: phase}}
	}
	ok, failed, running := ledgerv1.BackupSucceeded, ledgerv1.BackupFailed, ledgerv1.BackupRunning
	for _, tc := range []struct {
		name      string
		backups   []ledgerv1.LedgerBackup
		retention int
		want      []string
	}{
		{"within retention", []ledgerv1.LedgerBackup{bk("n-01", ok), bk("n-02", ok)}, 2, nil},
		{"the oldest success goes", []ledgerv1.LedgerBackup{bk("n-03", ok), bk("n-01", ok), bk("n-02", ok)}, 2, []string{"n-01"}},
		{"a running backup is never deleted nor counted", []ledgerv1.LedgerBackup{bk("n-01", running), bk("n-02", ok), bk("n-03", ok), bk("n-04", running)}, 1, []string{"n-02"}},
		{"a newer failure stays, an older one goes", []ledgerv1.LedgerBackup{bk("n-01", failed), bk("n-02", ok), bk("n-03", failed)}, 1, []string{"n-01"}},
		{"failures alone are bounded by the retention", []ledgerv1.LedgerBackup{bk("n-01", failed), bk("n-02", failed), bk("n-03", failed)}, 2, []string{"n-01"}},
		{"zero means the default (7)", []ledgerv1.LedgerBackup{bk("n-01", ok), bk("n-02", ok)}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := expiredBackups(tc.backups, tc.retention); !slices.Equal(got, tc.want) {
				t.Errorf("expired %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBackupServersAreTheReachableFollowersThenTheClientService(t *testing.T) {
	n := testNetwork(func(n *ledgerv1.LedgerNetwork) {
		n.Status.Leader = "customs-0"
		n.Status.Members = []ledgerv1.MemberStatus{
			{Name: "customs-2", Reachable: true}, {Name: "customs-0", Leader: true, Reachable: true}, {Name: "customs-1", Reachable: false},
		}
	})
	got := backupServers(n, "cluster.local")
	want := []string{"https://customs-2.customs-peers.trade.svc.cluster.local:8443", "https://customs.trade.svc.cluster.local:8443"}
	if !slices.Equal(got, want) {
		t.Errorf("servers %v, want %v", got, want)
	}
	if got := backupServers(testNetwork(), "cluster.local"); !slices.Equal(got, want[1:]) {
		t.Errorf("no members known: servers %v, want the client Service alone", got)
	}
}

func TestBackupJobRunsLedgerctlOnceWithTheClientCertificateMountedReadOnly(t *testing.T) {
	n := testNetwork(func(n *ledgerv1.LedgerNetwork) { n.Spec.Image = "tradeledger:1.2" })
	b := testBackup(func(b *ledgerv1.LedgerBackup) {
		b.Spec.Keep = 3
		b.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Hour}
	})
	job := buildBackupJob(b, n, testBuild("default"))
	if *job.Spec.BackoffLimit != 0 || job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("backoffLimit %d, restartPolicy %s: a backup runs once", *job.Spec.BackoffLimit, job.Spec.Template.Spec.RestartPolicy)
	}
	if got := *job.Spec.ActiveDeadlineSeconds; got != int64((2*time.Hour + backupDeadlineMargin).Seconds()) {
		t.Errorf("activeDeadlineSeconds %d", got)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if c.Image != "tradeledger:1.2" || !slices.Equal(c.Command, []string{"ledgerctl"}) {
		t.Errorf("image %q command %v", c.Image, c.Command)
	}
	args := strings.Join(c.Args, " ")
	for _, w := range []string{"backup create /backup/customs/daily/nightly.tlbackup", "--ca /etc/tradeledger/client/ca.crt", "--cert /etc/tradeledger/client/tls.crt",
		"--cert-key /etc/tradeledger/client/tls.key", "--timeout 2h0m0s", "--summary-file /dev/termination-log", "--keep 3", "--network customs"} {
		if !strings.Contains(args, w) {
			t.Errorf("args %q lack %q", args, w)
		}
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("terminationMessagePolicy %s", c.TerminationMessagePolicy)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	// The whole claim, not a volumeMount subPath: the kubelet would create
	// that directory owned by root, not writable for the pod's user.
	if m := mounts["backup"]; m.MountPath != "/backup" || m.SubPath != "" || m.ReadOnly {
		t.Errorf("backup mount %+v", m)
	}
	if m := mounts["client"]; !m.ReadOnly {
		t.Errorf("client certificate mounted writable: %+v", m)
	}
	for _, v := range job.Spec.Template.Spec.Volumes {
		switch v.Name {
		case "backup":
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "backups" {
				t.Errorf("backup volume %+v", v)
			}
		case "client":
			if v.Secret == nil || v.Secret.SecretName != "customs-backup-client" {
				t.Errorf("client volume %+v", v)
			}
		}
	}
	for _, l := range []map[string]string{job.Labels, job.Spec.Template.Labels} {
		if l[LabelManagedBy] != ManagedBy || l[LabelBackup] != "nightly" {
			t.Errorf("labels %v: the operator's cache sees only managed-by objects", l)
		}
	}
	if !metav1.IsControlledBy(job, b) {
		t.Error("the Job is not controlled by its LedgerBackup")
	}
	if testBackup().Spec.Keep == 0 && strings.Contains(strings.Join(buildBackupJob(testBackup(), n, testBuild("d")).Spec.Template.Spec.Containers[0].Args, " "), "--keep") {
		t.Error("a backup without spec.keep passes --keep")
	}
}

func TestTheBackupClientCertificateIsTheAdminsAndReissuedWhenDue(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("customs", now, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	n := testNetwork()
	sec, err := buildBackupClientSecret(n, ca, ca.CertPEM, now)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(sec.Data[corev1.TLSCertKey])
	crt, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if _, err := crt.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the client certificate does not verify against the network CA: %v", err)
	}
	if pki.ClientIdentityOf(crt) != "admin" || pki.NodeIDOf(crt) != "" {
		t.Errorf("identity %q node %q: want the admin client", pki.ClientIdentityOf(crt), pki.NodeIDOf(crt))
	}
	if _, ok := sec.Data[caKeyKey]; ok {
		t.Error("the Secret holds the CA key")
	}
	next, err := pki.NewCA("customs 2", now, 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		at     time.Time
		trust  []byte
		issuer *x509.Certificate
		want   bool
	}{
		{"fresh", now, ca.CertPEM, ca.Cert, false},
		{"in the last third", now.Add(backupClientValidity * 2 / 3).Add(time.Hour), ca.CertPEM, ca.Cert, true},
		{"another trust bundle (a rotation bundles a new CA)", now, append(append([]byte{}, ca.CertPEM...), next.CertPEM...), ca.Cert, true},
		{"another issuing CA (a rotation made the new CA issue)", now, ca.CertPEM, next.Cert, true},
	} {
		if got := backupClientDue(sec, tc.trust, tc.issuer, tc.at); got != tc.want {
			t.Errorf("%s: due %v, want %v", tc.name, got, tc.want)
		}
	}
	if !backupClientDue(nil, ca.CertPEM, ca.Cert, now) {
		t.Error("a missing Secret is not due")
	}
}

func TestTheBackupSummaryIsReadAndAFailureNamesItsFix(t *testing.T) {
	s, err := parseBackupSummary(`{"file":"/backup/x.tlbackup","bytes":4096,"seconds":1.5,"network":"customs","height":12,"blockHash":"ab12","node":"customs-1","createdAt":"2026-12-02T10:00:00Z"}` + "\n")
	if err != nil || s.Height != 12 || s.Bytes != 4096 || s.BlockHash != "ab12" || s.Node != "customs-1" || s.Seconds != 1.5 {
		t.Errorf("summary %+v %v", s, err)
	}
	for _, bad := range []string{"", "panic: oops", `{"file":"x"}`} {
		if _, err := parseBackupSummary(bad); err == nil {
			t.Errorf("%q read as a summary", bad)
		}
	}
	if s, err := parseBackupSummary(`{"error":"no node served a backup"}`); err != nil || s.Error == "" {
		t.Errorf("an error summary: %+v %v", s, err)
	}
	b := testBackup()
	for msg, want := range map[string]string{
		"context deadline exceeded":                                 "spec.timeout",
		"write /backup/x.tlbackup.partial: no space left on device": "PersistentVolumeClaim backups is full",
		"open /backup/x.tlbackup.partial: permission denied":        "uid 65532",
		"no node served a backup: dial tcp: connection refused":     "kubectl get lnet customs",
		"forbidden: admin (admin) may not read":                     "customs-backup-client",
		"something else":                                            "kubectl logs job/nightly",
	} {
		if got := backupFailureFix(b, msg); !strings.Contains(got, want) {
			t.Errorf("fix for %q: %q lacks %q", msg, got, want)
		}
	}
}

func TestAScheduledBackupWaitsForARunningOneOrAnUnfinishedScheduledOneOnly(t *testing.T) {
	n := testNetwork()
	bk := func(name string, phase ledgerv1.BackupPhase, job string, scheduled bool) ledgerv1.LedgerBackup {
		b := ledgerv1.LedgerBackup{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: ledgerv1.LedgerBackupStatus{Phase: phase, JobName: job}}
		if scheduled {
			b.Labels = map[string]string{LabelScheduled: "true"}
			b.OwnerReferences = []metav1.OwnerReference{ownerRef(n)}
		}
		return b
	}
	ok, pending, running := ledgerv1.BackupSucceeded, ledgerv1.BackupPending, ledgerv1.BackupRunning
	for _, tc := range []struct {
		name    string
		backups []ledgerv1.LedgerBackup
		want    string
	}{
		{"none", nil, ""},
		{"all ended", []ledgerv1.LedgerBackup{bk("a", ok, "a", true), bk("b", ledgerv1.BackupFailed, "b", false)}, ""},
		{"a one-off whose Job runs", []ledgerv1.LedgerBackup{bk("manual", running, "manual", false)}, "manual"},
		{"a one-off that never started (no claim) does not hold the schedule", []ledgerv1.LedgerBackup{bk("manual", pending, "", false)}, ""},
		{"a scheduled one not started yet", []ledgerv1.LedgerBackup{bk("customs-1", pending, "", true)}, "customs-1"},
		{"the first by name", []ledgerv1.LedgerBackup{bk("z", running, "z", false), bk("customs-1", pending, "customs-1", true)}, "customs-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := blockingBackup(tc.backups, n); got != tc.want {
				t.Errorf("blocking %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTheNetworksBackupConditionIsTheNewestEndedBackupAndLastBackupTheNewestSuccess(t *testing.T) {
	at := func(m int) *metav1.Time { t := metav1.NewTime(time.Date(2026, 12, 2, 2, m, 0, 0, time.UTC)); return &t }
	bk := func(name string, phase ledgerv1.BackupPhase, done *metav1.Time, failure string) ledgerv1.LedgerBackup {
		b := ledgerv1.LedgerBackup{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: ledgerv1.LedgerBackupStatus{Phase: phase, CompletionTime: done, Height: 42, File: "customs/" + name + ".tlbackup"}}
		if failure != "" {
			b.Status.Conditions = []metav1.Condition{{Type: ledgerv1.ConditionFailed, Status: metav1.ConditionTrue, Message: "backup failed: " + failure}}
		}
		return b
	}
	ok, failed := ledgerv1.BackupSucceeded, ledgerv1.BackupFailed
	for _, tc := range []struct {
		name                 string
		backups              []ledgerv1.LedgerBackup
		wantLast             string
		wantStatus           metav1.ConditionStatus
		wantReason, wantText string
	}{
		{"none ended", []ledgerv1.LedgerBackup{bk("running", ledgerv1.BackupRunning, nil, "")}, "", metav1.ConditionUnknown, "NoBackupYet", "no backup"},
		{"the newest succeeded", []ledgerv1.LedgerBackup{bk("b", ok, at(5), ""), bk("a", failed, at(1), "x")}, "b", metav1.ConditionTrue, reasonBackupComplete, "LedgerBackup b: height 42"},
		{"the newest failed: the last success stays known", []ledgerv1.LedgerBackup{bk("a", ok, at(1), ""), bk("b", failed, at(5), "no space left. Fix: ...")},
			"a", metav1.ConditionFalse, reasonBackupFailed, "LedgerBackup b failed: no space left. Fix:"},
		{"a tie in completion goes to the later name (scheduled names carry their time)", []ledgerv1.LedgerBackup{bk("customs-0200", ok, at(5), ""), bk("customs-0300", ok, at(5), "")},
			"customs-0300", metav1.ConditionTrue, reasonBackupComplete, "customs-0300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			last, finished := newestBackups(tc.backups)
			got := ""
			if last != nil {
				got = last.Name
			}
			if got != tc.wantLast {
				t.Errorf("last success %q, want %q", got, tc.wantLast)
			}
			c := backupCondition(finished)
			if c.Type != ledgerv1.ConditionBackupSucceeded || c.Status != tc.wantStatus || c.Reason != tc.wantReason || !strings.Contains(c.Message, tc.wantText) {
				t.Errorf("condition %+v, want %s %s %q", c, tc.wantStatus, tc.wantReason, tc.wantText)
			}
		})
	}
}
