package faults

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

var (
	schedules      = flag.Int("schedules", 3, "fault schedules to run (make faults N=...)")
	seedFlag       = flag.Uint64("seed", 0, "first schedule's seed (0: from the clock); schedule k uses seed+k")
	steps          = flag.Int("steps", 3, "faults per schedule")
	perClusterFlag = flag.Int("per-cluster", 50, "schedules per fresh cluster")
	linTimeout     = flag.Duration("lin-timeout", 10*time.Second, "how long porcupine may take on one history window before the window is halved")
	outDir         = flag.String("out", "", "where to keep logs and linearizability visualisations of failures (default: a temp dir, printed)")
	binary         string
)

// nodeFlags make elections quick and exercise snapshots and compaction.
var nodeFlags = []string{"--heartbeat-timeout", "300ms", "--election-timeout", "300ms", "--leader-lease-timeout", "150ms",
	"--snapshot-threshold", "200", "--trailing-logs", "100", "--snapshot-interval", "1s", "--raft-log-level", "error"}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "ledgernode-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ledgernode")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/tradeledger/tradeledger/ledgernode/cmd/ledgernode").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ledgernode: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type summary struct {
	schedules, faults, acked, unknown, reads, lost, divergent, nonlinear, incomplete int
	// linShrunk counts schedules whose whole history porcupine could not
	// decide in time, checked on a shorter window; linUndecided those no
	// window could decide (reported, never passed silently).
	linShrunk, linUndecided int
}

func (s summary) String() string {
	return fmt.Sprintf("schedules %d, faults injected %d, acknowledged writes %d (outcome unknown %d), strong reads %d, lost %d, divergent %d, non-linearizable %d, linearizability checked on a shorter window %d, undecided %d, membership changes not completed %d",
		s.schedules, s.faults, s.acked, s.unknown, s.reads, s.lost, s.divergent, s.nonlinear, s.linShrunk, s.linUndecided, s.incomplete)
}

// TestFaultSchedules runs nemesis schedules against a 3-voter cluster (plus
// a spare that joins and leaves) while clients write and strongly read.
// After each schedule everything is healed and checked. On failure the seed
// is printed: rerun it with -seed N -schedules 1.
func TestFaultSchedules(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano() % 1_000_000_000)
	}
	keep := *outDir
	if keep == "" {
		// Not t.TempDir: the testing package removes that at the end,
		// failed or not, and the logs of a failure are for its reader.
		d, err := os.MkdirTemp("", "faults-schedules-")
		if err != nil {
			t.Fatal(err)
		}
		keep = d
		t.Cleanup(func() {
			if !t.Failed() {
				os.RemoveAll(d)
			}
		})
	}
	_ = os.MkdirAll(keep, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*schedules)*2*time.Minute+time.Minute)
	defer cancel()
	t.Logf("first seed %d (rerun one schedule: go test ./test/faults -run TestFaultSchedules -schedules 1 -seed N)", seed)
	var sum summary
	started := time.Now()
	// A fresh cluster every perCluster schedules keeps the ledger (and so
	// snapshots and joins) of a bounded size over long runs.
	perCluster := *perClusterFlag
	for k := 0; k < *schedules; k += perCluster {
		n := min(perCluster, *schedules-k)
		if err := runCluster(ctx, t, seed+uint64(k), n, keep, &sum); err != nil {
			t.Fatalf("%v\n%s", err, sum)
		}
		t.Logf("after %d schedules (%s): %s", k+n, time.Since(started).Round(time.Second), sum)
	}
	fmt.Printf("faults: %s in %s\n", sum, time.Since(started).Round(time.Second))
	if sum.lost > 0 || sum.divergent > 0 || sum.nonlinear > 0 || sum.linUndecided > 0 {
		t.Fatal(sum)
	}
}

func linResult(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return "linearizable"
	case porcupine.Illegal:
		return "NOT linearizable"
	}
	return "undecided"
}

func procLogs(c *Cluster) []string {
	var out []string
	for _, p := range c.Procs {
		out = append(out, p.Log)
	}
	return out
}

