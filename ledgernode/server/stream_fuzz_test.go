package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReadStreamLines: whatever a client streams, readLine returns its
// non-blank lines, trimmed, in order, none over the limit, and stops with
// lineTooLong at the first line over it, never with anything else.
func FuzzReadStreamLines(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n\n  {\"b\":2}  \r\n{\"c\":3}"), 16)
	f.Add([]byte("\n\n\n"), 4)
	f.Add(bytes.Repeat([]byte("x"), 300), 100)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		if limit < 1 || limit > 1<<16 {
			return
		}
		var want [][]byte
		tooLong := false
		for _, l := range bytes.Split(in, []byte("\n")) {
			if len(l) > limit {
				tooLong = true
				break
			}
			if tl := bytes.TrimSpace(l); len(tl) > 0 {
				want = append(want, tl)
			}
		}
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		var got [][]byte
		for {
			line, err := readLine(br, limit)
			if len(line) > limit {
				t.Fatalf("a line of %d bytes over the limit %d", len(line), limit)
			}
			if len(line) > 0 {
				got = append(got, line)
			}
			if err != nil {
				var tl *lineTooLong
				if !errors.Is(err, io.EOF) && !errors.As(err, &tl) {
					t.Fatalf("unexpected error %v", err)
				}
				if errors.As(err, &tl) != tooLong {
					t.Fatalf("lineTooLong %v, want %v (limit %d)", errors.As(err, &tl), tooLong, limit)
				}
				break
			}
		}
		if len(got) != len(want) {
			t.Fatalf("got %d lines, want %d", len(got), len(want))
		}
		for i := range got {
			if i < len(want) && !bytes.Equal(got[i], want[i]) {
				t.Fatalf("line %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}
