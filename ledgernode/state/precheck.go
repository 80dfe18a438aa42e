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
	now = s.LedgerNow(now)
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
		if rej := nonceUsed(v, st); rej != nil {
			return rej
		}
		s.verif.Remember(st)
		return nil
	})
	return existing, err
}

// LedgerNow is the earliest time the next block can carry: now, or just
// after the last block when the ledger's time has run ahead of this node's
// clock (a leader's clock may). Checks made outside the state machine judge
// time windows and key validity at it, as the block will.
func (s *Store) LedgerNow(now time.Time) time.Time {
	if last, err := tx.ParseTime(s.Meta().Time); err == nil && !last.Before(now) {
		return last.Add(time.Microsecond)
	}
	return now
}
