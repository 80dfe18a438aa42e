package trade

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// LookupRight reads an IP right.
func LookupRight(r state.Reader, id string) (*wire.IPRight, bool, error) {
	return state.Lookup[wire.IPRight](r, BucketRights, id)
}

// LookupLicense reads a license.
func LookupLicense(r state.Reader, id string) (*wire.License, bool, error) {
	return state.Lookup[wire.License](r, BucketLicenses, id)
}

func applyIPRightRegister(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.IPRightRegister](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	ag, err := signerAgency(c, "ipright.register")
	if err != nil {
		return nil, err
	}
	if !ag.ActsOn(wire.ProgramIPR) {
		return nil, wire.Reject(CodeJurisdiction, "signer", "%s does not act on IPR (its programs: %s); the admin adds it with agency.update", ag.Identity, joinOr(ag.Programs, "none"))
	}
	if _, ok, err := LookupRight(c, p.ID); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%q: a right with this id is registered", p.ID)
	}
	holder, err := enrolledParty(c, "payload.holder", p.Holder, wire.RoleRightsholder)
	if err != nil {
		return nil, err
	}
	// Jurisdiction is the country, as for enrolment: an agency vouches for
	// rights held by participants of its own country only.
	if holder.Country != ag.Country {
		return nil, wire.Reject(CodeJurisdiction, "payload.holder", "%q is enrolled in %s; %s (%s) vouches only for rights held by participants of %s: an agency of %s acting on IPR registers this right",
			p.Holder, holder.Country, ag.Identity, ag.Country, ag.Country, holder.Country)
	}
	r := &wire.IPRight{ID: p.ID, Type: p.Type, Office: p.Office, RegistrationNumber: p.RegistrationNumber, Title: p.Title, Holder: p.Holder,
		Countries: p.Countries, ValidUntil: p.ValidUntil, Evidence: p.Evidence, VouchedBy: ag.Identity, Recorded: recorded(c)}
	if err := state.PutJSON(c, BucketRights, p.ID, r); err != nil {
		return nil, err
	}
	return map[string]any{"right": p.ID, "holder": p.Holder, "vouchedBy": ag.Identity}, nil
}

func applyLicenseGrant(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.LicenseGrant](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	licensor, err := signerParticipant(c, "license.grant")
	if err != nil {
		return nil, err
	}
	if p.Licensor != licensor.Identity {
		return nil, wire.Reject(wire.CodeUnauthorized, "payload.licensor", "%q: a license is signed by its licensor; it is signed by %s", p.Licensor, licensor.Identity)
	}
	if _, ok, err := LookupLicense(c, p.ID); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%q: a license with this id is recorded", p.ID)
	}
	right, ok, err := LookupRight(c, p.Right)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(CodeUnknownReference, "payload.right", "%q: no IP right with this id is registered (ipright.register)", p.Right)
	}
	licensee, err := enrolledParty(c, "payload.licensee", p.Licensee, wire.RoleLicensee)
	if err != nil {
		return nil, err
	}
	from, _ := tx.ParseTime(p.ValidFrom)
	until, _ := tx.ParseTime(p.ValidUntil)
	if !until.After(c.Time) {
		return nil, wire.Reject(CodeNotInTerm, "payload.validUntil", "%q is not after the ledger time %s: the license would never be in term", p.ValidUntil, tx.FormatTime(c.Time))
	}
	lic := &wire.License{LicenseGrant: p, Status: wire.StatusActive, Recorded: recorded(c), Root: p.ID}
	path := []map[string]any{} // the chain above the license: [] for a root license
	if p.Parent == "" {
		if p.Licensor != right.Holder {
			return nil, wire.Reject(wire.CodeUnauthorized, "payload.licensor", "%q is not the registered holder of right %s (%s); a license from anyone else is a sub-license and names its parent",
				p.Licensor, right.ID, right.Holder)
		}
	} else {
		parent, ok, err := LookupLicense(c, p.Parent)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, wire.Reject(CodeUnknownReference, "payload.parent", "%q: no license with this id is recorded", p.Parent)
		}
		if err := checkNarrows(c, &p, parent, from, until); err != nil {
			return nil, err
		}
		lic.Level, lic.Root = parent.Level+1, parent.Root
		if path, err = ancestors(c, parent); err != nil {
			return nil, err
		}
	}
	if right.ValidUntil != "" && p.ValidUntil > right.ValidUntil {
		return nil, wire.Reject(CodeWiderThanParent, "payload.validUntil", "%q is after the right %s expires (%s)", p.ValidUntil, right.ID, right.ValidUntil)
	}
	doc := &state.Document{ID: p.ID, Type: "license", Program: wire.ProgramIPR, HSCodes: uniqueSorted(p.Goods.HSPrefixes),
		DestinationCountries: uniqueSorted(p.Territory), Input: map[string]any{
			inputDoc: asMap(&p), inputLicensePath: path,
			inputParties: map[string]any{"licensor": asMap(licensor), "licensee": asMap(licensee)},
			inputContext: map[string]any{"action": "grant", "right": asMap(right)},
		}}
	if err := c.Evaluate(doc); err != nil {
		return nil, err
	}
	if lic.StatusIndex, err = newStatusIndex(c, p.Licensee); err != nil {
		return nil, err
	}
	if err := state.PutJSON(c, BucketLicenses, p.ID, lic); err != nil {
		return nil, err
	}
	c.Put(BucketLicenseIndex, ikey("licensee", p.Licensee, p.Right, p.ID), nil)
	c.Put(BucketLicenseIndex, ikey("licensor", p.Licensor, p.Right, p.ID), nil)
	c.Put(BucketLicenseIndex, ikey("right", p.Right, p.ID), nil)
	if p.Parent != "" {
		c.Put(BucketLicenseIndex, ikey("parent", p.Parent, p.ID), nil)
	}
	return map[string]any{"license": p.ID, "level": lic.Level, "root": lic.Root, "statusIndex": lic.StatusIndex}, nil
}

