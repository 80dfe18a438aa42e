package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// ScaleRow is what one ledger size measured.
type ScaleRow struct {
	Certificates    int     `json:"certificates"`
	LoadTxPerSec    float64 `json:"loadTxPerSec"`           // of the load that reached this size
	LoadNodeCPUus   float64 `json:"loadNodeCpuUsPerCert"`   // user+system CPU of all the nodes per certificate loaded (steadier than the rate on a shared machine)
	LoadClientCPUus float64 `json:"loadClientCpuUsPerCert"` // of the loader (signing, streams) per certificate loaded
	Verdicts        Summary `json:"verdicts"`               // verdict queries with proofs on one node
	NodeRSSMiB      float64 `json:"nodeRssMiB"`             // largest of the nodes after the queries (VmRSS)
	NodeAnonMiB     float64 `json:"nodeAnonMiB"`            // largest anonymous share (RssAnon: heap, stacks): what the RSS target is judged on
	NodeFileMiB     float64 `json:"nodeFileMiB"`            // largest file-backed share (RssFile: touched pages of the mmap'd state file, reclaimable)
	RestartAnonMiB  float64 `json:"restartAnonMiB"`         // RssAnon of the restarted node once ready: what the ledger itself holds, without the load's garbage not yet returned to the OS
	DiskMiB         float64 `json:"diskMiB"`                // one node's data directory (state, Raft log, snapshots)
	StateMiB        float64 `json:"stateMiB"`               // its state file
	HistoryMiB      float64 `json:"historyMiB"`             // the undo history's share of the state file (bbolt pages in history/ buckets)
	SnapshotMiB     float64 `json:"snapshotMiB"`
	SnapshotSec     float64 `json:"snapshotSeconds"`
	RestartReadySec float64 `json:"restartToReadySeconds"`
	JoinCatchUpSec  float64 `json:"joinCatchUpSeconds"` // a new node: added as non-voter until it has applied everything
	JoinAnonMiB     float64 `json:"joinPeakAnonMiB"`    // the new node's largest RssAnon while it catches up (sampled every 50 ms)
	LoadAvg         float64 `json:"loadAvg1m"`
}

// scale: ledgerbench scale [-sizes 10000,100000,1000000]. It loads signed
// certificates through consensus in large blocks and measures, at each
// size, what an operator and a border verifier see.
func scaleMain(args []string) error {
	fl := flag.NewFlagSet("scale", flag.ExitOnError)
	sizes := fl.String("sizes", "10000,100000,1000000", "ledger sizes (certificates) to measure at, ascending")
	qSeconds := fl.Float64("query-seconds", 8, "how long to send verdict queries at each size")
	qClients := fl.Int("query-clients", 16, "concurrent verdict queries")
	policies := fl.Int("policies", 2, "agency policies in scope while loading")
	batchTx := fl.Int("batch-max-tx", 2000, "transactions per block while loading (large blocks)")
	window := fl.Int("window", 4096, "certificates in flight while loading")
	nodes := fl.Int("nodes", 3, "voters in the network that loads and answers (1: each certificate is verified and applied once instead of three times; the join still measures a new node catching up)")
	profiles := fl.String("node-cpuprofile", "", "each ledgernode process writes a CPU profile of its run to DIR/<node>.prof (a restarted node's covers the run after its restart)")
	output := fl.String("o", "table", "output: table or json")
	fl.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ledgerbench scale [flags]\n\nLoads certificates through consensus (3 ledgernode processes) and reports, per size: verdict\nqueries/s with proofs and p99 on one node, node RSS, disk, snapshot size and time, restart to\n/readyz, and a new node's join and catch-up time.")
		fl.PrintDefaults()
	}
	_ = fl.Parse(args)
	if err := checkOutput(*output); err != nil {
		return err
	}
	targets, err := parseCounts("sizes", *sizes)
	if err != nil {
		return err
	}
	if *nodes < 1 {
		return fmt.Errorf("-nodes %d: want at least 1 voter", *nodes)
	}
	bin, err := defaultNodeBinary()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ledgerbench-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	progress := func(f string, a ...any) { fmt.Fprintf(os.Stderr, "ledgerbench scale: "+f+"\n", a...) }
	if *profiles != "" {
		if err := os.MkdirAll(*profiles, 0o755); err != nil {
			return err
		}
	}
	progress("load average %.1f; starting %d ledgernode processes, data in %s ...", loadAvg(), *nodes, dir)
	c, err := startProcs(ctx, dir, bin, *nodes, *batchTx, 5*time.Millisecond, *profiles)
	if err != nil {
		return err
	}
	defer c.Close()
	wl, err := certWorkload(ctx, c, c.AdminKey(), *policies, "S")
	if err != nil {
		return err
	}
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	var ids []string
	var rows []ScaleRow
	for _, target := range targets {
		progress("loading to %d certificates ...", target)
		before := len(ids)
		nodeCPU0, selfCPU0 := cpuOf(c.Pids()), selfCPU()
		rate, err := loadCerts(ctx, c, leader, wl, &ids, target, *window, progress)
		if err != nil {
			return err
		}
		row := ScaleRow{Certificates: len(ids), LoadTxPerSec: rate,
			LoadNodeCPUus:   perOpMicros(cpuOf(c.Pids())-nodeCPU0, len(ids)-before),
			LoadClientCPUus: perOpMicros(selfCPU()-selfCPU0, len(ids)-before)}
		if err := measureSize(ctx, c, leader, ids, *qSeconds, *qClients, &row, progress); err != nil {
			return err
		}
		row.LoadAvg = loadAvg()
		rows = append(rows, row)
	}
	if *output == "json" {
		printScale(os.Stderr, rows) // the table for people beside the rows for machines
	}
	return writeReport(*output, rows, printScale)
}

