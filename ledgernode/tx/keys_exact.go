package tx

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// CheckPayloadKeys refuses object keys that encoding/json would accept only
// by its case-insensitive matching ("Key" for "key", "progrAm" for
// "program"): two payloads with different bytes would mean the same thing.
// It walks the JSON alongside the type of v (a pointer to the payload
// struct); maps take any keys, json.RawMessage and interfaces any content.
//
// It scans the bytes (checkKeysFast); bytes the scan does not expect (not
// JSON) take encoding/json's tokenizer (checkKeys), which says what is
// wrong. FuzzCheckPayloadKeysScanMatchesTheDecoder holds the two to the
// same answer.
func CheckPayloadKeys(payload json.RawMessage, v any) error {
	if err, ok := checkKeysFast(payload, reflect.TypeOf(v)); ok {
		return err
	}
	return checkKeysDecoder(payload, v)
}

// checkKeysDecoder is CheckPayloadKeys through encoding/json's tokenizer.
func checkKeysDecoder(payload json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	return checkKeys(dec, reflect.TypeOf(v), "payload")
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	fieldCache          sync.Map // reflect.Type -> map[string]reflect.Type
)

func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	if opaque(t) {
		return skipValue(dec)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return walkObject(dec, path, func(key string) (reflect.Type, error) { return fieldType(t, path, key) })
	case reflect.Map:
		return walkObject(dec, path, func(string) (reflect.Type, error) { return t.Elem(), nil })
	}
	// a slice or an array
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return nil // null or a wrong type: the strict decode says so
	}
	for i := 0; dec.More(); i++ {
		if err := checkKeys(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// walkObject reads an object, asking typeOf for each key's value type (nil:
// skip the value).
func walkObject(dec *json.Decoder, path string, typeOf func(key string) (reflect.Type, error)) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		vt, err := typeOf(key)
		if err != nil {
			return err
		}
		if vt == nil {
			err = skipValue(dec)
		} else {
			err = checkKeys(dec, vt, path+"."+key)
		}
		if err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

// fieldType is the type of the struct t's field named key in JSON, or the
// refusal of a key that names none (exactly: encoding/json would take a
// key that differs only in case).
func fieldType(t reflect.Type, path, key string) (reflect.Type, error) {
	fields := structFields(t)
	if ft, ok := fields[key]; ok {
		return ft, nil
	}
	var near []string
	for name := range fields {
		if strings.EqualFold(name, key) {
			near = append(near, name)
		}
	}
	if len(near) > 0 {
		slices.Sort(near)
		return nil, Fieldf(path+"."+key, "", "unknown field; did you mean %q? (field names are case-sensitive)", near[0])
	}
	return nil, Fieldf(path+"."+key, "", "unknown field; check the spelling against the API reference")
}

// structFields maps a struct's JSON field names (as encoding/json names
// them, embedded structs flattened) to their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range structFields(et) {
					if _, dup := m[k]; !dup {
						m[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
