package trade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// LookupCertificate reads a certificate's head record.
func LookupCertificate(r state.Reader, id string) (*wire.CertificateRecord, bool, error) {
	return state.Lookup[wire.CertificateRecord](r, BucketCertificates, id)
}

// CertificateVersionOf reads one version (1-based) of a certificate.
func CertificateVersionOf(r state.Reader, id string, v int) (*wire.CertificateVersion, bool, error) {
	return state.Lookup[wire.CertificateVersion](r, BucketCertVersions, versionKey(id, v))
}

// CertificateWithVersions reads a certificate and every version.
func CertificateWithVersions(r state.Reader, id string) (*wire.CertificateHistory, bool, error) {
	rec, ok, err := LookupCertificate(r, id)
	if !ok || err != nil {
		return nil, ok, err
	}
	h := &wire.CertificateHistory{Record: rec}
	for v := 1; v <= rec.Current; v++ {
		cv, ok, err := CertificateVersionOf(r, id, v)
		if err != nil {
			return nil, false, err
		}
		if ok {
			h.Versions = append(h.Versions, cv)
		}
	}
	return h, true, nil
}

func applyCertificateIssue(c *state.Context) (any, error) {
	ct, err := wire.DecodeAndCheck[wire.Certificate](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if _, ok, err := LookupCertificate(c, ct.ID); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%q: a certificate with this id is recorded; amend it with certificate.amend or choose a new id", ct.ID)
	}
	parties, err := checkCertifier(c, &ct, "payload")
	if err != nil {
		return nil, err
	}
	if err := c.Evaluate(certificateDocument(&ct, parties, map[string]any{"action": "issue", "version": 1})); err != nil {
		return nil, err
	}
	st, err := newStatusIndex(c, ct.Certifier.ID)
	if err != nil {
		return nil, err
	}
	rec := recorded(c)
	cr := &wire.CertificateRecord{ID: ct.ID, Program: ct.Program, Certifier: ct.Certifier.ID, Current: 1, Status: wire.StatusActive,
		Versions: []wire.VersionRef{{Version: 1, Recorded: rec}}}
	if err := state.PutJSON(c, BucketCertificates, ct.ID, cr); err != nil {
		return nil, err
	}
	if err := state.PutJSON(c, BucketCertVersions, versionKey(ct.ID, 1), &wire.CertificateVersion{Version: 1, Certificate: ct, StatusIndex: st, Recorded: rec}); err != nil {
		return nil, err
	}
	indexCertificate(c, &ct, false)
	return map[string]any{"certificate": ct.ID, "version": 1, "statusIndex": st}, nil
}

// certIndexKeys are the index entries of one version of a certificate.
func certIndexKeys(ct *wire.Certificate) []string {
	keys := []string{ikey("certifier", ct.Certifier.ID, ct.ID)}
	if id := ct.ImporterID(); id != "" {
		keys = append(keys, ikey("importer", id, ct.ID))
	}
	if id := ct.ExporterID(); id != "" {
		keys = append(keys, ikey("exporter", id, ct.ID))
	}
	for _, hs := range ct.HSCodes() {
		keys = append(keys, ikey("hs", hs, ct.ID))
	}
	return keys
}

func indexCertificate(kv state.KV, ct *wire.Certificate, remove bool) {
	for _, k := range certIndexKeys(ct) {
		if remove {
			kv.Delete(BucketCertIndex, k)
		} else {
			kv.Put(BucketCertIndex, k, nil)
		}
	}
}

func mustCertificate(r state.Reader, field, id string) (*wire.CertificateRecord, *wire.CertificateVersion, error) {
	rec, ok, err := LookupCertificate(r, id)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, wire.Reject(wire.CodeNotFound, field, "%q: no certificate with this id is recorded", id)
	}
	cv, ok, err := CertificateVersionOf(r, id, rec.Current)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, wire.Reject(wire.CodeInternal, field, "certificate %s version %d is missing", id, rec.Current)
	}
	return rec, cv, nil
}

