//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

const (
	agencyNSUS    = "e2e-agency-us"
	agencyNSMX    = "e2e-agency-mx"
	agencyNSRogue = "e2e-agency-rogue"
	nodeSelector  = "app.kubernetes.io/instance=" + netName + ",app.kubernetes.io/component=ledger-node"
	memberLabel   = "ledger.tradeledger.io/member-of"
)

// Tolerances: a write may fail while a leader is elected; with kubectl
// exec in between, an election shows as a few seconds of failures.
const maxOutage = 15 * time.Second

func networkManifest(replicas int, image string) string {
	img := ""
	if image != "" {
		img = "\n  image: " + image
	}
	return fmt.Sprintf(`apiVersion: ledger.tradeledger.io/v1alpha1
kind: LedgerNetwork
metadata:
  name: %s
  namespace: %s
spec:
  networkID: customs-e2e
  replicas: %d%s
  storage:
    size: 256Mi
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {memory: 512Mi}
  memberNamespaceSelector:
    matchLabels: {%s: %s}
  deletionPolicy: Retain
`, netName, netNS, replicas, img, memberLabel, netName)
}

func agencyManifest(ns, name, id, country string, programs ...string) string {
	return fmt.Sprintf(`apiVersion: ledger.tradeledger.io/v1alpha1
kind: AgencyMember
metadata:
  name: %s
  namespace: %s
spec:
  networkRef: {name: %s, namespace: %s}
  agencyID: %s
  displayName: %s customs (e2e)
  country: %s
  programs: [%s]
  keys:
    managed: {}
  keyRotation:
    every: 2160h
    gracePeriod: 1h
`, name, ns, netName, netNS, id, country, country, strings.Join(programs, ", "))
}

const usPolicy = `apiVersion: ledger.tradeledger.io/v1alpha1
kind: CertificatePolicy
metadata:
  name: us-cbp-usmca
  namespace: ` + agencyNSUS + `
spec:
  agencyRef: {name: us-cbp}
  description: USMCA certificates into the US name their producer.
  scope:
    programs: [USMCA]
    destinationCountries: [US]
    documentTypes: [certificate]
  enforcement: Enforce
  rules:
  - name: producer-named
    expression: '!has(doc.producer) || doc.producer.name != "Various"'
    message: US CBP needs the producer named, not "Various" (USMCA minimum data element 3)
`

const mxPolicy = `apiVersion: ledger.tradeledger.io/v1alpha1
kind: CertificatePolicy
metadata:
  name: mx-sat-usmca
  namespace: ` + agencyNSMX + `
spec:
  agencyRef: {name: mx-sat}
  description: USMCA certificates from Mexico name their certifier.
  scope:
    programs: [USMCA]
    originCountries: [MX]
    documentTypes: [certificate]
  enforcement: Audit
  rules:
  - name: certifier-named
    expression: has(doc.certifier) && doc.certifier.name != ""
    message: the certification must name its certifier
`

func namespaceManifest(name string, member bool) string {
	labels := "{}"
	if member {
		labels = fmt.Sprintf("{%s: %s}", memberLabel, netName)
	}
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: %s\n", name, labels)
}

// shared between the ordered steps
var (
	client        *ledgerClient
	applyToReady  time.Duration
	genesisBefore string
	heightBefore  int64
	acmeCertID    = "USMCA-ACME-E2E-0001"
	// ackedNotes: every note the customs network acknowledged, in order;
	// notesInBackup: those acknowledged before step 11's backup began.
	ackedNotes    []string
	notesInBackup []string
)

func readyNetwork(g Gomega, replicas int32) *ledgerv1.LedgerNetwork {
	n, err := e.network(netNS, netName)
	g.Expect(err).NotTo(HaveOccurred())
	c := condition(n.Status.Conditions, ledgerv1.ConditionReady)
	g.Expect(c).NotTo(BeNil(), "no Ready condition yet")
	g.Expect(c.Status).To(BeEquivalentTo("True"), "Ready: %s %s", c.Reason, c.Message)
	g.Expect(n.Status.ReadyReplicas).To(Equal(replicas))
	g.Expect(n.Status.Leader).NotTo(BeEmpty())
	return n
}

func leaderOf(g Gomega) string {
	st, err := client.status()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st.Leader).NotTo(BeEmpty(), "no leader")
	return st.Leader
}

// caughtUp: every member answers and applied what the leader applied.
func caughtUp(g Gomega, want int) {
	st, err := client.status()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(st.Members).To(HaveLen(want))
	var top uint64
	for _, m := range st.Members {
		top = max(top, m.Height)
	}
	for _, m := range st.Members {
		g.Expect(m.Reachable).To(BeTrue(), "%s unreachable", m.ID)
		g.Expect(m.Height).To(Equal(top), "%s at height %d, leader at %d", m.ID, m.Height, top)
	}
}

func kill9(pod *corev1.Pod) {
	Expect(e.ctrSock).NotTo(BeEmpty(), "E2E_CONTAINERD_SOCK is needed to kill a container's process from the node")
	Expect(pod.Status.ContainerStatuses).NotTo(BeEmpty())
	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	Expect(id).NotTo(BeEmpty())
	_, err := run(30*time.Second, nil, "ctr", "-a", e.ctrSock, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id)
	Expect(err).NotTo(HaveOccurred())
}

func writeNotes(prefix string, n int) []string {
	var keys []string
	for i := range n {
		k := fmt.Sprintf("%s-%d", prefix, i)
		_, err := client.ctl(nil, "note", "put", k, fmt.Sprintf("%q", k), "--key", "/keys/admin/admin.key")
		Expect(err).NotTo(HaveOccurred())
		keys = append(keys, k)
	}
	ackedNotes = append(ackedNotes, keys...)
	return keys
}

