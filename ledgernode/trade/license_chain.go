package trade

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// VerifyLicense walks from the licenses the importer holds for the right
// up to the rights holder and answers whether one path covers the goods,
// the country and the date. Its cost is bounded by the importer's licenses
// for that right times MaxChainLength lookups.
func VerifyLicense(v Source, q wire.LicenseQuery) (*wire.LicenseVerdict, error) {
	var ev evidenceSet
	out, err := resolveLicense(v, q, &ev)
	if err != nil {
		return nil, err
	}
	out.Evidence, err = ev.resolve(v, !q.NoProof)
	return out, err
}

// resolveLicense computes the verdict and adds the chosen path's records
// to ev.
func resolveLicense(v Source, q wire.LicenseQuery, ev *evidenceSet) (*wire.LicenseVerdict, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	meta := v.Meta()
	head, _ := tx.ParseTime(meta.Time)
	at, err := parseAt("at", q.At, head)
	if err != nil {
		return nil, err
	}
	out := &wire.LicenseVerdict{Query: q, At: tx.FormatTime(at), Height: meta.Height, LedgerTime: meta.Time, Path: []wire.PathStep{}, Warnings: []wire.Check{}, Evidence: []wire.EvidenceItem{}}
	var starts []string
	if q.License != "" {
		if _, ok, err := LookupLicense(v, q.License); err != nil {
			return nil, err
		} else if !ok {
			out.Answer = wire.AnswerNotFound
			out.Failure = &wire.StepFailure{Step: 0, License: q.License, Code: "not_found",
				Reason: fmt.Sprintf("no license %q is recorded on this ledger as of height %d (%s); if it was just granted, ask again with the height of its receipt (minHeight)", q.License, meta.Height, meta.Time)}
			return out, nil
		}
		starts = []string{q.License}
	} else {
		if starts, _, err = scanIndex(v, BucketLicenseIndex, ikey("licensee", q.Importer, q.Right, ""), "", 100); err != nil {
			return nil, err
		}
	}
	if len(starts) == 0 {
		out.Answer = wire.AnswerNo
		out.Failure = &wire.StepFailure{Step: 0, Code: "no_license", Reason: fmt.Sprintf("%s holds no license for right %s", q.Importer, q.Right)}
		r, ok, err := LookupRight(v, q.Right)
		if err != nil {
			return nil, fmt.Errorf("right %s: %w", q.Right, err)
		}
		if ok {
			out.Holder = r.Holder
		}
		return out, nil
	}
	type candidate struct {
		path    []wire.PathStep
		failure *wire.StepFailure
		refs    evidenceSet
		holder  string
		warns   []wire.Check
	}
	var best *candidate
	var alts []wire.Alternative
	for _, start := range starts {
		cd := &candidate{}
		var err error
		if cd.path, cd.failure, cd.holder, cd.warns, err = walkChain(v, q, start, at, &cd.refs); err != nil {
			return nil, err
		}
		ans := wire.AnswerYes
		if cd.failure != nil {
			ans = wire.AnswerNo
		}
		alts = append(alts, wire.Alternative{License: start, Answer: ans, Failure: cd.failure})
		// Prefer a passing path; among failing ones, the one that got furthest.
		switch {
		case best == nil:
			best = cd
		case best.failure == nil:
		case cd.failure == nil || cd.failure.Step > best.failure.Step:
			best = cd
		}
	}
	out.Path, out.Failure, out.Holder = best.path, best.failure, best.holder
	out.Warnings = append(out.Warnings, best.warns...)
	out.Answer = wire.AnswerYes
	if best.failure != nil {
		out.Answer = wire.AnswerNo
	}
	if len(alts) > 1 {
		out.Alternatives = alts
	}
	for _, it := range best.refs.items {
		ev.add(it.Role, it.TxID)
	}
	return out, nil
}