func applyCertificateAmend(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.CertificateAmend](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	rec, cur, err := mustCertificate(c, "payload.id", p.ID)
	if err != nil {
		return nil, err
	}
	if rec.Status != wire.StatusActive {
		return nil, wire.Reject(CodeRevoked, "payload.id", "certificate %s is %s (%s); issue a new certificate instead", p.ID, rec.Status, rec.Revocation.Reason)
	}
	if p.Supersedes != rec.Current {
		last := rec.Versions[len(rec.Versions)-1]
		return nil, wire.Reject(wire.CodeConflict, "payload.supersedes", "certificate %s is at version %d (recorded at %s: %s); this amendment replaces version %d: read version %d, make the change on it and amend again",
			p.ID, rec.Current, last.Time, dashIfEmpty(last.Reason, "issued"), p.Supersedes, rec.Current)
	}
	ct := &p.Certificate
	if ct.Program != cur.Certificate.Program {
		return nil, wire.Reject(wire.CodeInvalid, "payload.certificate.program", "%q: an amendment keeps the program %s; issue a new certificate for another program", ct.Program, cur.Certificate.Program)
	}
	if c.Signer.Owner != rec.Certifier {
		hint := ""
		if c.Signer.Kind == wire.KindAgency {
			hint = fmt.Sprintf("; an agency of %s or %s may revoke it (certificate.revoke)", cur.Certificate.ExportCountry, cur.Certificate.ImportCountry)
		}
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "only the certifier %s amends certificate %s; it is signed by %s (%s)%s",
			rec.Certifier, rec.ID, c.Signer.Owner, c.Signer.Kind, hint)
	}
	if ct.Certifier.ID != rec.Certifier {
		return nil, wire.Reject(wire.CodeUnauthorized, "payload.certificate.certifier.id", "%q: only the certifier %s amends its certificate", ct.Certifier.ID, rec.Certifier)
	}
	parties, err := checkCertifier(c, ct, "payload.certificate")
	if err != nil {
		return nil, err
	}
	next := rec.Current + 1
	if err := c.Evaluate(certificateDocument(ct, parties, map[string]any{"action": "amend", "version": next, "reason": p.Reason,
		"previous": asMap(&cur.Certificate)})); err != nil {
		return nil, err
	}
	st, err := newStatusIndex(c, ct.Certifier.ID)
	if err != nil {
		return nil, err
	}
	if cur.StatusIndex != nil { // the version it replaces is superseded for good
		if err := setStatusBit(c, credential.PurposeRevocation, cur.StatusIndex.Revocation, true); err != nil {
			return nil, err
		}
	}
	r := recorded(c)
	indexCertificate(c, &cur.Certificate, true)
	indexCertificate(c, ct, false)
	rec.Current = next
	rec.Versions = append(rec.Versions, wire.VersionRef{Version: next, Reason: p.Reason, Recorded: r})
	if err := state.PutJSON(c, BucketCertificates, rec.ID, rec); err != nil {
		return nil, err
	}
	cv := &wire.CertificateVersion{Version: next, Supersedes: next - 1, Reason: p.Reason, Certificate: *ct, StatusIndex: st, Recorded: r}
	if err := state.PutJSON(c, BucketCertVersions, versionKey(rec.ID, next), cv); err != nil {
		return nil, err
	}
	return map[string]any{"certificate": rec.ID, "version": next, "supersedes": next - 1, "statusIndex": st}, nil
}

func applyCertificateRevoke(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.CertificateRevoke](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	rec, cur, err := mustCertificate(c, "payload.id", p.ID)
	if err != nil {
		return nil, err
	}
	kind := wire.StatusRevoked
	switch c.Signer.Kind {
	case wire.KindParticipant:
		if c.Signer.Owner != rec.Certifier {
			return nil, wire.Reject(wire.CodeUnauthorized, "signer", "only the certifier %s or an agency of %s or %s may withdraw or revoke certificate %s",
				rec.Certifier, cur.Certificate.ExportCountry, cur.Certificate.ImportCountry, rec.ID)
		}
		if _, err := signerParticipant(c, "certificate.revoke"); err != nil {
			return nil, err
		}
		kind = wire.StatusWithdrawn
	case wire.KindAgency:
		ag, err := signerAgency(c, "certificate.revoke")
		if err != nil {
			return nil, err
		}
		if err := requireCustoms(ag, "revoking a certificate of origin"); err != nil {
			return nil, err
		}
		ct := &cur.Certificate
		if ag.Country != ct.ExportCountry && ag.Country != ct.ImportCountry {
			return nil, wire.Reject(CodeJurisdiction, "signer", "%s (%s) may revoke only certificates exported from or imported into %s; %s goes %s to %s",
				ag.Identity, ag.Country, ag.Country, rec.ID, ct.ExportCountry, ct.ImportCountry)
		}
		if !ag.ActsOn(ct.Program) {
			return nil, wire.Reject(CodeJurisdiction, "signer", "%s does not act on %s (its programs: %s)", ag.Identity, ct.Program, joinOr(ag.Programs, "none"))
		}
	default:
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "certificate.revoke is signed by the certifier or an agency; %s is %s", c.Signer.Owner, c.Signer.Kind)
	}
	eff, err := effectiveTime(c, "payload.effective", p.Effective, false)
	if err != nil {
		return nil, err
	}
	effS := tx.FormatTime(eff)
	if rv := rec.Revocation; rv != nil && rv.Effective <= effS {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "certificate %s is already %s from %s by %s", rec.ID, rv.Kind, rv.Effective, rv.By)
	}
	for v := 1; v <= rec.Current; v++ { // every version is revoked with the certificate
		cv, ok, err := CertificateVersionOf(c, rec.ID, v)
		if err != nil {
			return nil, err
		}
		if ok && cv.StatusIndex != nil {
			if err := setStatusBit(c, credential.PurposeRevocation, cv.StatusIndex.Revocation, true); err != nil {
				return nil, err
			}
		}
	}
	rec.Status = kind
	rec.Revocation = &wire.Revocation{Kind: kind, By: c.Signer.Owner, Reason: p.Reason, Effective: effS, Recorded: recorded(c)}
	if err := state.PutJSON(c, BucketCertificates, rec.ID, rec); err != nil {
		return nil, err
	}
	return map[string]any{"certificate": rec.ID, "status": kind, "effective": effS}, nil
}

