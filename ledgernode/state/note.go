package state

import (
	"encoding/json"
	"regexp"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// BucketNotes holds note records by key.
const BucketNotes = "notes"

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

func noteHandler() Handler {
	return Handler{
		Type:    "note.put",
		Summary: "write a versioned note (any registered key; tests and benchmarks)",
		Check:   CheckAs[NotePut](),
		Apply: func(c *Context) (any, error) {
			p, err := DecodeAndCheck[NotePut](c.Tx.Payload)
			if err != nil {
				return nil, err
			}
			var cur Note
			if _, err := GetJSON(c, BucketNotes, p.Key, &cur); err != nil {
				return nil, err
			}
			if p.ExpectVersion != nil && *p.ExpectVersion != cur.Version {
				return nil, Reject(CodeConflict, "payload.expectVersion", "note %q is at version %d, not %d", p.Key, cur.Version, *p.ExpectVersion)
			}
			n := Note{Key: p.Key, Value: p.Value, Version: cur.Version + 1, Writer: c.Signer.Owner, TxID: c.TxID, Time: tx.FormatTime(c.Time)}
			if err := PutJSON(c, BucketNotes, p.Key, n); err != nil {
				return nil, err
			}
			return map[string]any{"key": n.Key, "version": n.Version}, nil
		},
	}
}

// GetNote reads a note.
func GetNote(r Reader, key string) (*Note, bool, error) {
	var n Note
	ok, err := GetJSON(r, BucketNotes, key, &n)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &n, true, nil
}
