package wire

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

func TestCheckPayloadRefusesABadPayloadOfAKnownTypeNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		name, typ, payload, field string // field "" means accepted
	}{
		{"a good agency.suspend", TypeAgencySuspend, `{"id":"us-cbp","reason":"audit"}`, ""},
		{"an agency id in upper case", TypeAgencySuspend, `{"id":"US-CBP","reason":"audit"}`, "payload.id"},
		{"a field the payload does not have", TypeAgencySuspend, `{"id":"us-cbp","reason":"audit","why":"x"}`, "payload.why"},
		{"a field name in the wrong case", TypeAgencyReinstate, `{"ID":"us-cbp"}`, "payload.ID"},
		{"a key.rotate retiring the key it adds", TypeKeyRotate, `{"newKey":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","retire":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "payload.newKey"},
		{"a type without a check here (the policy lifecycle's)", "policy.publish", `{"anything":1}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPayload(tc.typ, json.RawMessage(tc.payload))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			var rej *Rejection
			var fe *tx.FieldError
			switch {
			case errors.As(err, &rej):
				if rej.Reasons[0].Field != tc.field {
					t.Fatalf("refused naming %q, want %q: %v", rej.Reasons[0].Field, tc.field, err)
				}
			case errors.As(err, &fe):
				if fe.Field != tc.field {
					t.Fatalf("refused naming %q, want %q: %v", fe.Field, tc.field, err)
				}
			default:
				t.Fatalf("refused with %T %v, want an error naming %s", err, err, tc.field)
			}
		})
	}
}

func TestPayloadCheckPanicsForATypeWithoutOne(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an unknown type")
		}
	}()
	PayloadCheck("no.such")
}
