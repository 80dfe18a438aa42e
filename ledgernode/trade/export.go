package trade

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// ExportCertificate gives the claims of a certificate version (0: current)
// and the ledger evidence of the records behind it: the version, its
// revocation and endorsements. The caller attaches its signed head to each
// item (SetHead), builds the credential (credential.Build with
// EvidenceEntries) and signs it.
func ExportCertificate(v Source, network, id string, version int) (*credential.Claims, []EvidenceItem, error) {
	rec, ok, err := LookupCertificate(v, id)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("certificate %q: %w", id, state.ErrNotFound)
	}
	if version == 0 {
		version = rec.Current
	}
	if version < 0 || version > rec.Current {
		return nil, nil, state.Reject(state.CodeNotFound, "version", "certificate %s has %d version(s)", id, rec.Current)
	}
	cv, ok, err := CertificateVersionOf(v, id, version)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate %s version %d: %w", id, version, err)
	}
	if !ok {
		return nil, nil, fmt.Errorf("certificate %s version %d: %w", id, version, state.ErrNotFound)
	}
	var ev evidenceSet
	ev.add(fmt.Sprintf("certificate %s version %d", id, version), cv.TxID)
	if rv := rec.Revocation; rv != nil {
		ev.add(fmt.Sprintf("certificate %s %s", id, rv.Kind), rv.TxID)
	}
	for _, e := range rec.Endorsements {
		if e.Version == version {
			ev.add("endorsement by "+e.Agency, e.TxID)
		}
	}
	items, err := ev.resolve(v, true)
	return CertificateClaims(network, cv.Version, cv.Reason, &cv.Certificate, cv.StatusIndex), items, err
}

// ExportLicense gives the claims of a license and the ledger evidence of
// its grant, its revocation and the right it licenses.
func ExportLicense(v Source, network, id string) (*credential.Claims, []EvidenceItem, error) {
	l, ok, err := LookupLicense(v, id)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("license %q: %w", id, state.ErrNotFound)
	}
	right, _, err := LookupRight(v, l.Right)
	if err != nil {
		return nil, nil, err
	}
	var ev evidenceSet
	ev.add("license "+id+" granted", l.Recorded.TxID)
	if rv := l.Revocation; rv != nil {
		ev.add("license "+id+" revoked", rv.TxID)
	}
	if right != nil {
		ev.add("right "+right.ID+" registered", right.Recorded.TxID)
	}
	items, err := ev.resolve(v, true)
	return LicenseClaims(network, &l.LicenseGrant, l.Level, l.Root, right.registration(), l.StatusIndex), items, err
}

// EvidenceEntries are a credential's evidence entries of items.
func EvidenceEntries(items []EvidenceItem) []credential.EvidenceEntry {
	out := make([]credential.EvidenceEntry, 0, len(items))
	for _, it := range items {
		out = append(out, credential.EvidenceEntry{Description: it.Role, Record: it.Evidence})
	}
	return out
}

// SetHead attaches a signed head to every evidence item.
func SetHead(items []EvidenceItem, h *chain.Head) {
	for i := range items {
		if items[i].Evidence != nil {
			items[i].Evidence.Head = *h
		}
	}
}

// decodeStrict decodes outside JSON into v: unknown fields, wrong types and
// trailing data are errors naming the field; then v is validated.
func decodeStrict[T interface{ Validate() error }](raw []byte) (T, error) {
	var v T
	if len(raw) > 1<<20 {
		return v, &tx.FieldError{Field: "body", Large: true, Message: "over 1 MiB"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, tx.Fieldf("body", "", "not a valid request: %v", err)
	}
	if dec.More() {
		return v, tx.Fieldf("body", "", "trailing data after the JSON object")
	}
	return v, v.Validate()
}

// DecodeCertificateQuery decodes and checks a certificate verdict request.
func DecodeCertificateQuery(raw []byte) (CertificateQuery, error) {
	return decodeStrict[CertificateQuery](raw)
}

// DecodeLicenseQuery decodes and checks a license verdict request.
func DecodeLicenseQuery(raw []byte) (LicenseQuery, error) { return decodeStrict[LicenseQuery](raw) }

// DecodeShipmentQuery decodes and checks a shipment verdict request.
func DecodeShipmentQuery(raw []byte) (ShipmentQuery, error) { return decodeStrict[ShipmentQuery](raw) }

// DecodeShipment decodes and checks a shipment file (the shipment.declare
// payload shape), as `verify certificate --shipment FILE` reads it.
func DecodeShipment(raw []byte) (Shipment, error) { return decodeStrict[Shipment](raw) }
