package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Ledger buckets (domain buckets are created by handlers on first write).
const (
	bucketMeta     = "meta"     // ledger head: in the digest
	bucketLocal    = "local"    // applied Raft index/term: node-local, not in the digest
	bucketCluster  = "cluster"  // member addresses: replicated, not ledger data
	bucketBlocks   = "blocks"   // height (8B) -> BlockRecord
	bucketTxs      = "txs"      // leaf index (8B) -> canonical envelope
	bucketReceipts = "receipts" // leaf index (8B) -> receipt (canonical JSON, the leaf data)
	bucketTxIndex  = "txindex"  // tx id (32B) -> leaf index (8B) of its first occurrence
	bucketMerkle   = "merkle"   // chain.NodeKey -> node hash
)

var notInDigest = map[string]bool{bucketLocal: true, bucketCluster: true}

// Meta is the ledger head as stored after each block.
type Meta struct {
	Network     string   `json:"network"`
	GenesisHash string   `json:"genesisHash"`
	Height      uint64   `json:"height"`
	BlockHash   string   `json:"blockHash"`
	Time        string   `json:"time"`
	TreeSize    uint64   `json:"treeSize"`
	Root        string   `json:"root"`
	Range       []string `json:"range"` // compact-range hashes of the tree
	StateHash   string   `json:"stateHash"`
}

// Applied is the last Raft entry applied (local bookkeeping).
type Applied struct {
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
}

// Config configures a Store. Zero fields take defaults.
type Config struct {
	Path     string
	Genesis  *chain.Genesis
	Registry *Registry
	Logger   *slog.Logger
	// Verifier checks signatures; share one with the pre-consensus checks so
	// that each node verifies each transaction once.
	Verifier *tx.Verifier
	// Workers bounds parallel signature verification (default GOMAXPROCS).
	Workers int
	// PageSize is the bbolt page size of a state file Open creates
	// (default DefaultPageSize). An existing file keeps the page size it
	// was created with, and a restored snapshot the one it was taken with:
	// the page size is layout only.
	PageSize int
	// DeferSync commits without fsync: the Raft log, fsync'd before an
	// entry is committed, is the durable record, and a state file that
	// may be torn by a machine restart is rebuilt from the Raft snapshot
	// and log (unsynced.go; DESIGN.md). Off: every commit is fsync'd.
	DeferSync bool
}

// DefaultPageSize is the page size of new state files: 4 KiB, the
// machine's page. Larger pages pack large records better (bbolt splits a
// node of more than two records at a page, so with 4 KiB pages a 2.6 KB
// receipt or rules evaluation, ten agency policies' findings, takes a page
// to itself; with 8 KiB pages three share two pages' room), but every
// commit writes each page it changes whole, and records written in random
// key order (transaction ids, nonces) change a page each. `ledgerbench
// size -page-size` measures both (docs/performance.md: 8 KiB gives a file
// 24 % smaller with ten policies, 7 % with two, and writes 22-45 % more
// bytes per certificate in blocks of 20).
const DefaultPageSize = 4 << 10

// Store is the ledger state on disk.
type Store struct {
	cfg     Config
	genesis *chain.Genesis
	reg     *Registry
	log     *slog.Logger
	verif   *tx.Verifier
	limits  tx.Limits

	mu      sync.RWMutex // Lock only to swap the database (Restore)
	db      *bolt.DB
	meta    atomic.Pointer[Meta]
	applied atomic.Pointer[Applied]

	notify   chan struct{} // closed and replaced after every applied block
	notifyMu sync.Mutex

	// Decoded signer keys and identities, by the bytes they were decoded
	// from (record_cache.go).
	keyCache   *recordCache[wire.Key]
	identCache *recordCache[wire.Identity]
}

// boltOptions opens a state file; pageSize applies only to a file it
// creates (bbolt reads an existing file's page size from the file).
//
// The freelist is synced: every commit writes it, and open reads it. Not
// synced, bbolt rebuilds it at open by walking and checking every page of
// the file (freepages: a full consistency check): 0.8 s of CPU for a
// 2 GB state, and for a 6 GB one (a million certificates) a read of the
// whole file from disk when it is not in the page cache: a restart there
// took 10.8 s, 5.6 s with the freelist kept (docs/performance.md, "A
// million certificates"). A file
// written unsynced is rebuilt once at its next open, then synced.
func boltOptions(pageSize int, noSync bool) *bolt.Options {
	return &bolt.Options{
		NoSync:          noSync,
		Timeout:         2 * time.Second,
		NoFreelistSync:  false,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 256 << 20,
		PageSize:        pageSize,
	}
}

