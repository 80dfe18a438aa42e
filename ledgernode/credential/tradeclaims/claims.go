package tradeclaims

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/verify"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Records as W3C Verifiable Credentials. What a credential claims is a
// function of the signed payload of the record's transaction and of what
// the ledger recorded for it in that transaction's receipt (version number,
// chain level, status indexes), nothing else: CertificateClaims and
// LicenseClaims are used by the exporter (from the records in the state)
// and by the verifier (from the signed transactions and receipts carried
// in the credential's evidence, BindEvidence), so a credential whose claims
// differ from its ledger records is refused, whoever signed it. The terms
// are defined by the project's JSON-LD context (credential.ContextV1);
// changing this mapping means a new context version.

// CertificateClaims are the claims of version `version` of a certificate
// as its certifier signed it (reason: the amendment's reason).
func CertificateClaims(network string, version int, reason string, ct *wire.Certificate, st *wire.StatusIndex) *credential.Claims {
	typ := "CertificationOfOrigin"
	if ct.Program == "USMCA" {
		typ = "USMCACertificationOfOrigin"
	}
	var goods []any
	for _, g := range ct.Goods {
		item := map[string]any{
			"type":        []any{"GoodsItem"},
			"description": g.Description,
			"commodity": map[string]any{"type": []any{"Commodity"}, "commodityCode": g.HSCode,
				"commodityCodeType": "HS"},
			"originCriterion": g.OriginCriterion,
			"countryOfOrigin": g.CountryOfOrigin,
		}
		if g.ProducerIndicator != "" {
			item["producerIndicator"] = g.ProducerIndicator
		}
		if g.NetCost != "" {
			item["netCost"] = g.NetCost
		}
		goods = append(goods, item)
	}
	subject := map[string]any{
		"id":            credential.ID(network, "certificate", ct.ID, 0),
		"type":          []any{"CertificateOfOrigin"},
		"identifier":    ct.ID,
		"program":       ct.Program,
		"version":       version,
		"certifierRole": ct.CertifierRole,
		"certifier":     partyClaims(network, &ct.Certifier),
		"exportCountry": ct.ExportCountry,
		"importCountry": ct.ImportCountry,
		"goods":         goods,
		"signedAt":      ct.SignedAt,
	}
	if ct.Language != "" {
		subject["certificationLanguage"] = ct.Language
	}
	if ct.Exporter != nil {
		subject["exporter"] = partyClaims(network, ct.Exporter)
	}
	if p := ct.Producer; p != nil {
		if p.Name == wire.ProducerUponRequest {
			subject["producerConfidential"] = true
		} else {
			subject["producer"] = partyClaims(network, p)
		}
	}
	if ct.Importer != nil {
		subject["importer"] = partyClaims(network, ct.Importer)
	} else if ct.CertifierRole != wire.RoleImporter {
		subject["importerUnknown"] = true
	}
	if bp := ct.BlanketPeriod; bp != nil {
		subject["blanketPeriodStart"] = bp.ValidFrom
		subject["blanketPeriodEnd"] = bp.ValidUntil
	}
	if ct.Statement != "" {
		subject["certificationStatement"] = ct.Statement
	}
	if version > 1 {
		subject["replacesCredential"] = credential.ID(network, "certificate", ct.ID, version-1)
		subject["amendmentReason"] = reason
	}
	from, until := ct.Window()
	return &credential.Claims{
		ID:         credential.ID(network, "certificate", ct.ID, version),
		Types:      []string{typ},
		Name:       fmt.Sprintf("%s certification of origin %s (version %d)", ct.Program, ct.ID, version),
		ValidFrom:  tx.FormatTime(from),
		ValidUntil: tx.FormatTime(until),
		Subject:    subject,
		Status:     statusRefs(st),
	}
}

func partyClaims(network string, p *wire.Party) map[string]any {
	o := map[string]any{"type": []any{"Organization"}, "name": p.Name}
	if p.ID != "" {
		o["id"] = credential.ID(network, "identity", p.ID, 0)
	}
	if p.Title != "" {
		o["jobTitle"] = p.Title
	}
	if p.Country != "" || p.Address != "" {
		addr := map[string]any{"type": []any{"PostalAddress"}}
		if p.Country != "" {
			addr["addressCountry"] = p.Country
		}
		if p.Address != "" {
			addr["streetAddress"] = p.Address
		}
		o["address"] = addr
	}
	if p.Email != "" {
		o["email"] = p.Email
	}
	if p.Phone != "" {
		o["telephone"] = p.Phone
	}
	return o
}

