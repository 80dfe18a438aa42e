package state

import (
	"errors"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Precheck makes, before consensus, every check that does not depend on
// the transaction's place in the order: network, time window and the
// handler's own time checks (against the ledger's time now: this is
// outside the state machine), type and payload shape, signature (cached
// for the state machine), that the key is registered and valid now and its
// nonce unused, and that a signer of its kind may submit the type (the
// handler's Signers and Authorize). What fails here is refused with a 4xx
// and never reaches a block; what depends on state at the transaction's
// place in the order (roles, jurisdiction, records and their status) is
// decided by Apply and recorded as rejected. A
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
			return &wire.Rejection{Reasons: AsReasons(err, wire.CodeBadSignature)}
		}
		signer, rej := s.resolveSigner(v, st.Signer, now)
		if rej != nil {
			return rej
		}
		if rej := nonceUsed(v, st); rej != nil {
			return rej
		}
		h, _ := s.reg.Lookup(st.Type)
		if rej := h.authorize(signer, st.Payload); rej != nil {
			return rej
		}
		if h.Precheck != nil {
			p := s.genesis.Params
			latest := st.CreatedTime().Add(time.Duration(p.TxWindowSeconds+p.MaxClockSkewSeconds) * time.Second)
			if err := h.Precheck(st.Payload, latest); err != nil {
				return &wire.Rejection{Reasons: AsReasons(err, wire.CodeInvalid)}
			}
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
