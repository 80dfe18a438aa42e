package wire

import "encoding/json"

// Transaction types a client signs, with the payload each carries. The
// node's dispatch table (state's core handlers, trade.Handlers) registers
// them under these names and checks their payloads with PayloadCheck; the
// policy lifecycle's types are policy.TxPublish, TxUpdate and TxWithdraw.
const (
	TypeKeyRegister = "key.register" // KeyRegister, network admin
	TypeKeyRevoke   = "key.revoke"   // KeyRevoke
	TypeKeyRotate   = "key.rotate"   // KeyRotate
	TypeNotePut     = "note.put"     // NotePut

	TypeAgencyRegister  = "agency.register"  // AgencyRegister, network admin
	TypeAgencyUpdate    = "agency.update"    // AgencyUpdate, network admin
	TypeAgencySuspend   = "agency.suspend"   // AgencySuspend, network admin
	TypeAgencyReinstate = "agency.reinstate" // AgencyReinstate, network admin

	TypeParticipantEnrol     = "participant.enrol"     // ParticipantEnrol
	TypeParticipantUpdate    = "participant.update"    // ParticipantUpdate
	TypeParticipantSuspend   = "participant.suspend"   // ParticipantStatus
	TypeParticipantReinstate = "participant.reinstate" // ParticipantStatus

	TypeCertificateIssue   = "certificate.issue"   // Certificate
	TypeCertificateAmend   = "certificate.amend"   // CertificateAmend
	TypeCertificateRevoke  = "certificate.revoke"  // CertificateRevoke
	TypeCertificateEndorse = "certificate.endorse" // CertificateEndorse

	TypeIPRightRegister = "ipright.register" // IPRightRegister
	TypeLicenseGrant    = "license.grant"    // LicenseGrant
	TypeLicenseRevoke   = "license.revoke"   // LicenseRevoke
	TypeShipmentDeclare = "shipment.declare" // Shipment
)

// payloadChecks are the strict payload checks of the types above.
var payloadChecks = map[string]func(json.RawMessage) error{
	TypeKeyRegister: CheckAs[KeyRegister](),
	TypeKeyRevoke:   CheckAs[KeyRevoke](),
	TypeKeyRotate:   CheckAs[KeyRotate](),
	TypeNotePut:     CheckAs[NotePut](),

	TypeAgencyRegister:  CheckAs[AgencyRegister](),
	TypeAgencyUpdate:    CheckAs[AgencyUpdate](),
	TypeAgencySuspend:   CheckAs[AgencySuspend](),
	TypeAgencyReinstate: CheckAs[AgencyReinstate](),

	TypeParticipantEnrol:     CheckAs[ParticipantEnrol](),
	TypeParticipantUpdate:    CheckAs[ParticipantUpdate](),
	TypeParticipantSuspend:   CheckAs[ParticipantStatus](),
	TypeParticipantReinstate: CheckAs[ParticipantStatus](),

	TypeCertificateIssue:   CheckAs[Certificate](),
	TypeCertificateAmend:   CheckAs[CertificateAmend](),
	TypeCertificateRevoke:  CheckAs[CertificateRevoke](),
	TypeCertificateEndorse: CheckAs[CertificateEndorse](),

	TypeIPRightRegister: CheckAs[IPRightRegister](),
	TypeLicenseGrant:    CheckAs[LicenseGrant](),
	TypeLicenseRevoke:   CheckAs[LicenseRevoke](),
	TypeShipmentDeclare: CheckAs[Shipment](),
}

// PayloadCheck is the stateless check of a type's payload: strict decoding
// (exact field names, no unknown fields) and the payload's Validate. The
// node runs it before consensus and again when it applies the
// transaction; a client runs it before signing, to show every field error
// at once. It panics for a type not listed above: a programming error.
func PayloadCheck(typ string) func(json.RawMessage) error {
	f, ok := payloadChecks[typ]
	if !ok {
		panic("wire: no payload check for transaction type " + typ)
	}
	return f
}

// CheckPayload runs the payload check of typ; a type without one (the
// policy lifecycle's, or one this client does not know) passes: the node
// checks every payload again.
func CheckPayload(typ string, payload json.RawMessage) error {
	if f, ok := payloadChecks[typ]; ok {
		return f(payload)
	}
	return nil
}