// loadCerts signs and submits certificates until ids holds target of them,
// through streams to the leader with window in flight (so that blocks fill).
func loadCerts(ctx context.Context, c *procCluster, leader int, wl *workload, ids *[]string, target, window int, progress func(string, ...any)) (float64, error) {
	need := target - len(*ids)
	if need <= 0 {
		return 0, nil
	}
	work := make(chan *tx.Signed, window)
	go func() {
		defer close(work)
		var wg sync.WaitGroup
		var next atomic.Int64
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(need) {
					st, err := wl.sign(0, 0)
					if err != nil {
						panic(err) // the workload's own certificates always sign
					}
					work <- st
				}
			}()
		}
		wg.Wait()
	}()
	stream := c.Client(leader).OpenStream(0)
	defer stream.Close()
	var mu sync.Mutex
	var done atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				n := done.Load()
				r := float64(n) / time.Since(start).Seconds()
				progress("  %d of %d (%.0f/s, about %.0fs to go)", n, need, r, float64(int64(need)-n)/max(r, 1))
			case <-stopProgress:
				return
			}
		}
	}()
	defer close(stopProgress)
	var wg sync.WaitGroup
	for w := 0; w < window; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range work {
				for attempt := 0; ; attempt++ {
					resp, err := stream.Submit(ctx, st)
					if err == nil && resp.Receipt.Status != chain.Accepted {
						err = fmt.Errorf("certificate rejected: %+v", resp.Receipt.Reasons)
						firstErr.CompareAndSwap(nil, err)
						break
					}
					if err != nil {
						if attempt < maxLoadAttempts && resubmittable(err) {
							// Resubmitting the same envelope is safe (it is
							// accepted at most once); a node that lost its
							// leadership under load needs a moment.
							select {
							case <-time.After(time.Duration(min(100*(attempt+1), 2000)) * time.Millisecond):
							case <-ctx.Done():
							}
							continue
						}
						firstErr.CompareAndSwap(nil, err)
						break
					}
					var ct struct {
						ID string `json:"id"`
					}
					_ = json.Unmarshal(st.Payload, &ct)
					mu.Lock()
					*ids = append(*ids, ct.ID)
					mu.Unlock()
					done.Add(1)
					break
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(need) / time.Since(start).Seconds(), nil
}

// maxLoadAttempts bounds the resubmissions of one certificate while
// loading (about a minute of backing off in all).
const maxLoadAttempts = 40

// resubmittable says whether a submission's failure leaves its outcome
// unknown or the node momentarily unable to take it, so that sending the
// same envelope again is the answer: the stream broke, the node lost its
// leadership or timed out before commit (503 outcome_unknown), it has no
// leader yet (503) or sheds load (429). A refusal of the envelope itself
// (4xx) is not.
func resubmittable(err error) bool {
	if errors.Is(err, client.ErrStreamBroken) {
		return true
	}
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusTooManyRequests
	}
	return false
}

