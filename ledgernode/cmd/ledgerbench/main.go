// Command ledgerbench measures, in one run on this machine: Ed25519 verify
// throughput, the resulting signature ceiling of a 3-node network, and the
// committed throughput and commit latency of a real 3-node cluster (Raft
// over mutual TLS on loopback, fsync on) at several client counts.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

type level struct {
	Clients   int     `json:"clients"`
	Batch     int     `json:"batch,omitempty"` // envelopes per request (0: one per request)
	Txs       int     `json:"txs"`
	TxPerSec  float64 `json:"txPerSec"`
	P50ms     float64 `json:"p50ms"`
	P99ms     float64 `json:"p99ms"`
	OfCeiling float64 `json:"ofCeiling"`
	Failed    int     `json:"failed"`
	Blocks    uint64  `json:"blocks"`
}

type report struct {
	Cores          int     `json:"cores"`
	VerifyPerCore  float64 `json:"verifyPerSecOneCore"`
	VerifyAllCores float64 `json:"verifyPerSecAllCores"`
	Ceiling        float64 `json:"ceilingTxPerSec"`
	Nodes          int     `json:"nodes"`
	ValueBytes     int     `json:"valueBytes"`
	EnvelopeBytes  int     `json:"envelopeBytes"`
	Target         string  `json:"target"`
	InProcess      bool    `json:"inProcess"`
	Levels         []level `json:"levels"`
}

func main() {
	clientsFlag := flag.String("clients", "16,64,256", "client counts to measure, comma-separated")
	seconds := flag.Float64("seconds", 4, "how long to load each client count")
	size := flag.Int("value-bytes", 1400, "note value size (the envelope is ~150 bytes more)")
	nodes := flag.Int("nodes", 3, "cluster size")
	target := flag.String("target", "all", "where clients send: all (any node; followers forward) or leader")
	maxTx := flag.Int("batch-max-tx", consensus.DefaultConfig().BatchMaxTx, "transactions per block at most")
	maxDelay := flag.Duration("batch-max-delay", consensus.DefaultConfig().BatchMaxDelay, "batch delay")
	asJSON := flag.Bool("json", false, "print JSON instead of a table")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the load phases to FILE")
	batch := flag.Int("batch", 50, "also measure clients sending this many envelopes per request (POST /v1/txs); 0: skip")
	batchClients := flag.String("batch-clients", "4,16", "client counts for the batched measurement")
	nodeProfiles := flag.String("node-cpuprofile", "", "with node processes: each writes a CPU profile of its whole run to DIR/<node>.prof")
	inProc := flag.Bool("in-process", false, "run the nodes in this process (one Go runtime for nodes and clients) instead of as ledgernode processes")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ledgerbench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*clientsFlag, *batchClients, *batch, *seconds, *size, *nodes, *target, *maxTx, *maxDelay, *asJSON, *inProc, *nodeProfiles); err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// verifyRate measures Ed25519 verifications per second with g goroutines.
