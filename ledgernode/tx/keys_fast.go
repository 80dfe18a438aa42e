package tx

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// checkKeysFast is CheckPayloadKeys by a scan of the payload's bytes, for
// the payloads every node checks (before consensus and again in apply on
// the nodes the submission did not reach): encoding/json's tokenizer
// allocated for every token and cost 9 % of a certificate's apply
// (trade's BenchmarkApplyCertificateIssues). The scan reads only what the
// check needs: object keys, and where objects and arrays begin and end; a
// key is compared without being copied unless it holds an escape. ok is
// false when the bytes are not what it expects of JSON: the tokenizer then
// says what is wrong.
func checkKeysFast(payload []byte, t reflect.Type) (err error, ok bool) {
	s := keyScan{b: payload}
	if opaque(t) {
		s.skip()
	} else {
		err = s.check(t, "payload")
	}
	return err, !s.bad
}

type keyScan struct {
	b   []byte
	i   int
	bad bool // not JSON as expected: the caller falls back
}

// opaque: a value of type t is not walked (a decoder of its own, any
// content, or no keys inside). checkKeys (the tokenizer's walk) skips the
// same values.
func opaque(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return false
	case reflect.Slice, reflect.Array:
		return t.Elem().Kind() == reflect.Uint8
	}
	return true
}

// check walks a value of type t, which is not opaque.
func (s *keyScan) check(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s.ws()
	switch t.Kind() {
	case reflect.Struct:
		return s.object(path, func(key []byte) (reflect.Type, error) {
			if ft, ok := structFields(t)[string(key)]; ok {
				return ft, nil // looked up without copying the key
			}
			return fieldType(t, path, string(key))
		})
	case reflect.Map:
		return s.object(path, func([]byte) (reflect.Type, error) { return t.Elem(), nil })
	}
	// a slice or an array
	if !s.enter('[', ']') {
		return nil
	}
	for i := 0; ; i++ {
		if more, err := s.member(t.Elem(), func() string { return path + "[" + strconv.Itoa(i) + "]" }, ']'); !more {
			return err
		}
	}
}

// enter reads the open byte of an array or object and says whether
// members follow: false for an empty one (its close byte read too), and
// for another value (null, or a wrong type the strict decode refuses),
// which it skips.
func (s *keyScan) enter(open, close byte) bool {
	if s.peek() != open {
		s.skip()
		return false
	}
	s.i++
	s.ws()
	if s.peek() == close {
		s.i++
		return false
	}
	return true
}

// member walks one value of type t (childPath names it, for an error
// inside), then the comma that says more follow or the end byte that
// closes its array or object.
func (s *keyScan) member(t reflect.Type, childPath func() string, end byte) (more bool, err error) {
	if opaque(t) {
		s.skip()
	} else if err := s.check(t, childPath()); err != nil {
		return false, err
	}
	if s.bad {
		return false, nil
	}
	s.ws()
	switch s.peek() {
	case ',':
		s.i++
		return true, nil
	case end:
		s.i++
		return false, nil
	}
	s.bad = true
	return false, nil
}

// object walks an object, asking typeOf for each key's value type.
func (s *keyScan) object(path string, typeOf func(key []byte) (reflect.Type, error)) error {
	if !s.enter('{', '}') {
		return nil
	}
	for {
		s.ws()
		key := s.key()
		s.ws()
		if s.bad || s.peek() != ':' {
			s.bad = true
			return nil
		}
		s.i++
		vt, err := typeOf(key)
		if err != nil {
			return err
		}
		if more, err := s.member(vt, func() string { return path + "." + string(key) }, '}'); !more {
			return err
		}
	}
}

func (s *keyScan) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *keyScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// key reads a string: its bytes as they are when they are plain ASCII
// without escapes, decoded otherwise (as encoding/json decodes them:
// escapes resolved, invalid UTF-8 replaced).
func (s *keyScan) key() []byte {
	start := s.i
	escaped := s.str()
	if s.bad {
		return nil
	}
	if !escaped {
		return s.b[start+1 : s.i-1]
	}
	var k string
	if json.Unmarshal(s.b[start:s.i], &k) != nil {
		s.bad = true
		return nil
	}
	return []byte(k)
}

// str skips a string, saying whether it holds an escape or a byte
// outside ASCII.
func (s *keyScan) str() (escaped bool) {
	if s.peek() != '"' {
		s.bad = true
		return false
	}
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '\\':
			escaped = true
			s.i++
		case c == '"':
			s.i++
			return escaped
		case c >= 0x80:
			escaped = true
		}
	}
	s.bad = true
	return false
}

// skip skips one value.
func (s *keyScan) skip() {
	s.ws()
	switch s.peek() {
	case 0:
		s.bad = true
	case '"':
		s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				s.str()
				if s.bad {
					return
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return
				}
			}
			s.i++
		}
		s.bad = true
	case '}', ']', ',', ':':
		s.bad = true
	default: // a number, true, false, null
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			s.i++
		}
	}
}
