package controllers

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	ledgerclient "github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// The CA and the admin key of a running network are rotated by raising a
// number in its spec. The nodes are real (fakePods); the kubelet's delay
// in refreshing a Secret volume is played by calling RefreshTLS only when
// the spec says so: until then, the rotation must wait.
var _ = Describe("LedgerNetwork trust-anchor and admin-key rotation", Ordered, func() {
	var net *ledgerv1.LedgerNetwork
	get := func(g Gomega) *ledgerv1.LedgerNetwork { return getNetwork(g, net) }
	caRotation := func(g Gomega) *metav1.Condition {
		c := meta.FindStatusCondition(get(g).Status.Conditions, ledgerv1.ConditionCARotation)
		g.Expect(c).NotTo(BeNil(), "condition CARotation")
		return c
	}
	caSecret := func(g Gomega) *corev1.Secret {
		var sec corev1.Secret
		g.Expect(k8sClient.Get(suiteCtx, key(net, caSecretName(net)), &sec)).To(Succeed())
		return &sec
	}
	cas := func(g Gomega) *caSet {
		cs, err := decodeCASecret(caSecret(g))
		g.Expect(err).NotTo(HaveOccurred())
		return cs
	}
	bundleConfigMap := func(g Gomega) []string {
		var cm corev1.ConfigMap
		g.Expect(k8sClient.Get(suiteCtx, key(net, caBundleConfigMapName(net)), &cm)).To(Succeed())
		return pki.Fingerprints([]byte(cm.Data[caCertKey]))
	}
	// refreshAll plays the kubelet refreshing every pod's Secret volume.
	refreshAll := func() {
		for i := range 3 {
			Expect(pods.RefreshTLS(suiteCtx, k8sClient, net, i)).To(Succeed())
		}
	}
	// trusting is a client that trusts exactly the given CA certificates.
	trusting := func(admin ed25519.PrivateKey, certs ...*x509.Certificate) *ledgerclient.Client {
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		var eps []string
		for i := range 3 {
			_, api := pods.MemberAddrs(net, podName(net, i))
			eps = append(eps, "https://"+api)
		}
		cl, err := ledgerclient.New(ledgerclient.Config{Endpoints: eps, TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool},
			SignKey: admin, Timeout: 5 * time.Second, Retry: 5 * time.Second})
		Expect(err).NotTo(HaveOccurred())
		return cl
	}
	adminKey := func(g Gomega) ed25519.PrivateKey {
		var sec corev1.Secret
		g.Expect(k8sClient.Get(suiteCtx, key(net, adminSecretName(net)), &sec)).To(Succeed())
		k, err := tx.UnmarshalKey(sec.Data[adminKeyKey])
		g.Expect(err).NotTo(HaveOccurred())
		return k
	}
	// restartedOperator is a second LedgerNetworkReconciler, with nothing
	// in memory, as an operator restarted mid-rotation would be: it reads
	// the API server directly (no cache to trail it).
	restartedOperator := func() *LedgerNetworkReconciler {
		o := DefaultOptions()
		o.Build.DefaultImage = "tradeledger:test"
		iv := Intervals{Wait: 200 * time.Millisecond, Poll: time.Second, LedgerCall: 2 * time.Second}
		return &LedgerNetworkReconciler{Client: k8sClient, Recorder: events.NewFakeRecorder(100),
			Dialer: &ClientDialer{Resolver: pods, Timeout: iv.LedgerCall, Retry: iv.LedgerCall}, Resolver: pods,
			Build: o.Build, Metrics: NewMetrics(prometheus.NewRegistry()), Intervals: iv, Clock: fakeClock}
	}

	// refused applies mutate to the network as it is now (again after a
	// conflict with the operator's status writes) and returns the API
	// server's refusal.
	refused := func(mutate func(*ledgerv1.LedgerNetwork)) error {
		var err error
		Eventually(func(g Gomega) {
			n := get(g)
			mutate(n)
			err = k8sClient.Update(suiteCtx, n)
			g.Expect(apierrors.IsConflict(err)).To(BeFalse(), "%v", err)
		}, eventually, tick).Should(Succeed())
		return err
	}

	BeforeAll(func() {
		net = createSampleNetwork()
		Eventually(func() error { return pods.Start(suiteCtx, k8sClient, net, 0) }, eventually, tick).Should(Succeed())
		for i := 1; i < 3; i++ {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(get(g).Status.Leader).NotTo(BeEmpty())
			g.Expect(get(g).Status.Phase).To(Equal(ledgerv1.PhaseRunning))
		}, eventually, tick).Should(Succeed())
	})

	It("keeps the ConfigMap <network>-ca-bundle with the CAs clients should trust, and shows the CA in status.tls", func() {
		Eventually(func(g Gomega) {
			cs := cas(g)
			g.Expect(bundleConfigMap(g)).To(Equal(fingerprints(cs.Trust)))
			st := get(g).Status.TLS
			g.Expect(st).NotTo(BeNil())
			g.Expect(st.CAGeneration).To(BeZero())
			g.Expect(st.Phase).To(BeEmpty(), "no rotation asked for")
			g.Expect(st.CAs).To(HaveLen(1))
			g.Expect(st.CAs[0].Issuing).To(BeTrue())
			g.Expect(st.CAs[0].Fingerprint).To(Equal(pki.Fingerprint(cs.Issuer.Cert.Raw)))
			g.Expect(st.CAs[0].NotAfter.Time).To(BeTemporally("~", cs.Issuer.Cert.NotAfter, time.Second))
		}, eventually, tick).Should(Succeed())
		Expect(meta.FindStatusCondition(get(Default).Status.Conditions, ledgerv1.ConditionCARotation)).To(BeNil())
	})

	It("rotates the CA when spec.tls.caGeneration is raised: bundles, reissues, drops, each phase observed on every node before the next; a restarted operator makes no second CA; a node restarted mid-rotation rejoins", func() {
		oldCA := cas(Default).Issuer
		oldFP := pki.Fingerprint(oldCA.Cert.Raw)
		signKeys := map[string][]byte{}
		for i := range 3 {
			var sec corev1.Secret
			Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(podName(net, i))), &sec)).To(Succeed())
			signKeys[sec.Name] = sec.Data[nodeSignKeyFile]
		}
		Eventually(func(g Gomega) {
			n := get(g)
			n.Spec.TLS = &ledgerv1.TLSSpec{CAGeneration: 1}
			g.Expect(k8sClient.Update(suiteCtx, n)).To(Succeed())
		}, eventually, tick).Should(Succeed())

		// Bundling: the new CA beside the old in the CA Secret, in every
		// node's Secret and in the ConfigMap; the issuer is still the old.
		var newFP string
		Eventually(func(g Gomega) {
			cs := cas(g)
			g.Expect(cs.Pending).NotTo(BeNil())
			g.Expect(cs.RotatingTo).To(Equal(int64(1)))
			g.Expect(cs.Issuer.Cert.Equal(oldCA.Cert)).To(BeTrue())
			newFP = pki.Fingerprint(cs.Pending.Cert.Raw)
			g.Expect(fingerprints(cs.Trust)).To(Equal([]string{oldFP, newFP}))
			g.Expect(bundleConfigMap(g)).To(Equal([]string{oldFP, newFP}))
			for i := range 3 {
				var sec corev1.Secret
				g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(podName(net, i))), &sec)).To(Succeed())
				g.Expect(pki.Fingerprints(sec.Data[caCertKey])).To(Equal([]string{oldFP, newFP}))
			}
			c := caRotation(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(string(ledgerv1.CABundling)))
			g.Expect(c.Message).To(And(ContainSubstring("3 of 3 running nodes not yet"), ContainSubstring("customs-0: trusts ["+shortFP(oldFP)+"]")))
			st := get(g).Status.TLS
			g.Expect(st.Phase).To(Equal(ledgerv1.CABundling))
			g.Expect(st.RotatingTo).To(Equal(int64(1)))
			g.Expect(st.CAs).To(HaveLen(2))
		}, eventually, tick).Should(Succeed())

		// Until the kubelet refreshes the volumes, the nodes trust the old
		// CA alone and the rotation waits: observed, not timed.
		Consistently(func(g Gomega) {
			g.Expect(get(g).Status.TLS.Phase).To(Equal(ledgerv1.CABundling))
			g.Expect(cas(g).Pending).NotTo(BeNil())
		}, 3*time.Second, tick).Should(Succeed())

		// An operator restarted now resumes from the Secret: a pass of a
		// fresh reconciler, with the status's rotation forgotten too, makes
		// no second CA.
		Eventually(func(g Gomega) {
			n := get(g)
			n.Status.TLS = nil
			g.Expect(k8sClient.Status().Update(suiteCtx, n)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		_, err := restartedOperator().Reconcile(suiteCtx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(net)})
		Expect(err).NotTo(HaveOccurred())
		Expect(fingerprints(cas(Default).Trust)).To(Equal([]string{oldFP, newFP}), "the same two CAs, no third")
		Expect(pki.Fingerprint(cas(Default).Pending.Cert.Raw)).To(Equal(newFP))
		Expect(count(eventReasons(net.Namespace, net.Name), "CARotationBundling")).To(Equal(1))

		// The kubelet refreshes: every node trusts both, and the new CA
		// issues; the node certificates are reissued from it (new TLS
		// keys, the head-signing keys the genesis names untouched).
		refreshAll()
		Eventually(func(g Gomega) {
			cs := cas(g)
			g.Expect(cs.Pending).To(BeNil())
			g.Expect(cs.Generation).To(Equal(int64(1)))
			g.Expect(pki.Fingerprint(cs.Issuer.Cert.Raw)).To(Equal(newFP))
			g.Expect(fingerprints(cs.Trust)).To(Equal([]string{oldFP, newFP}), "the old CA is still trusted while certificates move")
			for i := range 3 {
				var sec corev1.Secret
				g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(podName(net, i))), &sec)).To(Succeed())
				g.Expect(chainsTo(sec.Data[nodeCertFile], cs.Issuer.Cert)).To(BeTrue(), "%s reissued from the new CA", sec.Name)
				g.Expect(sec.Data[nodeSignKeyFile]).To(Equal(signKeys[sec.Name]), "the head-signing key never changes")
			}
			c := caRotation(g)
			g.Expect(c.Reason).To(Equal(string(ledgerv1.CAReissuing)))
			g.Expect(c.Message).To(ContainSubstring("serve a certificate issued by the new CA"))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(fingerprints(cas(g).Trust)).To(HaveLen(2), "nothing dropped while nodes serve old certificates")
		}, 2*time.Second, tick).Should(Succeed())

		// A node restarted mid-rotation starts from its Secret as it is
		// (both CAs, a new certificate) and rejoins.
		Expect(pods.Kill(net, 2)).To(Succeed())
		Expect(pods.Start(suiteCtx, k8sClient, net, 2)).To(Succeed())
		refreshAll()
		Eventually(func(g Gomega) {
			g.Expect(fingerprints(cas(g).Trust)).To(Equal([]string{newFP}))
			g.Expect(bundleConfigMap(g)).To(Equal([]string{newFP}))
			g.Expect(caRotation(g).Reason).To(Equal(string(ledgerv1.CADropping)))
		}, eventually, tick).Should(Succeed())
		refreshAll()
		Eventually(func(g Gomega) {
			c := caRotation(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(string(ledgerv1.CAComplete)))
			st := get(g).Status.TLS
			g.Expect(st.Phase).To(Equal(ledgerv1.CAComplete))
			g.Expect(st.CAGeneration).To(Equal(int64(1)))
			g.Expect(st.CompletedAt).NotTo(BeNil())
			g.Expect(st.CAs).To(ConsistOf(HaveField("Fingerprint", newFP)))
			g.Expect(get(g).Status.CANotAfter.Time).To(BeTemporally("~", cas(g).Issuer.Cert.NotAfter, time.Second))
		}, eventually, tick).Should(Succeed())
		reasons := eventReasons(net.Namespace, net.Name)
		for _, r := range []string{"CARotationBundling", "CARotationReissuing", "CARotationDropping", "CARotationComplete"} {
			Expect(count(reasons, r)).To(Equal(1), r)
		}

		// Every node serves a certificate of the new CA and the ledger
		// writes through a client that trusts the new CA alone; a client
		// that trusts the old CA alone is refused and told why.
		newCA := cas(Default).Issuer.Cert
		roots := x509.NewCertPool()
		roots.AddCert(newCA)
		for i := range 3 {
			Eventually(func(g Gomega) {
				served, err := pods.ServedCertificate(net, i, roots)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(served.CheckSignatureFrom(newCA)).To(Succeed())
			}, eventually, tick).Should(Succeed())
		}
		admin := adminKey(Default)
		st, err := tx.BuildSigned(networkID(net), "note.put", map[string]any{"key": "after-ca-rotation", "value": "ok"}, time.Now(), admin)
		Expect(err).NotTo(HaveOccurred())
		resp, err := trusting(admin, newCA).Submit(suiteCtx, st, ledgerclient.SubmitOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Receipt.Status).To(Equal(chain.Accepted), "%+v", resp.Receipt.Reasons)
		_, err = trusting(admin, oldCA.Cert).Status(suiteCtx, true)
		Expect(errors.Is(err, ledgerclient.ErrUntrustedServer)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("ca-bundle"))
	})

	It("refuses to lower spec.tls.caGeneration, with the reason and the fix", func() {
		err := refused(func(n *ledgerv1.LedgerNetwork) { n.Spec.TLS = &ledgerv1.TLSSpec{CAGeneration: 0} })
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.tls.caGeneration cannot be lowered"))
		err = refused(func(n *ledgerv1.LedgerNetwork) { n.Spec.TLS = nil })
		Expect(err).To(HaveOccurred(), "removing spec.tls lowers it to 0")
		Expect(err.Error()).To(ContainSubstring("spec.tls.caGeneration cannot be lowered"))
		Expect(get(Default).Spec.TLS.CAGeneration).To(Equal(int64(1)), "the setup: generation 1 is in force")
	})

	It("rotates the admin key when spec.adminKeyGeneration is raised: key.rotate signed by the old key is on the ledger, the operator signs with the new one, and the network stays Ready", func() {
		old := adminKey(Default)
		Eventually(func(g Gomega) {
			n := get(g)
			n.Spec.AdminKeyGeneration = 1
			g.Expect(k8sClient.Update(suiteCtx, n)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		var rotTx string
		Eventually(func(g Gomega) {
			st := get(g).Status.AdminKey
			g.Expect(st).NotTo(BeNil())
			g.Expect(st.Generation).To(Equal(int64(1)))
			g.Expect(st.KeyID).NotTo(Equal(publicKeyID(old)))
			g.Expect(st.KeyID).To(Equal(publicKeyID(adminKey(g))))
			g.Expect(st.RotationTx).NotTo(BeEmpty())
			rotTx = st.RotationTx
		}, eventually, tick).Should(Succeed())
		var sec corev1.Secret
		Expect(k8sClient.Get(suiteCtx, key(net, adminSecretName(net)), &sec)).To(Succeed())
		Expect(sec.Data).NotTo(HaveKey(pendingKey))
		newKey := adminKey(Default)

		// On the ledger: the old key retired by the rotation, the new one
		// registered by it; the old key's signatures are refused from now.
		cl := trusting(newKey, cas(Default).Issuer.Cert)
		ident, err := cl.Identity(suiteCtx, adminIdentity)
		Expect(err).NotTo(HaveOccurred())
		byID := map[string]string{}
		for _, k := range ident.Keys {
			byID[k.KeyID] = k.RetiredAt
		}
		Expect(byID).To(HaveKeyWithValue(publicKeyID(old), Not(BeEmpty())), "the old key is retired")
		Expect(byID).To(HaveKeyWithValue(publicKeyID(newKey), BeEmpty()), "the new key is valid")
		ev, err := cl.Tx(suiteCtx, rotTx, false, ledgerclient.ReadOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(ev.Receipt.Status).To(Equal(chain.Accepted))
		var env tx.Envelope
		Expect(json.Unmarshal(ev.Tx, &env)).To(Succeed())
		Expect(env.Type).To(Equal("key.rotate"))
		Expect(env.Signer).To(Equal(publicKeyID(old)), "signed by the old key")
		_, err = trusting(old, cas(Default).Issuer.Cert).Status(suiteCtx, false)
		var ce *ledgerclient.Error
		Expect(errors.As(err, &ce)).To(BeTrue(), "%v", err)
		Expect(ce.Status).To(Equal(403))

		Eventually(func(g Gomega) {
			ready := meta.FindStatusCondition(get(g).Status.Conditions, ledgerv1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
		}, eventually, tick).Should(Succeed())
		Expect(count(eventReasons(net.Namespace, net.Name), "AdminKeyRotated")).To(Equal(1))
	})

	It("finishes an admin-key rotation interrupted after the ledger recorded it: the Secret's pending key becomes current, no other key is made", func() {
		old := adminKey(Default)
		// What a crash leaves between key.rotate and the switch: the new
		// key pending in the Secret, the rotation on the ledger.
		pending, err := tx.GenerateKey()
		Expect(err).NotTo(HaveOccurred())
		data, err := tx.MarshalKey(pending, "pending")
		Expect(err).NotTo(HaveOccurred())
		// The ledger first, then the Secret: written the other way round,
		// the operator resumes from the Secret and sends key.rotate itself
		// before the test does (the end state is the same).
		rot, err := tx.BuildSigned(networkID(net), "key.rotate", wire.KeyRotate{NewKey: publicKeyID(pending), Retire: publicKeyID(old)}, time.Now(), old)
		Expect(err).NotTo(HaveOccurred())
		resp, err := trusting(old, cas(Default).Issuer.Cert).Submit(suiteCtx, rot, ledgerclient.SubmitOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.Receipt.Status).To(Equal(chain.Accepted), "setup: the rotation is on the ledger")
		Eventually(func(g Gomega) {
			var sec corev1.Secret
			g.Expect(k8sClient.Get(suiteCtx, key(net, adminSecretName(net)), &sec)).To(Succeed())
			sec.Data[pendingKey] = data
			sec.Annotations[annAdminKeyRotatingTo] = "2"
			g.Expect(k8sClient.Update(suiteCtx, &sec)).To(Succeed())
		}, eventually, tick).Should(Succeed())

		Eventually(func(g Gomega) {
			n := get(g)
			n.Spec.AdminKeyGeneration = 2
			g.Expect(k8sClient.Update(suiteCtx, n)).To(Succeed())
		}, eventually, tick).Should(Succeed())
		Eventually(func(g Gomega) {
			st := get(g).Status.AdminKey
			g.Expect(st.Generation).To(Equal(int64(2)))
			g.Expect(st.KeyID).To(Equal(publicKeyID(pending)))
			g.Expect(st.RotationTx).To(Equal(rot.IDHex()))
			g.Expect(publicKeyID(adminKey(g))).To(Equal(publicKeyID(pending)))
		}, eventually, tick).Should(Succeed())
		Expect(count(eventReasons(net.Namespace, net.Name), "AdminKeyRotated")).To(Equal(2))

		err = refused(func(n *ledgerv1.LedgerNetwork) { n.Spec.AdminKeyGeneration = 1 })
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.adminKeyGeneration cannot be lowered"))
		Expect(strconv.FormatInt(get(Default).Spec.AdminKeyGeneration, 10)).To(Equal("2"))
	})
})
