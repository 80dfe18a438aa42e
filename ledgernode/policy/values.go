package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// Input limits: an input larger than this cannot be evaluated (every rule
// in scope then ends in an error, which fails closed under Enforce).
const (
	MaxInputBytes = 1 << 20 // JSON encoding of all inputs together
	MaxInputDepth = 32
)

// normalize turns any JSON-encodable value into plain JSON values
// (map[string]any, []any, string, bool, nil, int64 for integral numbers
// that fit, float64 otherwise). Going through JSON makes the input
// independent of how the caller built it (structs, raw messages, maps).
func normalize(v any) (any, int, error) {
	if v == nil {
		return nil, 0, nil
	}
	if raw, ok := v.(json.RawMessage); ok {
		return decodeJSON(raw)
	}
	// Values that are JSON already (maps and slices of JSON scalars, as
	// decoded from a payload) are copied directly: the same result as the
	// JSON round trip below, without it.
	if out, size, ok := direct(v, 0); ok {
		if size > MaxInputBytes {
			return nil, size, fmt.Errorf("input is about %d bytes of JSON; at most %d can be evaluated", size, MaxInputBytes)
		}
		return out, size, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, 0, fmt.Errorf("input is not JSON-encodable: %v", err)
	}
	return decodeJSON(raw)
}

func decodeJSON(raw []byte) (any, int, error) {
	if len(raw) > MaxInputBytes {
		return nil, len(raw), fmt.Errorf("input is %d bytes of JSON; at most %d can be evaluated", len(raw), MaxInputBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, len(raw), fmt.Errorf("input does not decode as JSON: %v", err)
	}
	if dec.More() {
		return nil, len(raw), fmt.Errorf("input has data after the JSON value")
	}
	out, err := numbers(out, 0)
	return out, len(raw), err
}

// direct copies a value made only of map[string]any, []any, strings
// (valid UTF-8), booleans, nil, Go integers, finite floats and json.Number,
// converting numbers exactly as encoding to JSON and decoding with
// numbers() would. It reports false for anything else (structs, other
// map types, invalid UTF-8, NaN), which then takes the JSON round trip.
// size approximates the length of the JSON encoding.
func direct(v any, depth int) (any, int, bool) {
	if depth > MaxInputDepth {
		return nil, 0, false // the JSON path reports the depth
	}
	switch x := v.(type) {
	case nil:
		return nil, 4, true
	case bool:
		return x, 5, true
	case string:
		if !utf8.ValidString(x) {
			return nil, 0, false
		}
		return x, len(x) + 2, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, 0, false
		}
		// encoding/json prints integral values below 1e21 without a
		// fraction or exponent; numbers() reads those that fit as int64.
		if x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), 20, true
		}
		return x, 24, true
	case int:
		return int64(x), 20, true
	case int8:
		return int64(x), 4, true
	case int16:
		return int64(x), 6, true
	case int32:
		return int64(x), 11, true
	case int64:
		return x, 20, true
	case uint8:
		return int64(x), 3, true
	case uint16:
		return int64(x), 5, true
	case uint32:
		return int64(x), 10, true
	case uint:
		return directUint(uint64(x))
	case uint64:
		return directUint(x)
	case json.Number:
		n, err := numbers(x, 0)
		return n, len(x), err == nil
	case []any:
		out := make([]any, len(x))
		size := 2
		for i, e := range x {
			c, n, ok := direct(e, depth+1)
			if !ok {
				return nil, 0, false
			}
			out[i], size = c, size+n+1
		}
		return out, size, true
	case map[string]any:
		out := make(map[string]any, len(x))
		size := 2
		for k, e := range x {
			if !utf8.ValidString(k) {
				return nil, 0, false
			}
			c, n, ok := direct(e, depth+1)
			if !ok {
				return nil, 0, false
			}
			out[k], size = c, size+len(k)+n+4
		}
		return out, size, true
	}
	return nil, 0, false
}

func directUint(u uint64) (any, int, bool) {
	if u <= math.MaxInt64 {
		return int64(u), 20, true
	}
	return float64(u), 24, true
}

