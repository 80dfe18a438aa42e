package wire

// AgencyResponse answers GET /v1/agencies/{id}: the agency with its keys
// and their history.
type AgencyResponse struct {
	Agency *Agency `json:"agency"`
	Keys   []*Key  `json:"keys"`
}

// ParticipantResponse answers GET /v1/participants/{id}.
type ParticipantResponse struct {
	Participant *Participant `json:"participant"`
	Keys        []*Key       `json:"keys"`
}