func expectNotes(keys []string) {
	for _, k := range keys {
		out, err := client.ctl(nil, "note", "get", k)
		Expect(err).NotTo(HaveOccurred(), "acknowledged note %s lost", k)
		Expect(out).To(ContainSubstring(k))
	}
}

func expectWritable(w *writer, what string) []string {
	acked, failures, outage := w.finish()
	figure("%s: %d writes acknowledged, %d failed, longest outage %s", what, len(acked), len(failures), outage.Round(100*time.Millisecond))
	ackedNotes = append(ackedNotes, acked...)
	Expect(acked).NotTo(BeEmpty(), "no write succeeded during %s", what)
	Expect(outage).To(BeNumerically("<", maxOutage), "writes failed for %s during %s (last failure: %v)", outage, what, lastErr(failures))
	return acked
}

func lastErr(f []writeResult) error {
	if len(f) == 0 {
		return nil
	}
	return f[len(f)-1].err
}

func certificate(id, producer string, now time.Time) []byte {
	c := wire.Certificate{ID: id, Program: "USMCA", CertifierRole: "exporter",
		Certifier:     wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV", Title: "Gerente", Country: "MX"},
		Producer:      &wire.Party{Name: producer},
		Importer:      &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc.", Country: "US"},
		ExportCountry: "MX", ImportCountry: "US",
		Goods:         []wire.GoodsItem{{Description: "Cotton T-shirts bearing the ACME mark", HSCode: "610910", OriginCriterion: "C", CountryOfOrigin: "MX"}},
		BlanketPeriod: &wire.Period{ValidFrom: tx.FormatTime(now.AddDate(0, -1, 0)), ValidUntil: tx.FormatTime(now.AddDate(0, 6, 0))},
		SignedAt:      tx.FormatTime(now.Add(-time.Hour)), Language: "en",
		Statement: "I certify that the goods described qualify as originating."}
	b, err := json.Marshal(c)
	Expect(err).NotTo(HaveOccurred())
	return b
}