// checkNarrows enforces that a sub-license only narrows its parent, naming
// every field that is wider.
func checkNarrows(c *state.Context, p *wire.LicenseGrant, parent *wire.License, from, until time.Time) error {
	if parent.Right != p.Right {
		return wire.Reject(wire.CodeInvalid, "payload.right", "%q: the parent license %s is for right %s", p.Right, parent.ID, parent.Right)
	}
	if parent.Licensee != p.Licensor {
		return wire.Reject(wire.CodeUnauthorized, "payload.parent", "%q was granted to %s, not to the licensor %s: only a license's licensee may sub-license it", parent.ID, parent.Licensee, p.Licensor)
	}
	if rv := parent.Revocation; rv != nil && rv.Effective <= tx.FormatTime(c.Time) {
		return wire.Reject(CodeRevoked, "payload.parent", "%q was revoked from %s (%s)", parent.ID, rv.Effective, rv.Reason)
	}
	if parent.ValidUntil < tx.FormatTime(c.Time) {
		return wire.Reject(CodeNotInTerm, "payload.parent", "%q expired at %s", parent.ID, parent.ValidUntil)
	}
	if !parent.Sublicensing.Allowed {
		return wire.Reject(CodeSublicensingNotAllowed, "payload.parent", "%q does not allow sub-licensing (there is no implied right to sub-license)", parent.ID)
	}
	if parent.Level+1 >= wire.MaxChainLength {
		return wire.Reject(CodeChainTooLong, "payload.parent", "%q is at level %d; chains are limited to %d licenses", parent.ID, parent.Level, wire.MaxChainLength)
	}
	var pr wire.Problems
	if p.Sublicensing.Depth > parent.Sublicensing.Depth-1 {
		pr.Add(CodeDepthExceeded, "payload.sublicensing.depth", fmt.Sprint(p.Sublicensing.Depth),
			"the parent %s allows %d further level(s) below it, so this sub-license may allow at most %d", parent.ID, parent.Sublicensing.Depth, parent.Sublicensing.Depth-1)
	}
	for i, h := range p.Goods.HSPrefixes {
		if !slices.ContainsFunc(parent.Goods.HSPrefixes, func(ph string) bool { return wire.HSCovers(ph, h) }) {
			pr.Add(CodeWiderThanParent, fmt.Sprintf("payload.goods.hsPrefixes[%d]", i), h, "is outside the parent %s's goods %s", parent.ID, strings.Join(parent.Goods.HSPrefixes, ", "))
		}
	}
	for i, t := range p.Territory {
		if !slices.Contains(parent.Territory, t) {
			pr.Add(CodeWiderThanParent, fmt.Sprintf("payload.territory[%d]", i), t, "is outside the parent %s's territory %s", parent.ID, strings.Join(parent.Territory, ", "))
		}
	}
	pf, _ := tx.ParseTime(parent.ValidFrom)
	pu, _ := tx.ParseTime(parent.ValidUntil)
	if from.Before(pf) {
		pr.Add(CodeWiderThanParent, "payload.validFrom", p.ValidFrom, "is before the parent %s's term starts (%s)", parent.ID, parent.ValidFrom)
	}
	if until.After(pu) {
		pr.Add(CodeWiderThanParent, "payload.validUntil", p.ValidUntil, "is after the parent %s's term ends (%s)", parent.ID, parent.ValidUntil)
	}
	return pr.Err()
}

