package backup

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

// Options say what a backup is checked against.
type Options struct {
	// Genesis is the network's genesis: the backup must hold its ledger.
	Genesis *chain.Genesis
	// Trust names the node keys whose signature on the head is accepted.
	Trust verify.Trust
	// Progress, if set, is told how far the check is: stage "read" in
	// bytes of the file, stage "chain" in blocks.
	Progress func(stage string, done, total int64)
}

// Report is what a successful check verified.
type Report struct {
	Header Header            `json:"header"`
	Chain  state.ChainReport `json:"chain"`
	// FileBytes is the size of the backup file.
	FileBytes int64 `json:"fileBytes"`
}

// Verify checks a backup stream end to end without keeping anything: the
// state is extracted into a temporary file under tmpDir (the system's
// temporary directory when empty) and removed afterwards.
func Verify(r io.Reader, tmpDir string, o Options) (*Report, error) {
	dir, err := os.MkdirTemp(tmpDir, "tradeledger-backup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	return Extract(r, filepath.Join(dir, "state.db"), o)
}

// Extract checks a backup stream and leaves its state database at path (a
// new file): the frame and checksums, bbolt's consistency check, the
// genesis, the head's signature by a trusted node key, that the head is
// the state's, and the chain of blocks up to it. Errors wrap ErrIntegrity,
// ErrGenesis, ErrHead or ErrChain; on any error no file is left at path.
func Extract(r io.Reader, path string, o Options) (rep *Report, err error) {
	if o.Genesis == nil {
		return nil, errors.New("backup: the network's genesis is required")
	}
	gh, err := o.Genesis.Hash()
	if err != nil {
		return nil, err
	}
	cr := &countReader{r: r}
	br, err := NewReader(cr)
	if err != nil {
		return nil, err
	}
	hdr := br.Header
	if hdr.Network != o.Genesis.Network || hdr.GenesisHash != gh {
		return nil, fmt.Errorf("%w: the backup is of network %q (genesis %s), the genesis given is of %q (%s): pass the genesis of the network the backup was made from",
			ErrGenesis, hdr.Network, short(hdr.GenesisHash), o.Genesis.Network, short(gh))
	}
	defer func() {
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	total := int64(len(Magic)+4) + hdr.StateBytes
	stateIn := br.State()
	if o.Progress != nil {
		stateIn = &progressReader{r: stateIn, fn: func(n int64) { o.Progress("read", n, total) }}
	}
	if err := state.WriteSnapshotFile(stateIn, path); err != nil {
		if errors.Is(err, state.ErrCorruptSnapshot) {
			return nil, fmt.Errorf("%w: state stream: %v", ErrIntegrity, err)
		}
		return nil, err
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	if err := state.CheckFile(path, o.Genesis); err != nil {
		if errors.Is(err, state.ErrWrongGenesis) {
			return nil, fmt.Errorf("%w: %v", ErrGenesis, err)
		}
		return nil, fmt.Errorf("%w: state database: %v", ErrIntegrity, err)
	}
	// With the genesis as the trust, a head signed by a key it does not
	// name may still be signed by a node key the ledger itself authorised
	// (registered for a node added after the genesis, signed by an admin
	// key that descends from the genesis): that is known once the chain is
	// walked, below.
	untrusted := false
	if err := verify.Head(&hdr.Head, o.Trust); errors.Is(err, verify.ErrUntrusted) && trustIsGenesis(o.Trust, o.Genesis) {
		untrusted = true
	} else if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHead, err)
	}
	m, a, err := state.FileHead(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	h := hdr.Head
	if h.Height != m.Height || h.BlockHash != m.BlockHash || h.TreeSize != m.TreeSize || h.Root != m.Root || h.Time != m.Time {
		return nil, fmt.Errorf("%w: the signed head (height %d, block %s) does not describe the state in the file (height %d, block %s)",
			ErrHead, h.Height, short(h.BlockHash), m.Height, short(m.BlockHash))
	}
	if a.Index != hdr.AppliedIndex || a.Term != hdr.AppliedTerm {
		return nil, fmt.Errorf("%w: header says applied index %d term %d, the state holds %d term %d", ErrIntegrity, hdr.AppliedIndex, hdr.AppliedTerm, a.Index, a.Term)
	}
	var progress func(h, of uint64)
	if o.Progress != nil {
		progress = func(h, of uint64) { o.Progress("chain", int64(h), int64(of)) }
	}
	ch, err := state.CheckChain(path, o.Genesis, progress)
	if err != nil {
		if errors.Is(err, state.ErrChainBroken) {
			return nil, fmt.Errorf("%w: %v", ErrChain, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	if untrusted {
		if err := headByLedgerKey(&hdr.Head, o.Trust, ch); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHead, err)
		}
	}
	return &Report{Header: hdr, Chain: *ch, FileBytes: cr.n}, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type progressReader struct {
	r    io.Reader
	n    int64
	last int64
	fn   func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n-p.last >= 64<<20 || (err == io.EOF && p.n != p.last) {
		p.last = p.n
		p.fn(p.n)
	}
	return n, err
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// trustIsGenesis: the trust is the genesis' own node keys (the default,
// or --trust genesis.json). Only then does the ledger's key history extend
// it: a trust file that names other keys says exactly which to accept.
func trustIsGenesis(t verify.Trust, g *chain.Genesis) bool {
	gt := verify.TrustFromGenesis(g)
	return t.Network == gt.Network && maps.Equal(t.Nodes, gt.Nodes)
}

// headByLedgerKey accepts a head whose signer the trust does not name when
// the ledger's own key history, up to that head, holds the signer valid
// for the node that signed it; it names the key and what the ledger says
// of it otherwise.
func headByLedgerKey(h *chain.Head, trust verify.Trust, ch *state.ChainReport) error {
	fp := tx.FingerprintOf(h.Signer)
	if node, ok := ch.NodeKeys[h.Signer]; ok {
		if node != h.Node {
			return fmt.Errorf("head.signer %s is the key of node %q on the ledger, but the head names node %q", fp, node, h.Node)
		}
		ext := verify.Trust{Network: trust.Network, Nodes: map[string]string{h.Signer: node}}
		return verify.Head(h, ext)
	}
	why := "no genesis node has it and no key.register on the ledger authorised it for a node"
	if ended, ok := ch.EndedKeys[h.Signer]; ok {
		why = "the ledger no longer holds it valid: " + ended
	}
	return fmt.Errorf("head.signer %s (node %q): %w: %s (trusted: the trust file's %d node keys and the %d node keys the ledger holds at height %d)",
		fp, h.Node, verify.ErrUntrusted, why, len(trust.Nodes), len(ch.NodeKeys), ch.Height)
}
