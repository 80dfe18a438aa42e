package trade

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// t0 is the first block time of every fixture: well inside USMCA.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fx applies blocks to a real state store, one transaction per block, with
// the block time under the test's control.
type fx struct {
	t       testing.TB
	g       *chain.Genesis
	admin   ed25519.PrivateKey
	store   *state.Store
	now     time.Time // time of the last block
	applied uint64
	keys    map[string]ed25519.PrivateKey // identity -> its first key
}

// testNodeKey is the key of the fixture's node n0: it signs the heads and
// credentials tests make.
var testNodeKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func newGenesis(t testing.TB) (*chain.Genesis, ed25519.PrivateKey) {
	admin, _ := tx.GenerateKey()
	node := testNodeKey
	g := &chain.Genesis{Network: "testnet", Time: tx.FormatTime(t0.Add(-time.Hour)),
		Admins: []string{tx.KeyID(admin.Public().(ed25519.PublicKey))},
		Nodes:  []chain.GenesisNode{{ID: "n0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Key: tx.KeyID(node.Public().(ed25519.PublicKey))}},
		Params: chain.DefaultParams()}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g, admin
}

func testRegistry(extra ...state.Handler) *state.Registry {
	r := state.NewRegistry()
	Register(r)
	for _, h := range extra {
		r.MustRegister(h)
	}
	return r
}

func newFx(t testing.TB, extra ...state.Handler) *fx {
	g, admin := newGenesis(t)
	return openFx(t, g, admin, testRegistry(extra...), filepath.Join(t.TempDir(), "state.db"))
}

func openFx(t testing.TB, g *chain.Genesis, admin ed25519.PrivateKey, reg *state.Registry, path string) *fx {
	s, err := state.Open(state.Config{Path: path, Genesis: g, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &fx{t: t, g: g, admin: admin, store: s, now: t0.Add(-time.Second), keys: map[string]ed25519.PrivateKey{}}
}

func keyID(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }

func newKey() ed25519.PrivateKey {
	k, err := tx.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
}

// advance moves the next block time forward by d (beyond the usual second).
func (f *fx) advance(d time.Duration) { f.now = f.now.Add(d) }

// blockOf applies signed envelopes as the next block, one second later.
func (f *fx) blockOf(sts ...*tx.Signed) *state.BlockResult {
	f.t.Helper()
	p := &state.Proposal{Time: tx.FormatTime(f.now.Add(time.Second)), Proposer: "n0"}
	for _, st := range sts {
		p.Txs = append(p.Txs, json.RawMessage(st.Canonical))
	}
	f.applied++
	res, err := f.store.ApplyBlock(p, f.applied, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	f.now = f.now.Add(time.Second)
	return res
}

func (f *fx) sign(key ed25519.PrivateKey, typ string, payload any) *tx.Signed {
	f.t.Helper()
	st, err := tx.BuildSigned(f.g.Network, typ, payload, f.now.Add(time.Second), key)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fx) submit(key ed25519.PrivateKey, typ string, payload any) chain.Receipt {
	f.t.Helper()
	return f.blockOf(f.sign(key, typ, payload)).Receipts[0]
}

func (f *fx) must(key ed25519.PrivateKey, typ string, payload any) chain.Receipt {
	f.t.Helper()
	rc := f.submit(key, typ, payload)
	if rc.Status != chain.Accepted {
		f.t.Fatalf("%s rejected: %+v", typ, rc.Reasons)
	}
	return rc
}

// reject requires a rejection with code; when field is not "", some reason
// must name it too.
func (f *fx) reject(key ed25519.PrivateKey, typ string, payload any, code, field string) chain.Receipt {
	f.t.Helper()
	rc := f.submit(key, typ, payload)
	if rc.Status != chain.Rejected {
		f.t.Fatalf("%s accepted, want rejection %s", typ, code)
	}
	if !hasReason(rc.Reasons, code, field) {
		f.t.Fatalf("%s: want reason %s on %q, got %+v", typ, code, field, rc.Reasons)
	}
	return rc
}

func hasReason(rs []chain.Reason, code, field string) bool {
	return slices.ContainsFunc(rs, func(r chain.Reason) bool {
		return r.Code == code && (field == "" || r.Field == field)
	})
}

func (f *fx) view(fn func(v *state.View)) {
	f.t.Helper()
	if err := f.store.View(func(v *state.View) error { fn(v); return nil }); err != nil {
		f.t.Fatal(err)
	}
}

// agency registers an agency with a fresh key and returns the key.
func (f *fx) agency(id, country string, programs ...string) ed25519.PrivateKey {
	f.t.Helper()
	return f.agencyWithRoles(id, country, nil, programs...)
}

// customs registers the customs authority of a country.
func (f *fx) customs(id, country string, programs ...string) ed25519.PrivateKey {
	f.t.Helper()
	return f.agencyWithRoles(id, country, []string{AgencyRoleCustoms}, programs...)
}

func (f *fx) agencyWithRoles(id, country string, roles []string, programs ...string) ed25519.PrivateKey {
	f.t.Helper()
	k := newKey()
	f.must(f.admin, "agency.register", AgencyRegister{ID: id, Name: strings.ToUpper(id), Country: country, Roles: roles, Programs: programs, PublicKeys: []string{keyID(k)}})
	f.keys["agency/"+id] = k
	return k
}

// participant enrols a participant through agencyKey and returns its key.
func (f *fx) participant(agencyKey ed25519.PrivateKey, id, country string, roles ...string) ed25519.PrivateKey {
	f.t.Helper()
	k := newKey()
	f.must(agencyKey, "participant.enrol", ParticipantEnrol{ID: id, Name: "Name of " + id, Country: country, Roles: roles, PublicKeys: []string{keyID(k)}})
	f.keys["participant/"+id] = k
	return k
}

// world is the cast most tests share.
type world struct {
	*fx
	cbp, sat, cbsa, dga           ed25519.PrivateKey // agencies: US, MX, CA, CR
	acme, bigbox, holder, maker   ed25519.PrivateKey
	maple, cafe, dist, otherMaker ed25519.PrivateKey
}

func newWorld(t testing.TB, extra ...state.Handler) *world {
	return newWorldOn(newFx(t, extra...))
}

// newWorldWithEvaluator is newWorld with a rule engine installed.
func newWorldWithEvaluator(t testing.TB, e state.Evaluator) *world {
	g, admin := newGenesis(t)
	reg := testRegistry()
	reg.SetEvaluator(e)
	return newWorldOn(openFx(t, g, admin, reg, filepath.Join(t.TempDir(), "state.db")))
}

func newWorldOn(f *fx) *world {
	w := &world{fx: f}
	w.cbp = f.customs("us-cbp", "US", "USMCA", "CAFTA-DR", "NAFTA", "IPR")
	w.sat = f.customs("sat-mx", "MX", "USMCA", "NAFTA", "IPR")
	w.cbsa = f.customs("cbsa", "CA", "USMCA", "NAFTA")
	w.dga = f.customs("dga-cr", "CR", "CAFTA-DR")
	w.acme = f.participant(w.sat, "acme-mx", "MX", RoleExporter, RoleProducer, RoleCertifier)
	w.maker = f.participant(w.sat, "maker-mx", "MX", RoleLicensee, RoleProducer, RoleExporter)
	w.otherMaker = f.participant(w.sat, "other-mx", "MX", RoleLicensee)
	w.bigbox = f.participant(w.cbp, "bigbox-us", "US", RoleImporter, RoleLicensee)
	w.holder = f.participant(w.cbp, "holder-us", "US", RoleRightsholder, RoleLicensee)
	w.dist = f.participant(w.cbp, "dist-us", "US", RoleLicensee, RoleImporter)
	w.maple = f.participant(w.cbsa, "maple-ca", "CA", RoleExporter, RoleCertifier)
	w.cafe = f.participant(w.dga, "cafe-cr", "CR", RoleExporter, RoleProducer, RoleCertifier)
	return w
}

func ts(t time.Time) string { return tx.FormatTime(t) }

// usmca is a valid USMCA certificate by acme-mx to bigbox-us, signed a day
// before the current time, with a blanket period around it.
func (w *world) usmca(id string) Certificate {
	return Certificate{
		ID: id, Program: "USMCA", CertifierRole: RoleExporter,
		Certifier:     Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV", Title: "Export Manager", Country: "MX", Email: "export@acme.example"},
		Producer:      &Party{Name: ProducerVarious},
		Importer:      &Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc.", Country: "US"},
		ExportCountry: "MX", ImportCountry: "US",
		Goods: []GoodsItem{
			{Description: "Laptop computers", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"},
			{Description: "Cotton T-shirts", HSCode: "610910", OriginCriterion: "C", CountryOfOrigin: "MX"},
		},
		BlanketPeriod: &Period{ValidFrom: ts(w.now.AddDate(0, -1, 0)), ValidUntil: ts(w.now.AddDate(0, 11, 0))},
		SignedAt:      ts(w.now.Add(-24 * time.Hour)),
		Language:      "es",
	}
}

func (w *world) issue(id string) Certificate {
	w.t.Helper()
	ct := w.usmca(id)
	w.must(w.acme, "certificate.issue", ct)
	return ct
}

type ed25519Key = ed25519.PrivateKey

func signedHead(t testing.TB, m state.Meta, key ed25519.PrivateKey) *chain.Head {
	h := &chain.Head{Network: m.Network, Height: m.Height, TreeSize: m.TreeSize, Root: m.Root, BlockHash: m.BlockHash, Time: m.Time, Node: "n0"}
	if err := h.Sign(key); err != nil {
		t.Fatal(err)
	}
	return h
}

// use makes the fixture report to t (a subtest) until the returned func runs.
func (f *fx) use(t testing.TB) func() {
	old := f.t
	f.t = t
	return func() { f.t = old }
}
