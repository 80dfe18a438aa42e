package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"512MiB": 512 << 20, "512Mi": 512 << 20, "2GiB": 2 << 30, "1Ti": 1 << 40, "4096": 4096, "4096B": 4096, "64KiB": 64 << 10} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"512M", "1.5GiB", "-1", "0", "", "MiB", "lots", "99999999999TiB"} {
		if got, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", in, got)
		}
	}
}

// cgroupDir writes one cgroup file (relative to a fresh root) and
// returns the root.
func cgroupDir(t *testing.T, rel, content string) string {
	t.Helper()
	root := t.TempDir()
	if rel != "" {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestContainerMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		name, rel, content string
		want               int64
	}{
		{"cgroup v2 limit", "memory.max", "536870912\n", 512 << 20},
		{"cgroup v2 without a limit", "memory.max", "max\n", 0},
		{"cgroup v1 limit", "memory/memory.limit_in_bytes", "1073741824\n", 1 << 30},
		{"cgroup v1 unlimited", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0},
		{"no cgroup files (not in a container)", "", "", 0},
	} {
		got, _, err := containerMemoryLimit(cgroupDir(t, c.rel, c.content))
		if err != nil || got != c.want {
			t.Errorf("%s: %d, %v; want %d", c.name, got, err, c.want)
		}
	}
	_, _, err := containerMemoryLimit(cgroupDir(t, "memory.max", "lots\n"))
	if err == nil || !strings.Contains(err.Error(), "memory.max") || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("unreadable memory.max: %v, want an error naming the file and --memory-limit", err)
	}
}

func TestChooseMemoryLimit(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	limited := cgroupDir(t, "memory.max", "536870912\n")
	for _, c := range []struct {
		spec, root string
		want       int64
		source     string
	}{
		{"auto", limited, 483183820, "90% of the container's 512 MiB"},
		{"", limited, 483183820, "90% of the container's 512 MiB"},
		{"auto", cgroupDir(t, "", ""), 0, "no container memory limit"},
		{"768MiB", limited, 768 << 20, "--memory-limit 768MiB"},
		{"none", limited, 0, "none"},
		{"auto", cgroupDir(t, "memory.max", "lots\n"), 0, "none (read the container's memory limit: "},
	} {
		got, err := chooseMemoryLimit(c.spec, c.root)
		if err != nil || got.bytes != c.want || !strings.Contains(got.source, c.source) || (got.err != nil) != strings.Contains(c.source, "read the container") {
			t.Errorf("chooseMemoryLimit(%q): %+v, %v; want %d bytes from %q", c.spec, got, err, c.want, c.source)
		}
	}
	t.Setenv("GOMEMLIMIT", "700MiB")
	if got, err := chooseMemoryLimit("auto", limited); err != nil || got.source != "GOMEMLIMIT=700MiB" {
		t.Errorf("auto with GOMEMLIMIT set: %+v, %v; want the runtime's own limit, from GOMEMLIMIT", got, err)
	}
	_, err := chooseMemoryLimit("512M", limited)
	if err == nil || !strings.Contains(err.Error(), `--memory-limit "512M"`) || !strings.Contains(err.Error(), "512MiB") {
		t.Fatalf("a size without a binary unit: %v, want an error naming the flag and showing a valid size", err)
	}
}

func TestMemoryLimitAppliesToTheRuntime(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	memoryLimit{bytes: 300 << 20}.apply()
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Fatalf("runtime limit %d after apply, want %d", got, 300<<20)
	}
	memoryLimit{}.apply() // none: left as it is
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Fatalf("runtime limit %d after applying none, want it unchanged (%d)", got, 300<<20)
	}
}
