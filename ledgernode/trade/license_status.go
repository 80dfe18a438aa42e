package trade

import (
	"fmt"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// A license's own status says only whether it was revoked itself; whether
// it is in force also depends on its term and on every license above it. A
// sub-license under a revoked parent is not in force, whatever its own
// record says (there is no license without the licensor's own right).

// EffectiveStatusOf walks from l up to its root (bounded by
// MaxChainLength) and says whether l is in force at `at`: not revoked (the
// revocation's effective time counts), in term, and every license above it
// likewise.
func EffectiveStatusOf(r state.Reader, l *wire.License, at time.Time) (*wire.EffectiveStatus, error) {
	atS := tx.FormatTime(at)
	out := &wire.EffectiveStatus{Status: wire.EffectiveActive, At: atS}
	cur := l
	seen := map[string]bool{}
	for step := 0; ; step++ {
		own := step == 0
		if rv := cur.Revocation; rv != nil && rv.Effective <= atS {
			out.Status, out.License = wire.EffectiveParentRevoked, cur.ID
			if own {
				out.Status = wire.EffectiveRevoked
			}
			out.Reason = fmt.Sprintf("license %s was revoked by %s with effect from %s: %s", cur.ID, rv.By, rv.Effective, rv.Reason)
			return out, nil
		}
		switch {
		case own && atS < cur.ValidFrom:
			out.Status, out.License, out.Reason = wire.EffectiveNotYetValid, cur.ID, fmt.Sprintf("license %s is in term from %s", cur.ID, cur.ValidFrom)
			return out, nil
		case atS > cur.ValidUntil:
			out.Status, out.License = wire.EffectiveParentExpired, cur.ID
			if own {
				out.Status = wire.EffectiveExpired
			}
			out.Reason = fmt.Sprintf("license %s expired at %s", cur.ID, cur.ValidUntil)
			return out, nil
		}
		if cur.Parent == "" {
			if own {
				out.Reason = ""
			}
			return out, nil
		}
		seen[cur.ID] = true
		if step+1 >= wire.MaxChainLength || seen[cur.Parent] {
			out.Status, out.License, out.Reason = wire.EffectiveBrokenChain, cur.ID, fmt.Sprintf("the chain above %s is longer than %d licenses or a cycle", cur.ID, wire.MaxChainLength)
			return out, nil
		}
		parent, ok, err := LookupLicense(r, cur.Parent)
		if err != nil {
			return nil, err
		}
		if !ok {
			out.Status, out.License, out.Reason = wire.EffectiveBrokenChain, cur.Parent, fmt.Sprintf("the parent %s of %s is not recorded", cur.Parent, cur.ID)
			return out, nil
		}
		cur = parent
	}
}

// viewTime is the time of the ledger a reader shows: the block time of a
// view's height (a past one too), or the zero time for a bare reader.
func viewTime(r state.Reader) time.Time {
	if m, ok := r.(interface{ Meta() state.Meta }); ok {
		t, _ := tx.ParseTime(m.Meta().Time)
		return t
	}
	return time.Time{}
}

// LookupLicenseView reads a license with its effective status at the
// reader's ledger time.
func LookupLicenseView(r state.Reader, id string) (*wire.LicenseView, bool, error) {
	l, ok, err := LookupLicense(r, id)
	if !ok || err != nil {
		return nil, ok, err
	}
	v, err := licenseView(r, l)
	return v, err == nil, err
}

func licenseView(r state.Reader, l *wire.License) (*wire.LicenseView, error) {
	eff, err := EffectiveStatusOf(r, l, viewTime(r))
	if err != nil {
		return nil, err
	}
	return &wire.LicenseView{License: *l, Effective: eff}, nil
}
