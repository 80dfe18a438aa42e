//go:build e2e

// Package e2e is the end-to-end suite: the chart installed with helm into
// a real cluster (make cluster-up: a single-node Kubernetes built from
// source), ledger networks and agencies applied with kubectl, ledgerctl
// run in a pod through the client Service. Build tag e2e keeps it out of
// make test; make e2e runs it.
package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
)

const (
	operatorNS  = "tradeledger-system"
	releaseName = "tradeledger"
	netNS       = "e2e-ledger"
	netName     = "customs"
)

var e env

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "tradeledger E2E")
}

var _ = BeforeSuite(func() {
	var err error
	e, err = loadEnv()
	Expect(err).NotTo(HaveOccurred())
	out, err := e.k("get", "nodes", "-o", "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}")
	Expect(err).NotTo(HaveOccurred(), "the cluster must be up (make cluster-up)")
	Expect(out).To(ContainSubstring("True"), "a node must be Ready")
	// A previous run's leftovers would make this one meaningless.
	_, _ = run(3*time.Minute, nil, e.helm, "uninstall", releaseName, "-n", operatorNS, "--wait", "--kubeconfig", e.kubeconfig)
	for _, ns := range []string{netNS, agencyNSUS, agencyNSMX, agencyNSRogue, quorumNS} {
		_, _ = e.k("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s")
	}
})

// The summary: every step, its outcome and time, and the figures measured.
var figures []string

func figure(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	figures = append(figures, s)
	fmt.Fprintf(GinkgoWriter, "figure: %s\n", s)
	AddReportEntry("figure", s)
}

var _ = ReportAfterSuite("summary", func(r Report) {
	var b strings.Builder
	passed, failed, skipped := 0, 0, 0
	fmt.Fprintf(&b, "\n==== tradeledger E2E summary ====\n")
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		state := s.State.String()
		switch s.State {
		case types.SpecStatePassed:
			passed++
		case types.SpecStateSkipped, types.SpecStatePending:
			skipped++
		default:
			failed++
		}
		fmt.Fprintf(&b, "  %-8s %6.1fs  %s\n", state, s.RunTime.Seconds(), s.LeafNodeText)
		if s.State.Is(types.SpecStateFailureStates) {
			msg := s.Failure.Message
			if i := strings.IndexByte(msg, '\n'); i > 0 {
				msg = msg[:i]
			}
			fmt.Fprintf(&b, "           %s\n", msg)
		}
	}
	for _, f := range figures {
		fmt.Fprintf(&b, "  figure: %s\n", f)
	}
	fmt.Fprintf(&b, "  total time %.0fs\n", r.RunTime.Seconds())
	fmt.Fprintf(&b, "e2e: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	fmt.Fprint(os.Stdout, b.String())
})

// A failing step shows the operator's and the nodes' logs, events and status.
var _ = ReportAfterEach(func(r SpecReport) {
	if r.State.Is(types.SpecStateFailureStates) && e.kubectl != "" {
		fmt.Fprintf(GinkgoWriter, "\n######## step failed: %s: dumping cluster state\n", r.LeafNodeText)
		e.dump(netNS, agencyNSUS, agencyNSMX, agencyNSRogue, quorumNS)
	}
})

// eventually polls with the suite's defaults.
func eventually(f any, timeout time.Duration) AsyncAssertion {
	return Eventually(f).WithTimeout(timeout).WithPolling(time.Second)
}
