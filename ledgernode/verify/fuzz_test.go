package verify

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzVerifyEvidence: evidence read from a file is outside input. Whatever
// it holds, verification answers without panicking; input that does not
// parse is refused; and evidence is accepted only if it is the genuine
// evidence (the same transaction, receipt and leaf under a head the
// trusted node signed): nothing else verifies.
func FuzzVerifyEvidence(f *testing.F) {
	ev, trust, _ := evidenceFor(f, 5, 2)
	good, err := json.Marshal(ev)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := Receipt(ev, trust); err != nil {
		f.Fatalf("setup: the genuine evidence does not verify: %v", err)
	}
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"proof":{"leafIndex":99,"treeSize":1,"hashes":["00"]}}`))
	f.Add(bytes.Replace(good, []byte(`"leafIndex":2`), []byte(`"leafIndex":3`), 1))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e Evidence
		parseErr := json.Unmarshal(raw, &e)
		res, err := Receipt(&e, trust)
		if parseErr != nil {
			// Partly decoded evidence must not verify either (unless what
			// was decoded before the error is itself genuine).
			if err == nil && !sameEvidence(&e, ev) {
				t.Fatalf("evidence that does not parse verified: %s", raw)
			}
			return
		}
		if err != nil {
			return
		}
		if !sameEvidence(&e, ev) {
			t.Fatalf("forged evidence verified: %s", raw)
		}
		if res.TxID != ev.Receipt.TxID || res.Status != ev.Receipt.Status || res.TreeSize != ev.Head.TreeSize {
			t.Fatalf("verified evidence reports %+v, want the genuine receipt %+v", res, ev.Receipt)
		}
	})
}

// sameEvidence says whether e says what the genuine evidence says: the
// same transaction bytes, receipt (as a leaf) and tree.
func sameEvidence(e, genuine *Evidence) bool {
	a, errA := e.Receipt.LeafHash()
	b, errB := genuine.Receipt.LeafHash()
	return errA == nil && errB == nil && bytes.Equal(a, b) &&
		bytes.Equal(e.Tx, genuine.Tx) && e.Proof.LeafIndex == genuine.Proof.LeafIndex &&
		e.Head.Root == genuine.Head.Root && e.Head.TreeSize == genuine.Head.TreeSize
}
