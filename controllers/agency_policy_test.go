package controllers

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	ledgerclient "github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// createPolicy creates config/samples' CertificatePolicy in ns, named name
// (the sample's when empty), with its rule at index rule set to expression.
func createPolicy(ns, name string, rule int, expression string) *ledgerv1.CertificatePolicy {
	cp := &ledgerv1.CertificatePolicy{}
	sample(samplePolicy, cp, ns)
	if name != "" {
		cp.Name = name
	}
	cp.Spec.Rules[rule].Expression = expression
	Expect(k8sClient.Create(suiteCtx, cp)).To(Succeed())
	return cp
}

// readPolicy reads a CertificatePolicy anew.
func readPolicy(g Gomega, cp *ledgerv1.CertificatePolicy) *ledgerv1.CertificatePolicy {
	got := &ledgerv1.CertificatePolicy{}
	g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(cp), got)).To(Succeed())
	return got
}

// conditionOf finds a condition of an object's status.
func conditionOf(g Gomega, conds []metav1.Condition, typ string) metav1.Condition {
	c := meta.FindStatusCondition(conds, typ)
	g.Expect(c).NotTo(BeNil(), "condition %s", typ)
	return *c
}

var _ = Describe("AgencyMember across namespaces", func() {
	It("is refused unless the network's memberNamespaceSelector selects the agency's namespace", func() {
		var selector *metav1.LabelSelector
		net := createSampleNetwork(func(n *ledgerv1.LedgerNetwork) {
			selector, n.Spec.MemberNamespaceSelector = n.Spec.MemberNamespaceSelector, nil
		})
		netNS := net.Namespace

		agencyNS := newNamespace(nil)
		am := &ledgerv1.AgencyMember{}
		sample(sampleAgency, am, agencyNS)
		am.Spec.NetworkRef.Namespace = netNS
		Expect(k8sClient.Create(suiteCtx, am)).To(Succeed())
		degradedWith := func(reason, message string) func(Gomega) {
			return func(g Gomega) {
				got := &ledgerv1.AgencyMember{}
				g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(am), got)).To(Succeed())
				expectDegraded(g, got, got.Status.Conditions, reason, message)
				g.Expect(got.Status.Registered).To(BeFalse())
			}
		}
		Eventually(degradedWith("NamespaceNotAllowed", "only through its spec.memberNamespaceSelector, which is not set"), eventually, tick).Should(Succeed())

		Expect(update(net, func(n *ledgerv1.LedgerNetwork) { n.Spec.MemberNamespaceSelector = selector })).To(Succeed())
		Eventually(degradedWith("NamespaceNotAllowed", "does not match spec.memberNamespaceSelector"), eventually, tick).Should(Succeed())

		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Name: agencyNS}, ns)).To(Succeed())
		Expect(update(ns, func(ns *corev1.Namespace) { ns.Labels = selector.MatchLabels })).To(Succeed())
		Eventually(func(g Gomega) {
			got := &ledgerv1.AgencyMember{}
			g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(am), got)).To(Succeed())
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse))
			p := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionProgressing)
			g.Expect(p.Reason).To(Equal("NetworkNotReady"), "admitted: it now waits for the network's leader")
		}, eventually, tick).Should(Succeed())
	})
})

var _ = Describe("CertificatePolicy that does not compile", func() {
	It("shows each error's rule and position in status and an event, and publishes nothing", func() {
		ns := newNamespace(nil)
		am := &ledgerv1.AgencyMember{}
		sample(sampleAgency, am, ns)
		Expect(k8sClient.Create(suiteCtx, am)).To(Succeed())
		cp := createPolicy(ns, "", 1, "record.hsCodes.all(c,\n  size(c) == 6")

		Eventually(func(g Gomega) {
			got := readPolicy(g, cp)
			g.Expect(got.Status.CompileErrors).NotTo(BeEmpty())
			e := got.Status.CompileErrors[0]
			g.Expect(e.Rule).To(Equal("hs-six-digits"))
			g.Expect(e.Line).To(Equal(int32(2)))
			g.Expect(e.Column).To(Equal(int32(15)), "just past the expression's end, where ')' is missing")
			c := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionCompiled)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal("CompileFailed"))
			g.Expect(c.Message).To(ContainSubstring("rule hs-six-digits line 2 column 15"))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionPublished).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Reason).To(Equal("CompileFailed"))
			g.Expect(got.Status.PublishedVersion).To(BeZero())
			g.Expect(got.Status.TxID).To(BeEmpty())
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}, eventually, tick).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, cp.Name) }, eventually, tick).Should(ContainElement("PolicyRejected"))

		Expect(update(cp, func(p *ledgerv1.CertificatePolicy) {
			p.Spec.Rules[1].Expression = "record.hsCodes.all(c, size(c) == 6)"
		})).To(Succeed())
		Eventually(func(g Gomega) {
			got := readPolicy(g, cp)
			g.Expect(got.Status.CompileErrors).To(BeEmpty())
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionCompiled).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionProgressing).Reason).To(Equal("AgencyNotRegistered"))
		}, eventually, tick).Should(Succeed())
	})
})

