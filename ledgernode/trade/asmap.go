package trade

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// asMap turns a record into JSON-compatible values for the rule engine:
// exactly what encoding/json gives for the record's JSON decoded into a
// map (objects as map[string]any, arrays as []any, numbers as float64),
// nil when that fails.
//
// The round trip through JSON bytes cost 10 % of a certificate's apply
// (BenchmarkApplyCertificateIssues: 45 % of the certificate handler), so
// records of plain shape (structs of strings, bools, numbers, pointers,
// slices and structs, json tags with omitempty at most, embedded structs
// without clashing names, no custom marshalers) are converted directly,
// by a plan made once per type; anything else, and a non-finite number
// (which encoding/json refuses), takes the round trip.
// TestAsMapIsTheJSONRoundTrip holds the two to the same answer.
func asMap(v any) map[string]any {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil // JSON null: no map
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Struct {
		if p := planOf(rv.Type()); p != nil {
			if m, ok := p.object(rv); ok {
				return m
			}
		}
	}
	return asMapJSON(v)
}

// asMapJSON is asMap through JSON bytes.
func asMapJSON(v any) map[string]any {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// A structPlan lists a plain struct type's JSON fields, embedded structs'
// flattened in.
type structPlan struct {
	fields []fieldPlan
}

type fieldPlan struct {
	index     []int // reflect.Value.FieldByIndex
	name      string
	omitEmpty bool
}

var plans sync.Map // reflect.Type -> *structPlan (nil: not plain)

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// planOf is t's plan, nil when t is not of plain shape.
func planOf(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	p := makePlan(t, map[reflect.Type]bool{})
	plans.Store(t, p)
	return p
}

func makePlan(t reflect.Type, visiting map[reflect.Type]bool) *structPlan {
	if visiting[t] || customJSON(t) {
		return nil // recursive types and custom marshalers take the round trip
	}
	visiting[t] = true
	defer delete(visiting, t)
	p := &structPlan{}
	names := map[string]bool{}
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			idx := append(append([]int{}, index...), i)
			if f.Anonymous && name == "" {
				if f.Type.Kind() != reflect.Struct || customJSON(f.Type) {
					return false // embedded pointers, interfaces, marshalers: json's rules, not ours
				}
				if !walk(f.Type, idx) {
					return false
				}
				continue
			}
			if !f.IsExported() && !(f.Anonymous && derefKind(f.Type) == reflect.Struct) {
				continue // json names a tagged embedded struct even when its type is unexported
			}
			if opts != "" && opts != "omitempty" {
				return false // ",string" and the like
			}
			if name == "" {
				name = f.Name
			}
			if !plainName(name) || names[name] || !plainValue(f.Type, visiting) {
				return false // clashing names follow json's dominance rules: not ours
			}
			names[name] = true
			p.fields = append(p.fields, fieldPlan{index: idx, name: name, omitEmpty: opts == "omitempty"})
		}
		return true
	}
	if !walk(t, nil) {
		return nil
	}
	return p
}

// plainName: a name encoding/json takes from a tag as it is (it ignores
// some punctuation and falls back on the field's name).
func plainName(name string) bool {
	for _, r := range name {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return name != ""
}

func derefKind(t reflect.Type) reflect.Kind {
	if t.Kind() == reflect.Pointer {
		return t.Elem().Kind()
	}
	return t.Kind()
}

func customJSON(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

// plainValue says whether a field of type t converts directly.
func plainValue(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if customJSON(t) {
		return false
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Pointer:
		return plainValue(t.Elem(), visiting)
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8 && plainValue(t.Elem(), visiting) // []byte is base64 in JSON
	case reflect.Struct:
		return makePlan(t, visiting) != nil
	}
	return false
}

// object converts a struct of the plan's type; false when a value needs
// the round trip (a non-finite number).
func (p *structPlan) object(v reflect.Value) (map[string]any, bool) {
	m := make(map[string]any, len(p.fields))
	for _, f := range p.fields {
		fv := v.FieldByIndex(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		x, ok := value(fv)
		if !ok {
			return nil, false
		}
		m[f.name] = x
	}
	return m, true
}

func value(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return s, utf8.ValidString(s) // json.Marshal replaces invalid bytes
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		if v.Kind() == reflect.Float32 {
			// encoding/json writes a float32 in its shortest form, which
			// reads back as a float64 that may differ from float64(f).
			return nil, false
		}
		return f, true
	case reflect.Pointer:
		if v.IsNil() {
			return nil, true
		}
		return value(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil, true
		}
		out := make([]any, v.Len())
		for i := range out {
			x, ok := value(v.Index(i))
			if !ok {
				return nil, false
			}
			out[i] = x
		}
		return out, true
	case reflect.Struct:
		if p := planOf(v.Type()); p != nil {
			return p.object(v)
		}
	}
	return nil, false
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}
