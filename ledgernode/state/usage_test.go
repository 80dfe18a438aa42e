package state_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// fillOf is a bucket's share of its allocated pages in use.
func fillOf(t *testing.T, u state.Usage, bucket string) float64 {
	t.Helper()
	for _, b := range u.Buckets {
		if b.Name == bucket {
			if b.Allocated == 0 {
				t.Fatalf("bucket %s: no pages allocated", bucket)
			}
			return float64(b.InUse) / float64(b.Allocated)
		}
	}
	t.Fatalf("bucket %s not in the usage report", bucket)
	return 0
}

// Buckets written in key order are packed: the chain's own (transactions,
// receipts, tree) and the domain buckets a registry names with
// SetBucketFill, and their history. bbolt's default fill of 0.5 leaves each
// page half empty when keys arrive in ascending order; a bucket not named
// keeps it.
func TestBucketsWrittenInKeyOrderArePacked(t *testing.T) {
	reg := state.NewRegistry()
	reg.SetBucketFill(state.BucketNotes, 1.0)
	f := statetest.New(t, statetest.Options{Registry: reg})
	s := f.Store
	k := f.Enrol("participant/acme")
	const blocks, perBlock = 20, 100
	for b := 0; b < blocks; b++ {
		var raws [][]byte
		for i := 0; i < perBlock; i++ {
			raws = append(raws, f.Sign(k, "note.put", note(fmt.Sprintf("n%06d", b*perBlock+i), fmt.Sprintf("%0400d", i))).Canonical)
		}
		for i, rc := range f.Block(raws...).Receipts {
			if rc.Status != chain.Accepted {
				t.Fatalf("block %d tx %d: %+v", b, i, rc.Reasons)
			}
		}
	}
	u, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{state.BucketTxs, state.BucketReceipts, state.BucketNotes, state.HistoryPrefix + state.BucketNotes} {
		if fill := fillOf(t, u, b); fill < 0.8 {
			t.Errorf("bucket %s: %.2f of its pages in use, want >= 0.8 (written in key order; bbolt's default leaves about half)", b, fill)
		}
	}
	// The nonces bucket (signer + random nonce) is written in random order
	// and keeps bbolt's default: the setting is per bucket.
	if fill := fillOf(t, u, state.BucketNonces); fill > 0.8 {
		t.Errorf("bucket %s: %.2f of its pages in use; random-order buckets keep bbolt's default fill", state.BucketNonces, fill)
	}
}

// The page size is layout only. A state file keeps the page size it was
// created with, whatever the store is configured with when it reopens, and
// stores of either size fed the same blocks hold the same ledger: the same
// block hashes, state hash and digest. A snapshot of one restores into the
// other, and both go on applying blocks alike.
func TestPageSizeIsLayoutOnly(t *testing.T) {
	g, admin, node := newGenesis(t)
	dir := t.TempDir()
	open := func(name string, pageSize int) *state.Store {
		s, err := state.Open(state.Config{Path: filepath.Join(dir, name), Genesis: g, PageSize: pageSize})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	small, large := open("small.db", 0), open("large.db", 8192)
	f := &fixture{T: t, Genesis: g, Admin: admin, Node: node, Now: t0, Store: small}
	both := func(raws ...[]byte) {
		t.Helper()
		f.Now = f.Now.Add(time.Second)
		p := &state.Proposal{Time: tx.FormatTime(f.Now), Proposer: "n0"}
		for _, r := range raws {
			p.Txs = append(p.Txs, json.RawMessage(r))
		}
		f.Applied++
		a, err := small.ApplyBlock(p, f.Applied, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := large.ApplyBlock(p, f.Applied, 1)
		if err != nil {
			t.Fatal(err)
		}
		if a.Hash != b.Hash {
			t.Fatalf("block %d: hash %s with 4 KiB pages, %s with 8 KiB", a.Height, a.Hash, b.Hash)
		}
	}
	k, _ := tx.GenerateKey()
	both(f.Sign(admin, "key.register", wire.KeyRegister{Owner: "participant/acme", PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}).Canonical)
	for b := 0; b < 10; b++ {
		var raws [][]byte
		for i := 0; i < 50; i++ {
			raws = append(raws, f.Sign(k, "note.put", note(fmt.Sprintf("n%04d", (b*37+i*11)%500), fmt.Sprintf("%0900d", b*i))).Canonical)
		}
		both(raws...)
	}
	sameLedger := func(what string) {
		t.Helper()
		d1, err1 := small.Digest()
		d2, err2 := large.Digest()
		if err1 != nil || err2 != nil || d1 != d2 {
			t.Fatalf("%s: digest %s (%v) with 4 KiB pages, %s (%v) with 8 KiB", what, d1, err1, d2, err2)
		}
		if !reflect.DeepEqual(small.Meta(), large.Meta()) {
			t.Fatalf("%s: heads differ: %+v vs %+v", what, small.Meta(), large.Meta())
		}
	}
	sameLedger("same blocks")
	pageSize := func(s *state.Store) int {
		u, err := s.Usage()
		if err != nil {
			t.Fatal(err)
		}
		return u.PageSize
	}
	if ps := pageSize(small); ps != state.DefaultPageSize {
		t.Fatalf("new state file: %d-byte pages, want %d", ps, state.DefaultPageSize)
	}
	if ps := pageSize(large); ps != 8192 {
		t.Fatalf("state file made with 8 KiB pages: %d-byte pages", ps)
	}
	// Reopened with the default configuration, an 8 KiB file stays 8 KiB.
	if err := large.Close(); err != nil {
		t.Fatal(err)
	}
	large = open("large.db", 0)
	if ps := pageSize(large); ps != 8192 {
		t.Fatalf("8 KiB state file reopened: %d-byte pages", ps)
	}
	sameLedger("reopened")
	// The 8 KiB store's snapshot replaces the 4 KiB store's state.
	var buf bytes.Buffer
	sn, err := large.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sn.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	sn.Release()
	if err := small.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if ps := pageSize(small); ps != 8192 {
		t.Fatalf("restored from an 8 KiB snapshot: %d-byte pages", ps)
	}
	both(f.Sign(k, "note.put", note("after-restore", 1)).Canonical)
	sameLedger("after a restore and one more block")
}

// The state file's freelist is written with every commit (not rebuilt at
// open by walking and checking every page of the file, which read a whole
// 6 GB state from disk at a restart): the newest meta page names a
// freelist page. bbolt's layout: a 16-byte page header, then magic,
// version, page size, flags (uint32 each), the root bucket (16 bytes) and
// the freelist page id (uint64; all ones when the freelist is not synced).
func TestTheStateFileKeepsItsFreelist(t *testing.T) {
	g, _, _ := newGenesis(t)
	path := filepath.Join(t.TempDir(), "fl.db")
	s, err := state.Open(state.Config{Path: path, Genesis: g})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := func(off int) (txid, freelist uint64) {
		m := raw[off+16:]
		if binary.LittleEndian.Uint32(m[0:4]) != 0xED0CDAED {
			t.Fatalf("setup: no bbolt meta page at offset %d", off)
		}
		return binary.LittleEndian.Uint64(m[48:56]), binary.LittleEndian.Uint64(m[32:40])
	}
	pageSize := int(binary.LittleEndian.Uint32(raw[16+8 : 16+12]))
	tx0, fl0 := meta(0)
	tx1, fl1 := meta(pageSize)
	if tx1 > tx0 {
		fl0 = fl1
	}
	if fl0 == math.MaxUint64 {
		t.Fatal("the newest meta page has no freelist page: the freelist is not synced, and every open walks the whole file to rebuild it")
	}
}
