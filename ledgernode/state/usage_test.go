package state

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
)

// fillOf is a bucket's share of its allocated pages in use.
func fillOf(t *testing.T, u Usage, bucket string) float64 {
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
	g, admin, node := newGenesis(t)
	reg := NewRegistry()
	reg.SetBucketFill(BucketNotes, 1.0)
	s, err := Open(Config{Path: filepath.Join(t.TempDir(), "state.db"), Genesis: g, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := &fixture{t: t, g: g, admin: admin, node: node, now: t0, store: s}
	k := f.enrol("participant/acme")
	const blocks, perBlock = 20, 100
	for b := 0; b < blocks; b++ {
		var raws [][]byte
		for i := 0; i < perBlock; i++ {
			raws = append(raws, f.sign(k, "note.put", note(fmt.Sprintf("n%06d", b*perBlock+i), fmt.Sprintf("%0400d", i))).Canonical)
		}
		for i, rc := range f.block(raws...).Receipts {
			if rc.Status != chain.Accepted {
				t.Fatalf("block %d tx %d: %+v", b, i, rc.Reasons)
			}
		}
	}
	u, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{bucketTxs, bucketReceipts, BucketNotes, historyPrefix + BucketNotes} {
		if fill := fillOf(t, u, b); fill < 0.85 {
			t.Errorf("bucket %s: %.2f of its pages in use, want >= 0.85 (written in key order)", b, fill)
		}
	}
	// The nonces bucket (signer + random nonce) is written in random order
	// and keeps bbolt's default: the setting is per bucket.
	if fill := fillOf(t, u, BucketNonces); fill > 0.8 {
		t.Errorf("bucket %s: %.2f of its pages in use; random-order buckets keep bbolt's default fill", BucketNonces, fill)
	}
}
