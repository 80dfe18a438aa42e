package trade

import (
	"bytes"
	"crypto/ed25519"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// t0 is the first block time of every fixture: well inside USMCA.
var t0 = statetest.T0

// fx applies blocks to a real state store (the shared statetest fixture),
// one transaction per block, with the block time under the test's
// control; envelopes are dated with the block they go into.
type fx struct {
	*statetest.Ledger
	keys map[string]ed25519.PrivateKey // identity -> its first key
}

// testNodeKey is the key of the fixture's node n0: it signs the heads and
// credentials tests make.
var testNodeKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// newGenesis is the fixture's genesis: an hour before t0, node n0 with
// testNodeKey.
func newGenesis(t testing.TB) (*chain.Genesis, ed25519.PrivateKey) {
	g, admin, _ := statetest.Genesis(t, t0.Add(-time.Hour), testNodeKey)
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
	l := &statetest.Ledger{T: t, Genesis: g, Admin: admin, Node: testNodeKey, Registry: reg, Store: statetest.Open(t, path, g, reg),
		Now: t0.Add(-time.Second), SignLead: time.Second}
	return &fx{Ledger: l, keys: map[string]ed25519.PrivateKey{}}
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
func (f *fx) advance(d time.Duration) { f.Now = f.Now.Add(d) }

// reject requires a rejection with code; when field is not "", some reason
// must name it too.
func (f *fx) reject(key ed25519.PrivateKey, typ string, payload any, code, field string) chain.Receipt {
	f.T.Helper()
	rc := f.Submit(key, typ, payload)
	if rc.Status != chain.Rejected {
		f.T.Fatalf("%s accepted, want rejection %s", typ, code)
	}
	if !hasReason(rc.Reasons, code, field) {
		f.T.Fatalf("%s: want reason %s on %q, got %+v", typ, code, field, rc.Reasons)
	}
	return rc
}

func hasReason(rs []chain.Reason, code, field string) bool {
	return slices.ContainsFunc(rs, func(r chain.Reason) bool {
		return r.Code == code && (field == "" || r.Field == field)
	})
}

func (f *fx) view(fn func(v *state.View)) {
	f.T.Helper()
	if err := f.Store.View(func(v *state.View) error { fn(v); return nil }); err != nil {
		f.T.Fatal(err)
	}
}

// agency registers an agency with a fresh key and returns the key.
func (f *fx) agency(id, country string, programs ...string) ed25519.PrivateKey {
	f.T.Helper()
	return f.agencyWithRoles(id, country, nil, programs...)
}

// customs registers the customs authority of a country.
func (f *fx) customs(id, country string, programs ...string) ed25519.PrivateKey {
	f.T.Helper()
	return f.agencyWithRoles(id, country, []string{wire.AgencyRoleCustoms}, programs...)
}

func (f *fx) agencyWithRoles(id, country string, roles []string, programs ...string) ed25519.PrivateKey {
	f.T.Helper()
	k := newKey()
	f.Must(f.Admin, "agency.register", wire.AgencyRegister{ID: id, Name: strings.ToUpper(id), Country: country, Roles: roles, Programs: programs, PublicKeys: []string{keyID(k)}})
	f.keys["agency/"+id] = k
	return k
}

// participant enrols a participant through agencyKey and returns its key.
func (f *fx) participant(agencyKey ed25519.PrivateKey, id, country string, roles ...string) ed25519.PrivateKey {
	f.T.Helper()
	k := newKey()
	f.Must(agencyKey, "participant.enrol", wire.ParticipantEnrol{ID: id, Name: "Name of " + id, Country: country, Roles: roles, PublicKeys: []string{keyID(k)}})
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
	w.acme = f.participant(w.sat, "acme-mx", "MX", wire.RoleExporter, wire.RoleProducer, wire.RoleCertifier)
	w.maker = f.participant(w.sat, "maker-mx", "MX", wire.RoleLicensee, wire.RoleProducer, wire.RoleExporter)
	w.otherMaker = f.participant(w.sat, "other-mx", "MX", wire.RoleLicensee)
	w.bigbox = f.participant(w.cbp, "bigbox-us", "US", wire.RoleImporter, wire.RoleLicensee)
	w.holder = f.participant(w.cbp, "holder-us", "US", wire.RoleRightsholder, wire.RoleLicensee)
	w.dist = f.participant(w.cbp, "dist-us", "US", wire.RoleLicensee, wire.RoleImporter)
	w.maple = f.participant(w.cbsa, "maple-ca", "CA", wire.RoleExporter, wire.RoleCertifier)
	w.cafe = f.participant(w.dga, "cafe-cr", "CR", wire.RoleExporter, wire.RoleProducer, wire.RoleCertifier)
	return w
}

func ts(t time.Time) string { return tx.FormatTime(t) }

// usmca is a valid USMCA certificate by acme-mx to bigbox-us, signed a day
// before the current time, with a blanket period around it.
func (w *world) usmca(id string) wire.Certificate {
	return wire.Certificate{
		ID: id, Program: "USMCA", CertifierRole: wire.RoleExporter,
		Certifier:     wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV", Title: "Export Manager", Country: "MX", Email: "export@acme.example"},
		Producer:      &wire.Party{Name: wire.ProducerVarious},
		Importer:      &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc.", Country: "US"},
		ExportCountry: "MX", ImportCountry: "US",
		Goods: []wire.GoodsItem{
			{Description: "Laptop computers", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"},
			{Description: "Cotton T-shirts", HSCode: "610910", OriginCriterion: "C", CountryOfOrigin: "MX"},
		},
		BlanketPeriod: &wire.Period{ValidFrom: ts(w.Now.AddDate(0, -1, 0)), ValidUntil: ts(w.Now.AddDate(0, 11, 0))},
		SignedAt:      ts(w.Now.Add(-24 * time.Hour)),
		Language:      "es",
	}
}

func (w *world) issue(id string) wire.Certificate {
	w.T.Helper()
	ct := w.usmca(id)
	w.Must(w.acme, "certificate.issue", ct)
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
