package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/transparency-dev/merkle/compact"
	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Backups reuse the snapshot: a read transaction gives a consistent view of
// the whole state at one applied block (the last committed block this node
// applied), and WriteTo streams it framed and checksummed without holding
// it in memory. What the backup package adds is the signed head of that
// same height, read from the same transaction.

// Head returns the ledger head and applied Raft index of the snapshot's
// view: exactly the height the streamed database holds.
func (sn *Snapshot) Head() (Meta, Applied, error) {
	r := boltReader{sn.btx}
	var m Meta
	var a Applied
	ok, err := GetJSON(r, bucketMeta, "head", &m)
	if err != nil || !ok {
		return m, a, fmt.Errorf("snapshot head: %v (found %v)", err, ok)
	}
	if _, err := GetJSON(r, bucketLocal, "applied", &a); err != nil {
		return m, a, fmt.Errorf("snapshot applied index: %w", err)
	}
	return m, a, nil
}

// StreamSize is the number of bytes WriteTo writes: the frame, the database
// and its SHA-256.
func (sn *Snapshot) StreamSize() int64 {
	return int64(len(snapshotMagic)+8) + sn.btx.Size() + 32
}

// WriteSnapshotFile reads a framed snapshot stream (Snapshot.WriteTo) into
// a new database file at path, checking the frame and the checksum; a
// truncated or altered stream is refused with ErrCorruptSnapshot and leaves
// no file behind. It does not check what the database holds (CheckFile,
// CheckChain do).
func WriteSnapshotFile(r io.Reader, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := readSnapshot(r, f); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// FileHead reads the ledger head and applied Raft index of a state file
// (read-only).
func FileHead(path string) (Meta, Applied, error) {
	var m Meta
	var a Applied
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return m, a, fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
	}
	defer db.Close()
	err = db.View(func(btx *bolt.Tx) error {
		r := boltReader{btx}
		ok, err := GetJSON(r, bucketMeta, "head", &m)
		if err != nil || !ok {
			return fmt.Errorf("%w: no ledger head in it", ErrCorruptSnapshot)
		}
		_, err = GetJSON(r, bucketLocal, "applied", &a)
		return err
	})
	return m, a, err
}

// Restored records, in a state file's node-local bookkeeping, that the
// state came from a backup: which head, and when it was restored.
type Restored struct {
	Network   string `json:"network"`
	Height    uint64 `json:"height"`
	BlockHash string `json:"blockHash"`
	TreeSize  uint64 `json:"treeSize"`
	Root      string `json:"root"`
	At        string `json:"at"`
}

const restoredKey = "restoredFrom"

