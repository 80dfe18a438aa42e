package faults

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The attack of issue 12 §1, against node processes: 8 concurrent
// POST /v1/txs to a follower, each of 1,000 envelopes of ~31 KB signed by a
// key the ledger has never seen, for a while; then the same with batches of
// malformed envelopes (which are read whole: every item is answered), the
// request mix that fills the byte budgets. Honest writes go on throughout.

// memoryBound is the stated bound: what a node may hold above its idle
// resident size under any request mix (docs/reliability.md).
const memoryBound = 256 << 20

// floodResult is what one flood did to the cluster.
type floodResult struct {
	idleRSS, peakRSS map[string]int64 // per node, bytes
	statuses         map[int]int      // attack answers by HTTP status
	honestOK         int
	honestErrs       []string
	leadersBefore    string
	leadersAfter     string
	termsBefore      string
	termsAfter       string
}

// rss reads a process's resident set size and its peak (VmRSS, VmHWM).
func rss(pid int) (cur, peak int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = v << 10
		case "VmHWM:":
			peak = v << 10
		}
	}
	return cur, peak, nil
}

// resetPeak resets a process's peak RSS to its current RSS.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// leaderAndTerms is what every node says: its leader and its term.
func leaderAndTerms(ctx context.Context, c *Cluster) (leaders, terms string, err error) {
	var ls, ts []string
	for i := range c.Procs {
		if !c.Running(i) {
			continue
		}
		st, err := c.Client(5*time.Second, i).Status(ctx, true)
		if err != nil {
			return "", "", err
		}
		ls = append(ls, st.Node+"->"+st.Leader)
		ts = append(ts, st.Node+":"+st.Term)
	}
	return strings.Join(ls, " "), strings.Join(ts, " "), nil
}

// bigEnvelopes builds n envelopes of about size bytes each, signed by key
// (or, with malformed, of an envelope version no node accepts).
func bigEnvelopes(t testing.TB, network string, key ed25519.PrivateKey, n, size int, malformed bool) []byte {
	t.Helper()
	filler := strings.Repeat("x", size-600)
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range n {
		st, err := tx.BuildSigned(network, "note.put", wire.NotePut{Key: fmt.Sprintf("flood-%d", i), Value: []byte(strconv.Quote(filler))}, time.Now(), key)
		if err != nil {
			t.Fatal(err)
		}
		raw := st.Canonical
		if malformed {
			raw = bytes.Replace(raw, []byte(`"v":1}`), []byte(`"v":2}`), 1)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(raw)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// flood runs the attack for d against follower f, with honest writers.
func flood(t testing.TB, c *Cluster, f int, d time.Duration) floodResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+3*time.Minute)
	defer cancel()
	res := floodResult{idleRSS: map[string]int64{}, peakRSS: map[string]int64{}, statuses: map[int]int{}}
	stranger, _ := tx.GenerateKey()
	unknown := bigEnvelopes(t, c.Genesis.Network, stranger, 1000, 31<<10, false)
	garbage := bigEnvelopes(t, c.Genesis.Network, stranger, 500, 31<<10, true)
	writer, err := enrolKey(ctx, c, "participant/honest")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // idle: let the enrolment settle everywhere
	for _, p := range c.Procs {
		if pid := c.Pid(p.Index); pid != 0 {
			if err := resetPeak(pid); err != nil {
				t.Fatal(err)
			}
			cur, _, _ := rss(pid)
			res.idleRSS[p.ID] = cur
		}
	}
	if res.leadersBefore, res.termsBefore, err = leaderAndTerms(ctx, c); err != nil {
		t.Fatal(err)
	}

	pem, _ := os.ReadFile(c.Layout.CACert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	// No client certificate: the attacker is anyone who reaches the port.
	attacker := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	url := "https://" + c.Procs[f].APIBind + "/v1/txs"
	stop := time.Now().Add(d)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				body := unknown
				if w%2 == 1 && time.Now().After(stop.Add(-d/2)) {
					body = garbage
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				resp, err := attacker.Do(req)
				st := 0
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					st = resp.StatusCode
				}
				mu.Lock()
				res.statuses[st]++
				mu.Unlock()
			}
		}()
	}
	var honest atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl := c.Client(20*time.Second, 0, 1, 2)
		for i := 0; time.Now().Before(stop); i++ {
			st, err := tx.BuildSigned(c.Genesis.Network, "note.put", wire.NotePut{Key: "honest", Value: []byte(strconv.Itoa(i))}, time.Now(), writer)
			if err != nil {
				t.Error(err)
				return
			}
			resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
			if err != nil || resp.Receipt.Status != chain.Accepted {
				mu.Lock()
				res.honestErrs = append(res.honestErrs, fmt.Sprint(err))
				mu.Unlock()
				continue
			}
			honest.Add(1)
		}
	}()
	wg.Wait()
	res.honestOK = int(honest.Load())
	for _, p := range c.Procs {
		if pid := c.Pid(p.Index); pid != 0 {
			_, peak, _ := rss(pid)
			res.peakRSS[p.ID] = peak
		}
	}
	if res.leadersAfter, res.termsAfter, err = leaderAndTerms(ctx, c); err != nil {
		t.Fatal(err)
	}
	return res
}

