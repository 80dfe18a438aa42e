package state

import (
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// Member is where a node of the cluster listens. Raft's own configuration
// holds ids, Raft addresses and suffrage; this adds the API address so that
// any node can forward to the leader and report members. It is replicated
// through Raft but is not ledger data (not in the digest, no block).
type Member struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	APIAddr  string `json:"apiAddr"`
}

func putMember(btx *bolt.Tx, m Member) error {
	return putJSONBolt(btx, bucketCluster, "member/"+m.ID, m)
}

// ApplyMember records (or, with remove, forgets) a member's addresses. It
// is idempotent and skips entries at or below the applied index.
func (s *Store) ApplyMember(m Member, remove bool, index, term uint64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if index != 0 && index <= s.Applied().Index {
		return nil
	}
	return s.updateAt(index, term, func(btx *bolt.Tx) error {
		if !remove {
			return putMember(btx, m)
		}
		if b := btx.Bucket([]byte(bucketCluster)); b != nil {
			return b.Delete([]byte("member/" + m.ID))
		}
		return nil
	})
}

// updateAt runs fn in one bbolt transaction that also records the Raft
// entry (index, term) as applied, so that a replay after a restart skips
// it; index 0 (a change outside Raft) records nothing. The applied index
// in memory moves only once the transaction committed.
func (s *Store) updateAt(index, term uint64, fn func(btx *bolt.Tx) error) error {
	a := &Applied{Index: index, Term: term}
	err := s.db.Update(func(btx *bolt.Tx) error {
		if err := fn(btx); err != nil || index == 0 {
			return err
		}
		return putJSONBolt(btx, bucketLocal, "applied", a)
	})
	if err == nil && index != 0 {
		s.applied.Store(a)
	}
	return err
}

// Members lists the known member addresses, by id.
func (s *Store) Members() ([]Member, error) {
	var out []Member
	err := s.View(func(v *View) error {
		var err error
		v.Scan(bucketCluster, "member/", func(_ string, val []byte) bool {
			var m Member
			if err = json.Unmarshal(val, &m); err != nil {
				return false
			}
			out = append(out, m)
			return true
		})
		return err
	})
	return out, err
}
