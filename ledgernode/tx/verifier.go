package tx

import "sync"

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
}

// NewVerifier returns a verifier remembering about max ids (default 200k).
func NewVerifier(max int) *Verifier {
	if max <= 0 {
		max = 200_000
	}
	return &Verifier{cur: map[[32]byte]struct{}{}, prev: map[[32]byte]struct{}{}, max: max}
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
