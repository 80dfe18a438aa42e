package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary is one measured load level: how many operations completed in how
// long, and their latency percentiles (nearest rank).
type Summary struct {
	Ops      int     `json:"ops"`
	Failed   int     `json:"failed"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"perSec"`
	P50ms    float64 `json:"p50ms"`
	P99ms    float64 `json:"p99ms"`
	MaxMs    float64 `json:"maxMs"`
	Offered  float64 `json:"offeredPerSec,omitempty"` // open loop: the fixed rate asked for
	Exhausts bool    `json:"exhausted,omitempty"`     // the load ran out of pre-signed work before its time was up
	FirstErr string  `json:"firstError,omitempty"`
	// CPU time per completed operation (user + system, microseconds): of
	// the system's server processes, and of the load's client side.
	NodeCPUus   float64 `json:"nodeCpuUsPerOp,omitempty"`
	ClientCPUus float64 `json:"clientCpuUsPerOp,omitempty"`
}

// summarize computes a Summary from the latencies of the operations that
// completed within elapsed. lat is sorted in place.
func summarize(lat []time.Duration, failed int, elapsed time.Duration) Summary {
	slices.Sort(lat)
	s := Summary{Ops: len(lat), Failed: failed, Seconds: elapsed.Seconds()}
	if len(lat) == 0 || elapsed <= 0 {
		return s
	}
	s.PerSec = float64(len(lat)) / elapsed.Seconds()
	s.P50ms = ms(percentile(lat, 50))
	s.P99ms = ms(percentile(lat, 99))
	s.MaxMs = ms(lat[len(lat)-1])
	return s
}

// percentile is the nearest-rank percentile of sorted values: the smallest
// value such that at least p percent of all values are at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median of a few repeated figures (the middle one; the lower middle of an
// even count, so that a single outlier never decides it).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// schedule is the open-loop timetable: operation i is due at start + i/rate,
// whatever happened to the operations before it. Latency is measured from
// the due time, so a stalled system is charged for every operation it
// delayed (no coordinated omission).
type schedule struct {
	start time.Time
	rate  float64 // operations per second
}

func (s schedule) due(i int) time.Time {
	return s.start.Add(time.Duration(float64(i) / s.rate * float64(time.Second)))
}

// count is how many operations fall due within d.
func (s schedule) count(d time.Duration) int {
	return int(math.Floor(d.Seconds() * s.rate))
}

func parseCounts(flagName, v string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-%s %q: want positive numbers like 16,64,256", flagName, v)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s %q: want at least one number, like 16,64,256", flagName, v)
	}
	return out, nil
}

// parseList splits a comma list and checks every item is allowed.
func parseList(flagName, v string, allowed ...string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allowed, s) {
			return nil, fmt.Errorf("-%s %q: %q is not one of %s", flagName, v, s, strings.Join(allowed, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

// etcdResult is what hack/etcdload prints: one JSON object.
type etcdResult struct {
	Clients   int     `json:"clients"`
	Seconds   float64 `json:"seconds"`
	Rate      float64 `json:"rate,omitempty"`
	Failed    int     `json:"failed"`
	FirstErr  string  `json:"firstError,omitempty"`
	Latencies []int64 `json:"latenciesUs"` // one per completed put, microseconds
}

// parseEtcdResult reads etcdload's output (progress lines on stderr are not
// part of it; anything before the JSON object on stdout is refused).
func parseEtcdResult(out []byte) (Summary, error) {
	var r etcdResult
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimSpace(out)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Summary{}, fmt.Errorf("etcdload output is not its JSON result: %v (output starts %q)", err, shorten(string(out), 120))
	}
	if dec.More() {
		return Summary{}, fmt.Errorf("etcdload output has data after its JSON result")
	}
	if r.Seconds <= 0 {
		return Summary{}, fmt.Errorf("etcdload result has no duration (seconds %v)", r.Seconds)
	}
	lat := make([]time.Duration, len(r.Latencies))
	for i, us := range r.Latencies {
		if us < 0 {
			return Summary{}, fmt.Errorf("etcdload result: latency %d is negative (%d us)", i, us)
		}
		lat[i] = time.Duration(us) * time.Microsecond
	}
	s := summarize(lat, r.Failed, time.Duration(r.Seconds*float64(time.Second)))
	s.Offered = r.Rate
	s.FirstErr = r.FirstErr
	if r.FirstErr != "" && len(lat) == 0 {
		return s, fmt.Errorf("etcd: every put failed: %s", r.FirstErr)
	}
	return s, nil
}

// statusKB reads one "<field>: <n> kB" line from /proc/<pid>/status text,
// in bytes.
func statusKB(status []byte, field string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, field+":") {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, field+":"))
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s line %q: want \"%s: <n> kB\"", field, line, field)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("%s line %q: %q is not a size", field, line, f[0])
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s line (the process may have exited)", field)
}

// parseVmRSS reads the resident set size (bytes) from /proc/<pid>/status text.
func parseVmRSS(status []byte) (int64, error) { return statusKB(status, "VmRSS") }

// Mem is a process's resident memory, bytes: in all (VmRSS), anonymous
// (RssAnon: heap, stacks) and of mapped files (RssFile: for a node, mostly
// the touched pages of its mmap'd state file, which the kernel drops under
// memory pressure and reads again from disk).
type Mem struct {
	RSS, Anon, File int64
}

// parseMem reads VmRSS, RssAnon and RssFile from /proc/<pid>/status text.
func parseMem(status []byte) (Mem, error) {
	var m Mem
	var err error
	if m.RSS, err = statusKB(status, "VmRSS"); err != nil {
		return Mem{}, err
	}
	if m.Anon, err = statusKB(status, "RssAnon"); err != nil {
		return Mem{}, err
	}
	if m.File, err = statusKB(status, "RssFile"); err != nil {
		return Mem{}, err
	}
	return m, nil
}

func rssOf(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

func memOf(pid int) (Mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	return parseMem(b)
}

// loadAvg is the 1-minute load average from /proc/loadavg text.
func parseLoadAvg(b []byte) (float64, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, fmt.Errorf("/proc/loadavg %q: want at least three numbers", shorten(string(b), 60))
	}
	return strconv.ParseFloat(f[0], 64)
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	v, err := parseLoadAvg(b)
	if err != nil {
		return -1
	}
	return v
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

// parseProcStatCPU reads utime+stime (fields 14 and 15) from
// /proc/<pid>/stat text; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its closing parenthesis.
func parseProcStatCPU(stat []byte) (time.Duration, error) {
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat %q: no command name", shorten(s, 60))
	}
	f := strings.Fields(s[i+1:])
	// After the name: state is field 3, so utime (14) and stime (15) are
	// at 11 and 12 here.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat %q: too few fields", shorten(s, 60))
	}
	var total int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("/proc stat: %q is not a tick count", v)
		}
		total += n
	}
	return time.Duration(total) * time.Second / clockTicks, nil
}

// cpuOf is the CPU time (user + system) the processes have used so far.
func cpuOf(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if d, err := parseProcStatCPU(b); err == nil {
			total += d
		}
	}
	return total
}

// perOpMicros is CPU time per operation in microseconds.
func perOpMicros(cpu time.Duration, ops int) float64 {
	if ops <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(ops)
}
