package trade

import (
	"fmt"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/credential/tradeclaims"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// ExportCertificate gives the claims of a certificate version (0: current)
// and the ledger evidence of the records behind it: the version, its
// revocation and endorsements. The caller attaches its signed head to each
// item (SetHead), builds the credential (credential.Build with
// EvidenceEntries) and signs it.
func ExportCertificate(v Source, network, id string, version int) (*credential.Claims, []wire.EvidenceItem, error) {
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
		return nil, nil, wire.Reject(wire.CodeNotFound, "version", "certificate %s has %d version(s)", id, rec.Current)
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
	return tradeclaims.CertificateClaims(network, cv.Version, cv.Reason, &cv.Certificate, cv.StatusIndex), items, err
}

// ExportLicense gives the claims of a license and the ledger evidence of
// its grant, its revocation and the right it licenses.
func ExportLicense(v Source, network, id string) (*credential.Claims, []wire.EvidenceItem, error) {
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
	return tradeclaims.LicenseClaims(network, &l.LicenseGrant, l.Level, l.Root, registrationOf(right), l.StatusIndex), items, err
}

// EvidenceEntries are a credential's evidence entries of items.
func EvidenceEntries(items []wire.EvidenceItem) []credential.EvidenceEntry {
	out := make([]credential.EvidenceEntry, 0, len(items))
	for _, it := range items {
		out = append(out, credential.EvidenceEntry{Description: it.Role, Record: it.Evidence})
	}
	return out
}

// SetHead attaches a signed head to every evidence item.
func SetHead(items []wire.EvidenceItem, h *chain.Head) {
	for i := range items {
		if items[i].Evidence != nil {
			items[i].Evidence.Head = *h
		}
	}
}

func registrationOf(r *wire.IPRight) *wire.IPRightRegister {
	if r == nil {
		return nil
	}
	return &wire.IPRightRegister{ID: r.ID, Type: r.Type, Office: r.Office, RegistrationNumber: r.RegistrationNumber, Title: r.Title,
		Holder: r.Holder, Countries: r.Countries, ValidUntil: r.ValidUntil, Evidence: r.Evidence}
}