// ErrWrongGenesis is returned when a data directory belongs to another network.
var ErrWrongGenesis = errors.New("state belongs to a different genesis")

// Open opens (or initialises from genesis) the state at cfg.Path.
func Open(cfg Config) (*Store, error) {
	if cfg.Genesis == nil {
		return nil, errors.New("state: genesis is required")
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Verifier == nil {
		cfg.Verifier = tx.NewVerifier(0)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	s := &Store{cfg: cfg, genesis: cfg.Genesis, reg: cfg.Registry, log: cfg.Logger, verif: cfg.Verifier,
		limits: tx.Limits{MaxEnvelopeBytes: cfg.Genesis.Params.MaxEnvelopeBytes}, notify: make(chan struct{}),
		keyCache: newRecordCache[wire.Key](1 << 16), identCache: newRecordCache[wire.Identity](1 << 16)}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, err
	}
	marked, err := trustUnsynced(cfg.Path, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if cfg.DeferSync {
		if err := markUnsynced(cfg.Path); err != nil {
			return nil, err
		}
	}
	if err := CheckBoltFile(cfg.Path); err != nil {
		return nil, fmt.Errorf("state file damaged: %w (move the data directory aside and restart: the node then reports its data lost; remove it and add it back with 'ledgerctl cluster remove' and 'ledgerctl cluster add' (docs/operations.md, \"A node refuses to start: damaged data\"))", err)
	}
	db, err := bolt.Open(cfg.Path, 0o600, boltOptions(cfg.PageSize, cfg.DeferSync))
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w (if the file is damaged, move the data directory aside and restart: the node then reports its data lost; remove it and add it back with 'ledgerctl cluster remove' and 'ledgerctl cluster add' (docs/operations.md, \"A node refuses to start: damaged data\"))", cfg.Path, err)
	}
	s.db = db
	if marked && !cfg.DeferSync {
		// Opened with fsync after a run without it, in the same boot: its
		// writes are in the page cache; make them durable first.
		err := db.Sync()
		if err == nil {
			err = unmarkUnsynced(cfg.Path)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("sync the state file written without fsync: %w", err)
		}
	}
	if err := s.initOrCheck(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database; with DeferSync it fsyncs the file first and
// then removes its marker (a failed sync leaves the marker: the next start
// in another boot rebuilds).
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.DeferSync {
		return s.db.Close()
	}
	err := s.db.Sync()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return unmarkUnsynced(s.cfg.Path)
}

// Registry returns the handler registry.
func (s *Store) Registry() *Registry { return s.reg }

// Genesis returns the genesis the store was opened with.
func (s *Store) Genesis() *chain.Genesis { return s.genesis }

// Limits are the envelope limits of this network.
func (s *Store) Limits() tx.Limits { return s.limits }

// Verifier is the shared signature verifier.
func (s *Store) Verifier() *tx.Verifier { return s.verif }

// Meta returns the current ledger head (a copy).
func (s *Store) Meta() Meta { return *s.meta.Load() }

// Applied returns the last applied Raft index and term.
func (s *Store) Applied() Applied { return *s.applied.Load() }

// Changed returns a channel closed at the next applied block.
func (s *Store) Changed() <-chan struct{} {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify
}

func (s *Store) signalChanged() {
	s.notifyMu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.notifyMu.Unlock()
}

func (s *Store) initOrCheck() error {
	gh, err := s.genesis.Hash()
	if err != nil {
		return err
	}
	return s.db.Update(func(btx *bolt.Tx) error {
		r := boltReader{btx}
		var m Meta
		ok, err := GetJSON(r, bucketMeta, "head", &m)
		if err != nil {
			return fmt.Errorf("state meta: %w", err)
		}
		if ok {
			if m.GenesisHash != gh {
				return fmt.Errorf("%w: data was created for genesis %s (network %q), this node was given %s (network %q); point --data-dir at the right directory or remove it",
					ErrWrongGenesis, m.GenesisHash[:12], m.Network, gh[:12], s.genesis.Network)
			}
			var a Applied
			if _, err := GetJSON(r, bucketLocal, "applied", &a); err != nil {
				return err
			}
			if r.Get(bucketLocal, historyFromKey) == nil {
				// Written before history was kept: it starts here.
				if err := putJSONBolt(btx, bucketLocal, historyFromKey, m.Height); err != nil {
					return err
				}
				s.log.Info("history of records kept from this height on", "height", m.Height)
			}
			s.meta.Store(&m)
			s.applied.Store(&a)
			return nil
		}
		return s.writeGenesis(btx, gh)
	})
}

func (s *Store) writeGenesis(btx *bolt.Tx, gh string) error {
	g := s.genesis
	t, _ := tx.ParseTime(g.Time)
	o := newOverlay(btx)
	admin := &wire.Identity{ID: wire.KindAdmin, Kind: wire.KindAdmin, Name: "network admin", Status: "active", Since: tx.FormatTime(t)}
	if err := PutIdentity(o, admin); err != nil {
		return err
	}
	for _, a := range g.Admins {
		if _, err := RegisterKey(o, a, wire.KindAdmin, wire.KindAdmin, t, "genesis"); err != nil {
			return fmt.Errorf("genesis admin key: %w", err)
		}
	}
	for _, n := range g.Nodes {
		id := &wire.Identity{ID: "node/" + n.ID, Kind: wire.KindNode, Name: n.ID, Status: "active", Since: tx.FormatTime(t)}
		if err := PutIdentity(o, id); err != nil {
			return err
		}
		if _, err := RegisterKey(o, n.Key, id.ID, wire.KindNode, t, "genesis"); err != nil {
			return fmt.Errorf("genesis node %s key: %w", n.ID, err)
		}
	}
	h := newWriteHash()
	if err := o.flush(btx, h, 0, s.reg.fillOf); err != nil {
		return err
	}
	for _, n := range g.Nodes {
		if err := putMember(btx, Member{ID: n.ID, RaftAddr: n.RaftAddr, APIAddr: n.APIAddr}); err != nil {
			return err
		}
	}
	ghBytes, _ := hex.DecodeString(gh)
	sh := h.chain(ghBytes)
	m := &Meta{Network: g.Network, GenesisHash: gh, Height: 0, BlockHash: gh, Time: tx.FormatTime(t),
		TreeSize: 0, Root: hex.EncodeToString(chain.Hasher.EmptyRoot()), Range: []string{}, StateHash: hex.EncodeToString(sh)}
	a := &Applied{}
	if err := putJSONBolt(btx, bucketMeta, "head", m); err != nil {
		return err
	}
	if err := putJSONBolt(btx, bucketLocal, "applied", a); err != nil {
		return err
	}
	if err := putJSONBolt(btx, bucketLocal, historyFromKey, uint64(0)); err != nil {
		return err
	}
	s.meta.Store(m)
	s.applied.Store(a)
	return nil
}

func putJSONBolt(btx *bolt.Tx, bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return putBolt(btx, bucket, []byte(key), raw)
}

func putBolt(btx *bolt.Tx, bucket string, key, value []byte) error {
	fill, ok := coreFills[bucket]
	if !ok {
		fill = bolt.DefaultFillPercent
	}
	b, err := writeBucket(btx, bucket, fill)
	if err != nil {
		return err
	}
	return b.Put(key, value)
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// Digest hashes every ledger bucket (everything except node-local
// bookkeeping and cluster addresses) in key order. Two stores fed the same
// blocks have the same digest; a test compares them across nodes.
func (s *Store) Digest() (string, error) {
	_, d, err := s.DigestWithMeta()
	return d, err
}

// DigestWithMeta is Digest with the ledger head it covers, both read in one
// transaction. Meta() is updated just after a block commits, so a digest
// and a Meta() read apart can describe different heights even when Meta()
// is read before and after.
func (s *Store) DigestWithMeta() (Meta, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := sha256.New()
	var m Meta
	err := s.db.View(func(btx *bolt.Tx) error {
		if _, err := GetJSON(boltReader{btx}, bucketMeta, "head", &m); err != nil {
			return fmt.Errorf("state meta: %w", err)
		}
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if notInDigest[string(name)] {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				hashWrite(h, string(name), string(k), v, v == nil)
				return nil
			})
		})
	})
	if err != nil {
		return Meta{}, "", err
	}
	return m, hex.EncodeToString(h.Sum(nil)), nil
}

// Snapshot is a consistent read view of the whole database for Raft.
type Snapshot struct {
	s    *Store
	btx  *bolt.Tx
	once sync.Once
}

// Snapshot opens a read transaction at once; the copy happens in WriteTo.
// It holds no lock of the Store while it is open: a Restore that swaps the
// database meanwhile leaves this snapshot reading the database it began on
// (closed once the snapshot is released). Holding the Store's lock across
// a snapshot's copy deadlocked a follower: hashicorp/raft persists a
// snapshot while waiting for the main goroutine, whose InstallSnapshot
// waited for a Restore, which waited for the snapshot.
func (s *Store) Snapshot() (*Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	btx, err := s.db.Begin(false)
	if err != nil {
		return nil, err
	}
	return &Snapshot{s: s, btx: btx}, nil
}

// snapshotMagic starts every snapshot stream: magic, then the database
// length (8 bytes, big-endian), the database, and its SHA-256. Restore
// checks length and hash before it touches the live state, so a truncated or
// corrupted snapshot is refused with a clear error.
const snapshotMagic = "TLSNAP1\n"

// WriteTo streams the database file, framed and checksummed.
func (sn *Snapshot) WriteTo(w io.Writer) (int64, error) {
	size := sn.btx.Size()
	hdr := append([]byte(snapshotMagic), u64(uint64(size))...)
	if _, err := w.Write(hdr); err != nil {
		return 0, err
	}
	h := sha256.New()
	n, err := sn.btx.WriteTo(io.MultiWriter(w, h))
	if err != nil {
		return n + int64(len(hdr)), err
	}
	if n != size {
		return n, fmt.Errorf("snapshot: wrote %d bytes of %d", n, size)
	}
	m, err := w.Write(h.Sum(nil))
	return int64(len(hdr)) + n + int64(m), err
}

// readSnapshot copies a framed snapshot into f, checking frame and hash.
func readSnapshot(r io.Reader, f io.Writer) error {
	hdr := make([]byte, len(snapshotMagic)+8)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return fmt.Errorf("%w: header: %v", ErrCorruptSnapshot, err)
	}
	if string(hdr[:len(snapshotMagic)]) != snapshotMagic {
		return fmt.Errorf("%w: not a tradeledger snapshot (bad magic)", ErrCorruptSnapshot)
	}
	size := int64(beU64(hdr[len(snapshotMagic):]))
	h := sha256.New()
	n, err := io.CopyN(io.MultiWriter(f, h), r, size)
	if err != nil {
		return fmt.Errorf("%w: truncated after %d of %d bytes: %v", ErrCorruptSnapshot, n, size, err)
	}
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, sum); err != nil {
		return fmt.Errorf("%w: truncated before its checksum: %v", ErrCorruptSnapshot, err)
	}
	if !bytes.Equal(sum, h.Sum(nil)) {
		return fmt.Errorf("%w: checksum mismatch", ErrCorruptSnapshot)
	}
	return nil
}