func measureSize(ctx context.Context, c *procCluster, leader int, ids []string, qSeconds float64, qClients int, row *ScaleRow, progress func(string, ...any)) error {
	if err := c.Converge(ctx); err != nil {
		return err
	}
	q := (leader + 1) % c.Size() // a follower answers (the leader in a 1-voter network), as a border verifier's nearest node would
	progress("  %d certificates: verdict queries with proofs on node-%d for %.0fs ...", len(ids), q, qSeconds)
	s, err := queryVerdicts(ctx, c.Client(q), ids, qClients, time.Duration(qSeconds*float64(time.Second)))
	if err != nil {
		return err
	}
	row.Verdicts = s
	for _, pid := range c.Pids() {
		if m, err := memOf(pid); err == nil {
			row.NodeRSSMiB = max(row.NodeRSSMiB, float64(m.RSS)/(1<<20))
			row.NodeAnonMiB = max(row.NodeAnonMiB, float64(m.Anon)/(1<<20))
			row.NodeFileMiB = max(row.NodeFileMiB, float64(m.File)/(1<<20))
		}
	}
	dataDir := c.Procs[q].DataDir
	row.DiskMiB = float64(dirSize(dataDir)) / (1 << 20)
	stateFile := filepath.Join(dataDir, "state.db")
	if fi, err := os.Stat(stateFile); err == nil {
		row.StateMiB = float64(fi.Size()) / (1 << 20)
	}
	// Restart: stop the node, time a snapshot of its state as Raft takes
	// one (a read transaction streamed to a file and fsync'd), then start
	// it again and time it to /readyz.
	progress("  restarting node-%d (snapshot of its state in between) ...", q)
	c.Stop(q)
	if err := snapshotCost(c, stateFile, row); err != nil {
		return err
	}
	t0 := time.Now()
	if err := c.Start(q); err != nil {
		return err
	}
	if err := waitReady(ctx, c.Client(q), 2*time.Minute); err != nil {
		return fmt.Errorf("node-%d after restart: %w", q, err)
	}
	row.RestartReadySec = time.Since(t0).Seconds()
	if m, err := memOf(c.Pids()[q]); err == nil {
		row.RestartAnonMiB = float64(m.Anon) / (1 << 20)
	}
	// A new node joins as a non-voter and catches up (snapshot install and
	// the log after it); then it is removed again.
	progress("  a new node joins and catches up ...")
	sec, peak, err := joinCatchUp(ctx, c, leader, fmt.Sprintf("join-%d", len(ids)))
	if err != nil {
		return err
	}
	row.JoinCatchUpSec, row.JoinAnonMiB = sec, float64(peak)/(1<<20)
	progress("  %+v", *row)
	return nil
}