func verifyRate(g int, d time.Duration) float64 {
	k, _ := tx.GenerateKey()
	msg := make([]byte, 1500)
	sig := ed25519.Sign(k, msg)
	pub := k.Public().(ed25519.PublicKey)
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				for j := 0; j < 100; j++ {
					ed25519.Verify(pub, msg, sig)
				}
				n.Add(100)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

func parseCounts(flagName, v string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--%s %q: want numbers like 16,64,256", flagName, v)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(clientsFlag, batchClientsFlag string, batch int, seconds float64, size, nodes int, target string, maxTx int, maxDelay time.Duration, asJSON, inProc bool, nodeProfiles string) error {
	levels, err := parseCounts("clients", clientsFlag)
	if err != nil {
		return err
	}
	var batchLevels []int
	if batch > 0 {
		if batchLevels, err = parseCounts("batch-clients", batchClientsFlag); err != nil {
			return err
		}
	}
	if target != "all" && target != "leader" {
		return fmt.Errorf("--target %q: all or leader", target)
	}
	cores := runtime.GOMAXPROCS(0)
	progress := func(f string, a ...any) {
		if !asJSON {
			fmt.Fprintf(os.Stderr, f+"\n", a...)
		}
	}
	progress("measuring Ed25519 verify throughput...")
	r := report{Cores: cores, Nodes: nodes, ValueBytes: size, Target: target}
	r.VerifyPerCore = verifyRate(1, 1500*time.Millisecond)
	r.VerifyAllCores = verifyRate(cores, 1500*time.Millisecond)
	// Every node verifies every transaction once (the verify cache saves
	// the second check on the node that checked it before consensus).
	r.Ceiling = r.VerifyAllCores / float64(nodes)

	dir, err := os.MkdirTemp("", "ledgerbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var c benchCluster
	if inProc {
		progress("starting a %d-node cluster in this process, data in %s ...", nodes, dir)
		c, err = startInProcess(ctx, dir, nodes, maxTx, maxDelay)
	} else {
		progress("starting %d ledgernode processes, data and logs in %s ...", nodes, dir)
		c, err = startProcs(ctx, dir, nodes, maxTx, maxDelay, nodeProfiles)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	r.InProcess = inProc
	key, err := c.Enrol(ctx, "participant/bench")
	if err != nil {
		return err
	}
	value, _ := json.Marshal(strings.Repeat("x", size))
	sample, _ := tx.BuildSigned(c.Network(), "note.put", state.NotePut{Key: "k", Value: value}, time.Now(), key)
	r.EnvelopeBytes = len(sample.Canonical)

	for _, n := range levels {
		progress("loading with %d clients for %.0fs ...", n, seconds)
		lv, err := load(ctx, c, key, value, n, 0, time.Duration(seconds*float64(time.Second)), target)
		if err != nil {
			return err
		}
		lv.OfCeiling = lv.TxPerSec / r.Ceiling
		r.Levels = append(r.Levels, lv)
	}
	for _, n := range batchLevels {
		progress("loading with %d clients sending %d envelopes per request for %.0fs ...", n, batch, seconds)
		lv, err := load(ctx, c, key, value, n, batch, time.Duration(seconds*float64(time.Second)), target)
		if err != nil {
			return err
		}
		lv.OfCeiling = lv.TxPerSec / r.Ceiling
		r.Levels = append(r.Levels, lv)
	}
	progress("checking that every node holds the same state...")
	if err := c.Converge(ctx); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printReport(r)
	return nil
}

// load runs n clients for d, each signing fresh transactions ahead of time
// so that client-side signing is not in the measured path.
func load(ctx context.Context, c benchCluster, key ed25519.PrivateKey, value []byte, n, batch int, d time.Duration, target string) (level, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return level{}, err
	}
	var clients []*client.Client
	if target == "leader" {
		clients = []*client.Client{c.Client(leader)}
	} else {
		for i := 0; i < c.Size(); i++ {
			clients = append(clients, c.Client(i))
		}
	}
	// Pre-sign: a generous estimate of what n clients can send in d.
	perClient := 64 + int(d.Seconds()*12000)/n
	if batch > 0 {
		perClient = batch * (2 + int(d.Seconds()*12000)/(n*batch))
	}
	signed := make([][]*tx.Signed, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < perClient; j++ {
				st, _ := tx.BuildSigned(c.Network(), "note.put", state.NotePut{Key: fmt.Sprintf("c%d", i), Value: value}, time.Now(), key)
				signed[i] = append(signed[i], st)
			}
		}(i)
	}
	wg.Wait()
	h0, err := c.Height(ctx, leader)
	if err != nil {
		return level{}, err
	}
	lat := make([][]time.Duration, n)
	var failed atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cl := clients[rand.IntN(len(clients))]
			if batch > 0 {
				for j := 0; j+batch <= len(signed[i]); j += batch {
					if time.Now().After(deadline) {
						return
					}
					t0 := time.Now()
					resp, err := cl.SubmitBatch(ctx, signed[i][j:j+batch])
					if err != nil {
						failed.Add(int64(batch))
						continue
					}
					took := time.Since(t0)
					for _, r := range resp.Results {
						if r.Receipt == nil || r.Receipt.Status != chain.Accepted {
							failed.Add(1)
							continue
						}
						lat[i] = append(lat[i], took)
					}
				}
				return
			}
			for _, st := range signed[i] {
				if time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
				if err != nil || resp.Receipt.Status != chain.Accepted {
					failed.Add(1)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	h1, err := c.Height(ctx, leader)
	if err != nil {
		return level{}, err
	}
	lv := level{Clients: n, Batch: batch, Txs: len(all), Failed: int(failed.Load()), Blocks: h1 - h0}
	if len(all) > 0 {
		lv.TxPerSec = float64(len(all)) / elapsed.Seconds()
		lv.P50ms = float64(all[len(all)/2]) / 1e6
		lv.P99ms = float64(all[len(all)*99/100]) / 1e6
	}
	return lv, nil
}

func printReport(r report) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "tradeledger bench: %d cores, %s %s/%s\n", r.Cores, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "Ed25519 verify: %.0f/s on one core, %.0f/s on %d cores\n", r.VerifyPerCore, r.VerifyAllCores, r.Cores)
	fmt.Fprintf(w, "%d-node ceiling (every node verifies every transaction once): %.0f tx/s\n", r.Nodes, r.Ceiling)
	where := "as separate ledgernode processes with default settings"
	if r.InProcess {
		where = "in this process (Raft timeouts raised to 3 s: nodes and clients share one Go runtime)"
	}
	fmt.Fprintf(w, "\ncommitted signed transactions, %d nodes %s, Raft over mutual TLS on loopback, fsync on;\n%d-byte envelopes (note.put); clients send to %s; clients and nodes share the %d cores.\nLatency: request sent to receipt (the envelopes of a batch share its latency).\n\n", r.Nodes, where, r.EnvelopeBytes, map[string]string{"all": "any node (followers forward)", "leader": "the leader"}[r.Target], r.Cores)
	fmt.Fprintln(w, "CLIENTS\tPER REQUEST\tCOMMITTED\tTX/S\tP50 MS\tP99 MS\tOF CEILING\tTX/BLOCK\tFAILED")
	for _, l := range r.Levels {
		perBlock := 0.0
		if l.Blocks > 0 {
			perBlock = float64(l.Txs) / float64(l.Blocks)
		}
		fmt.Fprintf(w, "%d\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.0f%%\t%.0f\t%d\n", l.Clients, max(l.Batch, 1), l.Txs, l.TxPerSec, l.P50ms, l.P99ms, 100*l.OfCeiling, perBlock, l.Failed)
	}
	w.Flush()
}
