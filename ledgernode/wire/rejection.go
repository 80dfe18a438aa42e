package wire

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Rejection is the error a handler returns to reject a transaction.
type Rejection struct {
	Reasons []chain.Reason
}

func (r *Rejection) Error() string {
	parts := make([]string, len(r.Reasons))
	for i, rs := range r.Reasons {
		if rs.Field != "" {
			parts[i] = fmt.Sprintf("%s: %s: %s", rs.Code, rs.Field, rs.Message)
		} else {
			parts[i] = fmt.Sprintf("%s: %s", rs.Code, rs.Message)
		}
	}
	return strings.Join(parts, "; ")
}

// Reject builds a Rejection with one reason.
func Reject(code, field, format string, args ...any) *Rejection {
	return &Rejection{Reasons: []chain.Reason{{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}}}
}

// Rejection codes used by the core. Domain packages add their own.
const (
	CodeMalformed    = "malformed"
	CodeInvalid      = "invalid"
	CodeWrongNetwork = "wrong_network"
	CodeExpired      = "expired"
	CodeFuture       = "created_in_future"
	CodeDuplicate    = "duplicate"
	CodeNonceReused  = "nonce_reused"
	CodeBackdated    = "backdated_too_far"
	CodeBadSignature = "bad_signature"
	CodeUnknownKey   = "unknown_key"
	CodeKeyInvalid   = "key_not_valid"
	CodeUnknownType  = "unknown_type"
	CodeUnauthorized = "unauthorized"
	CodeConflict     = "conflict"
	CodeNotFound     = "not_found"
	CodeInternal     = "internal"
)

// DecodeAndCheck is a helper for handlers whose payload is a struct with a
// Validate method: strict decode, then Validate.
func DecodeAndCheck[T interface{ Validate() error }](payload json.RawMessage) (T, error) {
	var v T
	if err := tx.DecodePayload(payload, &v); err != nil {
		return v, err
	}
	return v, v.Validate()
}

// CheckAs returns a Check function that strictly decodes the payload as T and
// runs its Validate method.
// Field names must match exactly (not encoding/json's case-insensitive
// match), so that different payload bytes never mean the same thing.
func CheckAs[T interface{ Validate() error }]() func(json.RawMessage) error {
	return func(p json.RawMessage) error {
		v, err := DecodeAndCheck[T](p)
		if err != nil {
			return err
		}
		return tx.CheckPayloadKeys(p, &v)
	}
}
