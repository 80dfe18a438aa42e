package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Reader reads state. Values returned are copies the caller may keep.
type Reader interface {
	Get(bucket, key string) []byte
	// Scan calls fn for each key with prefix, in key order, until fn
	// returns false.
	Scan(bucket, prefix string, fn func(key string, value []byte) bool)
}

// KV reads and writes state inside a transaction's apply.
type KV interface {
	Reader
	Put(bucket, key string, value []byte)
	Delete(bucket, key string)
}

// GetJSON decodes bucket/key into v; false when absent.
func GetJSON(r Reader, bucket, key string, v any) (bool, error) {
	raw := r.Get(bucket, key)
	if raw == nil {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// Lookup decodes bucket/key into a new T; false when absent.
func Lookup[T any](r Reader, bucket, key string) (*T, bool, error) {
	var v T
	ok, err := GetJSON(r, bucket, key, &v)
	if !ok || err != nil {
		return nil, ok, err
	}
	return &v, true, nil
}

// ScanJSON decodes each value with prefix, in key order, into a new T and
// hands it to fn until fn returns false. A value that does not decode ends
// the scan with its error.
func ScanJSON[T any](r Reader, bucket, prefix string, fn func(*T) bool) error {
	var err error
	r.Scan(bucket, prefix, func(_ string, raw []byte) bool {
		var v T
		if err = json.Unmarshal(raw, &v); err != nil {
			return false
		}
		return fn(&v)
	})
	return err
}

// PutJSON encodes v (encoding/json is deterministic for structs and sorts
// map keys) and stores it.
func PutJSON(kv KV, bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	kv.Put(bucket, key, raw)
	return nil
}

// boltReader reads a bbolt transaction.
type boltReader struct{ btx *bolt.Tx }

func (r boltReader) Get(bucket, key string) []byte {
	b := r.btx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return nil
	}
	return bytes.Clone(v)
}

func (r boltReader) Scan(bucket, prefix string, fn func(string, []byte) bool) {
	b := r.btx.Bucket([]byte(bucket))
	if b == nil {
		return
	}
	c := b.Cursor()
	p := []byte(prefix)
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if !fn(string(k), bytes.Clone(v)) {
			return
		}
	}
}

// overlay buffers one transaction's writes over a bbolt write transaction:
// a rejected transaction's writes are dropped, an accepted one's are flushed
// in sorted order and fed to the block's write hash.
type overlay struct {
	base   boltReader
	writes map[string]*[]byte // bucket + "\x00" + key -> value, nil = delete
}

func newOverlay(btx *bolt.Tx) *overlay {
	return &overlay{base: boltReader{btx}, writes: map[string]*[]byte{}}
}

func okey(bucket, key string) string { return bucket + "\x00" + key }

func (o *overlay) Get(bucket, key string) []byte {
	if w, ok := o.writes[okey(bucket, key)]; ok {
		if w == nil {
			return nil
		}
		return bytes.Clone(*w)
	}
	return o.base.Get(bucket, key)
}

func (o *overlay) Put(bucket, key string, value []byte) {
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	o.writes[okey(bucket, key)] = &v
}

func (o *overlay) Delete(bucket, key string) { o.writes[okey(bucket, key)] = nil }

// Scan merges the buffered writes with the stored keys, in key order; a
// buffered write shadows the stored value and a buffered delete hides it.
func (o *overlay) Scan(bucket, prefix string, fn func(string, []byte) bool) {
	pre := okey(bucket, prefix)
	var pending []string
	for k := range o.writes {
		if strings.HasPrefix(k, pre) {
			pending = append(pending, k[len(bucket)+1:])
		}
	}
	sort.Strings(pending)
	emit := func(k string) bool {
		w := o.writes[okey(bucket, k)]
		if w == nil {
			return true // deleted in this transaction
		}
		return fn(k, bytes.Clone(*w))
	}
	i, cont := 0, true
	o.base.Scan(bucket, prefix, func(k string, v []byte) bool {
		for ; i < len(pending) && pending[i] < k; i++ {
			if cont = emit(pending[i]); !cont {
				return false
			}
		}
		if i < len(pending) && pending[i] == k {
			i++
			cont = emit(k)
			return cont
		}
		cont = fn(k, v)
		return cont
	})
	for ; cont && i < len(pending); i++ {
		cont = emit(pending[i])
	}
}

// flush writes the buffered writes to bbolt in sorted order, hashes them
// and records each in the history at height. fill gives each bucket's page
// fill (Registry.fillOf).
func (o *overlay) flush(btx *bolt.Tx, h *writeHash, height uint64, fill func(bucket string) float64) error {
	keys := make([]string, 0, len(o.writes))
	for k := range o.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i := strings.IndexByte(k, 0)
		bucket, key := k[:i], k[i+1:]
		w := o.writes[k]
		b, err := writeBucket(btx, bucket, fill(bucket))
		if err != nil {
			return err
		}
		if versioned(bucket) && h.firstWrite(k) {
			if err := putUndo(btx, b, bucket, key, height, fill(historyPrefix+bucket)); err != nil {
				return err
			}
		}
		if w == nil {
			if err := b.Delete([]byte(key)); err != nil {
				return err
			}
			h.add(bucket, key, nil, true)
			continue
		}
		if err := b.Put([]byte(key), *w); err != nil {
			return err
		}
		h.add(bucket, key, *w, false)
	}
	o.writes = map[string]*[]byte{}
	return nil
}

func hashWrite(h hash.Hash, bucket, key string, value []byte, del bool) {
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put([]byte(bucket))
	put([]byte(key))
	if del {
		h.Write([]byte{0})
		return
	}
	h.Write([]byte{1})
	put(value)
}

// writeHash hashes the state writes of a block, in order, and knows
// which keys the block has written.
type writeHash struct {
	h       hash.Hash
	n       int
	written map[string]struct{} // overlay keys (bucket, 0, key) of versioned writes
}

func newWriteHash() *writeHash {
	return &writeHash{h: sha256.New(), written: map[string]struct{}{}}
}

// firstWrite reports whether the block writes the overlay key k for the
// first time, and remembers that it has. The undo entry of a key is
// recorded at its first write only; a set in memory answers that without
// a B-tree lookup in the history bucket.
func (w *writeHash) firstWrite(k string) bool {
	if _, ok := w.written[k]; ok {
		return false
	}
	w.written[k] = struct{}{}
	return true
}

func (w *writeHash) add(bucket, key string, value []byte, del bool) {
	w.n++
	hashWrite(w.h, bucket, key, value, del)
}

// chain extends the state hash chain: a block that wrote nothing leaves the
// state hash as it was, so "state hash unchanged" means "no state changed".
func (w *writeHash) chain(prev []byte) []byte {
	if w.n == 0 {
		return prev
	}
	sum := sha256.Sum256(append(append([]byte(nil), prev...), w.h.Sum(nil)...))
	return sum[:]
}
