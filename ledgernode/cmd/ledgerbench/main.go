// Command ledgerbench races tradeledger against etcd on this machine, in one
// run: Ed25519 verify throughput and the signature ceiling of a 3-node
// network, then committed signed transactions per second and commit
// latency of a real 3-node tradeledger cluster (Raft over mutual TLS on
// loopback, Raft log fsync'd) for each workload and client count, then the same
// client counts against a 3-member etcd (fsync on, TLS on client and peer
// URLs) driven by etcd's Go client, and prints one table with the ratios.
// Rounds alternate the systems (-repeat), so that a noisy machine weighs
// on both alike; the table shows the median of the rounds.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

type options struct {
	clients      []int
	seconds      float64
	workloads    []string
	protocols    []string
	noteBytes    int
	etcdBytes    int
	policies     int
	etcd         string
	etcdPlain    bool
	openLoop     float64
	repeat       int
	output       string
	target       string
	maxTx        int
	maxDelay     time.Duration
	nodeProfiles string
	ab           string
	inProc       bool
	presignRate  float64
}

// Row is one measurement: a system, a workload, a client count, a mode.
type Row struct {
	Round    int    `json:"round"`
	System   string `json:"system"`             // tradeledger, tradeledger-B, etcd, etcd-plaintext
	Workload string `json:"workload"`           // note, cert (tradeledger); put (etcd)
	Protocol string `json:"protocol,omitempty"` // request, stream (tradeledger)
	Clients  int    `json:"clients"`
	Mode     string `json:"mode"` // closed, open
	Summary
	LoadAvg float64 `json:"loadAvg1m"`
	// NodeRSSMiB is the largest resident set of the system's processes
	// after the level (tradeledger nodes as processes); BenchRSSMiB is the
	// clients' (this process).
	NodeRSSMiB  float64 `json:"nodeRssMiB,omitempty"`
	BenchRSSMiB float64 `json:"benchRssMiB,omitempty"`
}

