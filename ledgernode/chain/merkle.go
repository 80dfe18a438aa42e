package chain

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// NodeStore reads stored hashes of perfect subtrees of the ledger-wide tree.
type NodeStore interface {
	Node(id compact.NodeID) ([]byte, error)
}

// ErrNodeMissing is returned by a NodeStore that lacks a node.
var ErrNodeMissing = errors.New("merkle node not stored")

var rangeFactory = &compact.RangeFactory{Hash: Hasher.HashChildren}

// NodeKey is the storage key of a tree node: level byte, big-endian index.
func NodeKey(id compact.NodeID) []byte {
	var k [9]byte
	k[0] = byte(id.Level)
	binary.BigEndian.PutUint64(k[1:], id.Index)
	return k[:]
}

// Appender appends leaves to the ledger-wide tree, reporting every new
// perfect-subtree node to store.
type Appender struct {
	rng *compact.Range
}

// NewAppender resumes the tree of size with the compact-range hashes saved
// after the last append (see Appender.Hashes).
func NewAppender(size uint64, hashes [][]byte) (*Appender, error) {
	rng, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("merkle range: %w", err)
	}
	return &Appender{rng: rng}, nil
}

// Append adds one leaf hash; store receives each node that became complete.
func (a *Appender) Append(leafHash []byte, store func(id compact.NodeID, hash []byte)) error {
	return a.rng.Append(leafHash, store)
}

// Size is the number of leaves.
func (a *Appender) Size() uint64 { return a.rng.End() }

// Hashes are the compact-range hashes to save for NewAppender.
func (a *Appender) Hashes() [][]byte { return a.rng.Hashes() }

// Root is the tree root (RFC 6962 empty root for size 0).
func (a *Appender) Root() ([]byte, error) {
	if a.rng.End() == 0 {
		return Hasher.EmptyRoot(), nil
	}
	return a.rng.GetRootHash(nil)
}

// RootAt computes the root of the tree at an earlier size from stored nodes.
func RootAt(ns NodeStore, size uint64) ([]byte, error) {
	if size == 0 {
		return Hasher.EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := fetch(ns, ids)
	if err != nil {
		return nil, err
	}
	rng, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	return rng.GetRootHash(nil)
}

// InclusionProof builds the RFC 6962 inclusion proof of leaf index in the
// tree of size.
func InclusionProof(ns NodeStore, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	return build(ns, nodes, err)
}

// ConsistencyProof builds the RFC 6962 consistency proof between two sizes.
func ConsistencyProof(ns NodeStore, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	return build(ns, nodes, err)
}

// build fetches the stored hashes a proof needs and combines them.
func build(ns NodeStore, nodes proof.Nodes, err error) ([][]byte, error) {
	if err != nil {
		return nil, err
	}
	hashes, err := fetch(ns, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, Hasher.HashChildren)
}

func fetch(ns NodeStore, ids []compact.NodeID) ([][]byte, error) {
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := ns.Node(id)
		if err != nil {
			return nil, fmt.Errorf("node (level %d, index %d): %w", id.Level, id.Index, err)
		}
		hashes[i] = h
	}
	return hashes, nil
}

// InclusionProofJSON is the wire form of an inclusion proof.
type InclusionProofJSON struct {
	LeafIndex uint64   `json:"leafIndex"`
	TreeSize  uint64   `json:"treeSize"`
	Hashes    []string `json:"hashes"`
}

// ConsistencyProofJSON is the wire form of a consistency proof.
type ConsistencyProofJSON struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes []string `json:"hashes"`
}

// HexHashes encodes proof hashes for the wire.
func HexHashes(h [][]byte) []string {
	out := make([]string, len(h))
	for i, b := range h {
		out[i] = hex.EncodeToString(b)
	}
	return out
}

// ParseHexHashes decodes wire proof hashes, each exactly 32 bytes.
func ParseHexHashes(h []string) ([][]byte, error) {
	out := make([][]byte, len(h))
	for i, s := range h {
		b, err := ParseHash(s)
		if err != nil {
			return nil, fmt.Errorf("hashes[%d]: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// ParseHash decodes a lower-case hex SHA-256 hash.
func ParseHash(s string) ([]byte, error) {
	if len(s) != 64 {
		return nil, fmt.Errorf("%q: want 64 hex characters", tshort(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q: not hex", tshort(s))
	}
	return b, nil
}

func tshort(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
