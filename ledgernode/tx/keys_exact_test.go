package tx

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

type inner struct {
	HSCode string `json:"hsCode"`
}

type base struct {
	ID string `json:"id"`
}

type payloadT struct {
	base
	Program  string            `json:"program"`
	Goods    []inner           `json:"goods"`
	Tags     map[string]inner  `json:"tags"`
	Extra    json.RawMessage   `json:"extra"`
	When     time.Time         `json:"when"`
	Optional *inner            `json:"optional,omitempty"`
	Names    map[string]string `json:"names"`
}

func TestPayloadKeysAreCaseSensitive(t *testing.T) {
	ok := []string{
		`{"id":"a","program":"USMCA","goods":[{"hsCode":"010101"}],"tags":{"AnyKey":{"hsCode":"01"}},"extra":{"Whatever":1},"when":"2026-01-01T00:00:00Z","optional":{"hsCode":"02"},"names":{"X":"y"}}`,
		`{"program":null,"goods":null}`,
	}
	for _, p := range ok {
		if err := CheckPayloadKeys(json.RawMessage(p), &payloadT{}); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	bad := map[string]string{
		`{"progrAm":"USMCA"}`: "payload.progrAm",
		`{"ID":"a"}`:          "payload.ID",
		`{"goods":[{"hsCode":"1"},{"HSCode":"2"}]}`: "payload.goods[1].HSCode",
		`{"tags":{"k":{"hscode":"01"}}}`:            "payload.tags.k.hscode",
		`{"optional":{"HsCode":"02"}}`:              "payload.optional.HsCode",
	}
	for p, field := range bad {
		err := CheckPayloadKeys(json.RawMessage(p), &payloadT{})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Fatalf("%s: %v, want an error on %s", p, err, field)
		}
	}
}

// The byte scan gives the tokenizer's answer for every payload whose
// values have the payload type's kinds (what reaches it: the strict
// decode has already refused the rest), and hands over, rather than
// answering, when the bytes are not JSON.
func FuzzCheckPayloadKeysScanMatchesTheDecoder(f *testing.F) {
	for _, p := range []string{
		`{"id":"a","program":"USMCA","goods":[{"hsCode":"010101"}],"tags":{"AnyKey":{"hsCode":"01"}},"extra":{"Whatever":1},"when":"2026-01-01T00:00:00Z","optional":{"hsCode":"02"},"names":{"X":"y"}}`,
		`{"program":null,"goods":null}`,
		`{"progrAm":"USMCA"}`, `{"ID":"a"}`, `{"goods":[{"hsCode":"1"},{"HSCode":"2"}]}`,
		`{"tags":{"k":{"hscode":"01"}}}`, `{"optional":{"HsCode":"02"}}`,
		`{"prog\u0072am":"x","goods":[ {"hs\u0043ode":"1"} ],"names":{"\u00e9":"\"}"}}`,
		` { "extra" : [ {"a":[1,{"b":"]"}]} ] , "when" : "x" } `,
		`{"tags":{"\ud800":{"hsCode":"1"}},"id\xff":1}`,
		`{"id":"a",}`, `{"id"`, `[1,2]`, `"x"`, ``,
	} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := checkKeysFast(b, reflect.TypeFor[*payloadT]())
		if !ok {
			return // the tokenizer answers
		}
		var v payloadT
		if json.Unmarshal(b, &v) != nil {
			return // not the payload's kinds: the strict decode refuses it first
		}
		slow := checkKeysDecoder(b, &payloadT{})
		if (fast == nil) != (slow == nil) || fast != nil && fast.Error() != slow.Error() {
			t.Fatalf("%q: the scan says %v, the tokenizer %v", b, fast, slow)
		}
	})
}

func BenchmarkCheckPayloadKeys(b *testing.B) {
	p := []byte(`{"id":"a","program":"USMCA","goods":[{"hsCode":"010101"},{"hsCode":"020202"}],"tags":{"AnyKey":{"hsCode":"01"}},"extra":{"Whatever":[1,2,{"x":"y"}]},"when":"2026-01-01T00:00:00Z","optional":{"hsCode":"02"},"names":{"X":"y","Z":"w"}}`)
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if err := CheckPayloadKeys(p, &payloadT{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tokenizer", func(b *testing.B) {
		for b.Loop() {
			if err := checkKeysDecoder(p, &payloadT{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
