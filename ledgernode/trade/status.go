package trade

import (
	"fmt"
	"strconv"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Status lists (W3C Bitstring Status List) kept in the state, so that a
// credential exported before a revocation is seen revoked by anyone who
// checks its list. The state machine assigns indexes in transaction order
// from one counter per purpose (never the clock, never map order) and sets
// bits in the block of the transaction that changes the status:
//
//   - revocation: one index per certificate version and per license, set
//     for good when the certificate is revoked or withdrawn (every
//     version), when a version is superseded by an amendment, and when a
//     license or any license above it in its chain is revoked;
//   - suspension: one index per participant, shared by the certificates it
//     certifies and the licenses it holds, set while the participant is
//     suspended and cleared when it is reinstated.
//
// Keys of BucketStatus: "next\x00PURPOSE" holds the next free index
// (decimal); "list\x00PURPOSE\x00PAGE" (PAGE: 10 digits) the bitstring of
// one list of credential.StatusListSize entries, written when the list's
// first index is assigned.

// BucketStatus holds the status list counters and bitstrings.
const BucketStatus = "trade.status"

func statusListKey(purpose string, page uint64) string {
	return ikey("list", purpose, fmt.Sprintf("%010d", page))
}

// allocStatus assigns the next index of purpose.
func allocStatus(kv state.KV, purpose string) (uint64, error) {
	next := uint64(0)
	if raw := kv.Get(BucketStatus, ikey("next", purpose)); raw != nil {
		n, err := strconv.ParseUint(string(raw), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status counter %s: %w", purpose, err)
		}
		next = n
	}
	if next%credential.StatusListSize == 0 {
		kv.Put(BucketStatus, statusListKey(purpose, next/credential.StatusListSize), make([]byte, credential.StatusListBytes))
	}
	kv.Put(BucketStatus, ikey("next", purpose), []byte(strconv.FormatUint(next+1, 10)))
	return next, nil
}

// setStatusBit sets or clears index i of purpose's lists.
func setStatusBit(kv state.KV, purpose string, i uint64, v bool) error {
	key := statusListKey(purpose, i/credential.StatusListSize)
	bits := kv.Get(BucketStatus, key)
	if len(bits) != credential.StatusListBytes {
		return wire.Reject(wire.CodeInternal, "status", "status list %s %d is missing: index %d was never assigned", purpose, i/credential.StatusListSize, i)
	}
	local := i % credential.StatusListSize
	if credential.Bit(bits, local) == v {
		return nil
	}
	credential.SetBit(bits, local, v)
	kv.Put(BucketStatus, key, bits)
	return nil
}

// StatusList reads one list's bitstring; false when no index of it was
// ever assigned.
func StatusList(r state.Reader, purpose string, page uint64) ([]byte, bool) {
	bits := r.Get(BucketStatus, statusListKey(purpose, page))
	return bits, len(bits) == credential.StatusListBytes
}

// participantStatusIndex is the suspension index of a participant,
// assigned when first needed (so participants enrolled before status
// lists existed get one too).
func participantStatusIndex(c *state.Context, ident string) (uint64, error) {
	p, ok, err := LookupParticipant(c, ident)
	if err != nil || !ok {
		return 0, fmt.Errorf("participant %s: not enrolled (%v)", ident, err)
	}
	if p.StatusIndex != nil {
		return *p.StatusIndex, nil
	}
	i, err := allocStatus(c, credential.PurposeSuspension)
	if err != nil {
		return 0, err
	}
	if p.Status == wire.StatusSuspended {
		if err := setStatusBit(c, credential.PurposeSuspension, i, true); err != nil {
			return 0, err
		}
	}
	p.StatusIndex = &i
	return i, state.PutJSON(c, BucketParticipants, p.ID, p)
}

// newStatusIndex assigns a record's revocation index and takes the
// suspension index of the participant it vouches for.
func newStatusIndex(c *state.Context, party string) (*wire.StatusIndex, error) {
	s, err := participantStatusIndex(c, party)
	if err != nil {
		return nil, err
	}
	r, err := allocStatus(c, credential.PurposeRevocation)
	if err != nil {
		return nil, err
	}
	return &wire.StatusIndex{Revocation: r, Suspension: s}, nil
}
