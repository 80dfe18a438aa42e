package tx

import (
	"errors"
	"fmt"
)

// ErrInvalid is matched (errors.Is) by every error this package returns for
// bad input; the HTTP layer maps it to 400.
var ErrInvalid = errors.New("invalid transaction")

// ErrTooLarge is matched by errors for input over a size limit (HTTP 413).
var ErrTooLarge = errors.New("transaction too large")

// FieldError names the field that is wrong, the offending value (shortened)
// and what would be right. It matches ErrInvalid, or ErrTooLarge when Large.
type FieldError struct {
	Field   string `json:"field"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
	Large   bool   `json:"-"`
	badSig  bool
}

func (e *FieldError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

// Is lets callers test with errors.Is(err, ErrInvalid), ErrTooLarge or
// ErrBadSignature.
func (e *FieldError) Is(target error) bool {
	if e.badSig && target == ErrBadSignature {
		return true
	}
	if e.Large {
		return target == ErrTooLarge || target == ErrInvalid
	}
	return target == ErrInvalid
}

// Fieldf builds a FieldError; value is shortened so that errors stay small
// whatever the input was.
func Fieldf(field, value, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Value: Shorten(value, 64), Message: fmt.Sprintf(format, args...)}
}

// Shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
