package chain

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// FuzzReceiptLeafData: the hand-written canonical form of a receipt is
// byte for byte what the RFC 8785 library makes of its JSON.
func FuzzReceiptLeafData(f *testing.F) {
	f.Add("txid", "note.put", "signer", "accepted", "2026-01-01T00:00:00.000000Z", uint64(3), 1, uint64(9), "", "", "", `{"b":1,"a":[1,2]}`, "policy/x", "rule <&>", 2)
	f.Add("t\u2028", "ty\"pe", "s\\", "rejected", "t\x01", uint64(1)<<53, -1, uint64(0), "code", "field", "message é", "", "", "", 0)
	f.Add("\xff", "", "", "", "", uint64(0), 0, uint64(0), "c", "", "m", `[]`, "s", "", -5)
	f.Fuzz(func(t *testing.T, txid, typ, signer, status, tm string, height uint64, index int, leaf uint64,
		code, field, msg, result, source, rule string, version int) {
		r := Receipt{TxID: txid, Type: typ, Signer: signer, Status: Status(status), Time: tm, Height: height, Index: index, LeafIndex: leaf}
		if code != "" {
			r.Reasons = []Reason{{Code: code, Field: field, Message: msg}, {Code: "b", Message: "x"}}
		}
		if source != "" {
			r.Findings = []Finding{{Source: source, Version: version, Rule: rule, Enforcement: field, Result: code, Message: msg}}
		}
		if result != "" {
			if !json.Valid([]byte(result)) {
				return
			}
			r.Result = json.RawMessage(result)
		}
		want, werr := tx.Canonicalize(r)
		got, gerr := r.LeafData()
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("library err %v, leaf err %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("leaf data\n%s\nlibrary\n%s", got, want)
		}
	})
}
