package policy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Message templates.
//
// A rule's message is text with placeholders {{path}}, where path names an
// input value: a variable (doc, parties, licensePath, context, agency,
// record, at)
// followed by .field and [index] steps, e.g.
//
//	producer {{doc.producer.name}} of {{doc.goods[0].hsCode}} is not a registered facility
//
// Rendering is a pure function of the inputs: no expressions, no calls, no
// clock. A missing value renders as <missing>; strings render as they are
// (control characters replaced by spaces), other values as compact JSON with
// sorted keys; each value is cut at MaxRenderedValue bytes and the whole
// message at MaxRenderedMessage bytes. "{{" always opens a placeholder.

const (
	MaxRenderedValue   = 120
	MaxRenderedMessage = 1024
)

// variables are the inputs a rule (and a template) can read.
var variables = []string{"doc", "parties", "licensePath", "context", "agency", "record", "at"}

func isVariable(name string) bool {
	for _, v := range variables {
		if v == name {
			return true
		}
	}
	return false
}

type step struct {
	field string // set for .field (and for the root variable)
	index int    // used when field == ""
}

type segment struct {
	text string // literal text (when path is nil)
	path []step
}

type template []segment

// parseTemplate parses a message template. A syntax error reports its
// 1-based column (in characters) in the message.
func parseTemplate(s string) (template, *CompileError) {
	var t template
	pos := func(i int) (int, int) {
		// line and column (1-based, in characters) of byte offset i
		l, c := 1, 1
		for _, r := range s[:i] {
			if r == '\n' {
				l, c = l+1, 1
			} else {
				c++
			}
		}
		return l, c
	}
	rest := s
	off := 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t = append(t, segment{text: rest})
			}
			return t, nil
		}
		if i > 0 {
			t = append(t, segment{text: rest[:i]})
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			l, c := pos(off + i)
			return nil, &CompileError{Line: l, Column: c, Message: "placeholder opened with {{ is not closed with }}"}
		}
		inner := rest[i+2 : i+2+j]
		path, badAt, msg := parsePath(inner)
		if msg != "" {
			l, c := pos(off + i + 2 + badAt)
			return nil, &CompileError{Line: l, Column: c, Message: msg}
		}
		t = append(t, segment{path: path})
		off += i + 2 + j + 2
		rest = rest[i+2+j+2:]
	}
}

// parsePath parses "  doc.goods[0].hsCode  ". On error it returns the byte
// offset of the problem inside inner and a message.
func parsePath(inner string) ([]step, int, string) {
	i := 0
	for i < len(inner) && inner[i] == ' ' {
		i++
	}
	end := len(inner)
	for end > i && inner[end-1] == ' ' {
		end--
	}
	if i == end {
		return nil, i, "empty placeholder: write {{doc.field}} with a variable (" + strings.Join(variables, ", ") + ")"
	}
	ident := func() (string, bool) {
		start := i
		for i < end {
			r := inner[i]
			if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9' && i > start) {
				i++
				continue
			}
			break
		}
		return inner[start:i], i > start
	}
	start := i
	root, ok := ident()
	if !ok {
		return nil, start, "placeholder must start with a variable name"
	}
	if !isVariable(root) {
		return nil, start, fmt.Sprintf("unknown variable %q in placeholder; use one of %s", root, strings.Join(variables, ", "))
	}
	path := []step{{field: root}}
	for i < end {
		switch inner[i] {
		case '.':
			i++
			at := i
			name, ok := ident()
			if !ok {
				return nil, at, "expected a field name after '.'"
			}
			path = append(path, step{field: name})
		case '[':
			i++
			at := i
			for i < end && inner[i] >= '0' && inner[i] <= '9' {
				i++
			}
			if i == at || i >= end || inner[i] != ']' {
				return nil, at, "expected a list index such as [0]"
			}
			n, err := strconv.Atoi(inner[at:i])
			if err != nil || n > 1<<20 {
				return nil, at, "list index out of range"
			}
			i++
			path = append(path, step{index: n})
		default:
			return nil, i, fmt.Sprintf("unexpected %q in placeholder: only .field and [index] steps are allowed", inner[i])
		}
	}
	return path, 0, ""
}

// render fills the template from the normalized inputs.
func (t template) render(vars map[string]any) string {
	var b strings.Builder
	for _, s := range t {
		if s.path == nil {
			b.WriteString(s.text)
			continue
		}
		b.WriteString(renderValue(lookup(vars, s.path)))
	}
	return cut(b.String(), MaxRenderedMessage)
}

type missingValue struct{}

func lookup(vars map[string]any, path []step) any {
	v, ok := vars[path[0].field]
	if !ok {
		return missingValue{}
	}
	for _, st := range path[1:] {
		switch x := v.(type) {
		case map[string]any:
			if st.field == "" {
				return missingValue{}
			}
			if v, ok = x[st.field]; !ok {
				return missingValue{}
			}
		case []any:
			if st.field != "" || st.index >= len(x) {
				return missingValue{}
			}
			v = x[st.index]
		default:
			return missingValue{}
		}
	}
	return v
}

func renderValue(v any) string {
	switch x := v.(type) {
	case missingValue:
		return "<missing>"
	case string:
		return cut(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, x), MaxRenderedValue)
	case nil:
		return "null"
	}
	raw, err := json.Marshal(v) // sorted keys: deterministic
	if err != nil {
		return "<unprintable>"
	}
	return cut(string(raw), MaxRenderedValue)
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	c := n - len("…")
	for c > 0 && !utf8.RuneStart(s[c]) {
		c--
	}
	return s[:c] + "…"
}