// ancestors lists a license and its ancestors up to the root, as maps for
// the rule engine (bounded by MaxChainLength).
func ancestors(r state.Reader, l *wire.License) ([]map[string]any, error) {
	var out []map[string]any
	for i := 0; l != nil && i < wire.MaxChainLength; i++ {
		out = append(out, asMap(l))
		if l.Parent == "" {
			break
		}
		p, ok, err := LookupLicense(r, l.Parent)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		l = p
	}
	return out, nil
}

func applyLicenseRevoke(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.LicenseRevoke](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	lic, ok, err := LookupLicense(c, p.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, "payload.id", "%q: no license with this id is recorded", p.ID)
	}
	right, _, err := LookupRight(c, lic.Right)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Signer.Kind == wire.KindAgency:
		ag, err := signerAgency(c, "license.revoke")
		if err != nil {
			return nil, err
		}
		if !ag.ActsOn(wire.ProgramIPR) {
			return nil, wire.Reject(CodeJurisdiction, "signer", "%s does not act on IPR", ag.Identity)
		}
		if !slices.Contains(lic.Territory, ag.Country) {
			return nil, wire.Reject(CodeJurisdiction, "signer", "%s (%s) may revoke only licenses whose territory includes %s; %s covers %s: an agency of one of those countries, the licensor or the right's holder revokes it",
				ag.Identity, ag.Country, ag.Country, lic.ID, joinOr(lic.Territory, "no country"))
		}
	case c.Signer.Owner == lic.Licensor || (right != nil && c.Signer.Owner == right.Holder):
	default:
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "only the licensor %s, the right's holder or an agency acting on IPR may revoke license %s", lic.Licensor, lic.ID)
	}
	eff, err := effectiveTime(c, "payload.effective", p.Effective, false)
	if err != nil {
		return nil, err
	}
	effS := tx.FormatTime(eff)
	if rv := lic.Revocation; rv != nil && rv.Effective <= effS {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "license %s is already revoked from %s", lic.ID, rv.Effective)
	}
	lic.Status = wire.StatusRevoked
	lic.Revocation = &wire.Revocation{Kind: wire.StatusRevoked, By: c.Signer.Owner, Reason: p.Reason, Effective: effS, Recorded: recorded(c)}
	if err := state.PutJSON(c, BucketLicenses, lic.ID, lic); err != nil {
		return nil, err
	}
	if err := revokeLicenseStatus(c, lic, 0); err != nil {
		return nil, err
	}
	return map[string]any{"license": lic.ID, "status": lic.Status, "effective": effS}, nil
}

// revokeLicenseStatus sets the revocation bit of a license and of every
// license below it: a sub-license of a revoked license cannot be relied on
// either. The walk follows the parent index in key order and is bounded by
// MaxChainLength levels.
func revokeLicenseStatus(c *state.Context, lic *wire.License, depth int) error {
	if lic.StatusIndex != nil {
		if err := setStatusBit(c, credential.PurposeRevocation, lic.StatusIndex.Revocation, true); err != nil {
			return err
		}
	}
	if depth >= wire.MaxChainLength {
		return nil
	}
	var children []string
	c.Scan(BucketLicenseIndex, ikey("parent", lic.ID, ""), func(k string, _ []byte) bool {
		children = append(children, k[strings.LastIndexByte(k, 0)+1:])
		return true
	})
	for _, id := range children {
		child, ok, err := LookupLicense(c, id)
		if err != nil {
			return err
		}
		if ok {
			if err := revokeLicenseStatus(c, child, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListLicenses answers a listing through the license index.
func ListLicenses(r state.Reader, f wire.LicenseFilter) (*wire.LicensePage, error) {
	var prefix string
	switch {
	case f.Licensee != "":
		prefix = ikey("licensee", withPrefix(f.Licensee, identityPrefixParticipant), "")
		if f.Right != "" {
			prefix = ikey("licensee", withPrefix(f.Licensee, identityPrefixParticipant), f.Right, "")
		}
	case f.Licensor != "":
		prefix = ikey("licensor", withPrefix(f.Licensor, identityPrefixParticipant), "")
		if f.Right != "" {
			prefix = ikey("licensor", withPrefix(f.Licensor, identityPrefixParticipant), f.Right, "")
		}
	case f.Parent != "":
		prefix = ikey("parent", f.Parent, "")
	case f.Right != "":
		prefix = ikey("right", f.Right, "")
	default:
		return nil, wire.Reject(wire.CodeInvalid, "filter", "give licensee, licensor, right or parent")
	}
	ids, next, err := scanIndex(r, BucketLicenseIndex, prefix, f.After, clampLimit(f.Limit))
	if err != nil {
		return nil, err
	}
	page := &wire.LicensePage{Next: next, Licenses: []*wire.LicenseView{}}
	for _, id := range ids {
		l, ok, err := LookupLicenseView(r, id)
		if err != nil {
			return nil, err
		}
		if ok {
			page.Licenses = append(page.Licenses, l)
		}
	}
	return page, nil
}