// runCluster runs n schedules, from seed, on a fresh cluster.
func runCluster(ctx context.Context, t *testing.T, seed uint64, n int, keep string, sum *summary) error {
	dir, err := os.MkdirTemp("", "faults-")
	if err != nil {
		return err
	}
	c, err := NewCluster(dir, binary, 3, 1, nodeFlags)
	if err != nil {
		return err
	}
	failed := false
	defer func() {
		c.Close()
		if failed {
			for _, f := range append([]string{c.HarnessLog()}, procLogs(c)...) {
				if b, err := os.ReadFile(f); err == nil {
					_ = os.WriteFile(filepath.Join(keep, filepath.Base(f)), b, 0o644)
				}
			}
			t.Logf("node logs kept in %s", keep)
		}
		os.RemoveAll(dir)
	}()
	for i := 0; i < 3; i++ {
		if err := c.Start(i); err != nil {
			return err
		}
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		return err
	}
	ledger := NewLedger()
	nem := NewNemesis(c, seed)
	for k := 0; k < n; k++ {
		s := seed + uint64(k)
		if err := runSchedule(ctx, t, c, nem, ledger, s, keep, sum); err != nil {
			failed = true
			return fmt.Errorf("seed %d: %w", s, err)
		}
	}
	sum.incomplete += nem.Incomplete
	return nil
}

func runSchedule(ctx context.Context, t *testing.T, c *Cluster, n *Nemesis, ledger *Ledger, seed uint64, keep string, sum *summary) error {
	if err := n.Reset(ctx); err != nil {
		return fmt.Errorf("reset topology: %w", err)
	}
	n.r = newRand(seed)
	c.Logf("--- schedule seed %d", seed)
	var log []string
	n.Log = func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) }
	genesisVoters := []int{0, 1, 2}
	w, err := NewWorkload(ctx, c, []string{"lin-a", "lin-b", "lin-c"}, n.Members(), int64(seed))
	if err != nil {
		return err
	}
	wctx, stopLoad := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx, genesisVoters, 4, 2); close(done) }()
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < *steps; i++ {
		faults := 0
		for _, v := range n.Faults {
			faults += v
		}
		if err := n.Step(ctx); err != nil {
			stopLoad()
			<-done
			return fmt.Errorf("fault %q: %w", strings.Join(log, "; "), err)
		}
		sum.faults++
	}
	if err := n.HealAll(); err != nil {
		stopLoad()
		<-done
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := c.WaitLeader(hctx); err != nil {
		stopLoad()
		<-done
		return fmt.Errorf("after healing (%s): %w", strings.Join(log, "; "), err)
	}
	time.Sleep(300 * time.Millisecond) // some writes under the healed cluster
	stopLoad()
	<-done
	members := n.Members()
	view, err := c.Converge(hctx, members)
	if err != nil {
		if strings.Contains(err.Error(), ErrDivergent.Error()) {
			sum.divergent++
		}
		return fmt.Errorf("faults %q: %w", strings.Join(log, "; "), err)
	}
	if err := ledger.Scan(hctx, c, members[0], view.Height); err != nil {
		return fmt.Errorf("faults %q: %w", strings.Join(log, "; "), err)
	}
	if err := ledger.SameChain(hctx, c, members, view.Height); err != nil {
		sum.divergent++
		return err
	}
	sum.schedules++
	sum.acked += len(w.Acked)
	sum.unknown += w.Unknown
	sum.reads += w.Reads
	for _, id := range w.Acked {
		if ledger.Accepted[id] != 1 {
			sum.lost++
			return fmt.Errorf("faults %q: acknowledged transaction %s accepted %d times in the ledger", strings.Join(log, "; "), id, ledger.Accepted[id])
		}
	}
	res, info, window, full, shrinks := linearizable(noteModel, w.History(), *linTimeout)
	if shrinks > 0 {
		sum.linShrunk++
		t.Logf("seed %d: linearizability of the whole %s history could not be decided in %s; checked its first %s (%d halvings): %s",
			seed, full.Round(time.Millisecond), *linTimeout, window.Round(time.Millisecond), shrinks, linResult(res))
	}
	switch res {
	case porcupine.Illegal:
		sum.nonlinear++
		path := filepath.Join(keep, fmt.Sprintf("linearizability-seed-%d.html", seed))
		_ = porcupine.VisualizePath(noteModel, info, path)
		return fmt.Errorf("faults %q: history not linearizable (writes: %d acked, %d unknown, %d refused; errors %v); visualisation in %s",
			strings.Join(log, "; "), len(w.Acked), w.Unknown, w.Refused, w.Errors, path)
	case porcupine.Unknown:
		sum.linUndecided++
		t.Logf("seed %d: linearizability UNDECIDED: porcupine could not decide even the shortest window in %s (counted in the summary)", seed, *linTimeout)
	}
	if testing.Verbose() {
		t.Logf("seed %d: %s; height %d, %d acked, %d unknown, %d refused, %d reads; errors %v", seed, strings.Join(log, "; "), view.Height, len(w.Acked), w.Unknown, w.Refused, w.Reads, w.Errors)
	}
	return nil
}
