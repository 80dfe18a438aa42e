package state

import (
	bolt "go.etcd.io/bbolt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
)

// Internals that the package's own tests (package state_test, which uses
// the shared fixture statetest) check: the history's key encoding and the
// buckets a test file edits by hand.
const (
	BucketLocal    = bucketLocal
	BucketReceipts = bucketReceipts
	BucketTxs      = bucketTxs
	HistoryFromKey = historyFromKey
	HistoryPrefix  = historyPrefix
)

var (
	HistKey         = histKey
	SplitVersionKey = splitVersionKey
)

// BoltTx is the snapshot's read transaction (to copy the raw bbolt file).
func (sn *Snapshot) BoltTx() *bolt.Tx { return sn.btx }

// NewKeyAuthority, Observe and Report expose the chain check's walk of the
// ledger's key history (key_authority.go) to its table test.
var NewKeyAuthority = newKeyAuthority

// KeyAuthorityWalk is the walk's type.
type KeyAuthorityWalk = keyAuthority

func (a *keyAuthority) Observe(raw []byte, rc *chain.Receipt) { a.observe(raw, rc) }
func (a *keyAuthority) Report(r *ChainReport)                 { a.report(r) }

// Crash closes the store's file the way a killed process leaves it: no
// sync, no marker removed (the page cache keeps what was written).
func Crash(s *Store) error { return s.db.Close() }

// PathOf is the store's file.
func PathOf(s *Store) string { return s.cfg.Path }

// PagesWritten is how many pages the store's commits have written (bbolt
// counts a page per write; an overflow page run in one).
func PagesWritten(s *Store) int64 {
	st := s.db.Stats()
	return st.TxStats.GetWrite()
}