var _ = Describe("tradeledger on a real cluster", Ordered, ContinueOnFailure, func() {

	It("1. the chart installs and the operator is Ready", func() {
		t0 := time.Now()
		_, err := run(5*time.Minute, nil, e.helm, "install", releaseName, e.chart, "--kubeconfig", e.kubeconfig,
			"--namespace", operatorNS, "--create-namespace", "--wait", "--timeout", "4m",
			"--set", "image.repository="+e.repo, "--set", "image.tag="+e.tagA,
			"--set", "statusInterval=5s", "--set", "logLevel=debug")
		Expect(err).NotTo(HaveOccurred())
		_, err = e.k("-n", operatorNS, "rollout", "status", "deployment/"+releaseName, "--timeout=2m")
		Expect(err).NotTo(HaveOccurred())
		out, err := e.k("get", "crd", "ledgernetworks.ledger.tradeledger.io", "-o", "jsonpath={.metadata.annotations.helm\\.sh/resource-policy}")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(Equal("keep"), "the chart's CRDs must survive helm uninstall")
		figure("helm install → operator Ready: %s", time.Since(t0).Round(time.Second))
	})

	It("2. a 3-replica LedgerNetwork reaches Ready with a leader and a growing height", func() {
		Expect(e.apply(namespaceManifest(netNS, false))).To(Succeed())
		t0 := time.Now()
		Expect(e.apply(networkManifest(3, ""))).To(Succeed())
		eventually(func(g Gomega) { readyNetwork(g, 3) }, 4*time.Minute).Should(Succeed())
		applyToReady = time.Since(t0)
		figure("apply → Ready (3 replicas): %s", applyToReady.Round(100*time.Millisecond))

		out, err := e.k("get", "ledgernetworks", "-n", netNS)
		Expect(err).NotTo(HaveOccurred())
		fmt.Fprintf(GinkgoWriter, "%s", out)
		Expect(out).To(MatchRegexp(`(?m)^customs\s+3\s+3\s+customs-\d\s+\d+`), "kubectl get ledgernetworks: replicas 3, ready 3, a leader, a height")

		// The client pod that later steps run ledgerctl in.
		Expect(e.apply(clientManifest(e, netNS, netName, nil))).To(Succeed())
		_, err = e.k("wait", "-n", netNS, "--for=condition=Ready", "pod/"+clientPod, "--timeout=90s")
		Expect(err).NotTo(HaveOccurred())
		client = &ledgerClient{e: e, ns: netNS, pod: clientPod}

		n0, err := e.network(netNS, netName)
		Expect(err).NotTo(HaveOccurred())
		writeNotes("height", 3)
		eventually(func(g Gomega) {
			n, err := e.network(netNS, netName)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n.Status.Height).To(BeNumerically(">", n0.Status.Height))
		}, time.Minute).Should(Succeed())
	})

	It("3. agencies join by manifest; certificates and a license chain are issued and verified; a policy rejection says why", func() {
		for _, ns := range []struct {
			name   string
			member bool
		}{{agencyNSUS, true}, {agencyNSMX, true}, {agencyNSRogue, false}} {
			Expect(e.apply(namespaceManifest(ns.name, ns.member))).To(Succeed())
		}
		Expect(e.apply(agencyManifest(agencyNSUS, "us-cbp", "us-cbp", "US", "USMCA", "IPR"))).To(Succeed())
		Expect(e.apply(agencyManifest(agencyNSMX, "mx-sat", "mx-sat", "MX", "USMCA", "IPR"))).To(Succeed())
		Expect(e.apply(agencyManifest(agencyNSRogue, "rogue", "rogue-agency", "US", "USMCA"))).To(Succeed())
		Expect(e.apply(usPolicy)).To(Succeed())
		Expect(e.apply(mxPolicy)).To(Succeed())

		for _, a := range []struct{ ns, name string }{{agencyNSUS, "us-cbp"}, {agencyNSMX, "mx-sat"}} {
			eventually(func(g Gomega) {
				am, err := e.agency(a.ns, a.name)
				g.Expect(err).NotTo(HaveOccurred())
				c := condition(am.Status.Conditions, ledgerv1.ConditionReady)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(BeEquivalentTo("True"), "%s Ready: %s %s", a.name, c.Reason, c.Message)
				g.Expect(am.Status.Registered).To(BeTrue())
			}, 2*time.Minute).Should(Succeed())
		}
		eventually(func(g Gomega) {
			am, err := e.agency(agencyNSRogue, "rogue")
			g.Expect(err).NotTo(HaveOccurred())
			c := condition(am.Status.Conditions, ledgerv1.ConditionDegraded)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(BeEquivalentTo("True"))
			g.Expect(c.Reason).To(Equal("NamespaceNotAllowed"))
			g.Expect(c.Message).To(ContainSubstring(agencyNSRogue), "the refusal names the namespace")
			g.Expect(am.Status.Registered).To(BeFalse())
		}, time.Minute).Should(Succeed())
		for _, p := range []struct{ ns, name string }{{agencyNSUS, "us-cbp-usmca"}, {agencyNSMX, "mx-sat-usmca"}} {
			eventually(func(g Gomega) {
				out, err := e.k("get", "certificatepolicy", p.name, "-n", p.ns, "-o", "jsonpath={.status.conditions[?(@.type==\"Published\")].status}")
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(out).To(Equal("True"), "policy %s published", p.name)
			}, 2*time.Minute).Should(Succeed())
		}

		// The agencies' keys are the operator's (Secrets in their
		// namespaces); the client pod gets copies, as an agency's IT
		// would hand its key to its own tooling.
		var secrets []string
		for _, a := range []struct{ ns, name string }{{agencyNSUS, "us-cbp"}, {agencyNSMX, "mx-sat"}} {
			key, err := e.k("get", "secret", a.name+"-agency-key", "-n", a.ns, "-o", "jsonpath={.data.agency\\.key}")
			Expect(err).NotTo(HaveOccurred())
			Expect(key).NotTo(BeEmpty())
			name := a.name + "-key"
			Expect(e.apply(fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s}\ndata: {agency.key: %s}\n", name, netNS, key))).To(Succeed())
			secrets = append(secrets, name)
		}
		_, err := e.k("delete", "pod", clientPod, "-n", netNS, "--wait=true")
		Expect(err).NotTo(HaveOccurred())
		Expect(e.apply(clientManifest(e, netNS, netName, secrets))).To(Succeed())
		_, err = e.k("wait", "-n", netNS, "--for=condition=Ready", "pod/"+clientPod, "--timeout=90s")
		Expect(err).NotTo(HaveOccurred())

		const us, mx = "/keys/us-cbp-key/agency.key", "/keys/mx-sat-key/agency.key"
		for _, p := range []string{"acme-mx", "maker-mx", "bigbox-us", "acme-brands-us"} {
			_, err := client.ctl(nil, "keys", "create", "--out", "/work/"+p+".key")
			Expect(err).NotTo(HaveOccurred())
		}
		enrol := func(agencyKey, id, name, country string, roles ...string) {
			args := []string{"participant", "enrol", "--key", agencyKey, "--id", id, "--name", name, "--country", country,
				"--public-key", "/work/" + id + ".key", "--email", id + "@example.com"}
			for _, r := range roles {
				args = append(args, "--role", r)
			}
			_, err := client.ctl(nil, args...)
			Expect(err).NotTo(HaveOccurred(), "enrol %s", id)
		}
		enrol(mx, "acme-mx", "ACME Exportaciones SA de CV", "MX", "exporter", "producer", "certifier")
		enrol(mx, "maker-mx", "Maquiladora del Norte SA de CV", "MX", "producer", "exporter", "licensee")
		enrol(us, "bigbox-us", "BigBox Stores Inc.", "US", "importer", "licensee")
		enrol(us, "acme-brands-us", "ACME Brands LLC", "US", "rightsholder")

		now := time.Now().UTC().Truncate(time.Second)
		_, err = client.ctl(certificate(acmeCertID, "Maquiladora del Norte SA de CV", now), "cert", "issue", "--file", "/dev/stdin", "--key", "/work/acme-mx.key")
		Expect(err).NotTo(HaveOccurred())
		out, err := client.ctl(nil, "verify", "certificate", acmeCertID)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("VALID"))

		// US CBP's Enforce policy refuses a producer "Various", and says which rule.
		out, err = client.ctl(certificate("USMCA-ACME-E2E-0002", wire.ProducerVarious, now), "cert", "issue", "--file", "/dev/stdin", "--key", "/work/acme-mx.key")
		Expect(err).To(HaveOccurred(), "a certificate against an Enforce rule must be rejected: %s", out)
		Expect(err.Error()).To(ContainSubstring("producer-named"), "the rejection names the rule")
		Expect(err.Error()).To(ContainSubstring("us-cbp-usmca"), "the rejection names the policy")
		_, err = client.ctl(nil, "cert", "get", "USMCA-ACME-E2E-0002")
		Expect(err).To(HaveOccurred(), "a rejected certificate is never recorded")

		// The license chain: the rights holder licenses the maker, who sub-licenses the importer.
		_, err = client.ctl(nil, "ipright", "register", "--key", us, "--id", "TM-ACME-E2E", "--type", "trademark", "--office", "WIPO",
			"--registration-number", "5123456", "--title", "ACME (word mark)", "--holder", "participant/acme-brands-us", "--country", "US", "--country", "MX")
		Expect(err).NotTo(HaveOccurred())
		from, until := tx.FormatTime(now.AddDate(0, -1, 0)), tx.FormatTime(now.AddDate(1, 0, 0))
		_, err = client.ctl(nil, "license", "grant", "--key", "/work/acme-brands-us.key", "--id", "LIC-E2E-1", "--right", "TM-ACME-E2E",
			"--licensor", "participant/acme-brands-us", "--licensee", "participant/maker-mx", "--goods", "ACME apparel",
			"--hs", "6109", "--territory", "US", "--territory", "MX", "--from", from, "--until", until, "--sublicense-depth", "1")
		Expect(err).NotTo(HaveOccurred())
		_, err = client.ctl(nil, "license", "grant", "--key", "/work/maker-mx.key", "--id", "LIC-E2E-2", "--right", "TM-ACME-E2E",
			"--licensor", "participant/maker-mx", "--licensee", "participant/bigbox-us", "--goods", "ACME T-shirts",
			"--hs", "610910", "--territory", "US", "--from", from, "--until", until, "--parent", "LIC-E2E-1")
		Expect(err).NotTo(HaveOccurred())
		out, err = client.ctl(nil, "verify", "license", "--importer", "bigbox-us", "--hs", "610910", "--right", "TM-ACME-E2E", "--country", "US")
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("YES"))
		Expect(out).To(ContainSubstring("maker-mx"), "the path names the middle licensee")
	})

	It("4. kill -9 in the leader and deleting the leader pod: a new leader, no acknowledged record lost, the pod catches up", func() {
		acked := writeNotes("before-kill", 5)
		leader := leaderOf(Default)
		p, err := e.pod(netNS, leader)
		Expect(err).NotTo(HaveOccurred())
		before := restarts(p)
		kill9(p)
		t0 := time.Now()
		eventually(func(g Gomega) {
			p, err := e.pod(netNS, leader)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(restarts(p)).To(BeNumerically(">", before), "the killed container restarts")
			g.Expect(podReady(p)).To(BeTrue())
		}, 2*time.Minute).Should(Succeed())
		eventually(func(g Gomega) { leaderOf(g) }, time.Minute).Should(Succeed())
		acked = append(acked, writeNotes("after-kill", 3)...)
		expectNotes(acked)
		eventually(func(g Gomega) { caughtUp(g, 3) }, time.Minute).Should(Succeed())
		figure("kill -9 of leader %s → restarted, Ready and caught up: %s", leader, time.Since(t0).Round(100*time.Millisecond))

		leader = leaderOf(Default)
		p, err = e.pod(netNS, leader)
		Expect(err).NotTo(HaveOccurred())
		uid := p.UID
		t0 = time.Now()
		_, err = e.k("delete", "pod", leader, "-n", netNS, "--wait=false")
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) {
			g.Expect(leaderOf(g)).NotTo(Equal(leader), "a new leader while the old one's pod is gone")
		}, time.Minute).Should(Succeed())
		newLeader := time.Since(t0)
		acked = append(acked, writeNotes("after-delete", 3)...)
		eventually(func(g Gomega) {
			p, err := e.pod(netNS, leader)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.UID).NotTo(Equal(uid))
			g.Expect(podReady(p)).To(BeTrue())
		}, 2*time.Minute).Should(Succeed())
		eventually(func(g Gomega) { caughtUp(g, 3) }, time.Minute).Should(Succeed())
		expectNotes(acked)
		figure("leader pod %s deleted → new leader %s, back and caught up %s", leader, newLeader.Round(100*time.Millisecond), time.Since(t0).Round(100*time.Millisecond))
	})

	It("5. scale 3 → 5 → 3 under writes: members join as non-voters, are promoted, are removed before their pods go", func() {
		w := client.startWriter("scale")
		// Pods are listed before members: a pod gone while its member is
		// still in the configuration read after it is a violation.
		var mu sync.Mutex
		var violations []string
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
				pods, err := e.pods(netNS, nodeSelector)
				if err != nil {
					continue
				}
				st, err := client.status()
				if err != nil {
					continue
				}
				have := map[string]bool{}
				for _, p := range pods {
					have[p.Name] = true
				}
				for _, m := range st.Members {
					if !have[m.ID] {
						mu.Lock()
						violations = append(violations, fmt.Sprintf("%s: member %s (%s) without its pod", time.Now().Format(time.TimeOnly), m.ID, m.Suffrage))
						mu.Unlock()
					}
				}
			}
		}()
		t0 := time.Now()
		_, err := e.k("patch", "ledgernetwork", netName, "-n", netNS, "--type=merge", "-p", `{"spec":{"replicas":5}}`)
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) {
			readyNetwork(g, 5)
			st, err := client.status()
			g.Expect(err).NotTo(HaveOccurred())
			voters := 0
			for _, m := range st.Members {
				if m.Suffrage == "voter" {
					voters++
				}
			}
			g.Expect(voters).To(Equal(5))
		}, 4*time.Minute).Should(Succeed())
		figure("scale 3 → 5 (5 voters, 5 ready): %s", time.Since(t0).Round(time.Second))
		t1 := time.Now()
		_, err = e.k("patch", "ledgernetwork", netName, "-n", netNS, "--type=merge", "-p", `{"spec":{"replicas":3}}`)
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) {
			readyNetwork(g, 3)
			pods, err := e.pods(netNS, nodeSelector)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods).To(HaveLen(3))
			caughtUp(g, 3)
		}, 4*time.Minute).Should(Succeed())
		figure("scale 5 → 3: %s", time.Since(t1).Round(time.Second))
		close(stop)
		<-sampled
		expectWritable(w, "scale 3 → 5 → 3")
		Expect(violations).To(BeEmpty())

		// The operator's events tell the order: joined (non-voter), then promoted; removed.
		type ev struct {
			Reason  string `json:"reason"`
			Note    string `json:"note"`
			Related *struct {
				Name string `json:"name"`
			} `json:"related"`
			EventTime       time.Time `json:"eventTime"`
			DeprecatedFirst time.Time `json:"deprecatedFirstTimestamp"`
		}
		var list struct {
			Items []ev `json:"items"`
		}
		Expect(e.getJSON(&list, "events.events.k8s.io", "-n", netNS)).To(Succeed())
		when := map[string]time.Time{}
		for _, x := range list.Items {
			if x.Related == nil {
				continue
			}
			k := x.Reason + "/" + x.Related.Name
			if _, ok := when[k]; !ok || x.EventTime.Before(when[k]) {
				when[k] = x.EventTime
			}
		}
		for _, m := range []string{netName + "-3", netName + "-4"} {
			joined, ok1 := when["MemberJoined/"+m]
			promoted, ok2 := when["MemberPromoted/"+m]
			_, ok3 := when["MemberRemoved/"+m]
			Expect(ok1 && ok2 && ok3).To(BeTrue(), "events for %s: joined %v promoted %v removed %v", m, ok1, ok2, ok3)
			Expect(joined.After(promoted)).To(BeFalse(), "%s promoted before it joined", m)
		}
	})

	It("6. a new image tag rolls the nodes, leader last, writable throughout", func() {
		startLeader := leaderOf(Default)
		w := client.startWriter("upgrade")
		newImage := e.repo + ":" + e.tagB
		var order []string
		seen := map[string]bool{}
		t0 := time.Now()
		Expect(e.apply(networkManifest(3, newImage))).To(Succeed())
		eventually(func(g Gomega) {
			pods, err := e.pods(netNS, nodeSelector)
			g.Expect(err).NotTo(HaveOccurred())
			for _, p := range pods {
				if p.Spec.Containers[0].Image == newImage && !seen[p.Name] {
					seen[p.Name] = true
					order = append(order, p.Name)
				}
			}
			g.Expect(order).To(HaveLen(3))
			n := readyNetwork(g, 3)
			g.Expect(n.Status.Phase).To(Equal(ledgerv1.PhaseRunning))
			for _, p := range pods {
				g.Expect(podReady(&p)).To(BeTrue())
			}
		}, 6*time.Minute).Should(Succeed())
		figure("rolling upgrade to %s: %s, order %v", e.tagB, time.Since(t0).Round(time.Second), order)
		expectWritable(w, "rolling upgrade")
		Expect(order[len(order)-1]).To(Equal(startLeader), "the leader restarts last")
	})

	It("7. an agency key and a node TLS certificate rotate through the operator; old records verify; no pod restarts", func() {
		pods, err := e.pods(netNS, nodeSelector)
		Expect(err).NotTo(HaveOccurred())
		before := map[string]string{}
		for _, p := range pods {
			before[p.Name] = fmt.Sprintf("%s/%d", p.UID, restarts(&p))
		}
		am, err := e.agency(agencyNSUS, "us-cbp")
		Expect(err).NotTo(HaveOccurred())
		Expect(am.Status.ActiveKey).NotTo(BeNil())
		oldFP := am.Status.ActiveKey.Fingerprint
		now := time.Now().UTC().Format(time.RFC3339)
		_, err = e.k("patch", "agencymember", "us-cbp", "-n", agencyNSUS, "--type=merge", "-p",
			fmt.Sprintf(`{"spec":{"keyRotation":{"requestedAt":%q}}}`, now))
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) {
			am, err := e.agency(agencyNSUS, "us-cbp")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(am.Status.ActiveKey).NotTo(BeNil())
			g.Expect(am.Status.ActiveKey.Fingerprint).NotTo(Equal(oldFP))
		}, 2*time.Minute).Should(Succeed())

		// Node TLS: the operator renews a certificate it cannot read or
		// that is due; an unreadable one is the way to ask for it now.
		pod := netName + "-1"
		secret, item := nodeTLSSecret(pod)
		oldCert, err := e.k("get", "secret", secret, "-n", netNS, "-o", "jsonpath={.data."+strings.ReplaceAll(item, ".", "\\.")+"}")
		Expect(err).NotTo(HaveOccurred())
		Expect(oldCert).NotTo(BeEmpty())
		_, err = e.k("patch", "secret", secret, "-n", netNS, "--type=merge", "-p",
			fmt.Sprintf(`{"data":{%q:%q}}`, item, "bm90IGEgY2VydGlmaWNhdGUK"))
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) {
			c, err := e.k("get", "secret", secret, "-n", netNS, "-o", "jsonpath={.data."+strings.ReplaceAll(item, ".", "\\.")+"}")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(c).NotTo(Equal("bm90IGEgY2VydGlmaWNhdGUK"))
			g.Expect(c).NotTo(Equal(oldCert))
		}, 2*time.Minute).Should(Succeed())
		// The node takes the new files on its next handshake.
		eventually(func(g Gomega) { caughtUp(g, 3) }, 2*time.Minute).Should(Succeed())
		writeNotes("after-rotation", 2)

		out, err := client.ctl(nil, "verify", "certificate", acmeCertID)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring("VALID"))
		out, err = client.ctl(nil, "verify", "license", "--importer", "bigbox-us", "--hs", "610910", "--right", "TM-ACME-E2E", "--country", "US")
		Expect(err).NotTo(HaveOccurred(), "the right registered with the old agency key still holds")
		Expect(out).To(ContainSubstring("YES"))

		pods, err = e.pods(netNS, nodeSelector)
		Expect(err).NotTo(HaveOccurred())
		for _, p := range pods {
			Expect(fmt.Sprintf("%s/%d", p.UID, restarts(&p))).To(Equal(before[p.Name]), "pod %s restarted", p.Name)
		}
	})

	It("7b. the network CA rotates under write load (spec.tls.caGeneration): Bundling → Reissuing → Dropping → Complete, writable throughout, an old-CA-only client told why it is refused", func() {
		caBundle := func() (string, error) {
			return e.k("get", "configmap", netName+"-ca-bundle", "-n", netNS, "-o", "jsonpath={.data.ca\\.crt}")
		}
		oldCA, err := caBundle()
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Count(oldCA, "BEGIN CERTIFICATE")).To(Equal(1), "one CA before the rotation")
		// A client outside the operator's reach takes the bundle from the
		// ConfigMap (docs/operations.md): the writer trusts what this step
		// last read there (ledgerctl --ca /dev/stdin; the client image has
		// no shell to write a file with).
		var mu sync.Mutex
		bundle := []byte(oldCA)
		take := func(b string) { mu.Lock(); bundle = []byte(b); mu.Unlock() }
		w := client.startWriterTrusting("ca-rotation", func() []byte { mu.Lock(); defer mu.Unlock(); return bundle })

		t0 := time.Now()
		_, err = e.k("patch", "ledgernetwork", netName, "-n", netNS, "--type=merge", "-p", `{"spec":{"tls":{"caGeneration":1}}}`)
		Expect(err).NotTo(HaveOccurred())
		phases := map[ledgerv1.CARotationPhase]time.Duration{}
		eventually(func(g Gomega) {
			n, err := e.network(netNS, netName)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n.Status.TLS).NotTo(BeNil())
			p := n.Status.TLS.Phase
			if _, seen := phases[p]; !seen && p != "" {
				phases[p] = time.Since(t0)
				if c := condition(n.Status.Conditions, ledgerv1.ConditionCARotation); c != nil {
					fmt.Fprintf(GinkgoWriter, "CA rotation at %s: %s: %s\n", time.Since(t0).Round(time.Second), p, c.Message)
				}
			}
			if p == ledgerv1.CABundling {
				if b, err := caBundle(); err == nil && strings.Count(b, "BEGIN CERTIFICATE") == 2 {
					take(b)
				}
			}
			g.Expect(p).To(Equal(ledgerv1.CAComplete))
			g.Expect(n.Status.TLS.CAGeneration).To(Equal(int64(1)))
		}, 12*time.Minute).Should(Succeed())
		took := time.Since(t0)
		newCA, err := caBundle()
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Count(newCA, "BEGIN CERTIFICATE")).To(Equal(1))
		Expect(newCA).NotTo(Equal(oldCA))
		take(newCA)
		figure("CA rotation under writes: %s to Complete (phases first seen at %v)", took.Round(time.Second), phases)
		expectWritable(w, "CA rotation")

		// A client that trusts only the old CA is refused, and told why.
		out, err := client.ctl([]byte(oldCA), "--ca", "/dev/stdin", "cluster", "status")
		Expect(err).To(HaveOccurred(), "a client trusting the old CA alone: %s", out)
		Expect(err.Error()).To(And(ContainSubstring("unknown authority"), ContainSubstring("may have been rotated"), ContainSubstring("ca-bundle")))

		// The client pod's mounted /ca/ca.crt (Secret <network>-ca) follows
		// by the kubelet (the image has no cat: ledgerctl reading through
		// it is the proof); later steps use it.
		eventually(func(g Gomega) {
			_, err := client.status()
			g.Expect(err).NotTo(HaveOccurred())
		}, 4*time.Minute).Should(Succeed())
		writeNotes("after-ca-rotation", 2)
	})

	It("8. a drain respects the PodDisruptionBudget: never below quorum", func() {
		var mu sync.Mutex
		minReady := 99
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				pods, err := e.pods(netNS, nodeSelector)
				if err == nil {
					ready := 0
					for i := range pods {
						if podReady(&pods[i]) {
							ready++
						}
					}
					mu.Lock()
					minReady = min(minReady, ready)
					mu.Unlock()
				}
				select {
				case <-stop:
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
		nodes, err := e.k("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
		Expect(err).NotTo(HaveOccurred())
		out, err := e.k("drain", nodes, "--pod-selector", nodeSelector, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=40s")
		_, uerr := e.k("uncordon", nodes)
		Expect(uerr).NotTo(HaveOccurred())
		Expect(err).To(HaveOccurred(), "on one node the drain cannot finish without breaking quorum: %s", out)
		Expect(err.Error()).To(ContainSubstring("disruption budget"))
		eventually(func(g Gomega) { readyNetwork(g, 3) }, 3*time.Minute).Should(Succeed())
		close(stop)
		<-sampled
		figure("drain: fewest ready node pods seen %d of 3", minReady)
		Expect(minReady).To(BeNumerically(">=", 2), "quorum of 3 is 2")
	})

	It("9. helm uninstall keeps volumes and identity; the LedgerNetwork and an AgencyMember resume", func() {
		n, err := e.network(netNS, netName)
		Expect(err).NotTo(HaveOccurred())
		genesisBefore, heightBefore = n.Status.GenesisHash, n.Status.Height
		Expect(genesisBefore).NotTo(BeEmpty())
		_, err = e.k("delete", "ledgernetwork", netName, "-n", netNS, "--wait=true", "--timeout=2m")
		Expect(err).NotTo(HaveOccurred())
		_, err = run(3*time.Minute, nil, e.helm, "uninstall", releaseName, "-n", operatorNS, "--wait", "--kubeconfig", e.kubeconfig)
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) {
			pods, err := e.pods(netNS, nodeSelector)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods).To(BeEmpty())
		}, 2*time.Minute).Should(Succeed())
		pvcs, err := e.k("get", "pvc", "-n", netNS, "-o", "name")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(pvcs)).To(HaveLen(3), "the volumes stay")
		for _, obj := range []string{"configmap/" + netName + "-genesis", "secret/" + netName + "-ca", "secret/" + netName + "-admin"} {
			_, err := e.k("get", obj, "-n", netNS)
			Expect(err).NotTo(HaveOccurred(), "identity %s stays", obj)
		}

		_, err = run(5*time.Minute, nil, e.helm, "install", releaseName, e.chart, "--kubeconfig", e.kubeconfig,
			"--namespace", operatorNS, "--wait", "--timeout", "4m",
			"--set", "image.repository="+e.repo, "--set", "image.tag="+e.tagA, "--set", "statusInterval=5s")
		Expect(err).NotTo(HaveOccurred())
		Expect(e.apply(networkManifest(3, e.repo+":"+e.tagB))).To(Succeed())
		eventually(func(g Gomega) {
			n := readyNetwork(g, 3)
			g.Expect(n.Status.GenesisHash).To(Equal(genesisBefore), "the same ledger")
			g.Expect(n.Status.Height).To(BeNumerically(">=", heightBefore))
		}, 4*time.Minute).Should(Succeed())
		expectNotes([]string{"before-kill-0", "after-rotation-1"})

		// An AgencyMember deleted and applied again resumes its agency.
		_, err = e.k("delete", "agencymember", "mx-sat", "-n", agencyNSMX, "--wait=true", "--timeout=2m")
		Expect(err).NotTo(HaveOccurred())
		Expect(e.apply(agencyManifest(agencyNSMX, "mx-sat", "mx-sat", "MX", "USMCA", "IPR"))).To(Succeed())
		eventually(func(g Gomega) {
			am, err := e.agency(agencyNSMX, "mx-sat")
			g.Expect(err).NotTo(HaveOccurred())
			c := condition(am.Status.Conditions, ledgerv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(BeEquivalentTo("True"), "mx-sat Ready: %s %s", c.Reason, c.Message)
		}, 2*time.Minute).Should(Succeed())
		out, err := client.ctl(nil, "agency", "get", "mx-sat", "-o", "json")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.ToLower(out)).NotTo(ContainSubstring(`"suspended": true`), "the agency is active again")
	})

	It("10. deleting pods (one, the leader, all) never shows a rollout; status names the new leader within seconds", func() {
		var mu sync.Mutex
		var rollouts []string
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				if n, err := e.network(netNS, netName); err == nil {
					c := condition(n.Status.Conditions, ledgerv1.ConditionProgressing)
					if n.Status.Phase == ledgerv1.PhaseUpgrading || (c != nil && c.Status == "True" && strings.Contains(c.Message, "rolling out")) {
						mu.Lock()
						rollouts = append(rollouts, fmt.Sprintf("%s phase %s: %v", time.Now().Format(time.TimeOnly), n.Status.Phase, c))
						mu.Unlock()
					}
				}
				select {
				case <-stop:
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
		eventually(func(g Gomega) { readyNetwork(g, 3) }, 2*time.Minute).Should(Succeed())
		leader := leaderOf(Default)
		follower := netName + "-0"
		if follower == leader {
			follower = netName + "-1"
		}
		_, err := e.k("delete", "pod", follower, "-n", netNS, "--wait=false")
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) { readyNetwork(g, 3) }, 2*time.Minute).Should(Succeed())

		t0 := time.Now()
		_, err = e.k("delete", "pod", leader, "-n", netNS, "--wait=false")
		Expect(err).NotTo(HaveOccurred())
		eventually(func(g Gomega) {
			n, err := e.network(netNS, netName)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n.Status.Leader).NotTo(Equal(leader))
			g.Expect(n.Status.Leader).NotTo(BeEmpty())
			g.Expect(n.Status.Leader).To(Equal(leaderOf(g)))
		}, time.Minute).Should(Succeed())
		statusLeader := time.Since(t0)
		figure("leader pod deleted → status names the new leader: %s", statusLeader.Round(100*time.Millisecond))
		Expect(statusLeader).To(BeNumerically("<", 10*time.Second), "status names the new leader within a few seconds")
		eventually(func(g Gomega) { readyNetwork(g, 3) }, 2*time.Minute).Should(Succeed())

		_, err = e.k("delete", "pods", "-n", netNS, "-l", nodeSelector, "--wait=false")
		Expect(err).NotTo(HaveOccurred())
		t1 := time.Now()
		eventually(func(g Gomega) {
			n, err := e.network(netNS, netName)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(n.Status.ReadyReplicas).To(BeNumerically("<", 3))
		}, 30*time.Second).Should(Succeed())
		eventually(func(g Gomega) { readyNetwork(g, 3) }, 3*time.Minute).Should(Succeed())
		figure("all node pods deleted → Ready again: %s", time.Since(t1).Round(100*time.Millisecond))
		close(stop)
		<-sampled
		Expect(rollouts).To(BeEmpty(), "a restart is no rollout")
	})

	It("11. a LedgerBackup to a volume claim succeeds, and ledgerctl backup verify of the file in a pod exits 0", func() {
		n := readyNetworkNow(3)
		// Every note acknowledged so far is at or below the backup's height.
		notesInBackup = slices.Clone(ackedNotes)
		Expect(e.apply(backupClaimManifest)).To(Succeed())
		t0 := time.Now()
		Expect(e.apply(ledgerBackupManifest(e2eBackup))).To(Succeed())
		var b ledgerv1.LedgerBackup
		eventually(func(g Gomega) {
			g.Expect(e.getJSON(&b, "ledgerbackup", e2eBackup, "-n", netNS)).To(Succeed())
			g.Expect(b.Status.Phase).NotTo(Equal(ledgerv1.BackupFailed), "%v", b.Status.Conditions)
			g.Expect(b.Status.Phase).To(Equal(ledgerv1.BackupSucceeded), "%v", b.Status.Conditions)
		}, 4*time.Minute).Should(Succeed())
		Expect(b.Status.Duration).NotTo(BeNil())
		figure("LedgerBackup apply → Succeeded: %s (copy %s, %d bytes, height %d, served by %s, leader %s)", time.Since(t0).Round(100*time.Millisecond),
			b.Status.Duration.Duration, b.Status.SizeBytes, b.Status.Height, b.Status.Node, n.Status.Leader)
		Expect(b.Status.Height).To(BeNumerically(">=", heightBefore))
		Expect(b.Status.SizeBytes).To(BeNumerically(">", 0))
		Expect(b.Status.HeadHash).To(MatchRegexp("^[0-9a-f]{64}$"))
		Expect(b.Status.File).To(Equal(netName + "/" + e2eBackup + ".tlbackup"))
		eventually(func(g Gomega) {
			nn, err := e.network(netNS, netName)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(nn.Status.Backup).NotTo(BeNil())
			g.Expect(nn.Status.Backup.LastBackup).NotTo(BeNil())
			g.Expect(nn.Status.Backup.LastBackup.Name).To(Equal(e2eBackup))
		}, time.Minute).Should(Succeed())

		// docs/operations.md's verify pod, as written there.
		image := n.Spec.Image
		if image == "" {
			image = e.repo + ":" + e.tagA // the operator's own image, the nodes' default
		}
		Expect(e.apply(verifyBackupManifest(image, b.Status.File))).To(Succeed())
		var p *corev1.Pod
		eventually(func(g Gomega) {
			var err error
			p, err = e.pod(netNS, verifyPod)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Status.Phase).To(BeElementOf(corev1.PodSucceeded, corev1.PodFailed))
		}, 3*time.Minute).Should(Succeed())
		logs, _ := e.k("logs", "-n", netNS, verifyPod)
		Expect(p.Status.ContainerStatuses).To(HaveLen(1))
		Expect(p.Status.ContainerStatuses[0].State.Terminated).NotTo(BeNil())
		Expect(p.Status.ContainerStatuses[0].State.Terminated.ExitCode).To(BeZero(), logs)
		Expect(logs).To(MatchRegexp(`(?m)^yes\s+customs-e2e\s+%d\s`, b.Status.Height))
	})

	It("12. a LedgerNetwork restored from that backup (spec.bootstrap.fromBackup) reaches Ready with every note acknowledged before the backup, each with a proof, none after; ledgerctl verify consistency from the backup's head passes", func() {
		restoreFromBackup()
	})

	// On a network of its own (quorum_test.go): the customs network and
	// every other step are left alone.
	It("quorum loss: two of three pods unschedulable with their volumes deleted → QuorumLost; recover-from brings back 3 Ready voters with every acknowledged write", func() {
		quorumLossAndRecovery()
	})
})

