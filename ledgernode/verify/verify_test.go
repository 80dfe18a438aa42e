package verify

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

type nodes map[string][]byte

func (n nodes) Node(id compact.NodeID) ([]byte, error) { return n[string(chain.NodeKey(id))], nil }

// newTree is an empty ledger tree (its nodes kept in ns) with the key of
// the node "n0" that signs its heads, trusted for network testnet.
func newTree(t testing.TB) (ed25519.PrivateKey, Trust, nodes, *chain.Appender) {
	t.Helper()
	nodeKey, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	trust := Trust{Network: "testnet", Nodes: map[string]string{tx.KeyID(nodeKey.Public().(ed25519.PublicKey)): "n0"}}
	app, err := chain.NewAppender(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return nodeKey, trust, nodes{}, app
}

// evidenceFor builds a small ledger of receipts and returns the evidence
// for the transaction at position at, plus the node key and trust.
func evidenceFor(t testing.TB, count, at int) (*Evidence, Trust, ed25519.PrivateKey) {
	t.Helper()
	nodeKey, trust, ns, app := newTree(t)
	user, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var ev Evidence
	for i := 0; i < count; i++ {
		st, err := tx.BuildSigned("testnet", "note.put", map[string]any{"key": "k", "value": i}, time.Now(), user)
		if err != nil {
			t.Fatal(err)
		}
		rc := chain.Receipt{TxID: st.IDHex(), Type: st.Type, Signer: st.Signer, Height: uint64(i + 1), LeafIndex: uint64(i), Time: "2026-01-01T00:00:00.000000Z", Status: chain.Accepted}
		lh, err := rc.LeafHash()
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Append(lh, func(id compact.NodeID, h []byte) { ns[string(chain.NodeKey(id))] = h }); err != nil {
			t.Fatal(err)
		}
		if i == at {
			ev.Tx, ev.Receipt = st.Canonical, rc
		}
	}
	root, err := app.Root()
	if err != nil {
		t.Fatal(err)
	}
	p, err := chain.InclusionProof(ns, uint64(at), uint64(count))
	if err != nil {
		t.Fatal(err)
	}
	ev.Proof = chain.InclusionProofJSON{LeafIndex: uint64(at), TreeSize: uint64(count), Hashes: chain.HexHashes(p)}
	ev.Head = chain.Head{Network: "testnet", Height: uint64(count), TreeSize: uint64(count), Root: hex.EncodeToString(root), BlockHash: strings.Repeat("0", 64), Time: "2026-01-01T00:00:00.000000Z", Node: "n0"}
	if err := ev.Head.Sign(nodeKey); err != nil {
		t.Fatal(err)
	}
	return &ev, trust, nodeKey
}

func clone(t *testing.T, ev *Evidence) *Evidence {
	raw, _ := json.Marshal(ev)
	var c Evidence
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestReceiptEvidenceVerifiesAndEveryTamperingFails(t *testing.T) {
	ev, trust, _ := evidenceFor(t, 11, 6)
	if res, err := Receipt(ev, trust); err != nil || res.Status != chain.Accepted {
		t.Fatalf("valid evidence: %v", err)
	}
	stranger, _ := tx.GenerateKey()
	other, _, _ := evidenceFor(t, 11, 6)
	cases := []struct {
		name, want string
		f          func(e *Evidence)
	}{
		{"receipt status changed", "inclusion proof", func(e *Evidence) { e.Receipt.Status = chain.Rejected }},
		{"receipt height changed", "inclusion proof", func(e *Evidence) { e.Receipt.Height++ }},
		{"another transaction", "receipt.txId", func(e *Evidence) { e.Tx = other.Tx }},
		{"envelope altered", "tx:", func(e *Evidence) { e.Tx = []byte(strings.Replace(string(e.Tx), `"value":6`, `"value":7`, 1)) }},
		{"proof hash flipped", "inclusion proof", func(e *Evidence) { e.Proof.Hashes[0] = strings.Repeat("ab", 32) }},
		{"proof truncated", "inclusion proof", func(e *Evidence) { e.Proof.Hashes = e.Proof.Hashes[:1] }},
		{"proof for another size", "proof.treeSize", func(e *Evidence) { e.Proof.TreeSize = 10 }},
		{"head root changed", "head", func(e *Evidence) { e.Head.Root = strings.Repeat("cd", 32) }},
		{"head signed by an untrusted key", "not trusted", func(e *Evidence) {
			if err := e.Head.Sign(stranger); err != nil {
				t.Fatal(err)
			}
		}},
		{"head of another network", "network", func(e *Evidence) { e.Head.Network = "othernet" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := clone(t, ev)
			c.f(e)
			_, err := Receipt(e, trust)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
}

func TestConsistencyBetweenHeads(t *testing.T) {
	nodeKey, trust, ns, app := newTree(t)
	var heads []chain.Head
	for i := 0; i < 20; i++ {
		if err := app.Append(chain.Hasher.HashLeaf([]byte{byte(i)}), func(id compact.NodeID, h []byte) { ns[string(chain.NodeKey(id))] = h }); err != nil {
			t.Fatal(err)
		}
		r, err := app.Root()
		if err != nil {
			t.Fatal(err)
		}
		h := chain.Head{Network: "testnet", Height: uint64(i + 1), TreeSize: app.Size(), Root: hex.EncodeToString(r), Node: "n0"}
		if err := h.Sign(nodeKey); err != nil {
			t.Fatal(err)
		}
		heads = append(heads, h)
	}
	old, cur := heads[6], heads[19]
	p, err := chain.ConsistencyProof(ns, old.TreeSize, cur.TreeSize)
	if err != nil {
		t.Fatal(err)
	}
	pj := chain.ConsistencyProofJSON{From: old.TreeSize, To: cur.TreeSize, Hashes: chain.HexHashes(p)}
	if err := Consistency(&old, &cur, &pj, trust); err != nil {
		t.Fatal(err)
	}
	// A rewritten history: same size, different root, re-signed by the node.
	forged := old
	forged.Root = strings.Repeat("11", 32)
	if err := forged.Sign(nodeKey); err != nil {
		t.Fatal(err)
	}
	if err := Head(&forged, trust); err != nil {
		t.Fatalf("setup: the forged head must carry a valid signature: %v", err)
	}
	if err := Consistency(&forged, &cur, &pj, trust); err == nil || !strings.Contains(err.Error(), "consisten") {
		t.Fatalf("rewritten history: %v, want a consistency failure", err)
	}
	bad := pj
	bad.From = 5
	if err := Consistency(&old, &cur, &bad, trust); err == nil {
		t.Fatal("proof for other sizes accepted")
	}
}

func TestLoadTrustFromGenesisOrTrustFile(t *testing.T) {
	dir := t.TempDir()
	k, _ := tx.GenerateKey()
	id := tx.KeyID(k.Public().(ed25519.PublicKey))
	g := chain.Genesis{Network: "testnet", Time: "2026-01-01T00:00:00Z", Admins: []string{id},
		Nodes: []chain.GenesisNode{{ID: "n0", RaftAddr: "a:1", APIAddr: "a:2", Key: id}}, Params: chain.DefaultParams()}
	raw, _ := json.Marshal(g)
	gp := dir + "/genesis.json"
	_ = writeFile(gp, raw)
	tr, err := LoadTrust(gp)
	if err != nil || tr.Nodes[id] != "n0" || tr.Network != "testnet" {
		t.Fatalf("trust from genesis: %+v %v", tr, err)
	}
	tp := dir + "/trust.json"
	_ = writeFile(tp, []byte(`{"network":"testnet","nodes":{"`+id+`":"n0"}}`))
	if tr, err := LoadTrust(tp); err != nil || tr.Nodes[id] != "n0" {
		t.Fatalf("trust file: %+v %v", tr, err)
	}
	_ = writeFile(tp, []byte(`{"network":"testnet"}`))
	if _, err := LoadTrust(tp); err == nil {
		t.Fatal("trust file without nodes accepted")
	}
}