// The samples, applied as they are, on a network whose nodes run
// in-process: the agency registers, rotates its key, publishes, updates and
// withdraws its policy, and is suspended when deleted.
var _ = Describe("Agency on a running ledger", Ordered, func() {
	var (
		ns      string
		net     *ledgerv1.LedgerNetwork
		am      *ledgerv1.AgencyMember
		cp      *ledgerv1.CertificatePolicy
		admin   Ledger
		raw     *ledgerclient.Client
		genesis chain.Genesis
		oldTx   string
		oldKey  ed25519.PrivateKey
	)
	getAgency := func(g Gomega) *ledgerv1.AgencyMember {
		got := &ledgerv1.AgencyMember{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(am), got)).To(Succeed())
		return got
	}
	getPolicy := func(g Gomega) *ledgerv1.CertificatePolicy { return readPolicy(g, cp) }
	agencyKey := func(g Gomega) (ed25519.PrivateKey, *corev1.Secret) {
		sec := &corev1.Secret{}
		g.Expect(k8sClient.Get(suiteCtx, key(am, keySecretName(am)), sec)).To(Succeed())
		k, err := tx.UnmarshalKey(sec.Data[agencyKey])
		g.Expect(err).NotTo(HaveOccurred())
		return k, sec
	}
	submitNote := func(k ed25519.PrivateKey, note string) *chain.Receipt {
		st, err := signNow(net, "note.put", map[string]any{"key": note, "value": note}, k)
		Expect(err).NotTo(HaveOccurred())
		rc, err := admin.Submit(suiteCtx, st)
		Expect(err).NotTo(HaveOccurred())
		return rc
	}

	BeforeAll(func() {
		net = createSampleNetwork()
		ns = net.Namespace
		Eventually(func(g Gomega) {
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(suiteCtx, key(net, statefulSetName(net)), &appsv1.StatefulSet{})).To(Succeed())
			g.Expect(k8sClient.Get(suiteCtx, key(net, genesisConfigMapName(net)), &cm)).To(Succeed())
			g.Expect(json.Unmarshal([]byte(cm.Data[genesisKey]), &genesis)).To(Succeed())
			g.Expect(k8sClient.Get(suiteCtx, key(net, nodeKeysSecretName(podName(net, 0))), &corev1.Secret{})).To(Succeed())
		}, eventually, tick).Should(Succeed())
		for i := range 3 {
			Expect(pods.Start(suiteCtx, k8sClient, net, i)).To(Succeed())
		}

		target, err := networkTarget(suiteCtx, k8sClient, net)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() error { admin, err = (&ClientDialer{Resolver: pods}).Dial(suiteCtx, target); return err }, eventually, tick).Should(Succeed())
		pool := x509.NewCertPool()
		Expect(pool.AppendCertsFromPEM(target.CAPEM)).To(BeTrue())
		raw, err = ledgerclient.New(ledgerclient.Config{Endpoints: pods.APIEndpoints(net), TLS: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}, SignKey: target.AdminKey})
		Expect(err).NotTo(HaveOccurred())

	})

	It("registers the agency on the ledger with the network admin key", func() {
		am = &ledgerv1.AgencyMember{}
		sample(sampleAgency, am, ns)
		Expect(k8sClient.Create(suiteCtx, am)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getAgency(g)
			g.Expect(got.Status.Registered).To(BeTrue())
			g.Expect(got.Status.RegistrationHeight).To(BeNumerically(">", 0))
			g.Expect(got.Status.Identity).To(Equal("agency/us-cbp"))
			k, _ := agencyKey(g)
			g.Expect(got.Status.ActiveKey).NotTo(BeNil())
			g.Expect(got.Status.ActiveKey.KeyID).To(Equal(publicKeyID(k)))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(got.Status.NextRotation).NotTo(BeNil())
		}, eventually, tick).Should(Succeed())
		ident, err := admin.Identity(suiteCtx, "agency/us-cbp")
		Expect(err).NotTo(HaveOccurred())
		Expect(ident.Keys).To(HaveLen(1))
		// The sample is the customs authority: the ledger records the role
		// that lets it revoke and endorse certificates of origin.
		ag, err := raw.Agency(suiteCtx, "us-cbp", ledgerclient.ReadOptions{Strong: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(ag.Agency.Roles).To(Equal([]string{"customs"}))
		// kubectl get -o wide shows when the key rotates next, in the future.
		next := getAgency(Default).Status.NextRotation
		Expect(next.Time).To(BeTemporally(">", time.Now()))
		Expect(tableRow("agencymembers", ns, am.Name)).To(HaveKeyWithValue("Next Rotation", next.UTC().Format(time.RFC3339)))
		Eventually(func() []string { return eventReasons(ns, am.Name) }, eventually, tick).Should(ContainElement("AgencyRegistered"))
	})

	It("rotates the key on request: the old key's signatures still verify, the new key signs", func() {
		var err error
		oldKey, _ = agencyKey(Default)
		rc := submitNote(oldKey, "before-rotation")
		Expect(rc.Status).To(Equal(chain.Accepted), "%v", rc.Reasons)
		oldTx = rc.TxID

		now := metav1.NewTime(fakeClock.Now())
		Expect(update(getAgency(Default), func(a *ledgerv1.AgencyMember) { a.Spec.KeyRotation.RequestedAt = &now })).To(Succeed())
		var newKey ed25519.PrivateKey
		Eventually(func(g Gomega) {
			got := getAgency(g)
			k, sec := agencyKey(g)
			g.Expect(publicKeyID(k)).NotTo(Equal(publicKeyID(oldKey)))
			g.Expect(sec.Data).NotTo(HaveKey(pendingKey))
			g.Expect(got.Status.ActiveKey).To(HaveField("KeyID", publicKeyID(k)))
			g.Expect(got.Status.KeyHistory).To(HaveLen(2))
			g.Expect(got.Status.KeyHistory[0].KeyID).To(Equal(publicKeyID(oldKey)))
			g.Expect(got.Status.KeyHistory[0].RetiredAt).NotTo(BeEmpty())
			g.Expect(got.Status.HandledRotationRequest).NotTo(BeNil())
			newKey = k
		}, eventually, tick).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, am.Name) }, eventually, tick).Should(ContainElement("KeyRotated"))

		ev, err := raw.Tx(suiteCtx, oldTx, true, ledgerclient.ReadOptions{})
		Expect(err).NotTo(HaveOccurred())
		res, err := verify.Receipt(ev, verify.TrustFromGenesis(&genesis))
		Expect(err).NotTo(HaveOccurred(), "a signature made before the rotation still verifies")
		Expect(res.Status).To(Equal(chain.Accepted))

		rc = submitNote(newKey, "after-rotation")
		Expect(rc.Status).To(Equal(chain.Accepted), "the new key signs: %v", rc.Reasons)
	})

	It("rotates the key again when spec.keyRotation.every has passed", func() {
		before := getAgency(Default).Status.ActiveKey.KeyID
		fakeClock.Step(2160*time.Hour + time.Minute)
		Eventually(func(g Gomega) {
			got := getAgency(g)
			g.Expect(got.Status.ActiveKey).NotTo(BeNil())
			g.Expect(got.Status.ActiveKey.KeyID).NotTo(Equal(before))
			g.Expect(got.Status.KeyHistory).To(HaveLen(3))
			g.Expect(got.Status.NextRotation.Time).To(BeTemporally(">", fakeClock.Now()))
		}, eventually, tick).Should(Succeed())
	})

	It("keeps the agency's programs in sync on the ledger", func() {
		Expect(update(getAgency(Default), func(a *ledgerv1.AgencyMember) { a.Spec.Programs = append(a.Spec.Programs, "NAFTA") })).To(Succeed())
		Eventually(func(g Gomega) {
			got := getAgency(g)
			g.Expect(got.Status.SyncedHash).To(Equal(recordHash(got)))
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}, eventually, tick).Should(Succeed())
		Eventually(func() []string { return eventReasons(ns, am.Name) }, eventually, tick).Should(ContainElement("AgencyUpdated"))
		// On the ledger: the agency record names the new program.
		Eventually(func(g Gomega) {
			ag, err := raw.Agency(suiteCtx, "us-cbp", ledgerclient.ReadOptions{Strong: true})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ag.Agency.Programs).To(ContainElement("NAFTA"))
			g.Expect(ag.Agency.Programs).To(ConsistOf(getAgency(g).Spec.Programs))
		}, eventually, tick).Should(Succeed())
	})

	It("publishes the sample policy signed by the agency's key, and a new version on change", func() {
		cp = &ledgerv1.CertificatePolicy{}
		sample(samplePolicy, cp, ns)
		Expect(k8sClient.Create(suiteCtx, cp)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getPolicy(g)
			g.Expect(got.Status.PublishedVersion).To(Equal(int64(1)))
			g.Expect(got.Status.TxID).NotTo(BeEmpty())
			g.Expect(got.Status.Height).To(BeNumerically(">", 0))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}, eventually, tick).Should(Succeed())
		var rc *chain.Receipt
		Eventually(func() (err error) { rc, err = admin.Receipt(suiteCtx, getPolicy(Default).Status.TxID); return err },
			eventually, tick).Should(Succeed(), "every node applies the block soon")
		Expect(rc.Type).To(Equal("policy.publish"))
		k, _ := agencyKey(Default)
		Expect(rc.Signer).To(Equal(publicKeyID(k)), "signed by the agency's current key")

		Expect(update(getPolicy(Default), func(p *ledgerv1.CertificatePolicy) { p.Spec.Enforcement = ledgerv1.EnforcementEnforce })).To(Succeed())
		Eventually(func(g Gomega) {
			got := getPolicy(g)
			g.Expect(got.Status.PublishedVersion).To(Equal(int64(2)))
			g.Expect(got.Status.PublishedGeneration).To(Equal(got.Generation))
		}, eventually, tick).Should(Succeed())
	})

	It("does not publish a policy that does not compile", func() {
		bad := createPolicy(ns, "us-cbp-broken", 0, "doc.certifier.name ==")
		Eventually(func(g Gomega) {
			got := readPolicy(g, bad)
			g.Expect(got.Status.CompileErrors).NotTo(BeEmpty())
			g.Expect(got.Status.CompileErrors[0].Line).To(Equal(int32(1)))
		}, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(readPolicy(g, bad).Status.TxID).To(BeEmpty())
		}, time.Second, tick).Should(Succeed())
		Expect(k8sClient.Delete(suiteCtx, bad)).To(Succeed())
	})

	It("withdraws the policy when it is deleted", func() {
		id := getPolicy(Default).Name
		before, err := raw.Policy(suiteCtx, id, ledgerclient.ReadOptions{Strong: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(before.Head.Status).To(Equal(policy.StatusActive), "setup: the policy is in force on the ledger")
		Expect(k8sClient.Delete(suiteCtx, getPolicy(Default))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(cp), &ledgerv1.CertificatePolicy{}))
		}, eventually, tick).Should(BeTrue())
		Eventually(func() []string { return eventReasons(ns, cp.Name) }, eventually, tick).Should(ContainElement("PolicyWithdrawn"))
		// On the ledger: withdrawn, its versions kept.
		after, err := raw.Policy(suiteCtx, id, ledgerclient.ReadOptions{Strong: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Head.Status).To(Equal(policy.StatusWithdrawn))
		Expect(after.Versions).To(HaveLen(len(before.Versions)))
	})

	It("suspends the agency when its AgencyMember is deleted, keeping its history", func() {
		Expect(k8sClient.Delete(suiteCtx, getAgency(Default))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(am), &ledgerv1.AgencyMember{}))
		}, eventually, tick).Should(BeTrue())
		Eventually(func(g Gomega) {
			ident, err := admin.Identity(suiteCtx, "agency/us-cbp")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ident.Identity.Status).NotTo(Equal("active"))
			g.Expect(ident.Keys).To(HaveLen(3), "every key stays on record")
		}, eventually, tick).Should(Succeed())
		ev, err := raw.Tx(suiteCtx, oldTx, true, ledgerclient.ReadOptions{})
		Expect(err).NotTo(HaveOccurred())
		_, err = verify.Receipt(ev, verify.TrustFromGenesis(&genesis))
		Expect(err).NotTo(HaveOccurred())
	})

	It("resumes the agency when its AgencyMember is applied again: the key outlived it, the agency is reinstated and signs again", func() {
		_, sec := agencyKey(Default)
		Expect(sec.OwnerReferences).To(BeEmpty(), "the garbage collector would delete a key owned by the deleted AgencyMember")
		collectGarbage(ns)
		kept, _ := agencyKey(Default)

		am = &ledgerv1.AgencyMember{}
		sample(sampleAgency, am, ns)
		Expect(k8sClient.Create(suiteCtx, am)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getAgency(g)
			g.Expect(contradictions(got.Status.Conditions)).To(BeEmpty())
			g.Expect(got.Status.Registered).To(BeTrue())
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse))
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(got.Status.ActiveKey).To(HaveField("KeyID", publicKeyID(kept)))
		}, eventually, tick).Should(Succeed())
		ident, err := admin.Identity(suiteCtx, "agency/us-cbp")
		Expect(err).NotTo(HaveOccurred())
		Expect(ident.Identity.Status).To(Equal("active"))
		Expect(ident.Keys).To(HaveLen(3), "the same identity, with its whole key history")
		Eventually(func() []string { return eventReasons(ns, am.Name) }, eventually, tick).Should(ContainElement("AgencyReinstated"))
		rc := submitNote(kept, "after-resume")
		Expect(rc.Status).To(Equal(chain.Accepted), "the kept key signs again: %v", rc.Reasons)
	})

	It("leaves a suspension by a network admin standing, and says so, until the admin reinstates the agency", func() {
		st, err := signNow(net, "agency.suspend", wire.AgencySuspend{ID: "us-cbp", Reason: "licence under review"}, adminKeyOf(net))
		Expect(err).NotTo(HaveOccurred())
		rc, err := admin.Submit(suiteCtx, st)
		Expect(err).NotTo(HaveOccurred())
		Expect(rc.Status).To(Equal(chain.Accepted), "%v", rc.Reasons)
		suspendedBy := func(g Gomega) {
			got := getAgency(g)
			d := conditionOf(g, got.Status.Conditions, ledgerv1.ConditionDegraded)
			g.Expect(d.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(d.Reason).To(Equal("AgencySuspended"))
			g.Expect(d.Message).To(ContainSubstring("ledgerctl agency reinstate us-cbp"))
			g.Expect(contradictions(got.Status.Conditions)).To(BeEmpty())
		}
		Eventually(suspendedBy, eventually, tick).Should(Succeed())

		// Deleted and applied again, the AgencyMember does not undo it.
		Expect(k8sClient.Delete(suiteCtx, getAgency(Default))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(am), &ledgerv1.AgencyMember{}))
		}, eventually, tick).Should(BeTrue())
		am = &ledgerv1.AgencyMember{}
		sample(sampleAgency, am, ns)
		Expect(k8sClient.Create(suiteCtx, am)).To(Succeed())
		Eventually(suspendedBy, eventually, tick).Should(Succeed())
		Consistently(func(g Gomega) {
			ident, err := admin.Identity(suiteCtx, "agency/us-cbp")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ident.Identity.Status).To(Equal("suspended"))
		}, 2*time.Second, tick).Should(Succeed())

		st, err = signNow(net, "agency.reinstate", wire.AgencyReinstate{ID: "us-cbp"}, adminKeyOf(net))
		Expect(err).NotTo(HaveOccurred())
		rc, err = admin.Submit(suiteCtx, st)
		Expect(err).NotTo(HaveOccurred())
		Expect(rc.Status).To(Equal(chain.Accepted), "%v", rc.Reasons)
		Eventually(func(g Gomega) {
			got := getAgency(g)
			g.Expect(got.Status.Registered).To(BeTrue())
			g.Expect(conditionOf(g, got.Status.Conditions, ledgerv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		}, eventually, tick).Should(Succeed())
	})
})

// adminKeyOf reads a network's admin key from its Secret.
func adminKeyOf(net *ledgerv1.LedgerNetwork) ed25519.PrivateKey {
	target, err := networkTarget(suiteCtx, k8sClient, net)
	Expect(err).NotTo(HaveOccurred())
	return target.AdminKey
}

// collectGarbage plays the garbage collector, which envtest does not run:
// it deletes the namespace's Secrets whose owners (AgencyMembers,
// LedgerNetworks) are all gone.
func collectGarbage(ns string) {
	var list corev1.SecretList
	Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
	for i := range list.Items {
		sec := &list.Items[i]
		if len(sec.OwnerReferences) == 0 {
			continue
		}
		gone := true
		for _, o := range sec.OwnerReferences {
			var owner client.Object
			switch o.Kind {
			case "AgencyMember":
				owner = &ledgerv1.AgencyMember{}
			case "LedgerNetwork":
				owner = &ledgerv1.LedgerNetwork{}
			default:
				gone = false
				continue
			}
			err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: o.Name}, owner)
			if err == nil && owner.GetUID() == o.UID {
				gone = false
			}
		}
		if gone {
			Expect(client.IgnoreNotFound(k8sClient.Delete(suiteCtx, sec))).To(Succeed())
		}
	}
}
