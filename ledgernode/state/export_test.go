package state

import bolt "go.etcd.io/bbolt"

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
