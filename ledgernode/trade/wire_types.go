package trade

import "github.com/tradeledger/tradeledger/ledgernode/wire"

// The trade records, payloads and verdicts that clients send and read are
// wire types (package wire, with their Validate): these names are the same
// types, so the handlers and verdicts here read as before and the stored
// JSON is the wire encoding, byte for byte.

type (
	Agency             = wire.Agency
	AgencyRegister     = wire.AgencyRegister
	AgencyUpdate       = wire.AgencyUpdate
	AgencySuspend      = wire.AgencySuspend
	AgencyReinstate    = wire.AgencyReinstate
	Identifier         = wire.Identifier
	Participant        = wire.Participant
	ParticipantEnrol   = wire.ParticipantEnrol
	ParticipantUpdate  = wire.ParticipantUpdate
	ParticipantStatus  = wire.ParticipantStatus
	ParticipantFilter  = wire.ParticipantFilter
	Party              = wire.Party
	GoodsItem          = wire.GoodsItem
	Period             = wire.Period
	Certificate        = wire.Certificate
	CertificateAmend   = wire.CertificateAmend
	CertificateRevoke  = wire.CertificateRevoke
	CertificateEndorse = wire.CertificateEndorse
	CertificateRecord  = wire.CertificateRecord
	VersionRef         = wire.VersionRef
	Endorsement        = wire.Endorsement
	CertificateVersion = wire.CertificateVersion
	CertificateHistory = wire.CertificateHistory
	CertificateFilter  = wire.CertificateFilter
	CertificatePage    = wire.CertificatePage
	IPRight            = wire.IPRight
	IPRightRegister    = wire.IPRightRegister
	LicensedGoods      = wire.LicensedGoods
	Sublicensing       = wire.Sublicensing
	LicenseGrant       = wire.LicenseGrant
	License            = wire.License
	LicenseRevoke      = wire.LicenseRevoke
	LicenseFilter      = wire.LicenseFilter
	LicensePage        = wire.LicensePage
	LicenseQuery       = wire.LicenseQuery
	PathStep           = wire.PathStep
	StepFailure        = wire.StepFailure
	Alternative        = wire.Alternative
	LicenseVerdict     = wire.LicenseVerdict
	EffectiveStatus    = wire.EffectiveStatus
	LicenseView        = wire.LicenseView
	StatusIndex        = wire.StatusIndex
	Shipment           = wire.Shipment
	ShipmentLine       = wire.ShipmentLine
	ShipmentRecord     = wire.ShipmentRecord
	ShipmentQuery      = wire.ShipmentQuery
	LineVerdict        = wire.LineVerdict
	ShipmentVerdict    = wire.ShipmentVerdict
	Check              = wire.Check
	EvidenceItem       = wire.EvidenceItem
	CertificateQuery   = wire.CertificateQuery
	CertificateVerdict = wire.CertificateVerdict
	Contact            = wire.Contact
	StatusEvent        = wire.StatusEvent
	Recorded           = wire.Recorded
	Revocation         = wire.Revocation
	Program            = wire.Program
	KeyRotate          = wire.KeyRotate
)

const (
	AgencyRoleCustoms      = wire.AgencyRoleCustoms
	RoleExporter           = wire.RoleExporter
	RoleProducer           = wire.RoleProducer
	RoleImporter           = wire.RoleImporter
	RoleCertifier          = wire.RoleCertifier
	RoleRightsholder       = wire.RoleRightsholder
	RoleLicensee           = wire.RoleLicensee
	ProducerVarious        = wire.ProducerVarious
	ProducerUponRequest    = wire.ProducerUponRequest
	MaxChainLength         = wire.MaxChainLength
	AnswerYes              = wire.AnswerYes
	AnswerNo               = wire.AnswerNo
	AnswerNotFound         = wire.AnswerNotFound
	EffectiveActive        = wire.EffectiveActive
	EffectiveRevoked       = wire.EffectiveRevoked
	EffectiveNotYetValid   = wire.EffectiveNotYetValid
	EffectiveExpired       = wire.EffectiveExpired
	EffectiveParentRevoked = wire.EffectiveParentRevoked
	EffectiveParentExpired = wire.EffectiveParentExpired
	EffectiveBrokenChain   = wire.EffectiveBrokenChain
	VerdictNotFound        = wire.VerdictNotFound
	VerdictInvalid         = wire.VerdictInvalid
	VerdictRevoked         = wire.VerdictRevoked
	VerdictSuperseded      = wire.VerdictSuperseded
	VerdictExpired         = wire.VerdictExpired
	VerdictNotYetValid     = wire.VerdictNotYetValid
	VerdictValid           = wire.VerdictValid
	ResultPass             = wire.ResultPass
	ResultFail             = wire.ResultFail
	ResultInfo             = wire.ResultInfo
	ResultWarn             = wire.ResultWarn
	CodeRecordedAfter      = wire.CodeRecordedAfter
	CodeAgencyFinding      = wire.CodeAgencyFinding
	StatusActive           = wire.StatusActive
	StatusSuspended        = wire.StatusSuspended
	StatusRevoked          = wire.StatusRevoked
	StatusWithdrawn        = wire.StatusWithdrawn
	ProgramIPR             = wire.ProgramIPR
)

// AgencyRoles is wire.AgencyRoles.
var AgencyRoles = wire.AgencyRoles

// Roles is wire.Roles.
var Roles = wire.Roles

// RightTypes is wire.RightTypes.
var RightTypes = wire.RightTypes

// Programs is wire.Programs.
var Programs = wire.Programs