func numbers(v any, depth int) (any, error) {
	if depth > MaxInputDepth {
		return nil, fmt.Errorf("input nests deeper than %d levels", MaxInputDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			n, err := numbers(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	case []any:
		for i, e := range x {
			n, err := numbers(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s is out of range", x)
		}
		return f, nil
	}
	return v, nil
}

// toVal converts a normalized value into a CEL value. Maps become
// sortedMap (converted lazily): CEL's own maps iterate in Go map
// order, which differs between runs and nodes, and would leak into results
// (e.g. `m.map(k, k)[0]`), error messages and spent cost.
func toVal(v any) ref.Val {
	switch x := v.(type) {
	case nil:
		return types.NullValue
	case bool:
		return types.Bool(x)
	case string:
		return types.String(x)
	case int64:
		return types.Int(x)
	case float64:
		return types.Double(x)
	case []any:
		elems := make([]ref.Val, len(x))
		for i, e := range x {
			elems[i] = toVal(e)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, elems)
	case map[string]any:
		return newSortedMap(x)
	}
	return types.NewErr("unsupported input value of Go type %T", v)
}

// sortedMap is a CEL map with string keys that iterates in sorted key
// order: deterministic on every node. It is lazy: a value is converted
// when a rule reads it, and the keys are sorted the first time a rule
// iterates, compares or renders the map. Most rules read a few fields of
// a document, so converting and sorting every map ahead of evaluation
// cost more than the rules did. Safe for concurrent use (one prepared
// input is shared by the policies evaluated on it): reads convert
// afresh and the sort happens once.
type sortedMap struct {
	native map[string]any
	once   sync.Once
	keys   []string // sorted, set by sorted()
}

var (
	_ traits.Mapper   = (*sortedMap)(nil)
	_ traits.Foldable = (*sortedMap)(nil)
)

func newSortedMap(m map[string]any) *sortedMap { return &sortedMap{native: m} }

// sorted is the keys in order.
func (m *sortedMap) sorted() []string {
	m.once.Do(func() {
		keys := make([]string, 0, len(m.native))
		for k := range m.native {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m.keys = keys
	})
	return m.keys
}

func (m *sortedMap) Find(key ref.Val) (ref.Val, bool) {
	switch k := key.(type) {
	case types.String:
		if v, ok := m.native[string(k)]; ok {
			return toVal(v), true
		}
		return nil, false
	case *types.Err, *types.Unknown:
		return k, false
	}
	return nil, false
}

func (m *sortedMap) Contains(key ref.Val) ref.Val {
	v, found := m.Find(key)
	if !found && v != nil && types.IsUnknownOrError(v) {
		return v
	}
	return types.Bool(found)
}

func (m *sortedMap) Get(key ref.Val) ref.Val {
	v, found := m.Find(key)
	if !found {
		return types.ValOrErr(v, "no such key: %v", key)
	}
	return v
}

func (m *sortedMap) Size() ref.Val { return types.Int(len(m.native)) }

func (m *sortedMap) IsZeroValue() bool { return len(m.native) == 0 }

func (m *sortedMap) Iterator() traits.Iterator { return &keyIterator{keys: m.sorted()} }

// Fold visits the entries in key order (two-variable comprehensions).
func (m *sortedMap) Fold(f traits.Folder) {
	for _, k := range m.sorted() {
		if !f.FoldEntry(types.String(k), toVal(m.native[k])) {
			return
		}
	}
}

func (m *sortedMap) ConvertToNative(t reflect.Type) (any, error) {
	return types.NewStringInterfaceMap(types.DefaultTypeAdapter, m.native).ConvertToNative(t)
}

func (m *sortedMap) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", types.MapType, t)
}

func (m *sortedMap) Equal(other ref.Val) ref.Val {
	o, ok := other.(traits.Mapper)
	if !ok {
		return types.False
	}
	if o.Size() != types.Int(len(m.native)) {
		return types.False
	}
	for _, k := range m.sorted() {
		ov, found := o.Find(types.String(k))
		if !found {
			return types.False
		}
		if types.Equal(toVal(m.native[k]), ov) == types.False {
			return types.False
		}
	}
	return types.True
}

func (m *sortedMap) Type() ref.Type { return types.MapType }

func (m *sortedMap) Value() any { return m.native }

// String renders the map in key order (error messages may include it).
func (m *sortedMap) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range m.sorted() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q: %v", k, toVal(m.native[k]))
	}
	b.WriteByte('}')
	return b.String()
}

type keyIterator struct {
	keys []string
	i    int
}

var errIterator = errors.New("iterators cannot be converted")

func (it *keyIterator) HasNext() ref.Val { return types.Bool(it.i < len(it.keys)) }

func (it *keyIterator) Next() ref.Val {
	if it.i >= len(it.keys) {
		return nil
	}
	k := it.keys[it.i]
	it.i++
	return types.String(k)
}

func (it *keyIterator) ConvertToNative(reflect.Type) (any, error) { return nil, errIterator }
func (it *keyIterator) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("type conversion on iterators not supported")
}
func (it *keyIterator) Equal(ref.Val) ref.Val {
	return types.NewErr("equality on iterators not supported")
}
func (it *keyIterator) Type() ref.Type { return types.IteratorType }
func (it *keyIterator) Value() any     { return nil }
