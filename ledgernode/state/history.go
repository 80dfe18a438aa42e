package state

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// History: every write a transaction makes to a domain bucket (anything the
// handlers write through their Context, and the genesis identities) also
// records, in the bucket historyPrefix+name, the value the key held before
// the block that wrote it (an undo entry keyed by that block's height; the
// first write of a key in a block keeps the value from before the block).
// A view of a past height H (View.AsOf) reads a key as the before-value of
// its first undo entry above H, or, when nothing wrote the key after H, as
// its current value. The current buckets stay what every apply and every
// present read uses; the history is only read for questions about the past
// ("what did the ledger hold at height H").
//
// An undo entry costs a copy of the value only when a record is changed or
// deleted; creating a record (most trade records are written once) costs a
// marker of the key and one byte.
//
// Key of an entry: esc(key) 0x00 0x01 height(8 bytes, big endian), where
// esc writes 0x00 as 0x00 0xFF and keeps every other byte. The encoding
// keeps key order and makes the entries of one key contiguous (no other
// key's entries can sort between them, even for keys that extend it), so
// that a point read is one cursor seek and a prefix scan walks keys in
// order. Value: 0x01 followed by the value before the write, or 0x00 when
// the key was absent.
//
// The history is ledger data: it is written in the same bbolt transaction
// as the block, is in the digest, and two nodes fed the same blocks hold the
// same history. It is not in the state hash (the writes it follows are).
const historyPrefix = "history/"

// chainBuckets are the core's own buckets: they are not versioned (the
// blocks, transactions, receipts and tree are append-only and a past view
// filters them by height or tree size).
var chainBuckets = map[string]bool{
	bucketMeta: true, bucketLocal: true, bucketCluster: true, bucketBlocks: true,
	bucketTxs: true, bucketReceipts: true, bucketTxIndex: true, bucketMerkle: true,
}

// versioned says whether writes to a bucket are kept in the history.
func versioned(bucket string) bool {
	return !chainBuckets[bucket] && !strings.HasPrefix(bucket, historyPrefix)
}

// historyFromKey (in the local bucket) is the first height whose state the
// history can rebuild: 0 for a store created with history, or the height at
// which an older store was first opened by a version that keeps history.
const historyFromKey = "historyFrom"

func escKey(key string) []byte {
	out := make([]byte, 0, len(key)+2+8)
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			out = append(out, 0, 0xFF)
			continue
		}
		out = append(out, key[i])
	}
	return out
}

// versionKey is the history key of key's version written at height.
func histKey(key string, height uint64) []byte {
	k := append(escKey(key), 0, 1)
	return binary.BigEndian.AppendUint64(k, height)
}

// splitVersionKey decodes a history key into the key and the height.
func splitVersionKey(hk []byte) (key string, height uint64, ok bool) {
	if len(hk) < 10 {
		return "", 0, false
	}
	height = binary.BigEndian.Uint64(hk[len(hk)-8:])
	enc := hk[:len(hk)-8]
	if enc[len(enc)-2] != 0 || enc[len(enc)-1] != 1 {
		return "", 0, false
	}
	enc = enc[:len(enc)-2]
	out := make([]byte, 0, len(enc))
	for i := 0; i < len(enc); i++ {
		if enc[i] == 0 {
			if i+1 >= len(enc) || enc[i+1] != 0xFF {
				return "", 0, false
			}
			i++
			out = append(out, 0)
			continue
		}
		out = append(out, enc[i])
	}
	return string(out), height, true
}

// putUndo records, before the first write of key in a block of height,
// the value the key holds now: the value from before the block. The
// caller calls it once per key and block (writeHash.firstWrite), so a
// later write in the same block keeps that entry.
func putUndo(btx *bolt.Tx, b *bolt.Bucket, bucket, key string, height uint64, fill float64) error {
	hb, err := writeBucket(btx, historyPrefix+bucket, fill)
	if err != nil {
		return err
	}
	hk := histKey(key, height)
	v := []byte{0}
	if old := b.Get([]byte(key)); old != nil {
		v = make([]byte, 1+len(old))
		v[0] = 1
		copy(v[1:], old)
	}
	return hb.Put(hk, v)
}

// undoValue decodes an undo entry's value: the value before the write.
func undoValue(v []byte) []byte {
	if len(v) == 0 || v[0] == 0 {
		return nil
	}
	return bytes.Clone(v[1:])
}

// historyGet is the value of key as it stood at height (nil: absent).
func historyGet(btx *bolt.Tx, bucket, key string, height uint64) []byte {
	cur := boltReader{btx}.Get(bucket, key)
	hb := btx.Bucket([]byte(historyPrefix + bucket))
	if hb == nil {
		return cur
	}
	prefix := append(escKey(key), 0, 1)
	k, v := hb.Cursor().Seek(binary.BigEndian.AppendUint64(bytes.Clone(prefix), height+1))
	if k == nil || len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return cur // nothing wrote the key after height
	}
	return undoValue(v)
}