func applyCertificateEndorse(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.CertificateEndorse](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	ag, err := signerAgency(c, "certificate.endorse")
	if err != nil {
		return nil, err
	}
	rec, cv, err := mustCertificate(c, "payload.id", p.ID)
	if err != nil {
		return nil, err
	}
	if p.Version != 0 && p.Version != rec.Current {
		if p.Version > rec.Current {
			return nil, wire.Reject(wire.CodeNotFound, "payload.version", "certificate %s has %d version(s)", rec.ID, rec.Current)
		}
		if cv, _, err = CertificateVersionOf(c, rec.ID, p.Version); err != nil {
			return nil, err
		}
	}
	if rec.Status != wire.StatusActive {
		return nil, wire.Reject(CodeRevoked, "payload.id", "certificate %s is %s; it cannot be endorsed", rec.ID, rec.Status)
	}
	ct := &cv.Certificate
	if ag.Country != ct.ExportCountry {
		return nil, wire.Reject(CodeJurisdiction, "signer", "only an agency of the exporting country %s endorses certificate %s; %s is of %s", ct.ExportCountry, rec.ID, ag.Identity, ag.Country)
	}
	if err := requireCustoms(ag, "endorsing a certificate of origin"); err != nil {
		return nil, err
	}
	if !ag.ActsOn(ct.Program) {
		return nil, wire.Reject(CodeJurisdiction, "signer", "%s does not act on %s (its programs: %s)", ag.Identity, ct.Program, joinOr(ag.Programs, "none"))
	}
	if slices.ContainsFunc(rec.Endorsements, func(e wire.Endorsement) bool { return e.Agency == ag.Identity && e.Version == cv.Version }) {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%s already endorsed version %d of %s", ag.Identity, cv.Version, rec.ID)
	}
	rec.Endorsements = append(rec.Endorsements, wire.Endorsement{Agency: ag.Identity, Version: cv.Version, Note: p.Note, Recorded: recorded(c)})
	if err := state.PutJSON(c, BucketCertificates, rec.ID, rec); err != nil {
		return nil, err
	}
	return map[string]any{"certificate": rec.ID, "version": cv.Version, "endorsedBy": ag.Identity}, nil
}

// ListCertificates answers a listing through the indexes: its cost grows
// with the page, not with the number of certificates recorded.
func ListCertificates(r state.Reader, f wire.CertificateFilter) (*wire.CertificatePage, error) {
	var prefix string
	switch {
	case f.Importer != "":
		prefix = ikey("importer", withPrefix(f.Importer, identityPrefixParticipant), "")
	case f.Exporter != "":
		prefix = ikey("exporter", withPrefix(f.Exporter, identityPrefixParticipant), "")
	case f.Certifier != "":
		prefix = ikey("certifier", withPrefix(f.Certifier, identityPrefixParticipant), "")
	case f.HS != "":
		if err := wire.CheckHSCode(f.HS); err != nil {
			return nil, wire.Reject(wire.CodeInvalid, "hs", "%q: %v", f.HS, err)
		}
		prefix = ikey("hs", f.HS)
	default:
		return nil, wire.Reject(wire.CodeInvalid, "filter", "give one of importer, exporter, certifier or hs")
	}
	ids, next, err := scanIndex(r, BucketCertIndex, prefix, f.After, clampLimit(f.Limit))
	if err != nil {
		return nil, err
	}
	page := &wire.CertificatePage{Next: next, Certificates: []*wire.CertificateRecord{}}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		rec, ok, err := LookupCertificate(r, id)
		if err != nil {
			return nil, err
		}
		if ok {
			page.Certificates = append(page.Certificates, rec)
		}
	}
	return page, nil
}

func dashIfEmpty(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}

func withPrefix(s, prefix string) string { return prefix + strings.TrimPrefix(s, prefix) }
