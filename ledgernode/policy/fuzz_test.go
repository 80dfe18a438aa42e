package policy

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseFile: no input makes the policy file parser or the compiler
// panic, and whatever compiles evaluates without panicking.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte("id: p\nagency: us-fda\nenforcement: Audit\nrules:\n- name: r\n  expression: doc.a == 1\n  message: a is {{doc.a}}\n"))
	f.Add([]byte(`{"id":"p","agency":"a","enforcement":"Enforce","scope":{"hsPrefixes":["03"]},"rules":[{"name":"r","expression":"doc.goods.all(g, g.hsCode.startsWith('03'))"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseFile(data)
		if err != nil {
			return
		}
		c, errs := Compile(p)
		if len(errs) > 0 {
			for _, e := range errs {
				if e.Message == "" {
					t.Fatalf("compile error without a message: %+v", e)
				}
			}
			return
		}
		v := c.Evaluate(Prepare(Input{Doc: map[string]any{"a": 1, "goods": []any{map[string]any{"hsCode": "030617"}}}, At: time.Unix(0, 0)}), Agency{})
		if len(v.Outcomes) != len(c.Rules) {
			t.Fatalf("%d outcomes for %d rules", len(v.Outcomes), len(c.Rules))
		}
	})
}

// FuzzParseTestInput: the `policy test --input` parser never panics, and
// what it accepts round-trips: written back as JSON and read again, it is
// the same input, and preparing it twice gives the same activation.
func FuzzParseTestInput(f *testing.F) {
	f.Add([]byte(`{"record":{"type":"certificate","hsCodes":["030617"]},"doc":{"producer":{"name":"Various"}},"at":"2026-03-01T12:00:00Z"}`))
	f.Add([]byte("record:\n  type: shipment\ndoc: {}\nlicensePath: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseTestInput(data)
		if err != nil {
			return
		}
		raw, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("accepted input cannot be written back: %v", err)
		}
		again, err := ParseTestInput(raw)
		if err != nil {
			t.Fatalf("accepted input written back is refused: %v\n%s", err, raw)
		}
		raw2, _ := json.Marshal(again)
		if !bytes.Equal(raw, raw2) {
			t.Fatalf("input changed on a round trip:\n%s\n%s", raw, raw2)
		}
		if !again.AtTime(time.Unix(0, 0)).Equal(in.AtTime(time.Unix(0, 0))) {
			t.Fatalf("at changed on a round trip: %v %v", in.At, again.At)
		}
		_ = Prepare(Input{Record: in.Record, Doc: in.Doc, Parties: in.Parties, LicensePath: in.LicensePath, At: in.AtTime(time.Unix(0, 0))})
	})
}

// FuzzParseTemplate: message templates parse or fail with a position, and
// render without panicking.
func FuzzParseTemplate(f *testing.F) {
	f.Add("producer {{doc.producer.name}} of {{doc.goods[0].hsCode}}")
	f.Add("{{")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTemplate(s)
		if err != nil {
			if err.Line < 1 || err.Column < 1 {
				t.Fatalf("error without a position: %+v", err)
			}
			return
		}
		if out := tm.render(map[string]any{"doc": map[string]any{"goods": []any{"x"}}}); len(out) > MaxRenderedMessage {
			t.Fatalf("rendered %d bytes", len(out))
		}
	})
}
