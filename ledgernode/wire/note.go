package wire

import (
	"encoding/json"
	"regexp"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Note is a generic signed record with a version per key, for tests,
// benchmarks and linearizability checks.
type Note struct {
	Key     string          `json:"key"`
	Value   json.RawMessage `json:"value"`
	Version uint64          `json:"version"`
	Writer  string          `json:"writer"`
	TxID    string          `json:"txId"`
	Time    string          `json:"time"`
}

// NotePut is the payload of note.put. With ExpectVersion set the put is a
// compare-and-set: it is rejected unless the note is at that version (0 =
// absent).
type NotePut struct {
	Key           string          `json:"key"`
	Value         json.RawMessage `json:"value"`
	ExpectVersion *uint64         `json:"expectVersion,omitempty"`
}

var noteKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._/:-]{1,128}$`)

// Validate checks the payload's shape.
func (p NotePut) Validate() error {
	if !noteKeyPattern.MatchString(p.Key) {
		return tx.Fieldf("payload.key", p.Key, "must be 1-128 characters of [A-Za-z0-9._/:-]")
	}
	if len(p.Value) == 0 {
		return tx.Fieldf("payload.value", "", "required (any JSON value)")
	}
	return nil
}
