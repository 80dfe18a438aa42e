package tx

import (
	"bytes"
	"crypto/sha256"
	"sync"
)

// Verifier checks signatures and remembers which envelopes verified, so that
// a node verifies each transaction once: at submission (before consensus)
// and again in the state machine only if it never saw it. The cache is keyed
// by the transaction id, which covers the signer, the signed bytes and the
// signature, so a hit means exactly this envelope verified here. Only
// successes are cached; the answer is the same with or without the cache.
type Verifier struct {
	mu        sync.Mutex
	cur, prev map[[32]byte]struct{}
	max       int

	dmu         sync.Mutex
	dcur, dprev map[[32]byte]*Signed
	maxDecoded  int

	cmu         sync.Mutex
	ccur, cprev map[[32]byte]struct{}
}

// NewVerifier returns a verifier remembering about max ids (default 200k).
func NewVerifier(max int) *Verifier {
	if max <= 0 {
		max = 200_000
	}
	return &Verifier{cur: map[[32]byte]struct{}{}, prev: map[[32]byte]struct{}{}, max: max,
		dcur: map[[32]byte]*Signed{}, dprev: map[[32]byte]*Signed{}, maxDecoded: 32768,
		ccur: map[[32]byte]struct{}{}, cprev: map[[32]byte]struct{}{}}
}

// PayloadChecked says whether MarkPayloadChecked was called for this id
// lately: its payload passed its type's stateless check on this node. The
// check is a pure function of the type and payload, which the id covers,
// so the state machine need not run it again for an envelope checked
// before consensus.
func (v *Verifier) PayloadChecked(id [32]byte) bool {
	v.cmu.Lock()
	defer v.cmu.Unlock()
	if _, ok := v.ccur[id]; ok {
		return true
	}
	_, ok := v.cprev[id]
	return ok
}

// MarkPayloadChecked records that the payload of id passed its check.
func (v *Verifier) MarkPayloadChecked(id [32]byte) {
	v.cmu.Lock()
	defer v.cmu.Unlock()
	if len(v.ccur) >= v.max/2 {
		v.cprev, v.ccur = v.ccur, make(map[[32]byte]struct{}, v.max/2)
	}
	v.ccur[id] = struct{}{}
}

// Remember keeps a decoded envelope so that the state machine, receiving
// the same canonical bytes in a block shortly after, need not decode them
// again. Signed values are never modified after Decode, so sharing is safe.
func (v *Verifier) Remember(s *Signed) {
	v.dmu.Lock()
	defer v.dmu.Unlock()
	if len(v.dcur) >= v.maxDecoded/2 {
		v.dprev, v.dcur = v.dcur, make(map[[32]byte]*Signed, v.maxDecoded/2)
	}
	v.dcur[s.ID] = s
}

// Decoded returns a remembered envelope whose canonical bytes are exactly
// raw (its id is SHA-256 of raw), or false.
func (v *Verifier) Decoded(raw []byte) (*Signed, bool) {
	id := sha256.Sum256(raw)
	v.dmu.Lock()
	s, ok := v.dcur[id]
	if !ok {
		s, ok = v.dprev[id]
	}
	v.dmu.Unlock()
	if !ok || !bytes.Equal(s.Canonical, raw) {
		return nil, false
	}
	return s, true
}

func (v *Verifier) seen(id [32]byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.cur[id]; ok {
		return true
	}
	_, ok := v.prev[id]
	return ok
}

func (v *Verifier) remember(id [32]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cur) >= v.max/2 {
		v.prev, v.cur = v.cur, make(map[[32]byte]struct{}, v.max/2)
	}
	v.cur[id] = struct{}{}
}

// Verify checks s's signature, using the cache.
func (v *Verifier) Verify(s *Signed) error {
	if v.seen(s.ID) {
		return nil
	}
	if err := s.VerifySignature(); err != nil {
		return err
	}
	v.remember(s.ID)
	return nil
}