func enrolKey(ctx context.Context, c *Cluster, owner string) (ed25519.PrivateKey, error) {
	k, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	st, err := tx.BuildSigned(c.Genesis.Network, "key.register", wire.KeyRegister{Owner: owner, PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}, time.Now(), c.Admin)
	if err != nil {
		return nil, err
	}
	resp, err := c.Client(20*time.Second, 0, 1, 2).Submit(ctx, st, client.SubmitOptions{})
	if err != nil {
		return nil, err
	}
	if resp.Receipt.Status != chain.Accepted {
		return nil, fmt.Errorf("enrol %s: %+v", owner, resp.Receipt.Reasons)
	}
	return k, nil
}

// floodCluster starts 3 node processes with the production Raft timeouts.
func floodCluster(t testing.TB) (*Cluster, int) {
	t.Helper()
	dir := t.TempDir()
	c, err := NewCluster(dir, binary, 3, 0, []string{"--raft-log-level", "error"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			for _, p := range c.Procs {
				if b, err := os.ReadFile(p.Log); err == nil {
					t.Logf("%s log (tail):\n%s", p.ID, tail(string(b), 3000))
				}
			}
		}
	})
	for i := range 3 {
		if err := c.Start(i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c, (l + 1) % 3
}

// TestUnauthenticatedBatchFloodKeepsMemoryBoundAndLeader drives the attack
// and asserts: every node's peak RSS stays within memoryBound of its idle
// size, no node changes leader or term, the attack gets 4xx (never a 5xx),
// and honest writes go on. A leadership change is tried once more on a
// fresh cluster before it fails the test: on a 2-core machine that other
// work loads (load average 13-22 once), no process keeps a 1 s heartbeat,
// flood or not; the flood itself changing the leader shows on both runs.
func TestUnauthenticatedBatchFloodKeepsMemoryBoundAndLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("drives an 8-way flood for 20 s")
	}
	for attempt := 1; ; attempt++ {
		c, f := floodCluster(t)
		res := flood(t, c, f, 20*time.Second)
		t.Logf("run %d: follower %s flooded; attack answers by status %v; honest writes %d (errors %d)", attempt, c.Procs[f].ID, res.statuses, res.honestOK, len(res.honestErrs))
		for id, peak := range res.peakRSS {
			t.Logf("%s: idle %d MiB, peak %d MiB (+%d MiB)", id, res.idleRSS[id]>>20, peak>>20, (peak-res.idleRSS[id])>>20)
			if peak-res.idleRSS[id] > memoryBound {
				t.Errorf("%s: peak RSS %d MiB is %d MiB above idle, over the bound of %d MiB", id, peak>>20, (peak-res.idleRSS[id])>>20, memoryBound>>20)
			}
		}
		total := 0
		for st, n := range res.statuses {
			total += n
			if st == 0 || st >= 500 {
				t.Errorf("%d attack requests answered %d (0: no answer)", n, st)
			}
		}
		if res.statuses[http.StatusForbidden] == 0 || total == 0 {
			t.Errorf("setup: the unknown signer's batches were never refused with 403: %v", res.statuses)
		}
		changed := res.leadersBefore != res.leadersAfter || res.termsBefore != res.termsAfter
		if res.honestOK == 0 || (len(res.honestErrs) > 0 && !(changed && attempt == 1)) {
			t.Errorf("honest writes: %d accepted, errors %v", res.honestOK, res.honestErrs)
		}
		if !changed || t.Failed() {
			return
		}
		msg := fmt.Sprintf("leadership changed under the flood: leaders %s -> %s, terms %s -> %s (load average %s)", res.leadersBefore, res.leadersAfter, res.termsBefore, res.termsAfter, loadAverage())
		if attempt == 2 {
			t.Error(msg + ", on both runs")
			return
		}
		t.Log(msg + "; once more on a fresh cluster")
		c.Close()
	}
}

// loadAverage is the machine's 1, 5 and 15-minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// BenchmarkBatchFloodRSS reports the peak RSS above idle of the flooded
// follower and of the leader under the attack (one 20 s flood per run).
func BenchmarkBatchFloodRSS(b *testing.B) {
	for range b.N {
		c, f := floodCluster(b)
		res := flood(b, c, f, 20*time.Second)
		var worst int64
		for id, peak := range res.peakRSS {
			worst = max(worst, peak-res.idleRSS[id])
			b.Logf("%s: idle %d MiB, peak %d MiB", id, res.idleRSS[id]>>20, peak>>20)
		}
		b.ReportMetric(float64(worst)/(1<<20), "peak-MiB-above-idle")
		b.ReportMetric(float64(res.peakRSS[c.Procs[f].ID])/(1<<20), "follower-peak-MiB")
		b.ReportMetric(float64(res.honestOK)/20, "honest-tx/s")
		c.Close()
	}
}
