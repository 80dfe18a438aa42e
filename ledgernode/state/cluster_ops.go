package state

import (
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// ClusterOp is the record of an admin-signed cluster operation (add,
// promote or remove a member, transfer leadership), kept so that each is
// carried out at most once: the leader records that it starts one through
// Raft before doing it, and its answer once done. The same envelope sent
// again, to any node, under any leader, gets the recorded answer and is
// never carried out twice. Replicated through Raft like member addresses;
// not ledger data (no block, not in the digest).
type ClusterOp struct {
	TxID   string `json:"txId"`
	Type   string `json:"type"`
	Member string `json:"member,omitempty"`
	// Done is set once the operation has finished; Status and Answer are
	// the HTTP status and JSON body it was answered with.
	Done   bool            `json:"done,omitempty"`
	Status int             `json:"status,omitempty"`
	Answer json.RawMessage `json:"answer,omitempty"`
	// StartIndex is the Raft index of the start record.
	StartIndex uint64 `json:"startIndex"`
}

func clusterOpKey(txID string) string { return "op/" + txID }

// ApplyClusterOp records the start of an operation (op.Done false) or its
// end (true), and returns the record as it stands afterwards with first
// set when this start was the first for the id. A second start of the same
// id changes nothing: the caller must not carry the operation out.
// Entries at or below the applied index are skipped (a replay after
// restart), returning the stored record.
func (s *Store) ApplyClusterOp(op ClusterOp, index, term uint64) (rec ClusterOp, first bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if index != 0 && index <= s.Applied().Index {
		got, _, err := s.ClusterOp(op.TxID)
		return got, false, err
	}
	err = s.updateAt(index, term, func(btx *bolt.Tx) error {
		var cur ClusterOp
		ok, err := GetJSON(boltReader{btx}, bucketCluster, clusterOpKey(op.TxID), &cur)
		if err != nil {
			return err
		}
		switch {
		case !op.Done && ok:
			rec = cur
		case !op.Done:
			op.StartIndex = index
			rec, first = op, true
		case ok && cur.Done:
			rec = cur // finished already: the first answer stands
		default:
			op.StartIndex = cur.StartIndex
			rec = op
		}
		if rec.TxID == op.TxID && (first || (op.Done && !cur.Done)) {
			return putJSONBolt(btx, bucketCluster, clusterOpKey(op.TxID), rec)
		}
		return nil
	})
	return rec, first, err
}

// ClusterOp returns the record of an operation, if any.
func (s *Store) ClusterOp(txID string) (ClusterOp, bool, error) {
	var op ClusterOp
	var ok bool
	err := s.View(func(v *View) error {
		var err error
		ok, err = GetJSON(v, bucketCluster, clusterOpKey(txID), &op)
		return err
	})
	return op, ok, err
}
