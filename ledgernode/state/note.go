package state

import (
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// BucketNotes holds note records by key.
const BucketNotes = "notes"

func noteHandler() Handler {
	return Handler{
		Type:    wire.TypeNotePut,
		Summary: "write a versioned note (any registered key; tests and benchmarks)",
		Check:   wire.PayloadCheck(wire.TypeNotePut),
		Apply: func(c *Context) (any, error) {
			p, err := wire.DecodeAndCheck[wire.NotePut](c.Tx.Payload)
			if err != nil {
				return nil, err
			}
			var cur wire.Note
			if _, err := GetJSON(c, BucketNotes, p.Key, &cur); err != nil {
				return nil, err
			}
			if p.ExpectVersion != nil && *p.ExpectVersion != cur.Version {
				return nil, wire.Reject(wire.CodeConflict, "payload.expectVersion", "note %q is at version %d, not %d", p.Key, cur.Version, *p.ExpectVersion)
			}
			n := wire.Note{Key: p.Key, Value: p.Value, Version: cur.Version + 1, Writer: c.Signer.Owner, TxID: c.TxID, Time: tx.FormatTime(c.Time)}
			if err := PutJSON(c, BucketNotes, p.Key, n); err != nil {
				return nil, err
			}
			return map[string]any{"key": n.Key, "version": n.Version}, nil
		},
	}
}

// GetNote reads a note.
func GetNote(r Reader, key string) (*wire.Note, bool, error) {
	var n wire.Note
	ok, err := GetJSON(r, BucketNotes, key, &n)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &n, true, nil
}
