package wire

import (
	"bytes"
	"encoding/json"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

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
