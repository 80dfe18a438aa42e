package tx

import (
	"crypto/sha256"
	"testing"
)

// id makes a distinct cache key.
func id(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8)} }

func TestRecentRemembersTwoGenerationsAndForgetsTheOldest(t *testing.T) {
	r := newRecent[int](4) // two generations of 2
	for i := range 4 {
		r.put(id(i), i)
	}
	// 0 and 1 filled the first generation, 2 and 3 the second: all known.
	for i := range 4 {
		if v, ok := r.get(id(i)); !ok || v != i {
			t.Fatalf("entry %d: got %d, %v; want it remembered", i, v, ok)
		}
	}
	r.put(id(4), 4) // a third generation starts: 0 and 1 are forgotten
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := r.get(id(i)); ok != want {
			t.Errorf("after the third generation began, entry %d remembered = %v, want %v", i, ok, want)
		}
	}
}

func TestDecodedAnswersOnlyForTheSameBytes(t *testing.T) {
	v := NewVerifier(0)
	s := &Signed{Canonical: []byte(`{"a":1}`)}
	s.ID = sha256.Sum256(s.Canonical)
	if _, ok := v.Decoded(s.Canonical); ok {
		t.Fatal("an envelope never remembered was answered")
	}
	v.Remember(s)
	if got, ok := v.Decoded([]byte(`{"a":1}`)); !ok || got != s {
		t.Fatalf("the remembered envelope was not answered: %v, %v", got, ok)
	}
	if _, ok := v.Decoded([]byte(`{"a":2}`)); ok {
		t.Fatal("other bytes were answered with a remembered envelope")
	}
}

func TestPayloadCheckedOnlyAfterMark(t *testing.T) {
	v := NewVerifier(0)
	if v.PayloadChecked(id(7)) {
		t.Fatal("checked before any mark")
	}
	v.MarkPayloadChecked(id(7))
	if !v.PayloadChecked(id(7)) || v.PayloadChecked(id(8)) {
		t.Fatal("mark of one id: want it (and only it) checked")
	}
}