// LicenseClaims are the claims of a license as its licensor signed it,
// with its level and root as the ledger recorded them and the right it
// licenses as the agency registered it (nil when unknown). A sub-license
// extends its parent's credential; a root license extends the right.
func LicenseClaims(network string, g *wire.LicenseGrant, level int, root string, right *wire.IPRightRegister, st *wire.StatusIndex) *credential.Claims {
	ext := credential.ID(network, "right", g.Right, 0)
	if g.Parent != "" {
		ext = credential.ID(network, "license", g.Parent, 0)
	}
	sub := map[string]any{"type": []any{"SublicensingTerms"}, "allowed": g.Sublicensing.Allowed}
	if g.Sublicensing.Depth > 0 {
		sub["depth"] = g.Sublicensing.Depth
	}
	subject := map[string]any{
		"id":         credential.ID(network, "license", g.ID, 0),
		"type":       []any{"IntellectualPropertyRightsLicense"},
		"identifier": g.ID,
		"licensor":   map[string]any{"id": credential.ID(network, "identity", g.Licensor, 0), "type": []any{"Organization"}},
		"licensee":   map[string]any{"id": credential.ID(network, "identity", g.Licensee, 0), "type": []any{"Organization"}},
		"licensedGoods": map[string]any{"type": []any{"LicensedGoods"}, "description": g.Goods.Description,
			"hsCodePrefix": stringsAny(g.Goods.HSPrefixes)},
		"territory":         stringsAny(g.Territory),
		"sublicensing":      sub,
		"extendsCredential": ext,
		"level":             level,
		"rootLicense":       credential.ID(network, "license", root, 0),
	}
	rightClaims := map[string]any{"id": credential.ID(network, "right", g.Right, 0), "type": []any{"IntellectualPropertyRight"},
		"identifier": g.Right}
	if right != nil {
		rightClaims["rightType"] = right.Type
		rightClaims["office"] = right.Office
		rightClaims["registrationNumber"] = right.RegistrationNumber
		rightClaims["title"] = right.Title
		rightClaims["holder"] = credential.ID(network, "identity", right.Holder, 0)
	}
	subject["intellectualPropertyRight"] = rightClaims
	return &credential.Claims{
		ID:         credential.ID(network, "license", g.ID, 0),
		Types:      []string{"IntellectualPropertyRightsLicenseCredential"},
		Name:       "License " + g.ID,
		ValidFrom:  g.ValidFrom,
		ValidUntil: g.ValidUntil,
		Subject:    subject,
		Status:     statusRefs(st),
	}
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// evidenceRecord is one evidence record, decoded and self-consistent.
type evidenceRecord struct {
	i       int
	signed  *tx.Signed
	receipt *chain.Receipt
}

// BindEvidence is the credential.Binder of certificate and license
// credentials: it checks that each evidence record is a transaction signed
// by its key with the receipt of its acceptance, all of one network, finds
// the record the credential is about (certificate.issue or .amend,
// license.grant) and rebuilds the claims from it with the functions the
// exporter uses. Records about something else are refused by name.
func BindEvidence(records []verify.Evidence) (*credential.Binding, []credential.Problem) {
	var probs []credential.Problem
	bad := func(i int, field, format string, args ...any) {
		probs = append(probs, credential.Problem{Field: fmt.Sprintf("evidence[%d].ledgerRecord%s", i, field), Message: fmt.Sprintf(format, args...)})
	}
	var recs []evidenceRecord
	network := ""
	for i := range records {
		ev := &records[i]
		s, err := tx.Decode(ev.Tx, tx.Limits{MaxEnvelopeBytes: 64 << 20})
		if err == nil {
			err = s.VerifySignature()
		}
		if err != nil {
			bad(i, ".tx", "%v", err)
			continue
		}
		r := &ev.Receipt
		switch {
		case r.TxID != s.IDHex():
			bad(i, ".receipt.txId", "%s is not the id of the transaction beside it (%s)", tx.Shorten(r.TxID, 16), tx.Shorten(s.IDHex(), 16))
			continue
		case r.Status != chain.Accepted:
			bad(i, ".receipt.status", "%q: the ledger did not accept this %s, so nothing was recorded", r.Status, s.Type)
			continue
		case r.Type != s.Type || r.Signer != s.Signer:
			bad(i, ".receipt", "type/signer do not match the transaction")
			continue
		}
		if network == "" {
			network = s.Network
		} else if s.Network != network {
			bad(i, ".tx.network", "%q: evidence[0] is from network %q; one credential's records come from one ledger", s.Network, network)
			continue
		}
		recs = append(recs, evidenceRecord{i: i, signed: s, receipt: r})
	}
	if len(probs) > 0 {
		return nil, probs
	}
	b := &credential.Binding{Network: network}
	primary := -1
	for j, r := range recs {
		switch r.signed.Type {
		case "certificate.issue", "certificate.amend", "license.grant":
			if primary >= 0 {
				bad(r.i, ".tx.type", "a second %s: a credential is about one record (evidence[%d] is its %s)", r.signed.Type, recs[primary].i, recs[primary].signed.Type)
				continue
			}
			primary = j
		}
	}
	if primary < 0 {
		if len(probs) == 0 {
			probs = append(probs, credential.Problem{Field: "evidence", Message: "no certificate.issue, certificate.amend or license.grant record: nothing to rebuild the claims from"})
		}
		return nil, probs
	}
	p := recs[primary]
	b.RecordSigners = []string{p.signed.Signer}
	var result struct {
		Version     int               `json:"version"`
		Level       int               `json:"level"`
		Root        string            `json:"root"`
		StatusIndex *wire.StatusIndex `json:"statusIndex"`
	}
	if len(p.receipt.Result) > 0 {
		if err := json.Unmarshal(p.receipt.Result, &result); err != nil {
			bad(p.i, ".receipt.result", "%v", err)
			return nil, probs
		}
	}
	payload := func(i int, s *tx.Signed, v any) bool {
		dec := json.NewDecoder(bytes.NewReader(s.Payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			bad(i, ".tx.payload", "not a %s payload: %v", s.Type, err)
			return false
		}
		return true
	}
	switch p.signed.Type {
	case "certificate.issue", "certificate.amend":
		var ct wire.Certificate
		reason, version := "", 1
		if p.signed.Type == "certificate.issue" {
			if !payload(p.i, p.signed, &ct) {
				return nil, probs
			}
		} else {
			var am wire.CertificateAmend
			if !payload(p.i, p.signed, &am) {
				return nil, probs
			}
			ct, reason, version = am.Certificate, am.Reason, result.Version
			if version < 2 {
				bad(p.i, ".receipt.result.version", "%d: an amendment records version 2 or later", version)
				return nil, probs
			}
		}
		b.Claims = CertificateClaims(network, version, reason, &ct, result.StatusIndex)
		for _, r := range recs {
			if r.i == p.i {
				continue
			}
			ref := r.payloadID()
			switch {
			case r.signed.Type != "certificate.revoke" && r.signed.Type != "certificate.endorse":
				bad(r.i, ".tx.type", "a %s has no place in a certificate's credential", r.signed.Type)
			case ref != ct.ID:
				bad(r.i, ".tx.payload.id", "%q: this %s is about another certificate than %q", ref, r.signed.Type, ct.ID)
			case r.signed.Type == "certificate.revoke":
				b.Revoked = revokedText("certificate "+ct.ID, r)
			}
		}
	case "license.grant":
		var g wire.LicenseGrant
		if !payload(p.i, p.signed, &g) {
			return nil, probs
		}
		var right *wire.IPRightRegister
		for _, r := range recs {
			if r.i == p.i {
				continue
			}
			ref := r.payloadID()
			switch {
			case r.signed.Type == "ipright.register" && ref == g.Right:
				var reg wire.IPRightRegister
				if payload(r.i, r.signed, &reg) {
					right = &reg
				}
			case r.signed.Type == "ipright.register":
				bad(r.i, ".tx.payload.id", "%q: this right is not the licensed right %q", ref, g.Right)
			case r.signed.Type == "license.revoke" && ref == g.ID:
				b.Revoked = revokedText("license "+g.ID, r)
			case r.signed.Type == "license.revoke":
				bad(r.i, ".tx.payload.id", "%q: this license.revoke is about another license than %q", ref, g.ID)
			default:
				bad(r.i, ".tx.type", "a %s has no place in a license's credential", r.signed.Type)
			}
		}
		root := result.Root
		if root == "" {
			root = g.ID
		}
		b.Claims = LicenseClaims(network, &g, result.Level, root, right, result.StatusIndex)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return b, nil
}

// payloadID is the id its payload names ("" if it names none): which
// record a revocation or endorsement is about.
func (r evidenceRecord) payloadID() string {
	var ref struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.signed.Payload, &ref)
	return ref.ID
}

func revokedText(what string, r evidenceRecord) string {
	var res struct {
		Status    string `json:"status"`
		Effective string `json:"effective"`
	}
	_ = json.Unmarshal(r.receipt.Result, &res)
	var p struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(r.signed.Payload, &p)
	return fmt.Sprintf("%s %s by key %s from %s (recorded %s): %s", what, res.Status, tx.FingerprintOf(r.signed.Signer), res.Effective, r.receipt.Time, p.Reason)
}

// statusRefs are the credential status entries of a record.
func statusRefs(s *wire.StatusIndex) []credential.StatusRef {
	if s == nil {
		return nil
	}
	return []credential.StatusRef{{Purpose: credential.PurposeRevocation, Index: s.Revocation},
		{Purpose: credential.PurposeSuspension, Index: s.Suspension}}
}