// Release ends the read transaction.
func (sn *Snapshot) Release() {
	sn.once.Do(func() { _ = sn.btx.Rollback() })
}

// ErrCorruptSnapshot is returned by Restore for data that is not a valid
// state database of this network.
var ErrCorruptSnapshot = errors.New("snapshot is corrupt")

// Restore replaces the state with a snapshot stream. The stream is written
// to a new file, checked (bbolt consistency, same genesis), then swapped in.
func (s *Store) Restore(r io.Reader) error {
	tmp := s.cfg.Path + ".restore"
	_ = os.Remove(tmp) // left by an interrupted restore
	if err := WriteSnapshotFile(r, tmp); err != nil {
		return err
	}
	if err := CheckFile(tmp, s.genesis); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The new file replaces the old one by name; the old database stays
	// open on the old file until every snapshot begun on it is released
	// (bbolt's Close waits for open read transactions), so that wait
	// happens aside and never holds up the swap.
	if err := os.Rename(tmp, s.cfg.Path); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(s.cfg.Path)); err != nil {
		return err
	}
	db, err := bolt.Open(s.cfg.Path, 0o600, boltOptions(s.cfg.PageSize, s.cfg.DeferSync))
	if err != nil {
		return fmt.Errorf("reopen state after restore: %w", err)
	}
	old := s.db
	s.db = db
	go func() {
		if err := old.Close(); err != nil {
			s.log.Warn("closing the state replaced by a snapshot", "error", err)
		}
	}()
	if err := s.initOrCheck(); err != nil {
		return err
	}
	s.log.Info("state restored from snapshot", "height", s.Meta().Height, "index", s.Applied().Index)
	s.signalChanged()
	return nil
}

// CheckFile verifies that path is a consistent bbolt database holding the
// state of genesis g. It is how a corrupt snapshot or state file is caught
// before it is used.
func CheckFile(path string, g *chain.Genesis) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorruptSnapshot, err)
	}
	defer db.Close()
	gh, err := g.Hash()
	if err != nil {
		return err
	}
	return db.View(func(btx *bolt.Tx) error {
		var first error
		for err := range btx.Check() { // drain: Check's goroutine sends every error
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return fmt.Errorf("%w: %v", ErrCorruptSnapshot, first)
		}
		var m Meta
		ok, err := GetJSON(boltReader{btx}, bucketMeta, "head", &m)
		if err != nil || !ok {
			return fmt.Errorf("%w: no ledger head in it", ErrCorruptSnapshot)
		}
		if m.GenesisHash != gh {
			return fmt.Errorf("%w: it belongs to genesis %s, not %s", ErrWrongGenesis, m.GenesisHash, gh)
		}
		return nil
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
