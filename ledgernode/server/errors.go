package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/wire"

	"github.com/tradeledger/tradeledger/ledgernode/clockcheck"
	"github.com/tradeledger/tradeledger/ledgernode/consensus"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// errBadRequest is for malformed requests outside transactions (query
// parameters, paths).
type errBadRequest struct{ field, msg string }

func (e *errBadRequest) Error() string { return e.field + ": " + e.msg }

func badRequest(field, msg string) error { return &errBadRequest{field, msg} }

var errUnauthorized = errors.New("unauthorized")

// rejectionStatus maps the state machine's rejection codes to HTTP.
var rejectionStatus = map[string]int{
	wire.CodeUnknownKey:   http.StatusForbidden,
	wire.CodeKeyInvalid:   http.StatusForbidden,
	wire.CodeUnauthorized: http.StatusForbidden,
	wire.CodeConflict:     http.StatusConflict,
	wire.CodeNonceReused:  http.StatusConflict,
	wire.CodeNotFound:     http.StatusNotFound,
	wire.CodeBadSignature: http.StatusUnauthorized,
}

// statusOf is the one place where errors become status codes.
func statusOf(err error) (int, wire.ErrorDetail) {
	var rej *wire.Rejection
	var fe *tx.FieldError
	var br *errBadRequest
	var behind *errBehind
	var pe *errPeer
	var notReached *errHeightNotReached
	switch {
	case errors.As(err, &rej):
		st, ok := rejectionStatus[rej.Reasons[0].Code]
		if !ok {
			st = http.StatusBadRequest
		}
		r := rej.Reasons[0]
		return st, wire.ErrorDetail{Code: r.Code, Field: r.Field, Message: r.Message, Reasons: rej.Reasons}
	case errors.Is(err, tx.ErrTooLarge):
		errors.As(err, &fe)
		return http.StatusRequestEntityTooLarge, wire.ErrorDetail{Code: "too_large", Field: fe.Field, Message: fe.Error()}
	case errors.As(err, &fe):
		if errors.Is(err, tx.ErrBadSignature) {
			return http.StatusUnauthorized, wire.ErrorDetail{Code: wire.CodeBadSignature, Field: fe.Field, Message: fe.Error()}
		}
		return http.StatusBadRequest, wire.ErrorDetail{Code: "invalid", Field: fe.Field, Message: fe.Error()}
	case errors.As(err, &br):
		return http.StatusBadRequest, wire.ErrorDetail{Code: "invalid", Field: br.field, Message: br.Error()}
	case errors.As(err, &notReached):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "height_not_reached", Message: notReached.Error()}
	case errors.Is(err, state.ErrHistoryUnavailable):
		return http.StatusConflict, wire.ErrorDetail{Code: "history_unavailable", Field: "asOfHeight", Message: err.Error()}
	case errors.Is(err, state.ErrFutureHeight):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "height_not_reached", Field: "asOfHeight", Message: err.Error()}
	case errors.As(err, &behind):
		return http.StatusConflict, wire.ErrorDetail{Code: "member_behind", Message: behind.msg}
	case errors.As(err, &pe):
		return pe.status, pe.body.Error
	case errors.Is(err, errPeerUnreachable):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "no_leader", Message: err.Error() + "; retry shortly"}
	case errors.Is(err, errUnauthenticated):
		return http.StatusUnauthorized, wire.ErrorDetail{Code: "unauthenticated", Message: strings.TrimPrefix(err.Error(), errUnauthenticated.Error()+": ")}
	case errors.Is(err, errForbidden):
		return http.StatusForbidden, wire.ErrorDetail{Code: "forbidden", Message: strings.TrimPrefix(err.Error(), errForbidden.Error()+": ")}
	case errors.Is(err, errUnauthorized):
		return http.StatusForbidden, wire.ErrorDetail{Code: wire.CodeUnauthorized, Message: err.Error()}
	case errors.Is(err, state.ErrNotFound):
		return http.StatusNotFound, wire.ErrorDetail{Code: "not_found", Message: err.Error()}
	case errors.Is(err, consensus.ErrAlreadyVoter):
		return http.StatusConflict, wire.ErrorDetail{Code: wire.CodeAlreadyVoter, Field: "payload.voter", Message: err.Error()}
	case errors.Is(err, consensus.ErrUnknownMember):
		return http.StatusNotFound, wire.ErrorDetail{Code: "not_found", Message: err.Error()}
	case errors.Is(err, clockcheck.ErrSkewed):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "clock_skew", Message: err.Error() + "; retry shortly"}
	case errors.Is(err, clockcheck.ErrUnconfirmed):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "clock_unconfirmed", Message: err.Error()}
	case errors.Is(err, consensus.ErrNoLeader), errors.Is(err, consensus.ErrNotLeader):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "no_leader", Message: "no leader reachable right now (election in progress or quorum lost); retry shortly"}
	case errors.Is(err, consensus.ErrOutcomeUnknown):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "outcome_unknown", Message: err.Error()}
	case errors.Is(err, errBusy):
		return http.StatusTooManyRequests, wire.ErrorDetail{Code: "busy", Message: err.Error()}
	case errors.Is(err, consensus.ErrOverloaded):
		return http.StatusTooManyRequests, wire.ErrorDetail{Code: "overloaded", Message: err.Error()}
	case errors.Is(err, consensus.ErrShutdown):
		return http.StatusServiceUnavailable, wire.ErrorDetail{Code: "shutting_down", Message: err.Error()}
	}
	return http.StatusInternalServerError, wire.ErrorDetail{Code: "internal", Message: err.Error()}
}

func writeError(w http.ResponseWriter, err error) {
	st, d := statusOf(err)
	if st == http.StatusServiceUnavailable || st == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, st, wire.ErrorBody{Error: d})
}

// writeRaw answers with JSON already encoded (a leader's answer relayed, a
// recorded answer replayed) as it is.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
