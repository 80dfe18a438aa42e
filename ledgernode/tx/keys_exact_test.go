package tx

import (
	"encoding/json"
	"errors"
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
