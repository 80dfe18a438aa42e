package state

import (
	"encoding/json"
	"sync"
)

// recordCache keeps records decoded from their stored JSON, by key, valid
// only while the stored bytes are the same: a lookup reads the bytes (as
// it would anyway) and reuses the decoded record when they are unchanged,
// so the cache can never change an answer, only spare a JSON decode. The
// signer's key and identity are read this way by every transaction, twice
// on the node that receives it (before consensus and in the block).
type recordCache[T any] struct {
	mu  sync.Mutex
	m   map[string]cachedRecord[T]
	max int
}

type cachedRecord[T any] struct {
	raw string
	v   *T
}

func newRecordCache[T any](max int) *recordCache[T] {
	return &recordCache[T]{m: map[string]cachedRecord[T]{}, max: max}
}

// decode returns the record stored as raw under key: the cached one when
// raw is what it was decoded from, else a fresh decode (then cached). The
// returned record is shared: callers must not modify it.
func (c *recordCache[T]) decode(key string, raw []byte) (*T, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.raw == string(raw) {
		return e.v, nil
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = cachedRecord[T]{raw: string(raw), v: v}
	c.mu.Unlock()
	return v, nil
}
