//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// env is what make e2e passes in.
type env struct {
	kubectl, helm, kubeconfig string
	repo, tagA, tagB          string
	clientImage               string
	ctrSock                   string // the local cluster's containerd socket (for kill -9 from the node)
	chart                     string
}

func loadEnv() (env, error) {
	e := env{
		kubectl: os.Getenv("KUBECTL"), helm: os.Getenv("HELM"), kubeconfig: os.Getenv("KUBECONFIG"),
		repo: os.Getenv("E2E_IMAGE_REPO"), tagA: os.Getenv("E2E_TAG_A"), tagB: os.Getenv("E2E_TAG_B"),
		clientImage: envOr("E2E_CLIENT_IMAGE", "tradeledger.local/e2e-client:v1"),
		ctrSock:     os.Getenv("E2E_CONTAINERD_SOCK"),
		chart:       envOr("E2E_CHART", "../../charts/tradeledger"),
	}
	var missing []string
	for name, v := range map[string]string{"KUBECTL": e.kubectl, "HELM": e.helm, "KUBECONFIG": e.kubeconfig,
		"E2E_IMAGE_REPO": e.repo, "E2E_TAG_A": e.tagA, "E2E_TAG_B": e.tagB} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return e, fmt.Errorf("environment %v not set: run the suite with make e2e (after make cluster-up)", missing)
	}
	return e, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// run runs a command with a deadline and returns its stdout; the error
// carries stderr.
func run(timeout time.Duration, stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s%s", shortName(name), strings.Join(args, " "), err,
			strings.TrimSpace(errb.String()), tail(out.String()))
	}
	return out.String(), nil
}

func shortName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return " (stdout: " + s + ")"
}

func (e env) k(args ...string) (string, error) {
	return run(2*time.Minute, nil, e.kubectl, args...)
}

func (e env) kIn(stdin []byte, args ...string) (string, error) {
	return run(2*time.Minute, stdin, e.kubectl, args...)
}

// apply applies a manifest (server-side).
func (e env) apply(manifest string) error {
	_, err := e.kIn([]byte(manifest), "apply", "--server-side", "--force-conflicts", "--field-manager", "e2e", "-f", "-")
	return err
}

func (e env) getJSON(into any, args ...string) error {
	out, err := e.k(append(append([]string{"get"}, args...), "-o", "json")...)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), into)
}

func (e env) network(ns, name string) (*ledgerv1.LedgerNetwork, error) {
	n := &ledgerv1.LedgerNetwork{}
	return n, e.getJSON(n, "ledgernetwork", name, "-n", ns)
}

func (e env) agency(ns, name string) (*ledgerv1.AgencyMember, error) {
	a := &ledgerv1.AgencyMember{}
	return a, e.getJSON(a, "agencymember", name, "-n", ns)
}

func (e env) pods(ns, selector string) ([]corev1.Pod, error) {
	var l corev1.PodList
	if err := e.getJSON(&l, "pods", "-n", ns, "-l", selector); err != nil {
		return nil, err
	}
	return l.Items, nil
}

func (e env) pod(ns, name string) (*corev1.Pod, error) {
	p := &corev1.Pod{}
	return p, e.getJSON(p, "pod", name, "-n", ns)
}

func condition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

// dump prints what a person needs to see why a step failed: the objects'
// status, events, the operator's and the nodes' logs.
func (e env) dump(namespaces ...string) {
	w := GinkgoWriter
	section := func(title string, args ...string) {
		out, err := e.k(args...)
		fmt.Fprintf(w, "\n===== %s\n%s", title, out)
		if err != nil {
			fmt.Fprintf(w, "(%v)\n", err)
		}
	}
	section("nodes", "get", "nodes", "-o", "wide")
	section("operator pods", "get", "pods", "-n", operatorNS, "-o", "wide")
	section("operator log (last 200 lines)", "logs", "-n", operatorNS, "deploy/"+releaseName, "--tail", "200", "--all-containers")
	for _, ns := range namespaces {
		section("ledger objects in "+ns, "get", "ledgernetworks,agencymembers,certificatepolicies,ledgerbackups", "-n", ns, "-o", "wide")
		section("LedgerNetwork status in "+ns, "get", "ledgernetworks", "-n", ns, "-o", "jsonpath={range .items[*]}{.metadata.name}{\": \"}{.status}{\"\\n\"}{end}")
		section("AgencyMember status in "+ns, "get", "agencymembers", "-n", ns, "-o", "jsonpath={range .items[*]}{.metadata.name}{\": \"}{.status.conditions}{\"\\n\"}{end}")
		section("LedgerBackup status in "+ns, "get", "ledgerbackups", "-n", ns, "-o", "jsonpath={range .items[*]}{.metadata.name}{\": \"}{.status}{\"\\n\"}{end}")
		section("pods in "+ns, "get", "pods,pvc,jobs", "-n", ns, "-o", "wide")
		section("events in "+ns, "get", "events", "-n", ns, "--sort-by", ".lastTimestamp")
		pods, _ := e.pods(ns, "app.kubernetes.io/component=ledger-node")
		for _, p := range pods {
			section("log of "+ns+"/"+p.Name+" (last 80 lines)", "logs", "-n", ns, p.Name, "--tail", "80")
			section("previous log of "+ns+"/"+p.Name+" (last 30 lines)", "logs", "-n", ns, p.Name, "--tail", "30", "--previous")
		}
	}
	section("events in "+operatorNS, "get", "events", "-n", operatorNS, "--sort-by", ".lastTimestamp")
}
