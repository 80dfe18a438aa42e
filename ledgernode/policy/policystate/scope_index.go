package policystate

import (
	"encoding/binary"
	"slices"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/state"
)

// Scope index: with many agencies' policies in force (47 partner agencies
// x 5 policies is the first user's network), scanning every active policy
// for each document costs more than the few rules in scope. The evaluator
// keeps the active policies indexed by HS chapter (every HS prefix of a
// scope names one chapter: its first two digits), so that a document's
// candidates are the policies of its chapters and those without HS
// prefixes; each candidate is then checked exactly as before (Matches and
// jurisdiction), in policy id order. The index is a cache of the active
// set: it is rebuilt from a scan whenever the active set's generation
// changes, and every write to the active set bumps the generation in the
// same transaction (writeVersion, withdraw), so two nodes with the same
// state always evaluate the same policies. A ledger whose active set was
// written before generations were kept (no generation yet) is scanned.

// BucketPolicyMeta holds the active set's generation.
const BucketPolicyMeta = "policymeta"

const activeGenerationKey = "activeGeneration"

// bumpActiveGeneration records a change of the active set.
func bumpActiveGeneration(kv state.KV) {
	kv.Put(BucketPolicyMeta, activeGenerationKey, binary.BigEndian.AppendUint64(nil, activeGeneration(kv)+1))
}

func activeGeneration(r state.Reader) uint64 {
	if v := r.Get(BucketPolicyMeta, activeGenerationKey); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

type scopeIndex struct {
	gen       uint64
	byChapter map[string][]*entry // HS chapter -> policies with a prefix in it, by id
	anyHS     []*entry            // policies whose scope has no HS prefix, by id
}

// build indexes every active policy (read in id order).
func (e *Evaluator) buildIndex(r state.Reader, gen uint64) (*scopeIndex, error) {
	ix := &scopeIndex{gen: gen, byChapter: map[string][]*entry{}}
	var scanErr error
	r.Scan(BucketActive, "", func(id string, raw []byte) bool {
		en, err := e.lookup(r, id, raw)
		if err != nil {
			scanErr = err
			return false
		}
		if len(en.active.Scope.HSPrefixes) == 0 {
			ix.anyHS = append(ix.anyHS, en)
			return true
		}
		seen := map[string]bool{}
		for _, p := range en.active.Scope.HSPrefixes {
			if len(p) < 2 || seen[p[:2]] {
				continue
			}
			seen[p[:2]] = true
			ix.byChapter[p[:2]] = append(ix.byChapter[p[:2]], en)
		}
		return true
	})
	return ix, scanErr
}

// candidates are the policies whose scope may cover sub, in id order:
// those of its HS chapters and those without HS prefixes.
func (ix *scopeIndex) candidates(sub policy.Subject) []*entry {
	out := slices.Clone(ix.anyHS)
	seen := map[string]bool{}
	for _, code := range sub.HSCodes {
		if len(code) < 2 || seen[code[:2]] {
			continue
		}
		seen[code[:2]] = true
		out = append(out, ix.byChapter[code[:2]]...)
	}
	slices.SortFunc(out, func(a, b *entry) int { return strings.Compare(a.activeID, b.activeID) })
	return slices.CompactFunc(out, func(a, b *entry) bool { return a.activeID == b.activeID })
}

// index returns the index of the active set of r's generation, or nil when
// the ledger has no generation yet (the caller scans).
func (e *Evaluator) index(r state.Reader) (*scopeIndex, error) {
	gen := activeGeneration(r)
	if gen == 0 {
		return nil, nil
	}
	e.mu.Lock()
	ix := e.scope
	e.mu.Unlock()
	if ix != nil && ix.gen == gen {
		return ix, nil
	}
	ix, err := e.buildIndex(r, gen)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.scope = ix
	e.mu.Unlock()
	return ix, nil
}
