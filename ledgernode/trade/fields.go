package trade

import (
	"slices"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// History events of agencies and participants, and the identity prefixes.
const (
	eventRegistered = "registered"
	eventUpdated    = "updated"
	eventSuspended  = "suspended"
	eventReinstated = "reinstated"

	identityPrefixAgency      = wire.KindAgency + "/"
	identityPrefixParticipant = wire.KindParticipant + "/"
)

// List limits of the read API.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// Rejection codes of this package (besides the core's).
const (
	CodeNotEnrolled            = "not_enrolled"
	CodeWrongRole              = "wrong_role"
	CodeJurisdiction           = "outside_jurisdiction"
	CodeWiderThanParent        = "wider_than_parent"
	CodeSublicensingNotAllowed = "sublicensing_not_allowed"
	CodeDepthExceeded          = "depth_exceeded"
	CodeChainTooLong           = "chain_too_long"
	CodeRevoked                = "revoked"
	CodeNotInTerm              = "not_in_term"
	CodeUnknownReference       = "unknown_reference"
	CodeSuspended              = "suspended"
)

func recorded(c *state.Context) wire.Recorded {
	return wire.Recorded{TxID: c.TxID, Time: tx.FormatTime(c.Time), KeyID: c.Signer.KeyID, Signer: c.Signer.Owner}
}

// effectiveTime parses an optional effective time, defaulting to the block
// time; notBefore forbids times earlier than the block time.
func effectiveTime(c *state.Context, field, v string, notBefore bool) (time.Time, error) {
	if v == "" {
		return c.Time, nil
	}
	t, err := tx.ParseTime(v)
	if err != nil {
		return time.Time{}, wire.Reject(wire.CodeInvalid, field, "%q: %v", v, err)
	}
	if notBefore && t.Before(c.Time) {
		return time.Time{}, wire.Reject(wire.CodeInvalid, field, "%q is before the block time %s; give a time at or after it, or omit it", v, tx.FormatTime(c.Time))
	}
	return t, nil
}

func uniqueSorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
