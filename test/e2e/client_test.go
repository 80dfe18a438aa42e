//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ledgerClient runs ledgerctl in a pod of the network's namespace (image
// tradeledger.local/e2e-client: the product binaries with a process that
// waits), through the network's client Service, as a customs IT engineer
// would from inside the cluster.
type ledgerClient struct {
	e       env
	ns, pod string
}

const clientPod = "ledgerctl"

// clientManifest mounts what ledgerctl needs: the network CA, the genesis
// (trust for offline verification), the admin key (which also signs the
// reads: every read needs an authenticated client), the agency keys copied
// from the agencies' namespaces, and a writable /work for participant keys.
func clientManifest(e env, ns, network string, agencySecrets []string) string {
	var vols, mounts strings.Builder
	for _, s := range agencySecrets {
		fmt.Fprintf(&vols, "  - name: %s\n    secret: {secretName: %s, defaultMode: 0400}\n", s, s)
		fmt.Fprintf(&mounts, "    - {name: %s, mountPath: /keys/%s, readOnly: true}\n", s, s)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app.kubernetes.io/name: e2e-ledgerctl}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  # ledgerctl signs only with a key file no one else may read (0600 or
  # 0400). Kubernetes makes Secret files root's, and an fsGroup would add
  # group read (0440): so this pod runs as root without fsGroup, with no
  # capabilities at all.
  securityContext: {runAsNonRoot: false, runAsUser: 0, runAsGroup: 0, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: ledgerctl
    image: %[3]s
    imagePullPolicy: IfNotPresent
    env:
    - {name: LEDGER_SERVER, value: "https://%[4]s.%[2]s.svc:8443"}
    - {name: LEDGER_CA, value: /ca/ca.crt}
    - {name: LEDGER_TRUST, value: /genesis/genesis.json}
    # Reads need an authenticated client (docs/api.md, Authentication):
    # ledgerctl signs them with this key; writes name their signer's --key.
    - {name: LEDGER_KEY, value: /keys/admin/admin.key}
    - {name: HOME, value: /work}
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
    volumeMounts:
    - {name: ca, mountPath: /ca, readOnly: true}
    - {name: genesis, mountPath: /genesis, readOnly: true}
    - {name: admin, mountPath: /keys/admin, readOnly: true}
    - {name: work, mountPath: /work}
%[5]s  volumes:
  - name: ca
    secret: {secretName: %[4]s-ca, items: [{key: ca.crt, path: ca.crt}]}
  - name: genesis
    configMap: {name: %[4]s-genesis}
  - name: admin
    secret: {secretName: %[4]s-admin, defaultMode: 0400}
  - name: work
    emptyDir: {}
%[6]s`, clientPod, ns, e.clientImage, network, mounts.String(), vols.String())
}

// ctl runs one ledgerctl command; stdin, if any, is piped in (use --file /dev/stdin).
func (c *ledgerClient) ctl(stdin []byte, args ...string) (string, error) {
	full := []string{"exec", "-n", c.ns, c.pod, "-c", "ledgerctl"}
	if stdin != nil {
		full = append(full, "-i")
	}
	full = append(append(full, "--", "ledgerctl"), args...)
	return run(90*time.Second, stdin, c.e.kubectl, full...)
}

// ctlJSON runs a command with -o json and decodes its output.
func (c *ledgerClient) ctlJSON(into any, args ...string) error {
	out, err := c.ctl(nil, append(args, "-o", "json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), into); err != nil {
		return fmt.Errorf("ledgerctl %s: decode %q: %w", strings.Join(args, " "), out, err)
	}
	return nil
}

// clusterStatus is what `ledgerctl cluster status -o json` says.
type clusterStatus struct {
	Leader  string `json:"leader"`
	Height  uint64 `json:"height"`
	Members []struct {
		ID           string `json:"id"`
		Suffrage     string `json:"suffrage"`
		Leader       bool   `json:"leader"`
		Reachable    bool   `json:"reachable"`
		Height       uint64 `json:"height"`
		AppliedIndex uint64 `json:"appliedIndex"`
	} `json:"members"`
}

func (c *ledgerClient) status() (*clusterStatus, error) {
	st := &clusterStatus{}
	return st, c.ctlJSON(st, "cluster", "status")
}

// writer keeps writing notes through the client Service and records each
// write's outcome, for the steps that must stay writable.
type writer struct {
	c       *ledgerClient
	prefix  string
	ca      func() []byte // when set, the CA bundle every write trusts (--ca /dev/stdin)
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	results []writeResult
}

type writeResult struct {
	at  time.Time
	key string
	err error
}

func (c *ledgerClient) startWriter(prefix string) *writer {
	return c.startWriterTrusting(prefix, nil)
}

// startWriterTrusting is startWriter whose writes trust the CA bundle ca
// returns at each write (a client that follows the ConfigMap
// <network>-ca-bundle), instead of the pod's mounted CA file.
func (c *ledgerClient) startWriterTrusting(prefix string, ca func() []byte) *writer {
	w := &writer{c: c, prefix: prefix, ca: ca, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			key := fmt.Sprintf("%s-%05d", w.prefix, i)
			start := time.Now()
			args := []string{"note", "put", key, fmt.Sprintf("%q", key), "--key", "/keys/admin/admin.key"}
			var stdin []byte
			if w.ca != nil {
				stdin, args = w.ca(), append([]string{"--ca", "/dev/stdin"}, args...)
			}
			_, err := c.ctl(stdin, args...)
			w.mu.Lock()
			w.results = append(w.results, writeResult{at: start, key: key, err: err})
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return w
}

// finish stops the writer and returns the acknowledged keys, the failures
// and the longest stretch of time in which every write failed.
func (w *writer) finish() (acked []string, failures []writeResult, longestOutage time.Duration) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	var outageStart time.Time
	for _, r := range w.results {
		if r.err == nil {
			acked = append(acked, r.key)
			if !outageStart.IsZero() {
				longestOutage = max(longestOutage, r.at.Sub(outageStart))
				outageStart = time.Time{}
			}
			continue
		}
		failures = append(failures, r)
		if outageStart.IsZero() {
			outageStart = r.at
		}
	}
	if !outageStart.IsZero() && len(w.results) > 0 {
		longestOutage = max(longestOutage, w.results[len(w.results)-1].at.Sub(outageStart))
	}
	return acked, failures, longestOutage
}