// walkChain follows one candidate path from start up to the root. Every
// step is checked and recorded; the first failing step is returned, and the
// warnings (records made after the date asked). Cycles and chains longer
// than MaxChainLength end the walk with a failure, so the walk is bounded
// whatever the stored records say. A record that cannot be read is an
// error, never a failed step.
func walkChain(r Source, q wire.LicenseQuery, start string, at time.Time, ev *evidenceSet) ([]wire.PathStep, *wire.StepFailure, string, []wire.Check, error) {
	var path []wire.PathStep
	var first *wire.StepFailure
	var warns []wire.Check
	warnAfter := func(st *wire.PathStep, what, recorded string) {
		var l checkList
		l.recordedAfter(what, recorded, tx.FormatTime(at))
		st.Checks = append(st.Checks, l.all...)
		warns = append(warns, l.all...)
	}
	atS := tx.FormatTime(at)
	seen := map[string]bool{}
	var child *wire.License
	holder := ""
	fail := func(st *wire.PathStep, name, code, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		st.Checks = append(st.Checks, wire.Check{Name: name, Result: wire.ResultFail, Code: code, Message: msg})
		st.Status = wire.ResultFail
		if first == nil {
			first = &wire.StepFailure{Step: st.Step, License: st.License, Code: code, Reason: msg}
		}
	}
	pass := func(st *wire.PathStep, name, format string, args ...any) {
		st.Checks = append(st.Checks, wire.Check{Name: name, Result: wire.ResultPass, Message: fmt.Sprintf(format, args...)})
	}
	id := start
	for step := 0; ; step++ {
		st := wire.PathStep{Step: step, License: id, Status: "ok", Checks: []wire.Check{}}
		if step >= wire.MaxChainLength {
			fail(&st, "chain length", CodeChainTooLong, "the chain is longer than %d licenses; it cannot be resolved", wire.MaxChainLength)
			path = append(path, st)
			break
		}
		if seen[id] {
			fail(&st, "chain", "cycle", "license %s appears twice on the path: the chain is a cycle", id)
			path = append(path, st)
			break
		}
		seen[id] = true
		l, ok, err := LookupLicense(r, id)
		if err != nil {
			return nil, nil, "", nil, fmt.Errorf("license %s: %w", id, err)
		}
		if !ok {
			what := "the importer's license"
			if child != nil {
				what = "the parent of " + child.ID
			}
			fail(&st, "recorded", "broken_chain", "%s, license %s, is not recorded", what, id)
			path = append(path, st)
			break
		}
		st.Licensor, st.Licensee, st.Level, st.ValidFrom, st.ValidUntil = l.Licensor, l.Licensee, l.Level, l.ValidFrom, l.ValidUntil
		ev.add(fmt.Sprintf("license %s (step %d)", l.ID, step), l.Recorded.TxID)
		warnAfter(&st, fmt.Sprintf("license %s was granted", l.ID), l.Recorded.Time)

		// Who: the importer holds step 0; every licensor holds the step above.
		if child == nil {
			if l.Licensee != q.Importer {
				fail(&st, "licensee", "not_licensee", "license %s was granted to %s, not to %s", l.ID, l.Licensee, q.Importer)
			} else {
				pass(&st, "licensee", "granted to %s", l.Licensee)
			}
		} else if l.Licensee != child.Licensor {
			fail(&st, "licensor", "licensor_not_licensee", "%s granted %s but is not the licensee of %s (%s is)", child.Licensor, child.ID, l.ID, l.Licensee)
		} else {
			pass(&st, "licensor", "%s, licensor of %s, is the licensee of %s", child.Licensor, child.ID, l.ID)
		}
		if q.Right != "" && l.Right != q.Right {
			fail(&st, "right", "wrong_right", "license %s is for right %s, not %s", l.ID, l.Right, q.Right)
		}
		if q.Right == "" {
			q.Right = l.Right
		}

		// The grant's signature, at its block time.
		sc, sw, err := signatureCheck(r, "the grant of "+l.ID, l.Recorded, ev, atS)
		if err != nil {
			return nil, nil, "", nil, err
		}
		if sc.Result == wire.ResultFail {
			fail(&st, "signature", sc.Code, "%s", sc.Message)
		} else {
			st.Checks = append(st.Checks, sc)
		}
		if sw != nil {
			st.Checks = append(st.Checks, *sw)
			warns = append(warns, *sw)
		}

		// Nothing revoked before D; the step in term on D.
		if rv := l.Revocation; rv != nil {
			ev.add(fmt.Sprintf("license %s revoked", l.ID), rv.TxID)
			if rv.Effective <= atS {
				fail(&st, "revocation", CodeRevoked, "license %s was revoked by %s with effect from %s: %s", l.ID, rv.By, rv.Effective, rv.Reason)
				warnAfter(&st, fmt.Sprintf("license %s was revoked with effect from %s, but that was recorded", l.ID, rv.Effective), rv.Time)
			} else if child != nil && rv.Effective <= child.Recorded.Time {
				fail(&st, "revocation", CodeRevoked, "license %s was revoked from %s, before %s was granted under it", l.ID, rv.Effective, child.ID)
			}
		}
		switch {
		case atS < l.ValidFrom:
			fail(&st, "term", "not_yet_valid", "license %s is in term from %s; %s is before", l.ID, l.ValidFrom, atS)
		case atS > l.ValidUntil:
			fail(&st, "term", "expired", "license %s expired at %s; %s is after", l.ID, l.ValidUntil, atS)
		default:
			pass(&st, "term", "in term %s to %s", l.ValidFrom, l.ValidUntil)
		}
		// ... and it was in term when the step below was granted under it.
		if child != nil && child.Recorded.Time > l.ValidUntil {
			fail(&st, "term when sub-licensed", "expired", "license %s had expired (%s) when %s was granted under it at %s", l.ID, l.ValidUntil, child.ID, child.Recorded.Time)
		}

		// Scope: goods and territory cover the shipment.
		if slices.ContainsFunc(l.Goods.HSPrefixes, func(p string) bool { return wire.HSCovers(p, q.HSCode) }) {
			pass(&st, "goods", "HS %s is covered by %s", q.HSCode, strings.Join(l.Goods.HSPrefixes, ", "))
		} else {
			fail(&st, "goods", "goods_not_covered", "license %s covers HS %s, not %s", l.ID, strings.Join(l.Goods.HSPrefixes, ", "), q.HSCode)
		}
		if slices.Contains(l.Territory, q.Country) {
			pass(&st, "territory", "%s is in the territory", q.Country)
		} else {
			fail(&st, "territory", "territory_not_covered", "license %s covers %s, not %s", l.ID, strings.Join(l.Territory, ", "), q.Country)
		}

		// Depth: the step above must allow sub-licensing down to here.
		if child != nil {
			switch {
			case !l.Sublicensing.Allowed:
				fail(&st, "sub-licensing", CodeSublicensingNotAllowed, "license %s does not allow sub-licensing, yet %s was granted under it", l.ID, child.ID)
			case child.Sublicensing.Depth > l.Sublicensing.Depth-1:
				fail(&st, "sub-licensing", CodeDepthExceeded, "license %s allows %d further level(s); %s claims %d more below it", l.ID, l.Sublicensing.Depth, child.ID, child.Sublicensing.Depth)
			default:
				pass(&st, "sub-licensing", "allows %d further level(s)", l.Sublicensing.Depth)
			}
		}

		// The root: granted by the registered holder of the right.
		if l.Parent == "" {
			right, ok, err := LookupRight(r, l.Right)
			if err != nil {
				return nil, nil, "", nil, fmt.Errorf("right %s: %w", l.Right, err)
			}
			switch {
			case !ok:
				fail(&st, "right holder", "unknown_right", "right %s is not registered", l.Right)
			default:
				holder = right.Holder
				ev.add(fmt.Sprintf("right %s registered (vouched by %s)", right.ID, right.VouchedBy), right.Recorded.TxID)
				warnAfter(&st, fmt.Sprintf("right %s was registered", right.ID), right.Recorded.Time)
				if l.Licensor != right.Holder {
					fail(&st, "right holder", "licensor_not_rightsholder", "the root license %s was granted by %s, not by the right's holder %s", l.ID, l.Licensor, right.Holder)
				} else {
					pass(&st, "right holder", "root granted by the registered holder %s of %s %s (%s %s)", right.Holder, right.Type, right.ID, right.Office, right.RegistrationNumber)
				}
				if right.ValidUntil != "" && atS > right.ValidUntil {
					fail(&st, "right term", "right_expired", "right %s expired at %s", right.ID, right.ValidUntil)
				}
			}
			path = append(path, st)
			break
		}
		path = append(path, st)
		child = l
		id = l.Parent
	}
	return path, first, holder, warns, nil
}