const (
	e2eBackup = "customs-e2e-1"
	verifyPod = "verify-backup"
)

const backupClaimManifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ledger-backups
  namespace: ` + netNS + `
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests: {storage: 256Mi}
`

func ledgerBackupManifest(name string) string {
	return fmt.Sprintf(`apiVersion: ledger.tradeledger.io/v1alpha1
kind: LedgerBackup
metadata:
  name: %s
  namespace: %s
spec:
  network: %s
  storage: {claimName: ledger-backups, subPath: %s}
  timeout: 5m
`, name, netNS, netName, netName)
}

// verifyBackupManifest is the pod docs/operations.md gives to verify a
// backup file on its claim.
func verifyBackupManifest(image, file string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532}
  containers:
  - name: verify
    image: %s
    imagePullPolicy: IfNotPresent
    command: ["ledgerctl", "backup", "verify", "/backup/%s", "--trust", "/genesis/genesis.json", "--tmp-dir", "/scratch", "-q"]
    volumeMounts:
    - {name: backups, mountPath: /backup, readOnly: true}
    - {name: genesis, mountPath: /genesis, readOnly: true}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - {name: backups, persistentVolumeClaim: {claimName: ledger-backups, readOnly: true}}
  - {name: genesis, configMap: {name: %s-genesis}}
  - {name: scratch, emptyDir: {}}
`, verifyPod, netNS, image, file, netName)
}

// readyNetworkNow waits for the network to be Ready and returns it.
func readyNetworkNow(replicas int32) *ledgerv1.LedgerNetwork {
	GinkgoHelper()
	var n *ledgerv1.LedgerNetwork
	eventually(func(g Gomega) { n = readyNetwork(g, replicas) }, 3*time.Minute).Should(Succeed())
	return n
}

// nodeTLSSecret names the Secret and item holding a node's TLS
// certificate: each node's keys are in a Secret of their own.
func nodeTLSSecret(pod string) (secret, item string) {
	return pod + "-node-keys", "tls.crt"
}
