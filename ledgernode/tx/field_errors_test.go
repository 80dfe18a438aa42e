package tx

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Errors name the field at fault, even when the body is not an object or
// the unknown field is nested (issue 12 §4).
func TestDecodeErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name, body, field, says string
	}{
		{"an array body", `[{"v":1}]`, "envelope", "must be a JSON object"},
		{"a null body", `null`, "envelope", "not null"},
		{"a string body", `"x"`, "envelope", "not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body), Limits{})
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Message, tc.says) {
				t.Fatalf("%v, want field %q saying %q", err, tc.field, tc.says)
			}
		})
	}
}

func TestUnknownNestedPayloadFieldIsNamedWithItsPath(t *testing.T) {
	type line struct {
		HS string `json:"hsCode"`
	}
	var v struct {
		ID    string `json:"id"`
		Goods []line `json:"goods"`
	}
	err := DecodePayload(json.RawMessage(`{"goods":[{"hsCode":"010101"},{"hsCode":"020202","price":3}],"id":"x"}`), &v)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "payload.goods[1].price" {
		t.Fatalf("%v, want payload.goods[1].price", err)
	}
	err = DecodePayload(json.RawMessage(`{"id":"x","extra":1}`), &v)
	if !errors.As(err, &fe) || fe.Field != "payload.extra" {
		t.Fatalf("%v, want payload.extra", err)
	}
}
