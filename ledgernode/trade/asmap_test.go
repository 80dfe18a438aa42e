package trade

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Shapes encoding/json has rules for, beyond the wire records'.
type (
	asmapInner struct {
		A string  `json:"a,omitempty"`
		N int     `json:"n,omitempty"`
		U uint64  `json:"u"`
		F float64 `json:"f,omitempty"`
		B bool    `json:"b,omitempty"`
	}
	asmapEmbedded struct {
		E string `json:"e"`
		asmapInner
	}
	asmapClash struct {
		A string `json:"a"`
		asmapInner
	}
	asmapCustom struct {
		When time.Time       `json:"when"`
		Raw  json.RawMessage `json:"raw,omitempty"`
		M    map[string]int  `json:"m"`
		Any  any             `json:"any"`
	}
	asmapTags struct {
		Skip  string `json:"-"`
		NoTag string
		//lint:ignore U1000 unexported: encoding/json leaves it out, and so must asMap
		hidden string
		Ptrs   []*int   `json:"ptrs"`
		Nested [][]bool `json:"nested,omitempty"`
		//lint:ignore SA5008 the tag names the field "-": a rule of encoding/json's that asMap must follow
		Dash    string  `json:"-,"`
		Omitted *string `json:",omitempty"`
	}
	asmapOdd struct {
		Str   int     `json:"str,string"`
		Bytes []byte  `json:"bytes"`
		F32   float32 `json:"f32"`
		Punct string  `json:"a.b"`
	}
	asmapNamedEmbed struct {
		asmapInner `json:"inner"`
		X          int `json:"x"`
	}
	asmapRecursive struct {
		Name string          `json:"name"`
		Next *asmapRecursive `json:"next,omitempty"`
	}
)

// fill sets v (addressable) to random values: empty and zero often, nil
// and empty slices and pointers both, text with JSON's special characters
// and non-ASCII, now and then invalid UTF-8 and non-finite numbers.
func fill(rng *rand.Rand, v reflect.Value, depth int) {
	if !v.CanSet() {
		return
	}
	zero := rng.IntN(4) == 0
	switch v.Kind() {
	case reflect.String:
		texts := []string{"", "x", "USMCA", "<a href=\"&\">", "Aduana de México — 税関", "line\nbreak\t\"q\"", "\u2028\u2029"}
		switch {
		case zero:
			v.SetString("")
		case rng.IntN(60) == 0:
			v.SetString("bad \xff\xfe UTF-8")
		default:
			v.SetString(texts[rng.IntN(len(texts))])
		}
	case reflect.Bool:
		v.SetBool(!zero && rng.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !zero {
			v.SetInt(int64(rng.IntN(2000)) - 1000)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !zero {
			x := []uint64{1, 42, 1<<53 + 1, 1<<64 - 1}[rng.IntN(4)]
			if bits := v.Type().Bits(); bits < 64 {
				x &= 1<<bits - 1
			}
			v.SetUint(x)
		}
	case reflect.Float32, reflect.Float64:
		if !zero {
			v.SetFloat([]float64{0.1, -2.5, 1e21, 123456.789, math.NaN(), math.Inf(1), 1.0 / 3}[rng.IntN(7)])
		}
	case reflect.Pointer:
		if zero || depth > 3 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(rng, p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		switch {
		case zero || depth > 3:
			v.SetZero()
		case rng.IntN(5) == 0:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			s := reflect.MakeSlice(v.Type(), 1+rng.IntN(3), 3)
			for i := range s.Len() {
				fill(rng, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(int64(rng.IntN(1e9)), 0).UTC()))
			return
		}
		for i := range v.NumField() {
			fill(rng, v.Field(i), depth+1)
		}
	case reflect.Map:
		if !zero {
			v.Set(reflect.ValueOf(map[string]int{"k": rng.IntN(9)}))
		}
	case reflect.Interface:
		if !zero {
			v.Set(reflect.ValueOf([]any{"s", 1.5, map[string]any{"x": nil}}))
		}
	}
}

// asMap gives what encoding/json's round trip gives, for every record the
// rule engine is handed and for the shapes json has special rules for
// (custom marshalers, embedding, clashing names, ",string", []byte,
// float32, invalid UTF-8, non-finite numbers, recursion): the direct
// conversion where it applies, the round trip where it does not.
func TestAsMapIsTheJSONRoundTrip(t *testing.T) {
	direct := []reflect.Type{
		reflect.TypeFor[wire.Certificate](), reflect.TypeFor[wire.Participant](), reflect.TypeFor[wire.License](),
		reflect.TypeFor[wire.LicenseGrant](), reflect.TypeFor[wire.IPRight](), reflect.TypeFor[wire.Shipment](),
		reflect.TypeFor[asmapInner](), reflect.TypeFor[asmapEmbedded](), reflect.TypeFor[asmapTags](),
		reflect.TypeFor[asmapNamedEmbed](),
	}
	roundTrip := []reflect.Type{
		reflect.TypeFor[asmapClash](), reflect.TypeFor[asmapCustom](), reflect.TypeFor[asmapOdd](), reflect.TypeFor[asmapRecursive](),
	}
	rng := rand.New(rand.NewPCG(7, 14))
	for _, typ := range append(slices.Clone(direct), roundTrip...) {
		converted := 0
		for range 1000 {
			v := reflect.New(typ)
			fill(rng, v.Elem(), 0)
			got, want := asMap(v.Interface()), asMapJSON(v.Interface())
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: asMap\n%#v\nthe JSON round trip\n%#v\nof %+v", typ, got, want, v.Elem().Interface())
			}
			if p := planOf(typ); p != nil {
				if _, ok := p.object(v.Elem()); ok {
					converted++
				}
			}
		}
		if slices.Contains(direct, typ) && converted < 500 {
			t.Errorf("%s: %d of 1000 values converted directly, want most (all but those with invalid UTF-8 or a non-finite number)", typ, converted)
		}
		if slices.Contains(roundTrip, typ) && converted > 0 {
			t.Errorf("%s: %d of 1000 values converted directly, want every one through JSON", typ, converted)
		}
	}
	var nilCert *wire.Certificate
	if got := asMap(nilCert); got != nil {
		t.Errorf("asMap of a nil record: %v, want nil as JSON null gives", got)
	}
}

func BenchmarkAsMapCertificate(b *testing.B) {
	ct := scaleCert(1, t0)
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			asMap(&ct)
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			asMapJSON(&ct)
		}
	})
}