func queryVerdicts(ctx context.Context, cl *client.Client, ids []string, n int, d time.Duration) (Summary, error) {
	at := tx.FormatTime(time.Now().UTC())
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				id := ids[rand.IntN(len(ids))]
				t0 := time.Now()
				vd, err := cl.VerifyCertificate(ctx, wire.CertificateQuery{ID: id, At: at}, client.ReadOptions{})
				if err == nil && (vd.Verdict != wire.VerdictValid || len(vd.Evidence) == 0 || vd.Evidence[0].Evidence.Proof.TreeSize == 0) {
					err = fmt.Errorf("certificate %s: verdict %s with %d evidence records", id, vd.Verdict, len(vd.Evidence))
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	s := summarize(lat, int(failed.Load()), time.Since(start))
	if err, ok := firstErr.Load().(error); ok {
		s.FirstErr = err.Error()
		if s.Ops == 0 {
			return s, err
		}
	}
	return s, nil
}

// snapshotCost opens a copy of a stopped node's state and times what a Raft
// snapshot does with it: WriteTo a file, then fsync.
func snapshotCost(c *procCluster, stateFile string, row *ScaleRow) error {
	tmp := filepath.Join(c.Dir, "snapshot-probe")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cp := filepath.Join(tmp, "state.db")
	if err := copyFile(stateFile, cp); err != nil {
		return err
	}
	st, err := state.Open(state.Config{Path: cp, Genesis: c.Genesis, Registry: node.DefaultRegistry()})
	if err != nil {
		return err
	}
	defer st.Close()
	row.HistoryMiB = float64(st.HistoryBytes()) / (1 << 20)
	out, err := os.Create(filepath.Join(tmp, "snapshot"))
	if err != nil {
		return err
	}
	defer out.Close()
	t0 := time.Now()
	sn, err := st.Snapshot()
	if err != nil {
		return err
	}
	n, err := sn.WriteTo(out)
	sn.Release()
	if err == nil {
		err = out.Sync()
	}
	if err != nil {
		return err
	}
	row.SnapshotSec = time.Since(t0).Seconds()
	row.SnapshotMiB = float64(n) / (1 << 20)
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func waitReady(ctx context.Context, cl *client.Client, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := cl.Ready(rctx)
		cancel()
		if err == nil && r.Ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %v", limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// joinCatchUp starts a node with an empty data directory, adds it as a
// non-voter and times it until its own state (its status with self=true)
// holds the leader's ledger of the moment it was added: the same height
// and block hash, and an applied index at least the leader's state's.
// Then it removes the node. It returns the seconds that took and the
// node's largest anonymous memory (bytes) seen meanwhile.
func joinCatchUp(ctx context.Context, c *procCluster, leader int, id string) (float64, int64, error) {
	i, err := c.AddSpare(id)
	if err != nil {
		return 0, 0, err
	}
	defer c.DropLast()
	if err := c.Start(i); err != nil {
		return 0, 0, err
	}
	var peak int64
	sample := func() {
		if m, err := memOf(c.Pids()[i]); err == nil {
			peak = max(peak, m.Anon)
		}
	}
	raftAddr, apiAddr := c.Procs[i].RaftAddr, c.Procs[i].APIAddr
	admin := c.Client(leader).Admin(c.Network(), c.Admin)
	t0 := time.Now()
	if err := admin.AddMember(ctx, id, raftAddr, apiAddr, false); err != nil {
		return 0, 0, fmt.Errorf("add %s: %w", id, err)
	}
	// The leader's state once the addition is applied: nothing is written
	// meanwhile, so this is the ledger the new node must hold.
	target, err := c.Client(leader).Status(ctx, true)
	if err != nil {
		return 0, 0, err
	}
	if target.Height == 0 {
		return 0, 0, fmt.Errorf("leader reports height 0 after %s was added: nothing to catch up to", id)
	}
	cl := c.Client(i)
	for {
		sample()
		s, err := cl.Status(ctx, true)
		if err == nil {
			done, derr := caughtUp(id, s, target)
			if derr != nil {
				return 0, 0, derr
			}
			if done {
				break
			}
		}
		if time.Since(t0) > 30*time.Minute {
			return 0, 0, fmt.Errorf("%s did not catch up in 30 minutes (leader at height %d, applied index %d): %v", id, target.Height, target.AppliedIndex, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sec := time.Since(t0).Seconds()
	sample()
	if err := admin.RemoveMember(ctx, id); err != nil {
		return 0, 0, fmt.Errorf("remove %s: %w", id, err)
	}
	return sec, peak, nil
}

// caughtUp says whether a joining node's own status shows the leader's
// ledger: its node id, at least the leader's height and state applied
// index, and the leader's block hash at that height. A joiner at the
// height with another block hash has diverged: an error.
func caughtUp(id string, joiner, leader *wire.Status) (bool, error) {
	if joiner.Node != id {
		return false, fmt.Errorf("status of %s answered by %s", id, joiner.Node)
	}
	if joiner.Height < leader.Height || joiner.AppliedIndex < leader.AppliedIndex {
		return false, nil
	}
	if joiner.Height == leader.Height && joiner.BlockHash != leader.BlockHash {
		return false, fmt.Errorf("%s at height %d has block %s, the leader %s", id, joiner.Height, joiner.BlockHash, leader.BlockHash)
	}
	return true, nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func printScale(out io.Writer, rows []ScaleRow) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	defer func() {
		w.Flush()
		for _, e := range []struct {
			name string
			of   func(ScaleRow) float64
		}{
			{"anonymous memory after the load (ANON)", func(r ScaleRow) float64 { return r.NodeAnonMiB }},
			{"anonymous memory of a restarted node (ANON RESTARTED)", func(r ScaleRow) float64 { return r.RestartAnonMiB }},
			{"state file", func(r ScaleRow) float64 { return r.StateMiB }},
		} {
			if perCert, at, ok := extrapolate(rows, e.of, 1_000_000); ok {
				fmt.Fprintf(out, "%s: %.2f KiB per certificate (least-squares line over %d sizes); at 1,000,000 by extrapolation: %.0f MiB\n", e.name, perCert*1024, len(rows), at)
			}
		}
	}()
	fmt.Fprintln(w, "CERTIFICATES\tLOAD TX/S\tLOAD CPU US/CERT NODES(CLIENT)\tVERDICTS/S\tP50 MS\tP99 MS\tP99/P99(FIRST)\tRSS MIB\tANON MIB\tFILE MIB\tANON RESTARTED MIB\tDISK MIB\tSTATE MIB\tHISTORY MIB\tSNAPSHOT MIB\tSNAPSHOT S\tRESTART->READY S\tJOIN+CATCH-UP S\tJOIN PEAK ANON MIB")
	for _, r := range rows {
		ratio := 0.0
		if rows[0].Verdicts.P99ms > 0 {
			ratio = r.Verdicts.P99ms / rows[0].Verdicts.P99ms
		}
		fmt.Fprintf(w, "%d\t%.0f\t%.0f(%.0f)\t%.0f\t%.1f\t%.1f\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.0f\t%.2f\t%.2f\t%.1f\t%.0f\n", r.Certificates, r.LoadTxPerSec, r.LoadNodeCPUus, r.LoadClientCPUus, r.Verdicts.PerSec, r.Verdicts.P50ms, r.Verdicts.P99ms, ratio,
			r.NodeRSSMiB, r.NodeAnonMiB, r.NodeFileMiB, r.RestartAnonMiB, r.DiskMiB, r.StateMiB, r.HistoryMiB, r.SnapshotMiB, r.SnapshotSec, r.RestartReadySec, r.JoinCatchUpSec, r.JoinAnonMiB)
	}
}

// extrapolate fits a least-squares line through (certificates, of(row))
// and gives its slope (MiB per certificate) and its value at n
// certificates. It needs at least two different sizes.
func extrapolate(rows []ScaleRow, of func(ScaleRow) float64, n int) (perCert, at float64, ok bool) {
	if len(rows) < 2 {
		return 0, 0, false
	}
	var sx, sy float64
	for _, r := range rows {
		sx += float64(r.Certificates)
		sy += of(r)
	}
	k := float64(len(rows))
	mx, my := sx/k, sy/k
	var sxx, sxy float64
	for _, r := range rows {
		dx := float64(r.Certificates) - mx
		sxx += dx * dx
		sxy += dx * (of(r) - my)
	}
	if sxx == 0 {
		return 0, 0, false
	}
	perCert = sxy / sxx
	return perCert, my + perCert*(float64(n)-mx), true
}
