package state_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// kvOp is one write of the test handler: any bucket, any key bytes
// (base64), a value or a delete.
type kvOp struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"` // base64
	Value  string `json:"value,omitempty"`
	Delete bool   `json:"delete,omitempty"`
}

type kvOps struct {
	Ops []kvOp `json:"ops"`
}

func (kvOps) Validate() error { return nil }

// kvRegistry has a handler that writes whatever it is told, so that the
// history is tested with keys no domain handler would write: NUL bytes,
// 0xFF, keys that extend other keys.
func kvRegistry() *state.Registry {
	reg := state.NewRegistry()
	reg.MustRegister(state.Handler{Type: "test.kv", Summary: "test", Check: wire.CheckAs[kvOps](),
		Apply: func(c *state.Context) (any, error) {
			p, _ := wire.DecodeAndCheck[kvOps](c.Tx.Payload)
			for _, op := range p.Ops {
				k, _ := base64.StdEncoding.DecodeString(op.Key)
				if op.Delete {
					c.Delete(op.Bucket, string(k))
				} else {
					c.Put(op.Bucket, string(k), []byte(op.Value))
				}
			}
			return nil, nil
		}})
	return reg
}

type dump map[string]map[string]string // bucket -> key -> value

// dumpOf reads every bucket of buckets through the view's Scan, and checks
// that Get agrees with Scan for every key in keys.
func dumpOf(t *testing.T, v *state.View, buckets []string, keys []string) dump {
	t.Helper()
	d := dump{}
	for _, b := range buckets {
		d[b] = map[string]string{}
		prev := ""
		first := true
		v.Scan(b, "", func(k string, val []byte) bool {
			if !first && k <= prev {
				t.Fatalf("height %d bucket %s: scan out of order: %q after %q", v.Meta().Height, b, k, prev)
			}
			first, prev = false, k
			d[b][k] = string(val)
			return true
		})
		for _, k := range keys {
			got := v.Get(b, k)
			want, ok := d[b][k]
			if ok != (got != nil) || (ok && string(got) != want) {
				t.Fatalf("height %d bucket %s key %q: Get %q, Scan %q (present %v)", v.Meta().Height, b, k, got, want, ok)
			}
		}
	}
	return d
}

