package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// MaxFileBytes bounds a policy file or a test input file.
const MaxFileBytes = 1 << 20

// ParseFile reads a policy from YAML or JSON (JSON is YAML). Unknown fields
// are refused, naming the field, so that a misspelt key does not silently
// change what a policy does. It does not compile the rules: call Compile.
func ParseFile(data []byte) (*Policy, error) {
	var p Policy
	if err := decodeStrict(data, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// TestInput is the file `ledgerctl policy test --input` reads: the
// document's scope attributes and the inputs a rule sees.
//
//	record:      {id, type, program, hsCodes, originCountries, destinationCountries}
//	doc:         the document (an object)
//	parties:     the parties by role (an object), optional
//	licensePath: the license chain (an array), optional
//	context:     what the transaction adds (an object), optional
//	agency:      {id, name, country, programs}, optional (default: the policy's agency)
//	at:          the time to evaluate at (RFC 3339), optional
type TestInput struct {
	Record      Subject        `json:"record"`
	Doc         map[string]any `json:"doc"`
	Parties     map[string]any `json:"parties,omitempty"`
	LicensePath []any          `json:"licensePath,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	Agency      *Agency        `json:"agency,omitempty"`
	At          string         `json:"at,omitempty"`
}

// ParseTestInput reads a test input file (YAML or JSON).
func ParseTestInput(data []byte) (*TestInput, error) {
	var in TestInput
	if err := decodeStrict(data, &in); err != nil {
		return nil, err
	}
	if in.At != "" {
		if _, err := parseAt(in.At); err != nil {
			return nil, fmt.Errorf("at %q: %v", in.At, err)
		}
	}
	return &in, nil
}

// AtTime is the input's time, or def when the file gives none.
func (in *TestInput) AtTime(def time.Time) time.Time {
	if in.At == "" {
		return def
	}
	t, _ := parseAt(in.At)
	return t
}

func parseAt(s string) (time.Time, error) {
	if t, err := tx.ParseTime(s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 time such as 2026-03-01T12:00:00Z")
	}
	return t.UTC(), nil
}

func decodeStrict(data []byte, v any) error {
	if len(data) > MaxFileBytes {
		return fmt.Errorf("file is %d bytes; at most %d", len(data), MaxFileBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("file is empty")
	}
	raw, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("not valid YAML or JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: wrong type: got %s, want %s", te.Field, te.Value, kindOfGo(te.Type.String()))
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			return fmt.Errorf("%s: unknown field; check the spelling", strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`))
		}
		return fmt.Errorf("malformed: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errors.New("trailing data after the first document; one policy per file")
	}
	return nil
}

func kindOfGo(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case t == "bool":
		return "true or false"
	}
	return "an object"
}
