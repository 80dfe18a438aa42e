package state

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
)

// ErrNotFound is returned for an absent transaction, block or record.
var ErrNotFound = errors.New("not found")

// View is a consistent read of the ledger: one bbolt read transaction, at
// the height it was opened at or (AsOf) at a past height.
type View struct {
	btx     *bolt.Tx
	base    boltReader
	meta    Meta
	past    bool // meta is a past height: records come from the history
	genesis *chain.Genesis
}

// View runs fn over a consistent read of the state.
func (s *Store) View(fn func(v *View) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(func(btx *bolt.Tx) error {
		v := &View{btx: btx, base: boltReader{btx}, genesis: s.genesis}
		if _, err := GetJSON(v.base, bucketMeta, "head", &v.meta); err != nil {
			return err
		}
		return fn(v)
	})
}

// Get reads a value. In a past view, records are read as they stood at its
// height, and transactions, receipts and blocks recorded later are absent.
func (v *View) Get(bucket, key string) []byte {
	if !v.past {
		return v.base.Get(bucket, key)
	}
	switch bucket {
	case bucketMeta:
		if key == "head" {
			raw, _ := json.Marshal(v.meta)
			return raw
		}
		return nil
	case bucketLocal, bucketCluster, bucketMerkle:
		return v.base.Get(bucket, key)
	case bucketBlocks:
		if beU64([]byte(key)) > v.meta.Height {
			return nil
		}
		return v.base.Get(bucket, key)
	case bucketTxs, bucketReceipts:
		if beU64([]byte(key)) >= v.meta.TreeSize {
			return nil
		}
		return v.base.Get(bucket, key)
	case bucketTxIndex:
		leaf := v.base.Get(bucket, key)
		if leaf == nil || beU64(leaf) >= v.meta.TreeSize {
			return nil
		}
		return leaf
	}
	return historyGet(v.btx, bucket, key, v.meta.Height)
}

// Scan calls fn for each key with prefix, in key order (see Get for past
// views).
func (v *View) Scan(bucket, prefix string, fn func(key string, value []byte) bool) {
	if !v.past {
		v.base.Scan(bucket, prefix, fn)
		return
	}
	if chainBuckets[bucket] {
		v.base.Scan(bucket, prefix, func(k string, val []byte) bool {
			if v.Get(bucket, k) == nil {
				return true
			}
			return fn(k, val)
		})
		return
	}
	historyScan(v.btx, bucket, prefix, v.meta.Height, fn)
}

// Meta is the ledger head as of this view.
func (v *View) Meta() Meta { return v.meta }

// TxRecord is a transaction with its receipt.
type TxRecord struct {
	Tx      json.RawMessage `json:"tx"`
	Receipt chain.Receipt   `json:"receipt"`
}

// TxByID finds a transaction by id (its first occurrence).
func (v *View) TxByID(id string) (*TxRecord, error) {
	idb, err := hex.DecodeString(id)
	if err != nil || len(idb) != 32 {
		return nil, fmt.Errorf("tx id %q: must be 64 hex characters", id)
	}
	b := v.btx.Bucket([]byte(bucketTxIndex))
	if b == nil {
		return nil, ErrNotFound
	}
	leaf := b.Get(idb)
	if leaf == nil || beU64(leaf) >= v.meta.TreeSize {
		return nil, ErrNotFound
	}
	return v.TxAt(beU64(leaf))
}

// TxAt returns the transaction at a leaf index.
func (v *View) TxAt(leaf uint64) (*TxRecord, error) {
	if leaf >= v.meta.TreeSize {
		return nil, ErrNotFound
	}
	raw := v.Get(bucketTxs, string(u64(leaf)))
	rc := v.Get(bucketReceipts, string(u64(leaf)))
	if raw == nil || rc == nil {
		return nil, ErrNotFound
	}
	rec := &TxRecord{Tx: raw}
	if err := json.Unmarshal(rc, &rec.Receipt); err != nil {
		return nil, err
	}
	return rec, nil
}

// BlockRecord returns the stored header of a height.
func (v *View) BlockRecord(height uint64) (*BlockRecord, error) {
	if height > v.meta.Height {
		return nil, ErrNotFound
	}
	var br BlockRecord
	ok, err := GetJSON(v, bucketBlocks, string(u64(height)), &br)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	return &br, nil
}

// Block returns a whole block with its transactions and receipts.
func (v *View) Block(height uint64) (*chain.Block, error) {
	br, err := v.BlockRecord(height)
	if err != nil {
		return nil, err
	}
	b := &chain.Block{Header: br.Header, Hash: br.Hash, Txs: make([]json.RawMessage, 0, br.Header.TxCount),
		Receipts: make([]chain.Receipt, 0, br.Header.TxCount)}
	for i := 0; i < br.Header.TxCount; i++ {
		rec, err := v.TxAt(br.FirstLeaf + uint64(i))
		if err != nil {
			return nil, fmt.Errorf("block %d tx %d: %w", height, i, err)
		}
		b.Txs = append(b.Txs, rec.Tx)
		b.Receipts = append(b.Receipts, rec.Receipt)
	}
	return b, nil
}

// Node implements chain.NodeStore over the stored tree.
func (v *View) Node(id compact.NodeID) ([]byte, error) {
	b := v.btx.Bucket([]byte(bucketMerkle))
	if b == nil {
		return nil, chain.ErrNodeMissing
	}
	h := b.Get(chain.NodeKey(id))
	if h == nil {
		return nil, chain.ErrNodeMissing
	}
	return append([]byte(nil), h...), nil
}

// InclusionProof proves leaf in the tree of size (0: the current size).
func (v *View) InclusionProof(leaf, size uint64) (*chain.InclusionProofJSON, error) {
	if size == 0 {
		size = v.meta.TreeSize
	}
	if size > v.meta.TreeSize {
		return nil, fmt.Errorf("tree size %d: the ledger has %d leaves", size, v.meta.TreeSize)
	}
	h, err := chain.InclusionProof(v, leaf, size)
	if err != nil {
		return nil, err
	}
	return &chain.InclusionProofJSON{LeafIndex: leaf, TreeSize: size, Hashes: chain.HexHashes(h)}, nil
}

// ConsistencyProof proves the tree of size `from` is a prefix of `to`.
func (v *View) ConsistencyProof(from, to uint64) (*chain.ConsistencyProofJSON, error) {
	if to == 0 {
		to = v.meta.TreeSize
	}
	if from > to || to > v.meta.TreeSize {
		return nil, fmt.Errorf("sizes %d..%d: need from <= to <= %d", from, to, v.meta.TreeSize)
	}
	h, err := chain.ConsistencyProof(v, from, to)
	if err != nil {
		return nil, err
	}
	return &chain.ConsistencyProofJSON{From: from, To: to, Hashes: chain.HexHashes(h)}, nil
}

// RootAt is the tree root at an earlier size.
func (v *View) RootAt(size uint64) (string, error) {
	if size > v.meta.TreeSize {
		return "", fmt.Errorf("tree size %d: the ledger has %d leaves", size, v.meta.TreeSize)
	}
	r, err := chain.RootAt(v, size)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(r), nil
}
