package controllers

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// signer writes to one network's ledger with one key: the network admin's
// (agency registration and suspension) or an agency's (its key rotation,
// its policies).
type signer struct {
	ledger Ledger // every call bounded (dialBounded)
	net    *ledgerv1.LedgerNetwork
	key    ed25519.PrivateKey
}

// ledgerWrite is one transaction the operator writes.
type ledgerWrite struct {
	typ     string // the transaction type
	payload any    // its payload: a struct that marshals to the type's JSON
	what    string // what it asks, for people: "register agency/us-cbp"
	refused string // the reason a refusal is reported under: "RegistrationRejected"
	// attempt fixes the creation time and nonce (a publication claimed on
	// the object), so that a pass that sends it again sends the very same
	// transaction; nil: now, with a fresh nonce.
	attempt *attempt
}

// attempt is what makes an envelope the same each time it is built: its
// creation time and nonce.
type attempt struct {
	created time.Time
	nonce   string
}

// refusal is a transaction the ledger recorded as rejected. Its answer is
// final (the same write would be refused again), so a pass ends Degraded
// under reason, with a Warning event, until a person acts.
type refusal struct {
	reason  string // condition and event reason
	what    string // what was asked
	typ     string // the transaction type: the event's action
	receipt *chain.Receipt
}

func (r *refusal) Error() string {
	return fmt.Sprintf("the ledger refused to %s (tx %s): %s", r.what, r.receipt.TxID, rejection(r.receipt))
}

func (r *refusal) degradedNote() passNote { return passNote{r.reason, r.Error()} }

// rejectedFor says whether the ledger gave code among its reasons.
func (r *refusal) rejectedFor(code string) bool {
	return slices.ContainsFunc(r.receipt.Reasons, func(x chain.Reason) bool { return x.Code == code })
}

// errAttemptExpired: a write with a fixed attempt, signed too long ago for
// the ledger's time window, that the ledger never recorded.
var errAttemptExpired = errors.New("the attempt is outside the ledger's time window and was never recorded")

// submitSigned is the one way the controllers write to a ledger: it signs
// w with the signer's key, submits it (the signer's ledger bounds the
// call), counts it in calls by type and result, and returns its receipt,
// or a *refusal with the receipt when the ledger recorded it as rejected.
// A write with a fixed attempt that the ledger finds too old is looked up
// by its id, since an earlier pass may have sent it: its receipt, else
// errAttemptExpired.
func submitSigned(ctx context.Context, sg signer, calls *prometheus.CounterVec, w ledgerWrite) (*chain.Receipt, error) {
	st, err := w.sign(sg)
	if err != nil {
		return nil, fmt.Errorf("%s: sign %s: %w", w.what, w.typ, err)
	}
	rc, err := sg.ledger.Submit(ctx, st)
	calls.WithLabelValues(w.typ, result(err)).Inc()
	if w.attempt != nil && errors.Is(err, ErrTxExpired) {
		if rc, err = sg.ledger.Receipt(ctx, st.IDHex()); err != nil {
			return nil, errAttemptExpired
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w.what, err)
	}
	if rc.Status != chain.Accepted {
		return rc, &refusal{reason: w.refused, what: w.what, typ: w.typ, receipt: rc}
	}
	return rc, nil
}

func (w ledgerWrite) sign(sg signer) (*tx.Signed, error) {
	if w.attempt == nil {
		return signNow(sg.net, w.typ, w.payload, sg.key)
	}
	e, err := tx.Build(networkID(sg.net), w.typ, w.payload, w.attempt.created)
	if err != nil {
		return nil, err
	}
	e.Nonce = w.attempt.nonce
	return e.Sign(sg.key)
}

// signNow signs a transaction for a network. The ledger judges `created`
// against its own block time, so this is the real clock, never the
// injected scheduling clock.
func signNow(n *ledgerv1.LedgerNetwork, typ string, payload any, key ed25519.PrivateKey) (*tx.Signed, error) {
	return tx.BuildSigned(networkID(n), typ, payload, time.Now(), key)
}

// rejection says why the ledger rejected a transaction, field by field
// ("" when it was accepted).
func rejection(rc *chain.Receipt) string {
	if rc == nil || rc.Status == chain.Accepted {
		return ""
	}
	var b strings.Builder
	for i, r := range rc.Reasons {
		if i > 0 {
			b.WriteString("; ")
		}
		if r.Field != "" && !strings.HasPrefix(r.Message, r.Field) {
			b.WriteString(r.Field + ": ")
		}
		b.WriteString(r.Message)
	}
	if b.Len() == 0 {
		return "rejected without a reason"
	}
	return b.String()
}
