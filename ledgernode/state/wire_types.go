package state

import (
	"encoding/json"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// The core records and payloads that clients send and read (identities,
// keys, notes, rejections) are wire types (package wire, with their
// Validate): these names are the same types, so the state machine reads as
// before and the stored JSON is the wire encoding, byte for byte.

type (
	Identity    = wire.Identity
	Key         = wire.Key
	KeyEvent    = wire.KeyEvent
	KeyRegister = wire.KeyRegister
	KeyRevoke   = wire.KeyRevoke
	Note        = wire.Note
	NotePut     = wire.NotePut
	Rejection   = wire.Rejection
)

const (
	KindAdmin        = wire.KindAdmin
	KindNode         = wire.KindNode
	KindAgency       = wire.KindAgency
	KindParticipant  = wire.KindParticipant
	CodeMalformed    = wire.CodeMalformed
	CodeInvalid      = wire.CodeInvalid
	CodeWrongNetwork = wire.CodeWrongNetwork
	CodeExpired      = wire.CodeExpired
	CodeFuture       = wire.CodeFuture
	CodeDuplicate    = wire.CodeDuplicate
	CodeNonceReused  = wire.CodeNonceReused
	CodeBackdated    = wire.CodeBackdated
	CodeBadSignature = wire.CodeBadSignature
	CodeUnknownKey   = wire.CodeUnknownKey
	CodeKeyInvalid   = wire.CodeKeyInvalid
	CodeUnknownType  = wire.CodeUnknownType
	CodeUnauthorized = wire.CodeUnauthorized
	CodeConflict     = wire.CodeConflict
	CodeNotFound     = wire.CodeNotFound
	CodeInternal     = wire.CodeInternal
)

// ValidIdentityID says whether id has the form kind/name (wire.ValidIdentityID).
func ValidIdentityID(id string) bool { return wire.ValidIdentityID(id) }

// KindOf returns the kind part of an identity id (wire.KindOf).
func KindOf(id string) string { return wire.KindOf(id) }

// Reject builds a Rejection with one reason (wire.Reject).
func Reject(code, field, format string, args ...any) *Rejection {
	return wire.Reject(code, field, format, args...)
}

// DecodeAndCheck strictly decodes a payload and runs its Validate
// (wire.DecodeAndCheck).
func DecodeAndCheck[T interface{ Validate() error }](payload json.RawMessage) (T, error) {
	return wire.DecodeAndCheck[T](payload)
}

// CheckAs returns a Check function that strictly decodes the payload as T
// and runs its Validate method (wire.CheckAs).
func CheckAs[T interface{ Validate() error }]() func(json.RawMessage) error {
	return wire.CheckAs[T]()
}
