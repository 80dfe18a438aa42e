package state

import (
	"errors"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Precheck makes, before consensus, every check that does not need the
// block: network, time window (against now, the node's clock: this is
// outside the state machine), type and payload shape, signature (cached for
// the state machine), and that the key is registered and valid now. A
// transaction already recorded is returned as existing, so that a client
// retrying after a timeout gets the original receipt instead of a duplicate.
//
// The state machine repeats all of it at block time; Precheck only keeps
// garbage out of the log and gives the client a fast, clear 4xx.
func (s *Store) Precheck(st *tx.Signed, now time.Time) (existing *TxRecord, err error) {
	// The block will be stamped at least just after the last block, whatever
	// this node's clock says (a leader's clock may have run ahead): judge
	// the window and the key at the later of the two.
	if last, err := tx.ParseTime(s.Meta().Time); err == nil && last.After(now) {
		now = last.Add(time.Microsecond)
	}
	if rej := s.statelessChecks(st, now); rej != nil {
		return nil, rej
	}
	err = s.View(func(v *View) error {
		rec, err := v.TxByID(st.IDHex())
		if err == nil {
			existing = rec
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := s.verif.Verify(st); err != nil {
			return &Rejection{Reasons: AsReasons(err, CodeBadSignature)}
		}
		if _, rej := resolveSigner(v, st.Signer, now); rej != nil {
			return rej
		}
		s.verif.Remember(st)
		return nil
	})
	return existing, err
}
