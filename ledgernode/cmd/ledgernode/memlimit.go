package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// containerShare is the part of a container's memory limit that the Go
// runtime is asked to keep under when --memory-limit is auto: the rest is
// room for what the runtime does not count but the cgroup does (the
// kernel's page tables and socket buffers, the page cache of the state
// file's writes not yet written back) before the OOM killer acts.
const containerShare = 0.9

// memoryLimit is the soft limit chosen for the Go runtime, and why.
type memoryLimit struct {
	bytes  int64  // 0: none
	source string // for the log: where the figure came from
	err    error  // auto could not read the container's limit (logged as a warning)
}

// chooseMemoryLimit reads --memory-limit: "none"; a size (512MiB, 2GiB,
// 512Mi, bytes); or "auto": GOMEMLIMIT when it is set (the Go runtime has
// applied it already), else containerShare of the container's memory
// limit (cgroup v2 memory.max, or v1 memory.limit_in_bytes, under
// cgroupRoot) when there is one, else none.
//
// Why: the node's live memory can rise well above its resting size for a
// while (a joining node queues the Raft log after the snapshot it
// installed, hundreds of MB, faster than it verifies and applies it), and
// by default the Go runtime lets its heap reach twice what is live before
// it collects. Under a container limit that is an OOM kill in the middle
// of catching up, then the same again after the restart. With a soft
// limit the runtime collects harder as it nears the limit instead; the
// queued entries hold no pointers, so those collections are cheap.
func chooseMemoryLimit(spec, cgroupRoot string) (memoryLimit, error) {
	switch s := strings.TrimSpace(spec); s {
	case "none", "off", "0":
		return memoryLimit{source: "none (--memory-limit " + s + ")"}, nil
	case "", "auto":
		if g := os.Getenv("GOMEMLIMIT"); g != "" {
			return memoryLimit{bytes: debug.SetMemoryLimit(-1), source: "GOMEMLIMIT=" + g}, nil
		}
		limit, file, err := containerMemoryLimit(cgroupRoot)
		if err != nil {
			// Not a reason to refuse to start: run as without a limit, and say why.
			return memoryLimit{source: "none (" + err.Error() + ")", err: err}, nil
		}
		if limit == 0 {
			return memoryLimit{source: "none (no container memory limit found; set --memory-limit to choose one)"}, nil
		}
		return memoryLimit{bytes: int64(float64(limit) * containerShare),
			source: fmt.Sprintf("%.0f%% of the container's %s (%s)", containerShare*100, formatBytes(limit), file)}, nil
	default:
		n, err := parseBytes(s)
		if err != nil {
			return memoryLimit{}, fmt.Errorf("--memory-limit %q: %v; give a size such as 512MiB or 2GiB, \"auto\" (default: 90%% of the container's memory limit) or \"none\"", spec, err)
		}
		return memoryLimit{bytes: n, source: "--memory-limit " + s}, nil
	}
}

// apply sets the Go runtime's soft memory limit (none: leaves it as it is).
func (m memoryLimit) apply() {
	if m.bytes > 0 {
		debug.SetMemoryLimit(m.bytes)
	}
}

// containerMemoryLimit is the memory limit of the cgroup this process runs
// in, as a container sees it (its own cgroup namespace mounted at
// cgroupRoot): 0 when there is none (no file, "max", or v1's "unlimited",
// a value near the largest int64).
func containerMemoryLimit(cgroupRoot string) (int64, string, error) {
	for _, f := range []string{filepath.Join(cgroupRoot, "memory.max"), filepath.Join(cgroupRoot, "memory", "memory.limit_in_bytes")} {
		raw, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, "", fmt.Errorf("read the container's memory limit: %w (set --memory-limit to a size or none)", err)
		}
		v := strings.TrimSpace(string(raw))
		if v == "max" {
			return 0, f, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, "", fmt.Errorf("read the container's memory limit: %s holds %q, not a number or max (set --memory-limit to a size or none)", f, v)
		}
		if n <= 0 || n >= 1<<62 {
			return 0, f, nil
		}
		return n, f, nil
	}
	return 0, "", nil
}

// parseBytes reads a size: bytes, or a number with one of the suffixes
// GOMEMLIMIT takes (B, KiB, MiB, GiB, TiB) or Kubernetes' binary ones (Ki,
// Mi, Gi, Ti).
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, shift = strings.TrimSuffix(s, u.suffix), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("not a positive whole number of bytes, KiB, MiB, GiB or TiB")
	}
	if n > (1<<62)>>shift {
		return 0, errors.New("too large")
	}
	return n << shift, nil
}

// formatBytes writes n in MiB (or GiB from 10 GiB on) for the log.
func formatBytes(n int64) string {
	if n >= 10<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
