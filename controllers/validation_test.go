package controllers

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// expectRefused asserts that the API server refused a write as invalid,
// with a message that contains want.
func expectRefused(err error, want string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	Expect(err.Error()).To(ContainSubstring(want))
}

// update changes an object as the API server holds it now, retrying
// when the operator wrote it in between.
func update[T client.Object](obj T, edit func(T)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		edit(obj)
		return k8sClient.Update(suiteCtx, obj)
	})
}

var _ = Describe("CRD validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace(nil) })

	network := func(name string) *ledgerv1.LedgerNetwork {
		return &ledgerv1.LedgerNetwork{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	}

	DescribeTable("LedgerNetwork replicas other than 1, 3, 5 or 7 are refused with the reason",
		func(replicas int32) {
			n := network("net")
			n.Spec.Replicas = replicas
			expectRefused(k8sClient.Create(suiteCtx, n), "spec.replicas must be 1, 3, 5 or 7")
		},
		Entry("2", int32(2)), Entry("4", int32(4)), Entry("6", int32(6)), Entry("9", int32(9)), Entry("-1", int32(-1)),
	)

	It("accepts 1, 3, 5 and 7 replicas and fills the defaults", func() {
		for _, r := range []int32{1, 3, 5, 7} {
			n := network("ok-" + string(rune('a'+r)))
			n.Spec.Replicas = r
			Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		}
		n := network("defaults")
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		Expect(n.Spec.Replicas).To(Equal(int32(3)))
		Expect(n.Spec.DeletionPolicy).To(Equal(ledgerv1.DeletionRetain))
		Expect(n.Spec.Storage.Size).To(HaveValue(Equal(resource.MustParse("1Gi"))))
		Expect(n.Spec.LogLevel).To(Equal("info"))
	})

	It("refuses a name that is no network id unless spec.networkID is set", func() {
		expectRefused(k8sClient.Create(suiteCtx, network("my.net")), "set spec.networkID")
		n := network("my.net")
		n.Spec.NetworkID = "my-net"
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
	})

	It("refuses to change the network id or the storage", func() {
		n := network("fixed")
		n.Spec.NetworkID = "fixed"
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		expectRefused(update(n, func(n *ledgerv1.LedgerNetwork) { n.Spec.NetworkID = "other" }), "spec.networkID is immutable")
		expectRefused(update(n, func(n *ledgerv1.LedgerNetwork) { n.Spec.Storage.Size = ptr.To(resource.MustParse("5Gi")) }),
			"spec.storage is immutable")
	})

	It("refuses a batching delay out of range", func() {
		n := network("slow")
		n.Spec.Batching.MaxDelay = &metav1.Duration{Duration: 11e9}
		expectRefused(k8sClient.Create(suiteCtx, n), "spec.batching.maxDelay must be between 0s and 10s")
	})

	agency := func() *ledgerv1.AgencyMember {
		am := &ledgerv1.AgencyMember{}
		sample(sampleAgency, am, ns)
		return am
	}

	It("refuses an AgencyMember with both or neither kind of keys", func() {
		am := agency()
		am.Spec.Keys.PublicKeys = []string{"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
		expectRefused(k8sClient.Create(suiteCtx, am), "spec.keys: set exactly one of managed")
		am = agency()
		am.Spec.Keys.Managed = nil
		am.Spec.KeyRotation = nil
		expectRefused(k8sClient.Create(suiteCtx, am), "spec.keys: set exactly one of managed")
	})

	It("refuses key rotation for keys the operator does not hold", func() {
		am := agency()
		am.Spec.Keys = ledgerv1.AgencyKeys{PublicKeys: []string{"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}
		expectRefused(k8sClient.Create(suiteCtx, am), "spec.keyRotation needs spec.keys.managed")
	})

	It("refuses to change an agency's id, country or network", func() {
		am := agency()
		Expect(k8sClient.Create(suiteCtx, am)).To(Succeed())
		for _, change := range []struct {
			edit func(*ledgerv1.AgencyMember)
			want string
		}{
			{func(a *ledgerv1.AgencyMember) { a.Spec.AgencyID = "other" }, "spec.agencyID is immutable"},
			{func(a *ledgerv1.AgencyMember) { a.Spec.Country = "MX" }, "spec.country is immutable"},
			{func(a *ledgerv1.AgencyMember) { a.Spec.NetworkRef.Name = "other" }, "spec.networkRef is immutable"},
		} {
			expectRefused(update(am.DeepCopy(), change.edit), change.want)
		}
	})

	It("refuses malformed agency fields", func() {
		am := agency()
		am.Spec.Country = "usa"
		expectRefused(k8sClient.Create(suiteCtx, am), "spec.country")
		am = agency()
		am.Spec.Programs = []string{"usmca"}
		expectRefused(k8sClient.Create(suiteCtx, am), "spec.programs[0]")
		am = agency()
		am.Spec.Roles = []string{"sanctions"}
		expectRefused(k8sClient.Create(suiteCtx, am), "spec.roles[0]")
		am = agency()
		am.Spec.KeyRotation.Every = &metav1.Duration{Duration: 1e9}
		expectRefused(k8sClient.Create(suiteCtx, am), "spec.keyRotation.every must be at least 1m")
	})

	policy := func() *ledgerv1.CertificatePolicy {
		cp := &ledgerv1.CertificatePolicy{}
		sample(samplePolicy, cp, ns)
		return cp
	}

	It("refuses a CertificatePolicy without rules, with an unknown enforcement or duplicate rule names", func() {
		cp := policy()
		cp.Spec.Rules = nil
		expectRefused(k8sClient.Create(suiteCtx, cp), "spec.rules")
		cp = policy()
		cp.Spec.Enforcement = "Block"
		expectRefused(k8sClient.Create(suiteCtx, cp), `spec.enforcement: Unsupported value: "Block"`)
		cp = policy()
		cp.Spec.Rules = append(cp.Spec.Rules, cp.Spec.Rules[0])
		expectRefused(k8sClient.Create(suiteCtx, cp), "Duplicate value")
		cp = policy()
		cp.Spec.Scope.HSPrefixes = []string{"98"}
		expectRefused(k8sClient.Create(suiteCtx, cp), "spec.scope.hsPrefixes[0]")
	})

	It("refuses a policy name longer than a ledger policy id", func() {
		cp := policy()
		cp.Name = strings.Repeat("p", 65)
		expectRefused(k8sClient.Create(suiteCtx, cp), "metadata.name is the policy's id on the ledger")
	})

	It("shows replicas, ready, leader, height and age as kubectl columns", func() {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		gr := schema.GroupResource{Group: ledgerv1.GroupVersion.Group, Resource: "ledgernetworks"}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Name: gr.String()}, crd)).To(Succeed())
		var cols []string
		for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
			if c.Priority == 0 {
				cols = append(cols, c.Name)
			}
		}
		Expect(cols).To(Equal([]string{"Replicas", "Ready", "Leader", "Height", "Age"}))
		Expect(crd.Spec.Versions[0].Subresources.Scale).NotTo(BeNil())
	})

	backup := func(name string, mutate func(*ledgerv1.LedgerBackup)) *ledgerv1.LedgerBackup {
		b := &ledgerv1.LedgerBackup{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: ledgerv1.LedgerBackupSpec{Network: "customs", Storage: ledgerv1.BackupStorage{ClaimName: "backups", SubPath: "customs/daily"}}}
		if mutate != nil {
			mutate(b)
		}
		return b
	}

	DescribeTable("LedgerBackup refuses a subPath outside the volume and a timeout out of range, naming the field",
		func(mutate func(*ledgerv1.LedgerBackup), want string) {
			expectRefused(k8sClient.Create(suiteCtx, backup("bad", mutate)), want)
		},
		Entry("..", func(b *ledgerv1.LedgerBackup) { b.Spec.Storage.SubPath = "customs/../../etc" }, "spec.storage.subPath must be a relative path inside the volume"),
		Entry("absolute", func(b *ledgerv1.LedgerBackup) { b.Spec.Storage.SubPath = "/etc" }, "spec.storage.subPath"),
		Entry("no claim", func(b *ledgerv1.LedgerBackup) { b.Spec.Storage.ClaimName = "" }, "spec.storage.claimName"),
		Entry("timeout 10s", func(b *ledgerv1.LedgerBackup) { b.Spec.Timeout = &metav1.Duration{Duration: 10 * time.Second} }, "spec.timeout must be between 1m and 48h"),
	)

	It("accepts a LedgerBackup once and refuses any change to its spec", func() {
		b := backup("once", nil)
		Expect(k8sClient.Create(suiteCtx, b)).To(Succeed())
		expectRefused(update(b, func(b *ledgerv1.LedgerBackup) { b.Spec.Storage.ClaimName = "other" }), "spec is immutable: a LedgerBackup runs once")
	})

	It("fills spec.backup.retention (7) and refuses a subPath outside the volume", func() {
		n := network("scheduled")
		n.Spec.Backup = &ledgerv1.BackupScheduleSpec{Schedule: "0 2 * * *", ClaimName: "backups"}
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		Expect(n.Spec.Backup.Retention).To(Equal(int32(7)))
		bad := network("scheduled-bad")
		bad.Spec.Backup = &ledgerv1.BackupScheduleSpec{Schedule: "0 2 * * *", ClaimName: "backups", SubPath: ".."}
		expectRefused(k8sClient.Create(suiteCtx, bad), "spec.backup.subPath must be a relative path inside the volume")
	})
})

