package consensus

import (
	"encoding/json"
	"fmt"

	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Entry is the versioned envelope of every Raft command. Type routes it
// through the FSM's dispatch table. An entry of a type this node does not
// know stops the node, unless the entry is flagged Ignorable (a new type
// rolled out while old nodes still run, that old nodes may safely skip).
type Entry struct {
	V         int             `json:"v"`
	Type      string          `json:"type"`
	Ignorable bool            `json:"ignorable,omitempty"`
	Payload   json.RawMessage `json:"payload"`
}

// Entry types.
const (
	EntryBlock  = "block"  // payload: state.Proposal
	EntryMember = "member" // payload: MemberChange
	// EntryClusterOp records the start or end of an admin cluster
	// operation (payload: state.ClusterOp), so that each runs at most once.
	EntryClusterOp = "clusterOp"
)

// MemberChange records a member's addresses (or their removal).
type MemberChange struct {
	Member state.Member `json:"member"`
	Remove bool         `json:"remove,omitempty"`
}

func encodeEntry(typ string, payload any) ([]byte, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s entry: %w", typ, err)
	}
	return json.Marshal(Entry{V: 1, Type: typ, Payload: raw})
}
