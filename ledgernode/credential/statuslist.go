package credential

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/multiformats/go-multibase"
)

// W3C Bitstring Status List v1.0. Every credential names, per purpose, an
// index in a list the network keeps in its state: revocation (set for
// good when a record is revoked, withdrawn or superseded) and suspension
// (set while the party a credential vouches for is suspended, cleared when
// it is reinstated). The state machine assigns indexes in transaction
// order and sets bits in the block that changes the status; nodes serve
// each list as a credential they sign, at StatusListPath.
const (
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
	// StatusListSize is the number of entries in one list: the W3C minimum
	// (131,072 bits, 16 KiB), which gives every credential group privacy.
	// Index i lives in list i/StatusListSize at bit i%StatusListSize.
	StatusListSize = 131072
	// StatusListBytes is the size of one list's bitstring.
	StatusListBytes = StatusListSize / 8
	// StatusListPathPrefix is where nodes serve status lists.
	StatusListPathPrefix = "/v1/status-lists/"
)

// Purposes are the status purposes, in the order entries are written.
var Purposes = []string{PurposeRevocation, PurposeSuspension}

// StatusListPath is the path of a list: /v1/status-lists/PURPOSE/PAGE.
func StatusListPath(purpose string, page uint64) string {
	return StatusListPathPrefix + purpose + "/" + strconv.FormatUint(page, 10)
}

// StatusRef places a credential's status: a purpose and a network-wide
// index (list = index / StatusListSize).
type StatusRef struct {
	Purpose string `json:"purpose"`
	Index   uint64 `json:"index"`
}

// ListURL is the URL of the list holding r under base (a node's URL).
func (r StatusRef) ListURL(base string) string {
	return strings.TrimRight(base, "/") + StatusListPath(r.Purpose, r.Index/StatusListSize)
}

// Entry is r's BitstringStatusListEntry.
func (r StatusRef) Entry(base string) map[string]any {
	list := r.ListURL(base)
	local := strconv.FormatUint(r.Index%StatusListSize, 10)
	return map[string]any{"id": list + "#" + local, "type": "BitstringStatusListEntry", "statusPurpose": r.Purpose,
		"statusListIndex": local, "statusListCredential": list}
}

// SetBit sets (or clears) bit i of a bitstring; the first index is the
// left-most bit of the first byte, as the specification says.
func SetBit(bits []byte, i uint64, v bool) {
	mask := byte(0x80 >> (i % 8))
	if v {
		bits[i/8] |= mask
	} else {
		bits[i/8] &^= mask
	}
}

// Bit reads bit i of a bitstring.
func Bit(bits []byte, i uint64) bool { return bits[i/8]&(0x80>>(i%8)) != 0 }

// EncodeList is a list's encodedList: the GZIP-compressed bitstring,
// base64url (no padding) multibase.
func EncodeList(bits []byte) (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(bits); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return multibase.Encode(multibase.Base64url, buf.Bytes())
}

// DecodeList decodes an encodedList, refusing more than max bytes of
// bitstring (a compressed list must not expand without bound).
func DecodeList(s string, max int) ([]byte, error) {
	if !strings.HasPrefix(s, "u") {
		return nil, errors.New("encodedList: must be base64url multibase (starting with u)")
	}
	enc, raw, err := multibase.Decode(s)
	if err != nil || enc != multibase.Base64url {
		return nil, fmt.Errorf("encodedList: not base64url multibase: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("encodedList: not GZIP: %w", err)
	}
	bits, err := io.ReadAll(io.LimitReader(zr, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("encodedList: %w", err)
	}
	if len(bits) > max {
		return nil, fmt.Errorf("encodedList: expands beyond %d bytes", max)
	}
	return bits, nil
}

// StatusListCredential is the unsigned credential of one list, as a node
// serves it at url; validFrom is the ledger head's time it reflects.
func StatusListCredential(url, purpose string, bits []byte, validFrom string) (map[string]any, error) {
	if !slices.Contains(Purposes, purpose) {
		return nil, fmt.Errorf("status purpose %q: want one of %s", purpose, strings.Join(Purposes, ", "))
	}
	enc, err := EncodeList(bits)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"@context":  []any{ContextV2},
		"id":        url,
		"type":      []any{"VerifiableCredential", "BitstringStatusListCredential"},
		"validFrom": validFrom,
		"credentialSubject": map[string]any{"id": url + "#list", "type": "BitstringStatusList", "statusPurpose": purpose,
			"encodedList": enc},
	}, nil
}