// historyScan calls fn, in key order, for each key with prefix that held a
// value at height, with that value: a merge of the current keys and the
// keys the history knows.
func historyScan(btx *bolt.Tx, bucket, prefix string, height uint64, fn func(string, []byte) bool) {
	type group struct {
		key   string
		after bool   // some write of the key happened after height
		val   []byte // then: the value before the first such write
	}
	var groups []group // keys with history under prefix, in key order
	if hb := btx.Bucket([]byte(historyPrefix + bucket)); hb != nil {
		c := hb.Cursor()
		p := escKey(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			key, h, ok := splitVersionKey(k)
			if !ok {
				continue
			}
			if len(groups) == 0 || groups[len(groups)-1].key != key {
				groups = append(groups, group{key: key})
			}
			g := &groups[len(groups)-1]
			if h > height && !g.after {
				g.after, g.val = true, undoValue(v)
			}
		}
	}
	i, cont := 0, true
	emitGroup := func(g group) bool {
		if g.after && g.val != nil {
			return fn(g.key, g.val)
		}
		return true
	}
	boltReader{btx}.Scan(bucket, prefix, func(k string, v []byte) bool {
		for ; i < len(groups) && groups[i].key < k; i++ {
			if cont = emitGroup(groups[i]); !cont {
				return false
			}
		}
		if i < len(groups) && groups[i].key == k {
			g := groups[i]
			i++
			if g.after {
				cont = emitGroup(g)
				return cont
			}
		}
		cont = fn(k, v)
		return cont
	})
	for ; cont && i < len(groups); i++ {
		cont = emitGroup(groups[i])
	}
}

// ErrHistoryUnavailable is returned for a question about a height this
// node's history does not reach.
var ErrHistoryUnavailable = errors.New("history not available")

// ErrFutureHeight is returned for a question about a height the node has
// not applied yet.
var ErrFutureHeight = errors.New("height not reached")

// HistoryFrom is the first height this node can answer questions about.
func (v *View) HistoryFrom() uint64 {
	var h uint64
	if raw := v.base.Get(bucketLocal, historyFromKey); raw != nil {
		_ = json.Unmarshal(raw, &h)
	}
	return h
}

// AsOf is a view of the ledger as it stood after block height: records as
// they were then (from the history), only the transactions, receipts and
// blocks recorded up to then, and the head of that height (its tree size,
// root and time), so that inclusion proofs are against that head. It reads
// the same bbolt transaction as v.
func (v *View) AsOf(height uint64) (*View, error) {
	cur := v.meta
	if v.past {
		return nil, errors.New("state: AsOf of a past view")
	}
	if height > cur.Height {
		return nil, fmt.Errorf("%w: height %d: this node has applied up to height %d", ErrFutureHeight, height, cur.Height)
	}
	if height == cur.Height {
		return v, nil
	}
	if from := v.HistoryFrom(); height < from {
		return nil, fmt.Errorf("%w: height %d: this node keeps the history from height %d (its state was written before history was kept; a node synced from genesis answers)",
			ErrHistoryUnavailable, height, from)
	}
	m, err := v.metaAt(height)
	if err != nil {
		return nil, err
	}
	return &View{btx: v.btx, base: v.base, meta: m, past: true, genesis: v.genesis}, nil
}

// metaAt rebuilds the head of a past height from its stored block.
func (v *View) metaAt(height uint64) (Meta, error) {
	cur := v.meta
	m := Meta{Network: cur.Network, GenesisHash: cur.GenesisHash, Height: height}
	if height == 0 {
		t, _ := tx.ParseTime(v.genesis.Time)
		// The state hash after genesis is not kept once blocks follow; a
		// head of height 0 (no transaction yet) does not need it.
		m.BlockHash, m.Time, m.Root = cur.GenesisHash, tx.FormatTime(t), hex.EncodeToString(chain.Hasher.EmptyRoot())
		return m, nil
	}
	var br BlockRecord
	ok, err := GetJSON(v.base, bucketBlocks, string(u64(height)), &br)
	if err != nil {
		return Meta{}, fmt.Errorf("block %d: %w", height, err)
	}
	if !ok {
		return Meta{}, fmt.Errorf("block %d: %w", height, ErrNotFound)
	}
	m.BlockHash, m.Time, m.TreeSize, m.Root, m.StateHash = br.Hash, br.Header.Time, br.Header.TreeSize, br.Header.LedgerRoot, br.Header.StateHash
	return m, nil
}

// Past says whether the view is of a past height (AsOf).
func (v *View) Past() bool { return v.past }

// HeightAt is the last height whose block time is at or before t: what the
// ledger knew at t. It is 0 when t is before the first block (the genesis
// alone), and the view's own height when t is at or after its time.
func (v *View) HeightAt(t time.Time) (uint64, error) {
	at := tx.FormatTime(t)
	if at >= v.meta.Time {
		return v.meta.Height, nil
	}
	lo, hi := uint64(0), v.meta.Height // time(lo) <= at < time(hi), with time(0) = -inf
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		var br BlockRecord
		ok, err := GetJSON(v.base, bucketBlocks, string(u64(mid)), &br)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("block %d: %w", mid, ErrNotFound)
		}
		if br.Header.Time <= at {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// HistoryBytes is how many bytes of the state file the undo history uses
// (bbolt pages in use by the history buckets): what time travel costs on
// disk, for benchmarks and operators.
func (s *Store) HistoryBytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	_ = s.db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if strings.HasPrefix(string(name), historyPrefix) {
				st := b.Stats()
				n += int64(st.BranchInuse + st.LeafInuse)
			}
			return nil
		})
	})
	return n
}
