package backup_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/backup"
)

func readSummary(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > backup.MaxSummary+1 || strings.Count(string(data), "\n") != 1 || !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("summary is %d bytes, %d lines: want one line of at most %d bytes", len(data), strings.Count(string(data), "\n"), backup.MaxSummary)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("summary %q: %v", data, err)
	}
	return m
}

func TestRunWithSummaryWritesTheFiguresOrTheError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	if err := backup.RunWithSummary(path, func(s *map[string]any) error {
		*s = map[string]any{"height": 7}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := readSummary(t, path); got["height"] != float64(7) || len(got) != 1 {
		t.Errorf("summary %v, want {height: 7}", got)
	}

	failed := errors.New("node refused the backup")
	err := backup.RunWithSummary(path, func(s *map[string]any) error {
		*s = map[string]any{"height": 7} // figures of a failed run are not written
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("err %v, want the run's own error", err)
	}
	if got := readSummary(t, path); got["error"] != failed.Error() || len(got) != 1 {
		t.Errorf("summary %v, want only the error", got)
	}
}

func TestRunWithSummaryCutsAnErrorTooLongForATerminationMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termination-log")
	long := strings.Repeat("x", 3*backup.MaxSummary)
	if err := backup.RunWithSummary(path, func(*map[string]any) error { return errors.New(long) }); err == nil || err.Error() != long {
		t.Fatalf("err %v, want the whole error back", err)
	}
	msg, _ := readSummary(t, path)["error"].(string)
	if !strings.HasSuffix(msg, " ...") || !strings.HasPrefix(long, strings.TrimSuffix(msg, " ...")) || len(msg) < backup.MaxSummary/2 {
		t.Errorf("cut error %d bytes %q..., want a long prefix of the error ending in \" ...\"", len(msg), msg[:min(len(msg), 20)])
	}
}

func TestRunWithSummaryReportsAFailedWriteOnlyWhenTheRunSucceeded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "termination-log")
	err := backup.RunWithSummary(path, func(*map[string]any) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "--summary-file") {
		t.Errorf("err %v, want the --summary-file write failure", err)
	}
	failed := errors.New("restore refused")
	if err := backup.RunWithSummary(path, func(*map[string]any) error { return failed }); !errors.Is(err, failed) {
		t.Errorf("err %v, want the run's error, not the write failure", err)
	}
	ran := false
	if err := backup.RunWithSummary("", func(*map[string]any) error { ran = true; return nil }); err != nil || !ran {
		t.Errorf("no path: err %v ran %v, want the run and no error", err, ran)
	}
}