// PrepareRestore makes a state file restored from a backup the start of a
// new cluster: the member addresses of the old cluster are replaced by
// members (the new nodes), and the backup's head is recorded. Neither is
// ledger data (outside the digest and the state hash): the ledger itself is
// untouched, and the applied Raft index stays, because the new cluster's
// Raft log continues after it (consensus.BootstrapFromState).
func PrepareRestore(path string, members []Member, from Restored) error {
	db, err := bolt.Open(path, 0o600, boltOptions(0, false)) // an existing file: its own page size
	if err != nil {
		return fmt.Errorf("open restored state %s: %w", path, err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		if b := btx.Bucket([]byte(bucketCluster)); b != nil {
			c := b.Cursor()
			var old [][]byte
			for k, _ := c.Seek([]byte("member/")); len(k) >= 7 && string(k[:7]) == "member/"; k, _ = c.Next() {
				old = append(old, append([]byte(nil), k...))
			}
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
		}
		for _, m := range members {
			if err := putMember(btx, m); err != nil {
				return err
			}
		}
		return putJSONBolt(btx, bucketLocal, restoredKey, from)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// RestoredFrom says whether the state was restored from a backup, and from
// which head.
func (s *Store) RestoredFrom() (Restored, bool, error) {
	var r Restored
	var ok bool
	err := s.View(func(v *View) error {
		raw := v.Get(bucketLocal, restoredKey)
		if raw == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(raw, &r)
	})
	return r, ok, err
}

// ErrChainBroken is returned by CheckChain when the stored blocks do not
// form the chain their head claims: a block's hash, its link to the one
// before, its leaves or the tree root it commits to is wrong.
var ErrChainBroken = errors.New("chain of blocks does not verify")

// ChainReport is what CheckChain verified.
type ChainReport struct {
	Height    uint64 `json:"height"`
	TreeSize  uint64 `json:"treeSize"`
	BlockHash string `json:"blockHash"`
	Root      string `json:"root"`
	Time      string `json:"time"`
	// AdminKeys and NodeKeys (key id -> node id) are the keys the ledger
	// holds valid for the network admin and for nodes at the head,
	// followed from the genesis through signed key.register, key.rotate
	// and key.revoke transactions (key_authority.go); EndedKeys says how
	// each key that stopped being valid ended.
	AdminKeys []string          `json:"adminKeys"`
	NodeKeys  map[string]string `json:"nodeKeys"`
	EndedKeys map[string]string `json:"endedKeys,omitempty"`
}

// CheckChain walks every block of a state file from genesis to its head:
// each header's hash, its height and its link to the previous block
// (genesis hash for block 1), the transaction ids its receipts name, and
// the ledger-wide Merkle root each header commits to, recomputed from the
// stored receipts (the RFC 6962 leaves). The head the file records must be
// the last block. progress, if not nil, is told the height reached now and
// then. The domain records are not replayed: they are covered by the
// state hash chain, which only a replay can recompute.
func CheckChain(path string, g *chain.Genesis, progress func(height, of uint64)) (*ChainReport, error) {
	gh, err := g.Hash()
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
	}
	defer db.Close()
	var rep *ChainReport
	err = db.View(func(btx *bolt.Tx) error {
		rep, err = checkChainTx(btx, g, gh, progress)
		return err
	})
	return rep, err
}

func checkChainTx(btx *bolt.Tx, g *chain.Genesis, gh string, progress func(height, of uint64)) (*ChainReport, error) {
	r := boltReader{btx}
	var m Meta
	if ok, err := GetJSON(r, bucketMeta, "head", &m); err != nil || !ok {
		return nil, fmt.Errorf("%w: no ledger head in it", ErrCorruptSnapshot)
	}
	if m.GenesisHash != gh {
		return nil, fmt.Errorf("%w: it belongs to genesis %s, not %s", ErrWrongGenesis, m.GenesisHash, gh)
	}
	broken := func(h uint64, format string, args ...any) error {
		return fmt.Errorf("%w: block %d: %s", ErrChainBroken, h, fmt.Sprintf(format, args...))
	}
	blocks, txs, receipts := btx.Bucket([]byte(bucketBlocks)), btx.Bucket([]byte(bucketTxs)), btx.Bucket([]byte(bucketReceipts))
	app, err := chain.NewAppender(0, nil)
	if err != nil {
		return nil, err
	}
	prev := gh
	keys := newKeyAuthority(g)
	var last BlockRecord
	for h := uint64(1); h <= m.Height; h++ {
		if blocks == nil {
			return nil, broken(h, "missing (no blocks stored, the head says %d)", m.Height)
		}
		raw := blocks.Get(u64(h))
		if raw == nil {
			return nil, broken(h, "missing (the head says height %d)", m.Height)
		}
		var br BlockRecord
		if err := json.Unmarshal(raw, &br); err != nil {
			return nil, broken(h, "record does not decode: %v", err)
		}
		hdr := br.Header
		if hdr.Height != h || hdr.Network != g.Network {
			return nil, broken(h, "header says height %d of network %q", hdr.Height, hdr.Network)
		}
		if hash, err := hdr.Hash(); err != nil || hash != br.Hash {
			return nil, broken(h, "stored hash %s is not the hash of its header (%s)", short(br.Hash), short(hash))
		}
		if hdr.Prev != prev {
			return nil, broken(h, "prev %s does not link to block %d (%s)", short(hdr.Prev), h-1, short(prev))
		}
		if br.FirstLeaf != app.Size() || hdr.TreeSize != app.Size()+uint64(hdr.TxCount) || hdr.TxCount < 0 {
			return nil, broken(h, "leaves %d..%d do not follow the tree of size %d", br.FirstLeaf, hdr.TreeSize, app.Size())
		}
		for leaf := br.FirstLeaf; leaf < hdr.TreeSize; leaf++ {
			raw, rc, err := checkLeaf(txs, receipts, leaf, h, app)
			if err != nil {
				return nil, broken(h, "%v", err)
			}
			keys.observe(raw, rc)
		}
		root, err := app.Root()
		if err != nil {
			return nil, err
		}
		if got := fmt.Sprintf("%x", root); got != hdr.LedgerRoot {
			return nil, broken(h, "ledger root %s is not the root of its receipts (%s)", short(hdr.LedgerRoot), short(got))
		}
		prev, last = br.Hash, br
		if progress != nil && (h%1000 == 0 || h == m.Height) {
			progress(h, m.Height)
		}
	}
	if m.Height > 0 && (m.BlockHash != last.Hash || m.TreeSize != last.Header.TreeSize || m.Root != last.Header.LedgerRoot || m.Time != last.Header.Time) {
		return nil, fmt.Errorf("%w: the stored head (height %d, block %s) is not the last block (%s)", ErrChainBroken, m.Height, short(m.BlockHash), short(last.Hash))
	}
	if blocks != nil {
		if k, _ := blocks.Cursor().Last(); k != nil && beU64(k) > m.Height {
			return nil, fmt.Errorf("%w: block %d is stored beyond the head's height %d", ErrChainBroken, beU64(k), m.Height)
		}
	}
	rep := &ChainReport{Height: m.Height, TreeSize: m.TreeSize, BlockHash: m.BlockHash, Root: m.Root, Time: m.Time}
	keys.report(rep)
	return rep, nil
}

// checkLeaf checks one receipt: it names its block and the id of the
// envelope stored beside it, and it is appended to the tree.
func checkLeaf(txs, receipts *bolt.Bucket, leaf, height uint64, app *chain.Appender) ([]byte, *chain.Receipt, error) {
	if txs == nil || receipts == nil {
		return nil, nil, fmt.Errorf("leaf %d: no transactions or receipts stored", leaf)
	}
	raw, rc := txs.Get(u64(leaf)), receipts.Get(u64(leaf))
	if raw == nil || rc == nil {
		return nil, nil, fmt.Errorf("leaf %d: transaction or receipt missing", leaf)
	}
	var r chain.Receipt
	if err := json.Unmarshal(rc, &r); err != nil {
		return nil, nil, fmt.Errorf("leaf %d: receipt does not decode: %v", leaf, err)
	}
	if r.Height != height || r.LeafIndex != leaf {
		return nil, nil, fmt.Errorf("leaf %d: receipt says height %d, leaf %d", leaf, r.Height, r.LeafIndex)
	}
	if id := chain.TxID(raw); fmt.Sprintf("%x", id) != r.TxID {
		// An envelope the leader proposed in a non-canonical form is named
		// by the id of its canonical form.
		if canon, err := canonicalID(raw); err != nil || canon != r.TxID {
			return nil, nil, fmt.Errorf("leaf %d: receipt names transaction %s, the stored envelope is %s", leaf, short(r.TxID), short(fmt.Sprintf("%x", id)))
		}
	}
	return raw, &r, app.Append(chain.Hasher.HashLeaf(rc), func(compact.NodeID, []byte) {})
}

// canonicalID is the id of an envelope stored in a non-canonical form.
func canonicalID(raw []byte) (string, error) {
	st, err := tx.Decode(raw, tx.Limits{MaxEnvelopeBytes: 64 << 20})
	if err != nil {
		return "", err
	}
	return st.IDHex(), nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
