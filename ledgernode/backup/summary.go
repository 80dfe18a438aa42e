package backup

import (
	"encoding/json"
	"fmt"
	"os"
)

// MaxSummary bounds a summary file: Kubernetes keeps at most 4096 bytes of
// a container's termination message.
const MaxSummary = 4000

// RunWithSummary runs fn, which fills the summary of a backup or a restore
// with its figures. When path is not empty it then writes that summary, or
// {"error": "..."} when fn failed, to path as one line of JSON (a Kubernetes
// Job passes /dev/termination-log, which the operator reads). fn's error is
// returned; a failure to write the summary only when fn succeeded.
func RunWithSummary(path string, fn func(summary *map[string]any) error) error {
	var summary map[string]any
	err := fn(&summary)
	if path == "" {
		return err
	}
	if err != nil {
		summary = map[string]any{"error": err.Error()}
	}
	if werr := WriteSummary(path, summary); werr != nil && err == nil {
		err = werr
	}
	return err
}

// WriteSummary writes v as one line of JSON to path; an error message that
// would make the line longer than MaxSummary is cut (and ends in " ...").
func WriteSummary(path string, v map[string]any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(data) > MaxSummary {
		if msg, ok := v["error"].(string); ok {
			v["error"] = msg[:min(len(msg), MaxSummary-200)] + " ..."
			if data, err = json.Marshal(v); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("--summary-file: %w", err)
	}
	return nil
}
