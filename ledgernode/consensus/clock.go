package consensus

// The clock gate: a leader stamps a block with its clock only when a
// quorum of voters' clocks agree with it (clockcheck). When they do not,
// it proposes nothing (the transactions are answered with a retryable
// error naming the skew), and hands leadership to a voter whose clock
// agrees. The state machine never sees any of this.

import (
	"context"
	"errors"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/clockcheck"
)

// ClockGate says whether this node's clock reading may be stamped into a
// block (clockcheck.Monitor). Check reads cached samples only; Refresh
// samples now.
type ClockGate interface {
	Check(at time.Time) error
	Refresh(ctx context.Context)
}

// blockTime is the clock reading to stamp into the next block, or the
// gate's refusal. When the gate cannot tell yet (too few fresh samples:
// just started, peers answering late), it samples once, waiting at most
// 5 s, before refusing.
func (n *Replica) blockTime() (time.Time, error) {
	at := n.cfg.Clock()
	g := n.cfg.ClockGate
	if g == nil {
		return at, nil
	}
	err := g.Check(at)
	if errors.Is(err, clockcheck.ErrUnconfirmed) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		g.Refresh(ctx)
		cancel()
		at = n.cfg.Clock()
		err = g.Check(at)
	}
	if err != nil {
		if n.metrics != nil {
			n.metrics.ClockRefusals.Inc()
			n.metrics.ClockSkewed.Set(1)
		}
		n.clockRefused(err)
		return at, err
	}
	if n.metrics != nil {
		n.metrics.ClockSkewed.Set(0)
	}
	return at, nil
}

// clockRefused logs a refusal (at most every 5 s) and, when the samples
// show this node's clock is the odd one out, hands leadership to a voter
// whose clock agrees (at most one transfer at a time, and every 5 s).
func (n *Replica) clockRefused(err error) {
	var se *clockcheck.SkewError
	if !errors.As(err, &se) {
		return
	}
	n.clockMu.Lock()
	defer n.clockMu.Unlock()
	now := time.Now()
	if now.Sub(n.clockLogged) >= 5*time.Second {
		n.clockLogged = now
		n.log.Error("not proposing: clock check failed", "err", err.Error(), "target", se.Target)
	}
	if se.Kind != clockcheck.ErrSkewed || n.clockTransferring || now.Sub(n.clockTransferred) < 5*time.Second {
		return
	}
	if se.Target == "" {
		return // no voter's clock agrees with a quorum: nobody better to lead
	}
	n.clockTransferring = true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		terr := n.TransferLeadership(ctx, se.Target)
		if terr != nil {
			n.log.Warn("clock skew: leadership transfer failed; retrying while the skew lasts", "to", se.Target, "err", terr)
		} else {
			n.log.Warn("clock skew: leadership handed over to a voter whose clock agrees", "to", se.Target)
		}
		n.clockMu.Lock()
		n.clockTransferring, n.clockTransferred = false, time.Now()
		n.clockMu.Unlock()
	}()
}

// checkClockWhileLeading runs the gate on the watch loop's tick, so that an
// idle leader with a skewed clock hands over too, and the metric is current.
func (n *Replica) checkClockWhileLeading() {
	if n.cfg.ClockGate == nil || !n.IsLeader() {
		if n.metrics != nil {
			n.metrics.ClockSkewed.Set(0)
		}
		return
	}
	if err := n.cfg.ClockGate.Check(n.cfg.Clock()); errors.Is(err, clockcheck.ErrSkewed) {
		if n.metrics != nil {
			n.metrics.ClockSkewed.Set(1)
		}
		n.clockRefused(err)
	}
}