// Report is everything one run measured.
type Report struct {
	Cores          int               `json:"cores"`
	GoVersion      string            `json:"goVersion"`
	CPU            string            `json:"cpu"`
	LoadAvgStart   float64           `json:"loadAvg1mStart"`
	LoadAvgEnd     float64           `json:"loadAvg1mEnd"`
	VerifyPerCore  float64           `json:"verifyPerSecOneCore"`
	VerifyAllCores float64           `json:"verifyPerSecAllCores"`
	Ceiling        float64           `json:"ceilingTxPerSec"`
	Nodes          int               `json:"nodes"`
	EnvelopeBytes  map[string]int    `json:"envelopeBytes"`
	EtcdValueBytes int               `json:"etcdValueBytes"`
	EtcdVersion    string            `json:"etcdVersion,omitempty"`
	Policies       int               `json:"policiesInScope"`
	Seconds        float64           `json:"secondsPerLevel"`
	Rounds         int               `json:"rounds"`
	Rows           []Row             `json:"rows"`
	Table          []TableRow        `json:"table"`
	Notes          []string          `json:"notes,omitempty"`
	Profiles       map[string]string `json:"profiles,omitempty"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "scale" {
		if err := scaleMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerbench scale:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "size" {
		if err := sizeMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "ledgerbench size:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	clients := flag.String("clients", "16,64,256", "client counts to measure, comma-separated")
	flag.Float64Var(&o.seconds, "seconds", 5, "how long to load each level")
	workloads := flag.String("workloads", "note,cert", "tradeledger workloads: note (1.4 KB signed note.put), cert (signed USMCA certificate.issue with agency policies in scope)")
	protocols := flag.String("protocols", "request", "tradeledger client protocols, alternated in one run: request (one HTTPS request per transaction), stream (transactions multiplexed over one streaming request per node)")
	flag.IntVar(&o.noteBytes, "value-bytes", 1400, "note value size (the signed envelope is ~300 bytes more)")
	flag.IntVar(&o.etcdBytes, "etcd-value-bytes", 1500, "etcd put value size")
	flag.IntVar(&o.policies, "policies", 10, "cert workload: agency policies in force and in scope for every certificate")
	flag.StringVar(&o.etcd, "etcd", "auto", "etcd binary: auto (hack/controlplane.sh builds it from pinned source), a path, or off")
	flag.BoolVar(&o.etcdPlain, "etcd-plaintext", true, "also measure etcd without TLS (the figure beside the TLS one)")
	flag.Float64Var(&o.openLoop, "open-loop", 0.5, "also send at this fraction of each system's measured peak, open loop (latency from each send's due time); 0: skip")
	flag.IntVar(&o.repeat, "repeat", 1, "rounds; each round measures every system in turn (alternating), the table shows medians")
	flag.StringVar(&o.output, "o", "table", "output: table or json")
	flag.StringVar(&o.target, "target", "all", "where tradeledger clients send: all (any node; followers forward) or leader")
	flag.IntVar(&o.maxTx, "batch-max-tx", consensus.DefaultConfig().BatchMaxTx, "transactions per block at most")
	flag.DurationVar(&o.maxDelay, "batch-max-delay", consensus.DefaultConfig().BatchMaxDelay, "batch delay")
	flag.StringVar(&o.nodeProfiles, "node-cpuprofile", "", "each ledgernode process writes a CPU profile of its run to DIR/<system>-r<round>/<node>.prof")
	flag.StringVar(&o.ab, "ab", "", "A/B: also run this ledgernode binary (system tradeledger-B), alternating with the one beside ledgerbench in every round")
	flag.BoolVar(&o.inProc, "in-process", false, "run the tradeledger nodes in this process instead of as ledgernode processes")
	flag.Float64Var(&o.presignRate, "presign-rate", 12000, "transactions per second to sign ahead for a closed-loop level (more than any level reaches)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of ledgerbench itself (the clients) to FILE")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: ledgerbench [flags]\n       ledgerbench scale [flags]  (certificates at 10k/100k/1M: ledgerbench scale -h)\n       ledgerbench size [flags]   (state file bytes per certificate, per bucket: ledgerbench size -h)\n\nRaces a 3-node tradeledger against a 3-member etcd on this machine in one run and prints one table\n(make bench; make bench-quick for a short run). Flags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	if o.clients, err = parseCounts("clients", *clients); err == nil {
		if o.workloads, err = parseList("workloads", *workloads, "note", "cert"); err == nil {
			o.protocols, err = parseList("protocols", *protocols, "request", "stream")
		}
	}
	if err == nil {
		err = checkOutput(o.output)
	}
	if err == nil && (o.target != "all" && o.target != "leader") {
		err = fmt.Errorf("-target %q: all or leader", o.target)
	}
	if err == nil && (o.repeat < 1 || o.seconds <= 0 || o.openLoop < 0 || o.openLoop >= 1) {
		err = fmt.Errorf("-repeat must be >= 1, -seconds > 0, -open-loop in [0, 1)")
	}
	if err == nil && len(o.protocols) == 0 {
		o.protocols = []string{"request"}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ledgerbench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	r, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	_ = writeReport(o.output, r, printReport)
}

// checkOutput refuses an -o value writeReport does not know (it would
// otherwise print the table for any of them); main, scale and size share it.
func checkOutput(output string) error {
	if output != "table" && output != "json" {
		return fmt.Errorf("-o %q: table or json", output)
	}
	return nil
}

// writeReport writes v to standard output as indented JSON (-o json) or as
// the table print makes of it.
func writeReport[T any](output string, v T, print func(io.Writer, T)) error {
	if output == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	print(os.Stdout, v)
	return nil
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

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.IndexByte(line, ':'); i > 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return runtime.GOARCH
}

type runner struct {
	o        options
	r        *Report
	dir      string
	progress func(f string, a ...any)
	etcdBin  string
	loader   string
}

func run(o options) (*Report, error) {
	cores := runtime.GOMAXPROCS(0)
	rn := &runner{o: o, r: &Report{Cores: cores, GoVersion: runtime.Version(), CPU: cpuModel(), LoadAvgStart: loadAvg(), Nodes: 3,
		EnvelopeBytes: map[string]int{}, EtcdValueBytes: o.etcdBytes, Policies: o.policies, Seconds: o.seconds, Rounds: o.repeat}}
	rn.progress = func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "ledgerbench: "+f+"\n", a...)
	}
	if o.etcd != "off" {
		var err error
		if rn.etcdBin, err = findEtcd(o.etcd); err != nil {
			return nil, err
		}
		if rn.loader, err = findLoader(); err != nil {
			return nil, err
		}
		if out, err := execOutput(rn.etcdBin, "--version"); err == nil {
			rn.r.EtcdVersion = firstLine(out)
		}
	}
	nodeBin := ""
	if !o.inProc {
		var err error
		if nodeBin, err = defaultNodeBinary(); err != nil {
			return nil, err
		}
	}
	rn.progress("load average %.1f; measuring Ed25519 verify throughput ...", rn.r.LoadAvgStart)
	rn.r.VerifyPerCore = verifyRate(1, 1500*time.Millisecond)
	rn.r.VerifyAllCores = verifyRate(cores, 1500*time.Millisecond)
	// Every node verifies every transaction once (the verify cache saves
	// the second check on the node that checked it before consensus).
	rn.r.Ceiling = rn.r.VerifyAllCores / 3
	dir, err := os.MkdirTemp("", "ledgerbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rn.dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	for round := 1; round <= o.repeat; round++ {
		if err := rn.tradeledger(ctx, round, "tradeledger", nodeBin); err != nil {
			return nil, err
		}
		if o.ab != "" {
			if err := rn.tradeledger(ctx, round, "tradeledger-B", o.ab); err != nil {
				return nil, err
			}
		}
		if rn.etcdBin != "" {
			if err := rn.etcdRound(ctx, round, true); err != nil {
				return nil, err
			}
			if o.etcdPlain {
				if err := rn.etcdRound(ctx, round, false); err != nil {
					return nil, err
				}
			}
		}
	}
	rn.r.LoadAvgEnd = loadAvg()
	rn.r.Table = buildTable(rn.r)
	return rn.r, nil
}

func (rn *runner) add(row Row, pids []int) {
	row.LoadAvg = loadAvg()
	for _, pid := range pids {
		if n, err := rssOf(pid); err == nil {
			row.NodeRSSMiB = max(row.NodeRSSMiB, float64(n)/(1<<20))
		}
	}
	if n, err := rssOf(os.Getpid()); err == nil {
		row.BenchRSSMiB = float64(n) / (1 << 20)
	}
	rn.r.Rows = append(rn.r.Rows, row)
	extra := ""
	if row.Exhausts {
		extra = " (ran out of pre-signed work: raise -presign-rate)"
	}
	if row.FirstErr != "" {
		extra += "; first failure: " + row.FirstErr
	}
	rn.progress("  %s %s %s %d clients %s: %.0f/s p50 %.1f ms p99 %.1f ms, %d failed%s", row.System, row.Workload, row.Protocol, row.Clients, row.Mode, row.PerSec, row.P50ms, row.P99ms, row.Failed, extra)
}

// tradeledger measures one round of a tradeledger binary: a fresh cluster,
// every workload, protocol and client count, then the open-loop level.
func (rn *runner) tradeledger(ctx context.Context, round int, system, bin string) error {
	o := rn.o
	d := time.Duration(o.seconds * float64(time.Second))
	dir := filepath.Join(rn.dir, fmt.Sprintf("%s-r%d", system, round))
	var c benchCluster
	var err error
	if o.inProc {
		rn.progress("round %d: %s: starting 3 nodes in this process ...", round, system)
		c, err = startInProcess(ctx, dir, 3, o.maxTx, o.maxDelay)
	} else {
		profiles := ""
		if o.nodeProfiles != "" {
			profiles = filepath.Join(o.nodeProfiles, fmt.Sprintf("%s-r%d", system, round))
			if err := os.MkdirAll(profiles, 0o755); err != nil {
				return err
			}
			if rn.r.Profiles == nil {
				rn.r.Profiles = map[string]string{}
			}
			rn.r.Profiles[fmt.Sprintf("%s-r%d", system, round)] = profiles
		}
		rn.progress("round %d: %s: starting 3 ledgernode processes (%s), data in %s ...", round, system, bin, dir)
		c, err = startProcs(ctx, dir, bin, 3, o.maxTx, o.maxDelay, profiles)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	leader, err := c.Leader(ctx)
	if err != nil {
		return err
	}
	var nodes []int
	if o.target == "leader" {
		nodes = []int{leader}
	} else {
		for i := 0; i < c.Size(); i++ {
			nodes = append(nodes, i)
		}
	}
	for _, wname := range o.workloads {
		var wl *workload
		switch wname {
		case "note":
			wl, err = noteWorkload(ctx, c, o.noteBytes)
		case "cert":
			wl, err = certWorkload(ctx, c, c.AdminKey(), o.policies, fmt.Sprintf("%s%d", strings.TrimPrefix(system, "tradeledger"), round))
		}
		if err != nil {
			return fmt.Errorf("%s: set up the %s workload: %w", system, wname, err)
		}
		if sample, err := wl.sign(0, -1); err == nil {
			rn.r.EnvelopeBytes[wname] = len(sample.Canonical)
		}
		for _, proto := range o.protocols {
			subs, closeSubs, err := submitters(ctx, c, nodes, proto)
			if err != nil {
				return err
			}
			peak := 0.0
			for _, n := range o.clients {
				per := make([]int, n)
				for i := range per {
					per[i] = 64 + int(o.presignRate*o.seconds)/n
				}
				signed, err := presign(wl, per)
				if err != nil {
					closeSubs()
					return err
				}
				n0, c0 := cpuOf(c.Pids()), selfCPU()
				s, err := closedLoop(ctx, subs, signed, d)
				s.NodeCPUus, s.ClientCPUus = perOpMicros(cpuOf(c.Pids())-n0, s.Ops), perOpMicros(selfCPU()-c0, s.Ops)
				if err != nil {
					closeSubs()
					return fmt.Errorf("%s %s %s %d clients: %w", system, wname, proto, n, err)
				}
				peak = max(peak, s.PerSec)
				rn.add(Row{Round: round, System: system, Workload: wname, Protocol: proto, Clients: n, Mode: "closed", Summary: s}, c.Pids())
			}
			if o.openLoop > 0 && peak > 0 {
				rate := o.openLoop * peak
				per := []int{int(rate*o.seconds) + 1}
				signed, err := presign(&workload{name: wl.name, sign: func(_, seq int) (*tx.Signed, error) { return wl.sign(seq%max(o.clients[len(o.clients)-1], 1), seq) }}, per)
				if err != nil {
					closeSubs()
					return err
				}
				n0, c0 := cpuOf(c.Pids()), selfCPU()
				s, err := openLoop(ctx, subs, signed[0], rate, d, 4096)
				s.NodeCPUus, s.ClientCPUus = perOpMicros(cpuOf(c.Pids())-n0, s.Ops), perOpMicros(selfCPU()-c0, s.Ops)
				if err != nil {
					closeSubs()
					return fmt.Errorf("%s %s %s open loop: %w", system, wname, proto, err)
				}
				rn.add(Row{Round: round, System: system, Workload: wname, Protocol: proto, Mode: "open", Summary: s}, c.Pids())
			}
			closeSubs()
		}
	}
	rn.progress("round %d: %s: checking that every node holds the same state ...", round, system)
	return c.Converge(ctx)
}

// submitters returns one submitter per node the clients use (client i
// sends through submitter i mod len).
func submitters(ctx context.Context, c benchCluster, nodes []int, proto string) ([]submitter, func(), error) {
	var subs []submitter
	var closers []func()
	for _, i := range nodes {
		cl := c.Client(i)
		switch proto {
		case "request":
			subs = append(subs, requestSubmitter(cl))
		case "stream":
			sub, closeFn, err := streamSubmitter(ctx, cl)
			if err != nil {
				for _, f := range closers {
					f()
				}
				return nil, nil, err
			}
			subs = append(subs, sub)
			closers = append(closers, closeFn)
		}
	}
	return subs, func() {
		for _, f := range closers {
			f()
		}
	}, nil
}

func (rn *runner) etcdRound(ctx context.Context, round int, withTLS bool) error {
	o := rn.o
	system := "etcd"
	if !withTLS {
		system = "etcd-plaintext"
	}
	d := time.Duration(o.seconds * float64(time.Second))
	dir := filepath.Join(rn.dir, fmt.Sprintf("%s-r%d", system, round))
	rn.progress("round %d: %s: starting a 3-member etcd (fsync on, TLS %v), data in %s ...", round, system, withTLS, dir)
	ec, err := startEtcd(ctx, rn.etcdBin, dir, withTLS)
	if err != nil {
		return err
	}
	defer ec.Close()
	peak := 0.0
	for _, n := range o.clients {
		s, err := ec.load(ctx, rn.loader, n, o.etcdBytes, d, 0)
		if err != nil {
			return err
		}
		peak = max(peak, s.PerSec)
		rn.add(Row{Round: round, System: system, Workload: "put", Clients: n, Mode: "closed", Summary: s}, ec.pids())
	}
	if withTLS && o.openLoop > 0 && peak > 0 {
		s, err := ec.load(ctx, rn.loader, 4096, o.etcdBytes, d, o.openLoop*peak)
		if err != nil {
			return err
		}
		rn.add(Row{Round: round, System: system, Workload: "put", Mode: "open", Summary: s}, ec.pids())
	}
	return nil
}

// TableRow is one line of the printed table: medians over the rounds.
type TableRow struct {
	System   string  `json:"system"`
	Workload string  `json:"workload"`
	Protocol string  `json:"protocol"`
	Clients  int     `json:"clients"`
	Mode     string  `json:"mode"`
	TxPerSec float64 `json:"txPerSec"`
	// CPU per committed operation (median over rounds), microseconds.
	NodeCPUus  float64 `json:"nodeCpuUsPerTx"`
	EtcdCPUus  float64 `json:"etcdNodeCpuUsPerPut"`
	ClientCPU  float64 `json:"clientCpuUsPerTx"`
	EtcdClient float64 `json:"etcdClientCpuUsPerPut"`
	TxMin      float64 `json:"txPerSecMin"`
	TxMax      float64 `json:"txPerSecMax"`
	P50ms      float64 `json:"p50ms"`
	P99ms      float64 `json:"p99ms"`
	Offered    float64 `json:"offeredPerSec,omitempty"`
	Etcd       float64 `json:"etcdPutsPerSec"`
	EtcdP50ms  float64 `json:"etcdP50ms"`
	EtcdP99ms  float64 `json:"etcdP99ms"`
	EtcdPlain  float64 `json:"etcdPlaintextPutsPerSec,omitempty"`
	EtcdOffer  float64 `json:"etcdOfferedPerSec,omitempty"`
	Ratio      float64 `json:"ratioToEtcd"`
	OfCeiling  float64 `json:"ofCeiling"`
	Failed     int     `json:"failed"`
	Exhausted  bool    `json:"exhausted,omitempty"`
}

type agg struct {
	tx, p50, p99, offered, ncpu, ccpu []float64
	failed                            int
	exhausted                         bool
}

func (a *agg) add(s Summary) {
	a.tx, a.p50, a.p99, a.offered = append(a.tx, s.PerSec), append(a.p50, s.P50ms), append(a.p99, s.P99ms), append(a.offered, s.Offered)
	a.ncpu, a.ccpu = append(a.ncpu, s.NodeCPUus), append(a.ccpu, s.ClientCPUus)
	a.failed += s.Failed
	a.exhausted = a.exhausted || s.Exhausts
}

// buildTable aggregates the rows (medians over rounds) and pairs each
// tradeledger line with etcd's line of the same client count and mode.
func buildTable(r *Report) []TableRow {
	type key struct {
		system, workload, protocol, mode string
		clients                          int
	}
	aggs := map[key]*agg{}
	var order []key
	for _, row := range r.Rows {
		k := key{row.System, row.Workload, row.Protocol, row.Mode, row.Clients}
		if aggs[k] == nil {
			aggs[k] = &agg{}
			order = append(order, k)
		}
		aggs[k].add(row.Summary)
	}
	var out []TableRow
	for _, k := range order {
		if !strings.HasPrefix(k.system, "tradeledger") {
			continue
		}
		a := aggs[k]
		tr := TableRow{System: k.system, Workload: k.workload, Protocol: k.protocol, Clients: k.clients, Mode: k.mode,
			TxPerSec: median(a.tx), TxMin: minOf(a.tx), TxMax: maxOf(a.tx), P50ms: median(a.p50), P99ms: median(a.p99),
			Offered: median(a.offered), Failed: a.failed, Exhausted: a.exhausted, NodeCPUus: median(a.ncpu), ClientCPU: median(a.ccpu)}
		if e := aggs[key{"etcd", "put", "", k.mode, k.clients}]; e != nil {
			tr.Etcd, tr.EtcdP50ms, tr.EtcdP99ms, tr.EtcdOffer = median(e.tx), median(e.p50), median(e.p99), median(e.offered)
			tr.EtcdCPUus, tr.EtcdClient = median(e.ncpu), median(e.ccpu)
			if tr.Etcd > 0 {
				tr.Ratio = tr.TxPerSec / tr.Etcd
			}
		}
		if e := aggs[key{"etcd-plaintext", "put", "", k.mode, k.clients}]; e != nil {
			tr.EtcdPlain = median(e.tx)
		}
		if r.Ceiling > 0 {
			tr.OfCeiling = tr.TxPerSec / r.Ceiling
		}
		out = append(out, tr)
	}
	// etcd lines with no tradeledger counterpart (tradeledger skipped).
	if len(out) == 0 {
		for _, k := range order {
			if k.system != "etcd" {
				continue
			}
			a := aggs[k]
			out = append(out, TableRow{System: "-", Clients: k.clients, Mode: k.mode, Etcd: median(a.tx), EtcdP50ms: median(a.p50), EtcdP99ms: median(a.p99), EtcdOffer: median(a.offered)})
		}
	}
	return out
}

func minOf(v []float64) float64 {
	m := 0.0
	for i, x := range v {
		if i == 0 || x < m {
			m = x
		}
	}
	return m
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func printReport(out io.Writer, r *Report) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "tradeledger vs etcd, one run on this machine: %d cores (%s), %s; load average %.1f at start, %.1f at end\n", r.Cores, r.CPU, r.GoVersion, r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(w, "Ed25519 verify %.0f/s on one core, %.0f/s on %d; 3-node signature ceiling (every node verifies every transaction once): %.0f tx/s\n", r.VerifyPerCore, r.VerifyAllCores, r.Cores, r.Ceiling)
	fmt.Fprintf(w, "tradeledger: 3 ledgernode processes, Raft over mutual TLS, Raft log fsync'd (the state file is not: it is rebuilt from the log after a machine restart), HTTPS API with client certificates; envelopes: ")
	var sizes []string
	for _, wl := range []string{"note", "cert"} {
		if b, ok := r.EnvelopeBytes[wl]; ok {
			sizes = append(sizes, fmt.Sprintf("%s %d B", wl, b))
		}
	}
	fmt.Fprintf(w, "%s; cert: %d agency policies in scope\n", strings.Join(sizes, ", "), r.Policies)
	if r.EtcdVersion != "" {
		fmt.Fprintf(w, "etcd: %s, 3 members, fsync on, TLS with client certificates on client and peer URLs, Go client (one gRPC connection), %d B values\n", r.EtcdVersion, r.EtcdValueBytes)
	}
	fmt.Fprintf(w, "each level %.0f s; %d round(s), systems alternating; figures are medians (tx/s range over rounds in brackets); latency: send to commit receipt;\nCPU: user+system time of the 3 server processes per committed operation (in brackets: of the clients)\n\n", r.Seconds, r.Rounds)
	fmt.Fprintln(w, "SYSTEM/WORKLOAD/PROTOCOL\tCLIENTS\tTX/S\t[MIN-MAX]\tP50 MS\tP99 MS\tETCD PUTS/S\tP50 MS\tP99 MS\tRATIO\tOF CEILING\tETCD PLAIN/S\tCPU US/TX NODES(CLIENT)\tETCD CPU US/PUT\tFAILED")
	for _, t := range r.Table {
		clients := fmt.Sprint(t.Clients)
		if t.Mode == "open" {
			clients = fmt.Sprintf("open@%.0f/s", t.Offered)
		}
		etcd := "-"
		if t.Etcd > 0 {
			etcd = fmt.Sprintf("%.0f\t%.1f\t%.1f", t.Etcd, t.EtcdP50ms, t.EtcdP99ms)
			if t.Mode == "open" {
				etcd = fmt.Sprintf("%.0f@%.0f/s\t%.1f\t%.1f", t.Etcd, t.EtcdOffer, t.EtcdP50ms, t.EtcdP99ms)
			}
		} else {
			etcd = "-\t-\t-"
		}
		ratio := "-"
		if t.Ratio > 0 && t.Mode == "closed" {
			ratio = fmt.Sprintf("%.2f", t.Ratio)
		}
		plain := "-"
		if t.EtcdPlain > 0 {
			plain = fmt.Sprintf("%.0f", t.EtcdPlain)
		}
		name := strings.Join([]string{t.System, t.Workload, t.Protocol}, "/")
		ex := ""
		if t.Exhausted {
			ex = " (ran out of pre-signed work)"
		}
		fmt.Fprintf(w, "%s\t%s\t%.0f\t[%.0f-%.0f]\t%.1f\t%.1f\t%s\t%s\t%.0f%%\t%s\t%.0f(%.0f)\t%.0f(%.0f)\t%d%s\n", name, clients, t.TxPerSec, t.TxMin, t.TxMax, t.P50ms, t.P99ms, etcd, ratio, 100*t.OfCeiling, plain,
			t.NodeCPUus, t.ClientCPU, t.EtcdCPUus, t.EtcdClient, t.Failed, ex)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// selfCPU is this process's CPU time so far (the clients' side).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func execOutput(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).Output()
	return string(out), err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return strings.TrimSpace(s)
}
