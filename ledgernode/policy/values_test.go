package policy

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// TestDirectCopyEqualsJSONRoundTrip: the fast path for inputs that are
// JSON values already gives exactly what the JSON round trip gives.
func TestDirectCopyEqualsJSONRoundTrip(t *testing.T) {
	values := []any{
		map[string]any{"a": 1, "b": []any{1.0, math.Copysign(0, -1), 2.5, 1e18, 1e19, 1e21, -9.3e18, float64(1 << 53), math.MaxFloat64, math.SmallestNonzeroFloat64}},
		[]any{"é", "", nil, true, false, json.Number("12"), json.Number("1.5"), json.Number("1e3")},
		map[string]any{"ints": []any{int8(-3), int16(7), int32(-9), int64(math.MinInt64), uint8(200), uint16(6), uint32(math.MaxUint32), uint(3), uint64(math.MaxUint64), int(42)}},
		map[string]any{"nested": map[string]any{"deeper": []any{map[string]any{"x": "y"}}}},
	}
	for i, v := range values {
		fast, _, ok := direct(v, 0)
		if !ok {
			t.Fatalf("value %d: no fast path", i)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		slow, _, err := decodeJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("value %d:\nfast %#v\nslow %#v", i, fast, slow)
		}
	}
	for _, v := range []any{map[string]any{"s": "\xff"}, []any{math.NaN()}, map[string]int{"a": 1}, struct{ A int }{1}} {
		if _, _, ok := direct(v, 0); ok {
			t.Errorf("%#v: fast path taken, want the JSON round trip", v)
		}
	}
}
