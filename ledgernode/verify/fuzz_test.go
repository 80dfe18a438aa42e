package verify

import (
	"encoding/json"
	"testing"
)

// FuzzVerifyEvidence: evidence read from a file is outside input. Whatever
// it holds, verification answers without panicking, and it never accepts
// evidence that does not parse.
func FuzzVerifyEvidence(f *testing.F) {
	ev, trust, _ := evidenceFor(&testing.T{}, 5, 2)
	good, _ := json.Marshal(ev)
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"proof":{"leafIndex":99,"treeSize":1,"hashes":["00"]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var e Evidence
		if err := json.Unmarshal(raw, &e); err != nil {
			return
		}
		_, _ = Receipt(&e, trust)
	})
}
