package tx

import (
	"bytes"
	"crypto/sha256"
	"unicode/utf8"
)

// decodeCanonical is Decode's fast path for an envelope that arrives
// already in its canonical form, as every envelope does that a client
// library signed or a block carries: one pass checks that raw is exactly
// the RFC 8785 form of a signed envelope and takes the fields out, with no
// JSON parser and no re-serialisation. It returns ok=false whenever raw is
// not in that form, or uses something this scanner does not judge exactly
// as the library would (numbers other than plain integers of up to 15
// digits, escapes other than the canonical ones, non-ASCII or escaped
// object keys, nesting deeper than maxDepth); Decode then takes the full
// path, which accepts any JSON spelling and names what is wrong. The
// answer is the same either way: FuzzDecodeFastPathAgrees holds the two
// paths to it.
func decodeCanonical(raw []byte, maxDepth int) (*Signed, bool) {
	p := &canonScan{b: raw, maxDepth: maxDepth, depth: 1}
	var env Envelope
	var ok bool
	if !p.lit(`{"created":`) {
		return nil, false
	}
	if env.Created, ok = p.plainString(); !ok || !p.lit(`,"network":`) {
		return nil, false
	}
	if env.Network, ok = p.plainString(); !ok || !p.lit(`,"nonce":`) {
		return nil, false
	}
	if env.Nonce, ok = p.plainString(); !ok || !p.lit(`,"payload":`) {
		return nil, false
	}
	start := p.i
	if p.i >= len(p.b) || p.b[p.i] != '{' || !p.value() {
		return nil, false
	}
	end := p.i
	if !p.lit(`,"sig":`) {
		return nil, false
	}
	if env.Sig, ok = p.plainString(); !ok || env.Sig == "" || !p.lit(`,"signer":`) {
		return nil, false
	}
	if env.Signer, ok = p.plainString(); !ok || !p.lit(`,"type":`) {
		return nil, false
	}
	if env.Type, ok = p.plainString(); !ok || !p.lit(`,"v":1}`) || p.i != len(p.b) {
		return nil, false
	}
	env.V = 1
	canonical := bytes.Clone(raw)
	env.Payload = canonical[start:end:end]
	s := &Signed{Envelope: env, Canonical: canonical}
	if s.validate() != nil {
		return nil, false // the full path names the field
	}
	s.ID = sha256.Sum256(canonical)
	return s, true
}

// canonScan checks canonical JSON (RFC 8785) in one pass.
type canonScan struct {
	b               []byte
	i               int
	depth, maxDepth int
}

func (p *canonScan) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// plainString reads a string with no escapes (every envelope field but the
// payload is base64url, a name or a time) and valid UTF-8.
func (p *canonScan) plainString() (string, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	j := p.i + 1
	for j < len(p.b) && p.b[j] != '"' {
		if p.b[j] == '\\' || p.b[j] < 0x20 {
			return "", false
		}
		j++
	}
	if j >= len(p.b) || !utf8.Valid(p.b[p.i+1:j]) {
		return "", false
	}
	s := string(p.b[p.i+1 : j])
	p.i = j + 1
	return s, true
}

// str skips a string in canonical form: valid UTF-8, control characters
// escaped as RFC 8785 writes them (\b \t \n \f \r, others \u00xx in lower
// case), '"' and '\' escaped, nothing else escaped. It returns the raw
// bytes between the quotes and whether they are printable ASCII without
// escapes (so that byte order is the order RFC 8785 sorts keys in).
func (p *canonScan) str() (inner []byte, simple, ok bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, false
	}
	start := p.i + 1
	simple = true
	j := start
	for {
		if j >= len(p.b) {
			return nil, false, false
		}
		c := p.b[j]
		switch {
		case c == '"':
			if !simple && !utf8.Valid(p.b[start:j]) {
				return nil, false, false
			}
			p.i = j + 1
			return p.b[start:j], simple, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			simple = false
			if j+1 >= len(p.b) {
				return nil, false, false
			}
			switch p.b[j+1] {
			case '"', '\\', 'b', 't', 'n', 'f', 'r':
				j += 2
			case 'u':
				// Only control characters without a short form are written
				// as \u00xx, in lower-case hex.
				if j+6 > len(p.b) || p.b[j+2] != '0' || p.b[j+3] != '0' || (p.b[j+4] != '0' && p.b[j+4] != '1') || !lowerHex(p.b[j+5]) {
					return nil, false, false
				}
				switch v := hexVal(p.b[j+4])<<4 | hexVal(p.b[j+5]); v {
				case '\b', '\t', '\n', '\f', '\r':
					return nil, false, false
				}
				j += 6
			default:
				return nil, false, false
			}
		default:
			if c >= 0x80 {
				simple = false
			}
			j++
		}
	}
}

func lowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func hexVal(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

func (p *canonScan) value() bool {
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		_, _, ok := p.str()
		return ok
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return false
}

func (p *canonScan) enter() bool {
	p.depth++
	return p.depth <= p.maxDepth
}

// object: members sorted by key, strictly (no duplicates), keys printable
// ASCII without escapes (their byte order is their UTF-16 order).
func (p *canonScan) object() bool {
	if !p.enter() {
		return false
	}
	p.i++ // '{'
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return true
	}
	var prev []byte
	for n := 0; ; n++ {
		key, simple, ok := p.str()
		if !ok || !simple || (n > 0 && bytes.Compare(prev, key) >= 0) {
			return false
		}
		prev = key
		if !p.lit(":") || !p.value() {
			return false
		}
		if p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

func (p *canonScan) array() bool {
	if !p.enter() {
		return false
	}
	p.i++ // '['
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return true
	}
	for {
		if !p.value() || p.i >= len(p.b) {
			return false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

// number accepts the integers RFC 8785 writes as plain digits and this
// scanner can judge exactly: 0, or an optional '-' and 1-15 digits without
// a leading zero. Anything else (fractions, exponents, -0, longer
// integers) goes to the full path.
func (p *canonScan) number() bool {
	j := p.i
	if p.b[j] == '-' {
		j++
	}
	start := j
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	digits := j - start
	switch {
	case digits == 0 || digits > 15:
		return false
	case p.b[start] == '0' && (digits > 1 || start > p.i):
		return false // leading zero, or -0
	}
	if j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E') {
		return false
	}
	p.i = j
	return true
}
