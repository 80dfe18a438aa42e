package state

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

type kvRecord struct {
	Name string `json:"name"`
}

// withOverlay runs fn over an overlay of a real bbolt write transaction.
func withOverlay(t *testing.T, fn func(o *overlay)) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "kv.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(btx *bolt.Tx) error { fn(newOverlay(btx)); return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestScanJSONHandsEachValueUnderThePrefixInKeyOrderAsItsOwnRecord(t *testing.T) {
	withOverlay(t, func(o *overlay) {
		for k, name := range map[string]string{"a\x002": "second", "a\x001": "first", "b\x001": "other prefix"} {
			if err := PutJSON(o, "records", k, kvRecord{Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		var got []*kvRecord
		if err := ScanJSON(o, "records", "a\x00", func(r *kvRecord) bool { got = append(got, r); return true }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "first" || got[1].Name != "second" {
			t.Fatalf("scanned %+v, want first then second", got)
		}

		var n int
		if err := ScanJSON(o, "records", "", func(*kvRecord) bool { n++; return false }); err != nil || n != 1 {
			t.Errorf("fn returning false: %d calls, err %v; want the scan to stop after one", n, err)
		}

		o.Put("records", "a\x003", []byte("{not json"))
		got = nil
		if err := ScanJSON(o, "records", "a\x00", func(r *kvRecord) bool { got = append(got, r); return true }); err == nil {
			t.Errorf("a value that does not decode: no error (scanned %d)", len(got))
		}
	})
}

func TestLookupDecodesARecordAndSaysWhenItIsAbsent(t *testing.T) {
	withOverlay(t, func(o *overlay) {
		if err := PutJSON(o, "records", "k", kvRecord{Name: "here"}); err != nil {
			t.Fatal(err)
		}
		if r, ok, err := Lookup[kvRecord](o, "records", "k"); err != nil || !ok || r.Name != "here" {
			t.Errorf("Lookup k = %+v %v %v, want here", r, ok, err)
		}
		if r, ok, err := Lookup[kvRecord](o, "records", "missing"); err != nil || ok || r != nil {
			t.Errorf("Lookup missing = %+v %v %v, want nil, false, nil", r, ok, err)
		}
		o.Put("records", "bad", []byte("{"))
		if _, ok, err := Lookup[kvRecord](o, "records", "bad"); err == nil || !ok {
			t.Errorf("Lookup of a bad value: ok %v err %v, want present with an error", ok, err)
		}
	})
}
