package policystate

import (
	"fmt"
	"sort"

	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// GetHead reads a policy's head.
func GetHead(r state.Reader, id string) (*policy.Head, bool, error) {
	return state.Lookup[policy.Head](r, BucketHeads, id)
}

// GetVersion reads one version of a policy.
func GetVersion(r state.Reader, id string, version int) (*policy.Version, bool, error) {
	return state.Lookup[policy.Version](r, BucketVersions, versionKey(id, version))
}

// Versions lists every version of a policy, oldest first.
func Versions(r state.Reader, id string) ([]policy.Version, error) {
	var out []policy.Version
	err := state.ScanJSON(r, BucketVersions, id+"\x00", func(v *policy.Version) bool {
		out = append(out, *v)
		return true
	})
	return out, err
}

// Get returns a policy's head and all its versions; state.ErrNotFound when
// there is no such policy.
func Get(r state.Reader, id string) (*policy.Head, []policy.Version, error) {
	h, ok, err := GetHead(r, id)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, fmt.Errorf("policy %q: %w", id, state.ErrNotFound)
	}
	vs, err := Versions(r, id)
	return h, vs, err
}

// List returns the heads of every policy (agency == "") or of one agency's
// policies, by id.
func List(r state.Reader, agency string) ([]policy.Head, error) {
	var ids []string
	if agency == "" {
		r.Scan(BucketHeads, "", func(k string, _ []byte) bool { ids = append(ids, k); return true })
	} else {
		r.Scan(BucketByAgency, agency+"\x00", func(k string, _ []byte) bool { ids = append(ids, k[len(agency)+1:]); return true })
		sort.Strings(ids)
	}
	out := make([]policy.Head, 0, len(ids))
	for _, id := range ids {
		h, ok, err := GetHead(r, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *h)
		}
	}
	return out, nil
}

// InScope returns the version of each policy that was in force at `at`
// (RFC 3339 as tx.FormatTime writes it; "" for now) and whose scope covers
// sub, by policy id. A version is in force from its block time until the
// next version or the withdrawal.
func InScope(r state.Reader, sub policy.Subject, at string) ([]policy.Version, error) {
	heads, err := List(r, "")
	if err != nil {
		return nil, err
	}
	var out []policy.Version
	juris := jurisdictions{}
	for _, h := range heads {
		if !juris.covers(r, h.Agency, sub) {
			continue
		}
		if at == "" {
			if h.Status != policy.StatusActive || !h.Scope.Matches(sub) {
				continue
			}
			v, ok, err := GetVersion(r, h.ID, h.Version)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, *v)
			}
			continue
		}
		if at < h.Published || (h.Withdrawn != "" && at >= h.Withdrawn) {
			continue
		}
		vs, err := Versions(r, h.ID)
		if err != nil {
			return nil, err
		}
		var cur *policy.Version
		for i := range vs {
			if vs[i].Time <= at {
				cur = &vs[i]
			}
		}
		if cur != nil && cur.Policy.Scope.Matches(sub) {
			out = append(out, *cur)
		}
	}
	return out, nil
}

// History returns the evaluations of a document, oldest first.
func History(r state.Reader, docID string) ([]policy.Evaluation, error) {
	var out []policy.Evaluation
	err := state.ScanJSON(r, BucketEvals, docID+"\x00", func(ev *policy.Evaluation) bool {
		out = append(out, *ev)
		return true
	})
	return out, err
}
