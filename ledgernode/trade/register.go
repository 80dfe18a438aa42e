package trade

import (
	"encoding/json"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Handlers are the transaction types of the trade records.
func Handlers() []state.Handler {
	return []state.Handler{
		{Type: wire.TypeAgencyRegister, Signers: []string{wire.KindAdmin}, Summary: "register an agency with its country, programs and keys (network admin)", Check: wire.PayloadCheck(wire.TypeAgencyRegister), Apply: applyAgencyRegister},
		{Type: wire.TypeAgencyUpdate, Signers: []string{wire.KindAdmin}, Summary: "change an agency's name, programs or contact (network admin)", Check: wire.PayloadCheck(wire.TypeAgencyUpdate), Apply: applyAgencyUpdate},
		{Type: wire.TypeAgencySuspend, Signers: []string{wire.KindAdmin}, Summary: "suspend an agency from block time: its keys stop signing, its history stays (network admin)", Check: wire.PayloadCheck(wire.TypeAgencySuspend), Apply: applyAgencySuspend},
		{Type: wire.TypeAgencyReinstate, Signers: []string{wire.KindAdmin}, Summary: "reinstate a suspended agency (network admin)", Check: wire.PayloadCheck(wire.TypeAgencyReinstate), Apply: applyAgencyReinstate},
		{Type: wire.TypeKeyRotate, Signers: []string{wire.KindAdmin, wire.KindAgency, wire.KindParticipant}, Summary: "add a new key and retire an old one at an effective time (signed by a current key of the owner)", Check: wire.PayloadCheck(wire.TypeKeyRotate), Apply: applyKeyRotate},
		{Type: wire.TypeParticipantEnrol, Signers: []string{wire.KindAgency}, Summary: "enrol an exporter, producer, importer, certifier, rights holder or licensee of the agency's country (agency)", Check: wire.PayloadCheck(wire.TypeParticipantEnrol), Apply: applyParticipantEnrol},
		{Type: wire.TypeParticipantUpdate, Signers: []string{wire.KindAgency}, Summary: "change a participant's name, roles, identifiers or contact (agency of its country)", Check: wire.PayloadCheck(wire.TypeParticipantUpdate), Apply: applyParticipantUpdate},
		{Type: wire.TypeParticipantSuspend, Signers: []string{wire.KindAgency}, Summary: "suspend a participant from block time (agency of its country)", Check: wire.PayloadCheck(wire.TypeParticipantSuspend), Apply: applyParticipantStatus(wire.StatusSuspended)},
		{Type: wire.TypeParticipantReinstate, Signers: []string{wire.KindAgency}, Summary: "reinstate a suspended participant (agency of its country)", Check: wire.PayloadCheck(wire.TypeParticipantReinstate), Apply: applyParticipantStatus(wire.StatusActive)},
		{Type: wire.TypeCertificateIssue, Signers: []string{wire.KindParticipant}, Precheck: signedBy(""), Summary: "issue a certificate of origin: USMCA, CAFTA-DR or NAFTA (the certifier)", Check: wire.PayloadCheck(wire.TypeCertificateIssue), Apply: applyCertificateIssue},
		{Type: wire.TypeCertificateAmend, Signers: []string{wire.KindParticipant}, Precheck: signedBy("certificate"), Summary: "record a new version of a certificate; the old one is kept (the certifier)", Check: wire.PayloadCheck(wire.TypeCertificateAmend), Apply: applyCertificateAmend},
		{Type: wire.TypeCertificateRevoke, Signers: []string{wire.KindParticipant, wire.KindAgency}, Summary: "withdraw (certifier) or revoke (agency of the importing or exporting country) a certificate, with a reason", Check: wire.PayloadCheck(wire.TypeCertificateRevoke), Apply: applyCertificateRevoke},
		{Type: wire.TypeCertificateEndorse, Signers: []string{wire.KindAgency}, Summary: "endorse a certificate (agency of the exporting country)", Check: wire.PayloadCheck(wire.TypeCertificateEndorse), Apply: applyCertificateEndorse},
		{Type: wire.TypeIPRightRegister, Signers: []string{wire.KindAgency}, Summary: "register an IP right held by an enrolled rights holder (agency acting on IPR)", Check: wire.PayloadCheck(wire.TypeIPRightRegister), Apply: applyIPRightRegister},
		{Type: wire.TypeLicenseGrant, Signers: []string{wire.KindParticipant}, Summary: "grant a license or a narrower sub-license of an IP right (the licensor)", Check: wire.PayloadCheck(wire.TypeLicenseGrant), Apply: applyLicenseGrant},
		{Type: wire.TypeLicenseRevoke, Signers: []string{wire.KindParticipant, wire.KindAgency}, Summary: "revoke a license from an effective time (licensor, rights holder or IPR agency)", Check: wire.PayloadCheck(wire.TypeLicenseRevoke), Apply: applyLicenseRevoke},
		{Type: wire.TypeShipmentDeclare, Signers: []string{wire.KindParticipant, wire.KindAgency}, Summary: "declare an entry: importer, goods lines, certificates and licenses (importer or destination agency)", Check: wire.PayloadCheck(wire.TypeShipmentDeclare), Apply: applyShipmentDeclare},
	}
}

// Register adds the trade handlers to a registry.
func Register(r *state.Registry) {
	for _, h := range Handlers() {
		r.MustRegister(h)
	}
	r.SetKeyAuthority(enrollerOf)
	for _, b := range appendBuckets {
		r.SetBucketFill(b, state.AppendFill)
	}
}

// appendBuckets are the trade buckets whose keys mostly arrive in ascending
// order: records keyed by the ids their issuers number in sequence (a
// certificate's versions follow its id), and index entries appended under
// a party's or a code's prefix. bbolt packs their pages full
// (state.Registry.SetBucketFill); with keys in random order they would
// fill about as well as with bbolt's default.
var appendBuckets = []string{BucketCertificates, BucketCertVersions, BucketCertIndex, BucketShipments, BucketLicenses, BucketLicenseIndex}

// signedBy refuses before consensus a certificate signed after the latest
// block time the transaction can get (a date in the year 3000): it could
// never be recorded. inner names the object holding the certificate.
func signedBy(inner string) func(json.RawMessage, time.Time) error {
	return func(payload json.RawMessage, latest time.Time) error {
		var p struct {
			SignedAt    string `json:"signedAt"`
			Certificate struct {
				SignedAt string `json:"signedAt"`
			} `json:"certificate"`
		}
		if json.Unmarshal(payload, &p) != nil {
			return nil // the payload check reports it
		}
		field, v := "payload.signedAt", p.SignedAt
		if inner != "" {
			field, v = "payload."+inner+".signedAt", p.Certificate.SignedAt
		}
		if t, err := tx.ParseTime(v); err == nil && t.After(latest) {
			return tx.Fieldf(field, v, "is after %s, the latest block time this transaction can get: a certification is recorded after it is signed", tx.FormatTime(latest))
		}
		return nil
	}
}

// enrollerOf says whether signer is the agency that enrolled the
// participant owner: it may revoke the participant's keys, with any
// effective time.
func enrollerOf(r state.Reader, signer state.Signer, owner string) bool {
	if signer.Kind != wire.KindAgency || wire.KindOf(owner) != wire.KindParticipant {
		return false
	}
	p, ok, err := LookupParticipant(r, owner)
	return err == nil && ok && p.EnrolledBy == signer.Owner
}
