package chain

import (
	"strconv"
	"unicode/utf8"

	"github.com/gowebpki/jcs"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// maxExactInt is the largest integer RFC 8785 (ES6 number formatting)
// writes as plain digits.
const maxExactInt = 1 << 53

// appendCanonical writes the RFC 8785 form of the receipt directly: it is
// the Merkle leaf of every transaction on every node, and going through
// encoding/json and a JCS parser costs a third of a block's apply time.
// It returns false when the receipt holds something this writer does not
// handle exactly as the library would (invalid UTF-8, huge numbers, a
// result that is not canonical JSON); the caller then uses the library.
// FuzzReceiptLeafData checks both paths agree.
func (r *Receipt) appendCanonical(b []byte) ([]byte, bool) {
	if r.Height >= maxExactInt || r.LeafIndex >= maxExactInt || r.Index < 0 || r.Index >= maxExactInt {
		return nil, false
	}
	str := func(key, v string) bool {
		if !utf8.ValidString(v) {
			return false
		}
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b = tx.AppendJCSString(b, v)
		return true
	}
	num := func(key string, v uint64) {
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b = strconv.AppendUint(b, v, 10)
	}
	b = append(b, '{')
	if len(r.Findings) > 0 {
		b = append(b, `"findings":[`...)
		for i, f := range r.Findings {
			if i > 0 {
				b = append(b, ',')
			}
			if f.Version < 0 || f.Version >= maxExactInt {
				return nil, false
			}
			b = append(b, '{')
			sep := ""
			field := func(key, v string, omitEmpty bool) bool {
				if omitEmpty && v == "" {
					return true
				}
				b = append(b, sep...)
				sep = ","
				return str(key, v)
			}
			if !field("enforcement", f.Enforcement, true) || !field("message", f.Message, true) || !field("result", f.Result, false) ||
				!field("rule", f.Rule, true) || !field("source", f.Source, false) {
				return nil, false
			}
			if f.Version != 0 {
				b = append(b, ',')
				num("version", uint64(f.Version))
			}
			b = append(b, '}')
		}
		b = append(b, "],"...)
	}
	num("height", r.Height)
	b = append(b, ',')
	num("index", uint64(r.Index))
	b = append(b, ',')
	num("leafIndex", r.LeafIndex)
	if len(r.Reasons) > 0 {
		b = append(b, `,"reasons":[`...)
		for i, rs := range r.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if !str("code", rs.Code) {
				return nil, false
			}
			if rs.Field != "" {
				b = append(b, ',')
				if !str("field", rs.Field) {
					return nil, false
				}
			}
			b = append(b, ',')
			if !str("message", rs.Message) {
				return nil, false
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(r.Result) > 0 {
		canon, err := jcs.Transform(r.Result)
		if err != nil {
			return nil, false
		}
		b = append(b, `,"result":`...)
		b = append(b, canon...)
	}
	for _, kv := range [][2]string{{"signer", r.Signer}, {"status", string(r.Status)}, {"time", r.Time}, {"txId", r.TxID}, {"type", r.Type}} {
		b = append(b, ',')
		if !str(kv[0], kv[1]) {
			return nil, false
		}
	}
	return append(b, '}'), true
}
