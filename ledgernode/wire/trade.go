package wire

import (
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/trade"
)

// AgencyResponse answers GET /v1/agencies/{id}: the agency with its keys
// and their history.
type AgencyResponse struct {
	Agency *trade.Agency `json:"agency"`
	Keys   []*state.Key  `json:"keys"`
}

// ParticipantResponse answers GET /v1/participants/{id}.
type ParticipantResponse struct {
	Participant *trade.Participant `json:"participant"`
	Keys        []*state.Key       `json:"keys"`
}
