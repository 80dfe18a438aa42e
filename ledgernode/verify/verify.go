package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/transparency-dev/merkle/proof"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Evidence is everything needed to prove one transaction's outcome: what
// `GET /v1/tx/{id}?proof=true` returns and `ledgerctl verify` reads.
type Evidence struct {
	Tx      json.RawMessage          `json:"tx"` // canonical envelope
	Receipt chain.Receipt            `json:"receipt"`
	Proof   chain.InclusionProofJSON `json:"proof"`
	Head    chain.Head               `json:"head"`
}

// Trust is what a verifier trusts: the network and its node keys.
type Trust struct {
	Network string            `json:"network"`
	Nodes   map[string]string `json:"nodes"` // node key id -> node name
}

// TrustFromGenesis trusts the genesis nodes.
func TrustFromGenesis(g *chain.Genesis) Trust {
	t := Trust{Network: g.Network, Nodes: map[string]string{}}
	for _, n := range g.Nodes {
		t.Nodes[n.Key] = n.ID
	}
	return t
}

// LoadTrust reads a trust file or a genesis file (recognised by its fields).
func LoadTrust(path string) (Trust, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Trust{}, err
	}
	var probe struct {
		Nodes json.RawMessage `json:"nodes"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Trust{}, fmt.Errorf("%s: %w", path, err)
	}
	if bytes.HasPrefix(bytes.TrimSpace(probe.Nodes), []byte("[")) {
		var g chain.Genesis
		if err := json.Unmarshal(data, &g); err != nil {
			return Trust{}, fmt.Errorf("%s: %w", path, err)
		}
		if err := g.Validate(); err != nil {
			return Trust{}, err
		}
		return TrustFromGenesis(&g), nil
	}
	var t Trust
	if err := json.Unmarshal(data, &t); err != nil {
		return Trust{}, fmt.Errorf("%s: %w", path, err)
	}
	if t.Network == "" || len(t.Nodes) == 0 {
		return Trust{}, fmt.Errorf("%s: a trust file needs \"network\" and at least one entry in \"nodes\"", path)
	}
	return t, nil
}

// ErrUntrusted is returned when a head is signed by a key not in Trust.
var ErrUntrusted = errors.New("head signed by a key that is not trusted")

// Head checks that a head is well-formed, for the trusted network, and
// signed by a trusted node key.
func Head(h *chain.Head, trust Trust) error {
	if h.Network != trust.Network {
		return fmt.Errorf("head.network %q: this verifier trusts network %q", h.Network, trust.Network)
	}
	if _, ok := trust.Nodes[h.Signer]; !ok {
		return fmt.Errorf("head.signer %s (node %q): %w", tx.FingerprintOf(h.Signer), h.Node, ErrUntrusted)
	}
	if err := h.VerifySignature(); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	if _, err := chain.ParseHash(h.Root); err != nil {
		return fmt.Errorf("head.root: %w", err)
	}
	return nil
}

// Result summarises a successful verification.
type Result struct {
	TxID     string       `json:"txId"`
	Type     string       `json:"type"`
	Status   chain.Status `json:"status"`
	Height   uint64       `json:"height"`
	Signer   string       `json:"signer"`
	HeadNode string       `json:"headNode"`
	TreeSize uint64       `json:"treeSize"`
}

// Receipt checks evidence end to end: the head, the envelope's signature and
// id, the receipt's link to the envelope, and the inclusion of the receipt in
// the tree the head commits to. Any failure is an error naming the part.
func Receipt(ev *Evidence, trust Trust) (*Result, error) {
	if err := Head(&ev.Head, trust); err != nil {
		return nil, err
	}
	s, err := tx.Decode(ev.Tx, tx.Limits{MaxEnvelopeBytes: 64 << 20})
	if err != nil {
		return nil, fmt.Errorf("tx: %w", err)
	}
	if err := s.VerifySignature(); err != nil {
		return nil, fmt.Errorf("tx: %w", err)
	}
	if s.Network != trust.Network {
		return nil, fmt.Errorf("tx.network %q: this verifier trusts network %q", s.Network, trust.Network)
	}
	r := &ev.Receipt
	if r.TxID != s.IDHex() {
		return nil, fmt.Errorf("receipt.txId %s does not match the transaction's id %s", r.TxID, s.IDHex())
	}
	if r.Signer != s.Signer || r.Type != s.Type {
		return nil, fmt.Errorf("receipt signer/type do not match the transaction")
	}
	p := &ev.Proof
	if p.LeafIndex != r.LeafIndex {
		return nil, fmt.Errorf("proof.leafIndex %d does not match receipt.leafIndex %d", p.LeafIndex, r.LeafIndex)
	}
	if p.TreeSize != ev.Head.TreeSize {
		return nil, fmt.Errorf("proof.treeSize %d does not match head.treeSize %d", p.TreeSize, ev.Head.TreeSize)
	}
	hashes, err := chain.ParseHexHashes(p.Hashes)
	if err != nil {
		return nil, fmt.Errorf("proof.%w", err)
	}
	leaf, err := r.LeafHash()
	if err != nil {
		return nil, fmt.Errorf("receipt: %w", err)
	}
	root, _ := chain.ParseHash(ev.Head.Root)
	if err := proof.VerifyInclusion(chain.Hasher, p.LeafIndex, p.TreeSize, leaf, hashes, root); err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	return &Result{TxID: r.TxID, Type: r.Type, Status: r.Status, Height: r.Height, Signer: r.Signer,
		HeadNode: ev.Head.Node, TreeSize: p.TreeSize}, nil
}

// Consistency checks that newer extends older: both heads trusted, and the
// consistency proof links their roots. A verifier that saved older proves
// the ledger was not rewritten since.
func Consistency(older, newer *chain.Head, p *chain.ConsistencyProofJSON, trust Trust) error {
	if err := Head(older, trust); err != nil {
		return fmt.Errorf("older %w", err)
	}
	if err := Head(newer, trust); err != nil {
		return fmt.Errorf("newer %w", err)
	}
	if p.From != older.TreeSize || p.To != newer.TreeSize {
		return fmt.Errorf("proof covers sizes %d..%d, heads are %d..%d", p.From, p.To, older.TreeSize, newer.TreeSize)
	}
	hashes, err := chain.ParseHexHashes(p.Hashes)
	if err != nil {
		return fmt.Errorf("proof.%w", err)
	}
	r1, _ := hex.DecodeString(older.Root)
	r2, _ := hex.DecodeString(newer.Root)
	if err := proof.VerifyConsistency(chain.Hasher, p.From, p.To, hashes, r1, r2); err != nil {
		return fmt.Errorf("consistency proof: %w", err)
	}
	return nil
}