func TestAsOfReadsTheStateOfEachPastHeight(t *testing.T) {
	f := newFixture(t)
	s := statetest.Open(t, filepath.Join(t.TempDir(), "hist.db"), f.Genesis, kvRegistry())
	f.Store = s
	k := f.Enrol("participant/writer")

	// Keys chosen to break a naive "key + height" encoding: prefixes of one
	// another, NUL and 0xFF bytes, bytes that look like a height.
	keys := []string{"a", "a\x00", "a\x00\x00", "a\x00b", "a\x00\x00\x00\x00\x00\x00\x00\x00\x05", "ab", "a\xff", "b", "\x00", "\xff\xff", "prefix/1", "prefix/10", "prefix/2"}
	buckets := []string{"one", "two"}
	rng := rand.New(rand.NewPCG(7, 11))
	heights := []uint64{}
	dumps := map[uint64]dump{}
	var txIDs []string
	var txHeights []uint64
	for blk := 0; blk < 40; blk++ {
		var ops []kvOp
		for n := rng.IntN(6); n >= 0; n-- {
			op := kvOp{Bucket: buckets[rng.IntN(len(buckets))], Key: base64.StdEncoding.EncodeToString([]byte(keys[rng.IntN(len(keys))]))}
			if rng.IntN(4) == 0 {
				op.Delete = true
			} else {
				op.Value = fmt.Sprintf("v%d-%d", blk, n)
			}
			ops = append(ops, op)
		}
		// Two transactions in some blocks: the later write of a key in a
		// block is the one the height holds.
		sts := []*tx.Signed{f.Sign(k, "test.kv", kvOps{Ops: ops})}
		if blk%3 == 0 {
			f.Now = f.Now.Add(time.Millisecond)
			sts = append(sts, f.Sign(k, "test.kv", kvOps{Ops: []kvOp{{Bucket: "one", Key: base64.StdEncoding.EncodeToString([]byte("a")), Value: fmt.Sprintf("second-%d", blk)}}}))
		}
		var raws [][]byte
		for _, st := range sts {
			raws = append(raws, st.Canonical)
		}
		res := f.Block(raws...)
		for _, rc := range res.Receipts {
			if rc.Status != chain.Accepted {
				t.Fatalf("block %d: %+v", blk, rc.Reasons)
			}
			txIDs, txHeights = append(txIDs, rc.TxID), append(txHeights, rc.Height)
		}
		if err := s.View(func(v *state.View) error {
			heights = append(heights, v.Meta().Height)
			dumps[v.Meta().Height] = dumpOf(t, v, buckets, keys)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	err := s.View(func(cur *state.View) error {
		for _, h := range heights {
			v, err := cur.AsOf(h)
			if err != nil {
				t.Fatalf("AsOf(%d): %v", h, err)
			}
			if got := dumpOf(t, v, buckets, keys); !equalDumps(got, dumps[h]) {
				t.Fatalf("height %d: as-of view %v, the state then was %v", h, got, dumps[h])
			}
			// Prefix scans see only keys with the prefix, as they were.
			var got []string
			v.Scan("one", "a\x00", func(k string, _ []byte) bool { got = append(got, k); return true })
			var want []string
			for _, k := range slices.Sorted(maps.Keys(dumps[h]["one"])) {
				if len(k) >= 2 && k[:2] == "a\x00" {
					want = append(want, k)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("height %d: scan of prefix a\\x00: %q, want %q", h, got, want)
			}
			// The head is that height's, and proofs are against its root.
			m := v.Meta()
			br, err := cur.BlockRecord(h)
			if err != nil {
				t.Fatal(err)
			}
			if m.Height != h || m.TreeSize != br.Header.TreeSize || m.Root != br.Header.LedgerRoot || m.Time != br.Header.Time || m.BlockHash != br.Hash {
				t.Fatalf("height %d: as-of head %+v, block %+v", h, m, br)
			}
			root, _ := hex.DecodeString(m.Root)
			for i, id := range txIDs {
				rec, err := v.TxByID(id)
				if txHeights[i] > h {
					if !errors.Is(err, state.ErrNotFound) {
						t.Fatalf("height %d: tx of height %d visible (err %v)", h, txHeights[i], err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("height %d: tx of height %d: %v", h, txHeights[i], err)
				}
				p, err := v.InclusionProof(rec.Receipt.LeafIndex, 0)
				if err != nil {
					t.Fatal(err)
				}
				leaf, _ := rec.Receipt.LeafData()
				hashes, _ := chain.ParseHexHashes(p.Hashes)
				if err := proof.VerifyInclusion(chain.Hasher, p.LeafIndex, p.TreeSize, chain.Hasher.HashLeaf(leaf), hashes, root); err != nil {
					t.Fatalf("height %d: proof of leaf %d against the head of that height: %v", h, p.LeafIndex, err)
				}
			}
			if _, err := v.Block(h + 1); !errors.Is(err, state.ErrNotFound) {
				t.Fatalf("height %d: block %d visible (err %v)", h, h+1, err)
			}
		}
		if _, err := cur.AsOf(cur.Meta().Height + 1); !errors.Is(err, state.ErrFutureHeight) {
			t.Fatalf("AsOf beyond the head: %v, want ErrFutureHeight", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func equalDumps(a, b dump) bool {
	if len(a) != len(b) {
		return false
	}
	for k, m := range a {
		if !maps.Equal(m, b[k]) {
			return false
		}
	}
	return true
}

func TestHeightAtIsWhatTheLedgerKnewAtATime(t *testing.T) {
	f := newFixture(t)
	k := f.Enrol("participant/writer") // height 1
	var times []string
	for i := 0; i < 9; i++ { // heights 2..10
		f.One(f.Sign(k, "note.put", note(fmt.Sprintf("n%d", i), i)))
	}
	err := f.Store.View(func(v *state.View) error {
		for h := uint64(1); h <= v.Meta().Height; h++ {
			br, _ := v.BlockRecord(h)
			times = append(times, br.Header.Time)
		}
		cases := []struct {
			name string
			at   string
			want uint64
		}{
			{"before the first block: only the genesis", f.Genesis.Time, 0},
			{"exactly a block's time: that block is known", times[4], 5},
			{"just before a block's time: the block before it", tx.FormatTime(mustTime(times[4]).Add(-time.Microsecond)), 4},
			{"after the last block: the head", tx.FormatTime(mustTime(times[len(times)-1]).Add(time.Hour)), v.Meta().Height},
		}
		for _, c := range cases {
			got, err := v.HeightAt(mustTime(c.at))
			if err != nil || got != c.want {
				t.Errorf("%s: HeightAt(%s) = %d, %v; want %d", c.name, c.at, got, err, c.want)
			}
		}
		n, err := v.AsOf(4)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := state.GetNote(n, "n2"); !ok {
			t.Error("height 4: note n2 (written at height 4) missing")
		}
		if _, ok, _ := state.GetNote(n, "n3"); ok {
			t.Error("height 4: note n3 (written at height 5) visible")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustTime(s string) time.Time {
	t, err := tx.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

// A state file written before history was kept starts its history when it
// is opened: questions about earlier heights are refused by name, later
// ones answered.
func TestAStoreWithoutHistoryStartsItAtItsHeight(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "old.db")
	f.Store = f.Open(path)
	k := f.Enrol("participant/writer")
	f.One(f.Sign(k, "note.put", note("a", 1)))
	f.One(f.Sign(k, "note.put", note("a", 2))) // height 3
	f.Store.Close()

	// Make it look like a file of the previous version: no history at all.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bolt.Tx) error {
		var hist [][]byte
		_ = btx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if len(name) > len(state.HistoryPrefix) && string(name[:len(state.HistoryPrefix)]) == state.HistoryPrefix {
				hist = append(hist, slices.Clone(name))
			}
			return nil
		})
		if len(hist) == 0 {
			t.Fatal("no history bucket was written")
		}
		for _, n := range hist {
			if err := btx.DeleteBucket(n); err != nil {
				return err
			}
		}
		return btx.Bucket([]byte(state.BucketLocal)).Delete([]byte(state.HistoryFromKey))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	f.Store = f.Open(path)
	f.One(f.Sign(k, "note.put", note("a", 3))) // height 4
	err = f.Store.View(func(v *state.View) error {
		if v.HistoryFrom() != 3 {
			t.Fatalf("history from %d, want 3", v.HistoryFrom())
		}
		for h, want := range map[uint64]string{3: "2", 4: "3"} {
			p, err := v.AsOf(h)
			if err != nil {
				t.Fatalf("AsOf(%d): %v", h, err)
			}
			n, ok, _ := state.GetNote(p, "a")
			if !ok || string(n.Value) != want {
				t.Fatalf("height %d: note a = %+v, want value %s", h, n, want)
			}
		}
		if _, err := v.AsOf(2); !errors.Is(err, state.ErrHistoryUnavailable) {
			t.Fatalf("AsOf(2) before the history: %v, want ErrHistoryUnavailable", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHistoryKeyEncodingRoundTripsAndKeepsOrder(t *testing.T) {
	keys := []string{"", "a", "a\x00", "a\x00\x00", "a\x00\x01", "a\x01", "a\xff", "ab", "\x00", "\x00\xff", "\xff"}
	for _, k := range keys {
		for _, h := range []uint64{0, 1, 255, 1 << 40} {
			got, gh, ok := state.SplitVersionKey(state.HistKey(k, h))
			if !ok || got != k || gh != h {
				t.Fatalf("round trip of %q@%d: %q@%d ok=%v", k, h, got, gh, ok)
			}
		}
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	enc := make([]string, len(sorted))
	for i, k := range sorted {
		enc[i] = string(state.HistKey(k, 1<<40)) // a late version of each key ...
	}
	for i := 1; i < len(enc); i++ {
		// ... still sorts before an early version of the next key.
		if !(enc[i-1] < string(state.HistKey(sorted[i], 0))) {
			t.Fatalf("%q@late sorts after %q@0", sorted[i-1], sorted[i])
		}
	}
}

func FuzzSplitVersionKey(f *testing.F) {
	f.Add([]byte("a\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add([]byte("\x00\xff\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, h, ok := state.SplitVersionKey(b)
		if ok && string(state.HistKey(k, h)) != string(b) {
			t.Fatalf("%x decodes to %q@%d, which encodes to %x", b, k, h, state.HistKey(k, h))
		}
	})
}
