package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
)

// The file: Magic, the header's length (4 bytes, big-endian) and the
// header (JSON), the state stream (state.Snapshot.WriteTo: its own frame,
// length and SHA-256), then TrailerMagic and the SHA-256 of every byte
// before it. The trailer makes any damage to the header, and a file cut
// short anywhere, visible before anything in it is used.
const (
	Magic        = "TLBACKUP1\n"
	TrailerMagic = "TLBACKUP-END"
	// MaxHeaderBytes bounds the header a reader accepts.
	MaxHeaderBytes = 1 << 20
	// FormatVersion is the version of the header this package writes.
	FormatVersion = 1
	// ContentType is the media type of a backup stream over HTTP.
	ContentType = "application/vnd.tradeledger.backup"
)

// Header describes a backup.
type Header struct {
	Format      int    `json:"format"`
	Network     string `json:"network"`
	GenesisHash string `json:"genesisHash"`
	// Head is the ledger head of the backed-up state, signed by Node.
	Head chain.Head `json:"head"`
	// AppliedIndex and AppliedTerm are the last Raft entry the state holds:
	// a cluster restored from the backup continues its log after them.
	AppliedIndex uint64 `json:"appliedIndex"`
	AppliedTerm  uint64 `json:"appliedTerm"`
	Node         string `json:"node"`
	CreatedAt    string `json:"createdAt"`
	// StateBytes is the length of the state stream that follows.
	StateBytes int64 `json:"stateBytes"`
}

// Validate checks the header's own fields.
func (h *Header) Validate() error {
	switch {
	case h.Format != FormatVersion:
		return fmt.Errorf("header.format %d: this version reads format %d (a newer ledgerctl may read it)", h.Format, FormatVersion)
	case h.Network == "" || h.Network != h.Head.Network:
		return fmt.Errorf("header.network %q: must be set and equal head.network %q", h.Network, h.Head.Network)
	case len(h.GenesisHash) != 64:
		return fmt.Errorf("header.genesisHash %q: must be a SHA-256 in hex", h.GenesisHash)
	case h.StateBytes <= 0:
		return fmt.Errorf("header.stateBytes %d: must be positive", h.StateBytes)
	}
	return nil
}

// Write writes a backup: the header, then state (which must write exactly
// hdr.StateBytes bytes), then the trailer. It returns the bytes written.
func Write(w io.Writer, hdr Header, state func(io.Writer) (int64, error)) (int64, error) {
	hdr.Format = FormatVersion
	raw, err := json.Marshal(hdr)
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(raw)))
	for _, part := range [][]byte{[]byte(Magic), l[:], raw} {
		if _, err := cw.Write(part); err != nil {
			return cw.n, err
		}
	}
	n, err := state(cw)
	if err != nil {
		return cw.n, fmt.Errorf("state stream: %w", err)
	}
	if n != hdr.StateBytes {
		return cw.n, fmt.Errorf("state stream: wrote %d bytes, the header says %d", n, hdr.StateBytes)
	}
	sum := h.Sum(nil)
	m, err := w.Write(append([]byte(TrailerMagic), sum...))
	return cw.n + int64(m), err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Error kinds: what failed decides ledgerctl's exit code.
var (
	// ErrIntegrity: the file is not a whole, unaltered backup (bad magic,
	// truncated, checksum mismatch, a database that fails bbolt's check).
	ErrIntegrity = errors.New("backup integrity")
	// ErrChain: the blocks in it do not form the chain the head claims.
	ErrChain = errors.New("backup chain")
	// ErrHead: the head is not signed by a trusted node key, or does not
	// describe the state in the file.
	ErrHead = errors.New("backup head")
	// ErrGenesis: the backup belongs to another network or genesis.
	ErrGenesis = errors.New("backup genesis")
)

// Reader reads a backup stream: the header first, then the state.
type Reader struct {
	Header Header
	r      *bufio.Reader
	h      hash.Hash
	state  io.Reader
}

// NewReader reads and checks the magic and the header.
func NewReader(r io.Reader) (*Reader, error) {
	br := &Reader{r: bufio.NewReaderSize(r, 1<<20), h: sha256.New()}
	tee := io.TeeReader(br.r, br.h)
	pre := make([]byte, len(Magic)+4)
	if _, err := io.ReadFull(tee, pre); err != nil {
		return nil, fmt.Errorf("%w: not a tradeledger backup (file shorter than its header: %v)", ErrIntegrity, err)
	}
	if string(pre[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: not a tradeledger backup (it does not start with %q)", ErrIntegrity, bytes.TrimSpace([]byte(Magic)))
	}
	n := binary.BigEndian.Uint32(pre[len(Magic):])
	if n == 0 || n > MaxHeaderBytes {
		return nil, fmt.Errorf("%w: header length %d is out of range (1..%d)", ErrIntegrity, n, MaxHeaderBytes)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(tee, raw); err != nil {
		return nil, fmt.Errorf("%w: truncated in its header: %v", ErrIntegrity, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&br.Header); err != nil {
		return nil, fmt.Errorf("%w: header does not decode: %v", ErrIntegrity, err)
	}
	if err := br.Header.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	br.state = io.LimitReader(tee, br.Header.StateBytes)
	return br, nil
}

// State is the state stream (state.WriteSnapshotFile reads it). Read it
// to its end before calling Close.
func (r *Reader) State() io.Reader { return r.state }

// Close reads the trailer and checks the file's checksum and that nothing
// follows it. Call it after the state stream was read whole.
func (r *Reader) Close() error {
	if n, _ := io.Copy(io.Discard, r.state); n > 0 {
		return fmt.Errorf("%w: %d bytes of the state stream were not read", ErrIntegrity, n)
	}
	sum := r.h.Sum(nil)
	tr := make([]byte, len(TrailerMagic)+sha256.Size)
	if _, err := io.ReadFull(r.r, tr); err != nil {
		return fmt.Errorf("%w: truncated: the trailer is missing (%v); the copy was cut short", ErrIntegrity, err)
	}
	if string(tr[:len(TrailerMagic)]) != TrailerMagic {
		return fmt.Errorf("%w: the trailer is damaged", ErrIntegrity)
	}
	if !bytes.Equal(tr[len(TrailerMagic):], sum) {
		return fmt.Errorf("%w: checksum mismatch: the file was altered or damaged", ErrIntegrity)
	}
	if n, _ := io.CopyN(io.Discard, r.r, 1); n > 0 {
		return fmt.Errorf("%w: unexpected bytes after the trailer", ErrIntegrity)
	}
	return nil
}

// Size is the length of the backup file Write makes with hdr.
func Size(hdr Header) (int64, error) {
	hdr.Format = FormatVersion
	raw, err := json.Marshal(hdr)
	if err != nil {
		return 0, err
	}
	return int64(len(Magic)+4+len(raw)) + hdr.StateBytes + int64(len(TrailerMagic)+sha256.Size), nil
}