var _ = Describe("CRD validation of spec.bootstrap.fromBackup", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace(nil) })

	restored := func(mutate func(*ledgerv1.FromBackupSpec)) *ledgerv1.LedgerNetwork {
		fb := &ledgerv1.FromBackupSpec{LedgerBackup: "customs-20261202-0200", GenesisConfigMap: "customs-genesis", AdminSecret: "customs-admin"}
		if mutate != nil {
			mutate(fb)
		}
		return &ledgerv1.LedgerNetwork{ObjectMeta: metav1.ObjectMeta{Name: "customs-restored", Namespace: ns},
			Spec: ledgerv1.LedgerNetworkSpec{NetworkID: "customs", Replicas: 1, Bootstrap: &ledgerv1.BootstrapSpec{FromBackup: fb}}}
	}

	It("accepts a LedgerBackup, or a claim and a path, with the genesis and the admin Secret", func() {
		Expect(k8sClient.Create(suiteCtx, restored(nil))).To(Succeed())
		n := restored(func(fb *ledgerv1.FromBackupSpec) {
			fb.LedgerBackup, fb.Volume = "", &ledgerv1.BackupFileSource{ClaimName: "ledger-backups", Path: "customs/customs-20261202-0200.tlbackup"}
		})
		n.Name = "customs-from-file"
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
	})

	DescribeTable("refuses a fromBackup that is not whole, naming the field and the fix",
		func(mutate func(*ledgerv1.FromBackupSpec), want string) {
			expectRefused(k8sClient.Create(suiteCtx, restored(mutate)), want)
		},
		Entry("no backup named", func(fb *ledgerv1.FromBackupSpec) { fb.LedgerBackup = "" },
			"name exactly one of ledgerBackup (a LedgerBackup in this namespace that succeeded) or volume"),
		Entry("both a LedgerBackup and a volume named", func(fb *ledgerv1.FromBackupSpec) {
			fb.Volume = &ledgerv1.BackupFileSource{ClaimName: "ledger-backups", Path: "a.tlbackup"}
		}, "name exactly one of ledgerBackup"),
		Entry("no admin Secret", func(fb *ledgerv1.FromBackupSpec) { fb.AdminSecret = "" },
			"spec.bootstrap.fromBackup.adminSecret is required: name the Secret holding the backed-up network's admin key"),
		Entry("no genesis ConfigMap", func(fb *ledgerv1.FromBackupSpec) { fb.GenesisConfigMap = "" },
			"spec.bootstrap.fromBackup.genesisConfigMap is required"),
		Entry("a path out of the volume", func(fb *ledgerv1.FromBackupSpec) {
			fb.LedgerBackup, fb.Volume = "", &ledgerv1.BackupFileSource{ClaimName: "ledger-backups", Path: "customs/../../etc/passwd"}
		}, "spec.bootstrap.fromBackup.volume.path must be a relative path inside the volume"),
	)

	It("refuses a restored network without spec.networkID, saying which id to set", func() {
		n := restored(nil)
		n.Spec.NetworkID = ""
		expectRefused(k8sClient.Create(suiteCtx, n), "spec.networkID is required with spec.bootstrap.fromBackup: set it to the network id of the backed-up ledger")
	})

	It("refuses to change, add or remove spec.bootstrap after creation", func() {
		n := restored(nil)
		Expect(k8sClient.Create(suiteCtx, n)).To(Succeed())
		const want = "spec.bootstrap is immutable: it says how the ledger began"
		expectRefused(update(n, func(n *ledgerv1.LedgerNetwork) { n.Spec.Bootstrap.FromBackup.LedgerBackup = "customs-20261203-0200" }), want)
		expectRefused(update(n, func(n *ledgerv1.LedgerNetwork) { n.Spec.Bootstrap = nil }), want)
		// A change elsewhere in the spec is still accepted.
		Expect(update(n, func(n *ledgerv1.LedgerNetwork) { n.Spec.LogLevel = "debug" })).To(Succeed())

		plain := &ledgerv1.LedgerNetwork{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns}, Spec: ledgerv1.LedgerNetworkSpec{Replicas: 1}}
		Expect(k8sClient.Create(suiteCtx, plain)).To(Succeed())
		expectRefused(update(plain, func(p *ledgerv1.LedgerNetwork) {
			p.Spec.NetworkID = "plain"
			p.Spec.Bootstrap = &ledgerv1.BootstrapSpec{FromBackup: restored(nil).Spec.Bootstrap.FromBackup}
		}), want)
	})
})
