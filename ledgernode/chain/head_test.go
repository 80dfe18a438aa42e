package chain

import (
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

func TestHeadSignatureCoversEveryField(t *testing.T) {
	k, _ := tx.GenerateKey()
	h := Head{Network: "n", Height: 3, TreeSize: 9, Root: "aa", BlockHash: "bb", Time: "2026-01-01T00:00:00.000000Z", Node: "n0"}
	if err := h.Sign(k); err != nil {
		t.Fatal(err)
	}
	if err := h.VerifySignature(); err != nil {
		t.Fatal(err)
	}
	tamper := []func(*Head){
		func(h *Head) { h.Height++ },
		func(h *Head) { h.TreeSize-- },
		func(h *Head) { h.Root = "ab" },
		func(h *Head) { h.BlockHash = "bc" },
		func(h *Head) { h.Time = "2026-01-01T00:00:00.000001Z" },
		func(h *Head) { h.Node = "n1" },
		func(h *Head) { h.Network = "m" },
		func(h *Head) { h.Sig = h.Sig[:10] },
	}
	for i, f := range tamper {
		c := h
		f(&c)
		if err := c.VerifySignature(); err == nil {
			t.Fatalf("tamper %d verified", i)
		}
	}
}

func TestReceiptLeafIsCanonicalAndStable(t *testing.T) {
	r := Receipt{TxID: "ab", Type: "note.put", Height: 1, Index: 0, LeafIndex: 0, Time: "t", Status: Accepted, Result: []byte(`{"b":1,"a":2}`)}
	d, err := r.LeafData()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"height":1,"index":0,"leafIndex":0,"result":{"a":2,"b":1},"signer":"","status":"accepted","time":"t","txId":"ab","type":"note.put"}`
	if string(d) != want {
		t.Fatalf("leaf data\n%s\nwant\n%s", d, want)
	}
}
