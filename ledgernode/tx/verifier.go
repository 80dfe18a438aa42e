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
	verified recent[struct{}] // ids whose signature verified
	checked  recent[struct{}] // ids whose payload passed its stateless check
	decoded  recent[*Signed]  // envelopes decoded lately, by id
}

// recent remembers about max entries by id: two generations of max/2
// each; when the current one is full it becomes the previous one and the
// oldest is forgotten. Safe for concurrent use.
type recent[V any] struct {
	mu        sync.Mutex
	cur, prev map[[32]byte]V
	max       int
}

func newRecent[V any](max int) recent[V] {
	return recent[V]{cur: map[[32]byte]V{}, prev: map[[32]byte]V{}, max: max}
}

func (r *recent[V]) get(id [32]byte) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := r.cur[id]; ok {
		return v, true
	}
	v, ok := r.prev[id]
	return v, ok
}

func (r *recent[V]) put(id [32]byte, v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cur) >= r.max/2 {
		r.prev, r.cur = r.cur, make(map[[32]byte]V, r.max/2)
	}
	r.cur[id] = v
}

// NewVerifier returns a verifier remembering about max ids (default 200k).
func NewVerifier(max int) *Verifier {
	if max <= 0 {
		max = 200_000
	}
	return &Verifier{verified: newRecent[struct{}](max), checked: newRecent[struct{}](max), decoded: newRecent[*Signed](32768)}
}

// PayloadChecked says whether MarkPayloadChecked was called for this id
// lately: its payload passed its type's stateless check on this node. The
// check is a pure function of the type and payload, which the id covers,
// so the state machine need not run it again for an envelope checked
// before consensus.
func (v *Verifier) PayloadChecked(id [32]byte) bool {
	_, ok := v.checked.get(id)
	return ok
}

// MarkPayloadChecked records that the payload of id passed its check.
func (v *Verifier) MarkPayloadChecked(id [32]byte) { v.checked.put(id, struct{}{}) }

// Remember keeps a decoded envelope so that the state machine, receiving
// the same canonical bytes in a block shortly after, need not decode them
// again. Signed values are never modified after Decode, so sharing is safe.
func (v *Verifier) Remember(s *Signed) { v.decoded.put(s.ID, s) }

// Decoded returns a remembered envelope whose canonical bytes are exactly
// raw (its id is SHA-256 of raw), or false.
func (v *Verifier) Decoded(raw []byte) (*Signed, bool) {
	s, ok := v.decoded.get(sha256.Sum256(raw))
	if !ok || !bytes.Equal(s.Canonical, raw) {
		return nil, false
	}
	return s, true
}

// Verify checks s's signature, using the cache.
func (v *Verifier) Verify(s *Signed) error {
	if _, ok := v.verified.get(s.ID); ok {
		return nil
	}
	if err := s.VerifySignature(); err != nil {
		return err
	}
	v.verified.put(s.ID, struct{}{})
	return nil
}
