package state

import (
	"sort"

	bolt "go.etcd.io/bbolt"
)

// BucketUsage is how much of the state file one bucket takes: its keys,
// the bytes of its keys and values, and the bbolt pages (leaf and branch)
// it uses, in use and allocated. Allocated minus in-use is the room left
// in its pages (bbolt's fill factor at work).
type BucketUsage struct {
	Name       string `json:"name"`
	Keys       int    `json:"keys"`
	KeyBytes   int64  `json:"keyBytes"`
	ValueBytes int64  `json:"valueBytes"`
	InUse      int64  `json:"inUseBytes"`     // leaf + branch bytes in use
	Allocated  int64  `json:"allocatedBytes"` // leaf + branch pages allocated
}

// Usage is the state file's use of space: its size as bbolt counts it (the
// pages up to the high-water mark, what a snapshot copies), the free pages
// within it, and each top-level bucket's share, by name.
type Usage struct {
	FileBytes int64 `json:"fileBytes"`
	PageSize  int   `json:"pageSize"`
	FreeBytes int64 `json:"freeBytes"`
	// WrittenBytes is the bytes of pages the write transactions committed
	// since the store was opened (bbolt's TxStats.PageAlloc): each commit
	// writes every page it changed, whole.
	WrittenBytes int64         `json:"writtenBytes"`
	Buckets      []BucketUsage `json:"buckets"`
}

// Usage reads the space every bucket uses, in one read transaction. It
// walks every key (for the key and value bytes): it is for benchmarks and
// operators' investigations, not for a hot path.
func (s *Store) Usage() (Usage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var u Usage
	err := s.db.View(func(btx *bolt.Tx) error {
		u.FileBytes, u.PageSize = btx.Size(), s.db.Info().PageSize
		st := s.db.Stats()
		u.FreeBytes, u.WrittenBytes = int64(st.FreeAlloc), st.TxStats.GetPageAlloc()
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			st := b.Stats()
			bu := BucketUsage{Name: string(name), Keys: st.KeyN,
				InUse:     int64(st.LeafInuse + st.BranchInuse),
				Allocated: int64(st.LeafAlloc + st.BranchAlloc)}
			err := b.ForEach(func(k, v []byte) error {
				bu.KeyBytes += int64(len(k))
				bu.ValueBytes += int64(len(v))
				return nil
			})
			u.Buckets = append(u.Buckets, bu)
			return err
		})
	})
	sort.Slice(u.Buckets, func(i, j int) bool { return u.Buckets[i].Name < u.Buckets[j].Name })
	return u, err
}
