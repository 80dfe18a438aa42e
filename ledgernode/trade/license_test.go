package trade

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// rawLicense writes a license record as given, bypassing license.grant's
// checks: it stands for records the grant rules would refuse today (written
// under older rules, or by a faulty node), which a verdict must still judge
// correctly. It exists only in the test registry.
var rawLicense = state.Handler{
	Type: "test.rawLicense", Summary: "test only",
	Check: func(json.RawMessage) error { return nil },
	Apply: func(c *state.Context) (any, error) {
		var l wire.License
		if err := json.Unmarshal(c.Tx.Payload, &l); err != nil {
			return nil, err
		}
		l.Recorded = recorded(c)
		if err := state.PutJSON(c, BucketLicenses, l.ID, &l); err != nil {
			return nil, err
		}
		c.Put(BucketLicenseIndex, ikey("licensee", l.Licensee, l.Right, l.ID), nil)
		return nil, nil
	},
}

type ipWorld struct {
	*world
	start, end time.Time
}

// newIPWorld registers right TM-ACME held by holder-us and the chain
// L0 (holder-us -> maker-mx, US/MX/CA, HS 6109+6110, depth 2) and
// L1 (maker-mx -> bigbox-us, US, HS 6109, no sub-licensing).
func newIPWorld(t testing.TB) *ipWorld {
	w := &ipWorld{world: newWorld(t, rawLicense)}
	w.start, w.end = w.Now.Add(-24*time.Hour), w.Now.AddDate(2, 0, 0)
	w.Must(w.cbp, "ipright.register", wire.IPRightRegister{ID: "TM-ACME", Type: "trademark", Office: "USPTO", RegistrationNumber: "5123456",
		Title: "ACME (word mark)", Holder: "participant/holder-us", Evidence: "USPTO registration certificate"})
	w.Must(w.holder, "license.grant", w.grant("L0", "holder-us", "maker-mx", "", []string{"US", "MX", "CA"}, []string{"6109", "6110"}, 2))
	w.Must(w.maker, "license.grant", w.grant("L1", "maker-mx", "bigbox-us", "L0", []string{"US"}, []string{"6109"}, 0))
	return w
}

func (w *ipWorld) grant(id, licensor, licensee, parent string, territory, hs []string, depth int) wire.LicenseGrant {
	return wire.LicenseGrant{ID: id, Right: "TM-ACME", Licensor: "participant/" + licensor, Licensee: "participant/" + licensee,
		Goods: wire.LicensedGoods{Description: "Apparel bearing the ACME mark", HSPrefixes: hs}, Territory: territory,
		ValidFrom: ts(w.start), ValidUntil: ts(w.end), Sublicensing: wire.Sublicensing{Allowed: depth > 0, Depth: depth}, Parent: parent}
}

func (w *ipWorld) ask(q wire.LicenseQuery) *wire.LicenseVerdict {
	w.T.Helper()
	var out *wire.LicenseVerdict
	w.view(func(v *state.View) {
		var err error
		if out, err = VerifyLicense(v, q); err != nil {
			w.T.Fatalf("verify license: %v", err)
		}
	})
	return out
}

func TestSublicenseWiderThanParentIsRejected(t *testing.T) {
	w := newIPWorld(t)
	cases := []struct {
		name        string
		edit        func(g *wire.LicenseGrant)
		code, field string
	}{
		{"wider in territory", func(g *wire.LicenseGrant) { g.Territory = []string{"US", "BR"} }, CodeWiderThanParent, "payload.territory[1]"},
		{"wider in goods", func(g *wire.LicenseGrant) { g.Goods.HSPrefixes = []string{"61"} }, CodeWiderThanParent, "payload.goods.hsPrefixes[0]"},
		{"starting before the parent", func(g *wire.LicenseGrant) { g.ValidFrom = ts(w.start.Add(-time.Hour)) }, CodeWiderThanParent, "payload.validFrom"},
		{"ending after the parent", func(g *wire.LicenseGrant) { g.ValidUntil = ts(w.end.Add(time.Hour)) }, CodeWiderThanParent, "payload.validUntil"},
		{"beyond the allowed depth", func(g *wire.LicenseGrant) { g.Sublicensing = wire.Sublicensing{Allowed: true, Depth: 2} }, CodeDepthExceeded, "payload.sublicensing.depth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			g := w.grant("SUB-X", "maker-mx", "dist-us", "L0", []string{"US"}, []string{"6109"}, 0)
			tc.edit(&g)
			rc := w.reject(w.maker, "license.grant", g, tc.code, tc.field)
			if !strings.Contains(rc.Reasons[0].Message, "parent L0") {
				t.Fatalf("message does not name the parent: %q", rc.Reasons[0].Message)
			}
		})
	}
}

func TestLicenseGrantRules(t *testing.T) {
	w := newIPWorld(t)
	w.Must(w.holder, "license.grant", w.grant("L-REVOKED", "holder-us", "dist-us", "", []string{"US"}, []string{"6109"}, 1))
	w.Must(w.holder, "license.revoke", wire.LicenseRevoke{ID: "L-REVOKED", Reason: "royalties unpaid"})
	cases := []struct {
		name        string
		signer      func() ed25519Key
		g           func() wire.LicenseGrant
		code, field string
	}{
		{"a sub-license beyond the allowed depth is rejected", func() ed25519Key { return w.bigbox },
			func() wire.LicenseGrant {
				return w.grant("X", "bigbox-us", "dist-us", "L1", []string{"US"}, []string{"6109"}, 0)
			}, CodeSublicensingNotAllowed, "payload.parent"},
		{"only the parent's licensee sub-licenses", func() ed25519Key { return w.otherMaker },
			func() wire.LicenseGrant {
				return w.grant("X", "other-mx", "dist-us", "L0", []string{"US"}, []string{"6109"}, 0)
			}, wire.CodeUnauthorized, "payload.parent"},
		{"a root license comes from the right's holder", func() ed25519Key { return w.maker },
			func() wire.LicenseGrant {
				return w.grant("X", "maker-mx", "dist-us", "", []string{"US"}, []string{"6109"}, 0)
			}, wire.CodeUnauthorized, "payload.licensor"},
		{"the licensor signs its license", func() ed25519Key { return w.maker },
			func() wire.LicenseGrant {
				return w.grant("X", "holder-us", "dist-us", "", []string{"US"}, []string{"6109"}, 0)
			}, wire.CodeUnauthorized, "payload.licensor"},
		{"the licensee must be enrolled", func() ed25519Key { return w.holder },
			func() wire.LicenseGrant {
				return w.grant("X", "holder-us", "nobody", "", []string{"US"}, []string{"6109"}, 0)
			}, CodeNotEnrolled, "payload.licensee"},
		{"the licensee must hold the licensee role", func() ed25519Key { return w.holder },
			func() wire.LicenseGrant {
				return w.grant("X", "holder-us", "acme-mx", "", []string{"US"}, []string{"6109"}, 0)
			}, CodeWrongRole, "payload.licensee"},
		{"the parent must not be revoked", func() ed25519Key { return w.dist },
			func() wire.LicenseGrant {
				return w.grant("X", "dist-us", "bigbox-us", "L-REVOKED", []string{"US"}, []string{"6109"}, 0)
			}, CodeRevoked, "payload.parent"},
		{"the right must be registered", func() ed25519Key { return w.holder },
			func() wire.LicenseGrant {
				g := w.grant("X", "holder-us", "dist-us", "", []string{"US"}, []string{"6109"}, 0)
				g.Right = "TM-NONE"
				return g
			}, CodeUnknownReference, "payload.right"},
		{"an expired license is not granted", func() ed25519Key { return w.holder },
			func() wire.LicenseGrant {
				g := w.grant("X", "holder-us", "dist-us", "", []string{"US"}, []string{"6109"}, 0)
				g.ValidFrom, g.ValidUntil = "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"
				return g
			}, CodeNotInTerm, "payload.validUntil"},
		{"sub-licensing allowed needs a depth", func() ed25519Key { return w.holder },
			func() wire.LicenseGrant {
				g := w.grant("X", "holder-us", "dist-us", "", []string{"US"}, []string{"6109"}, 0)
				g.Sublicensing.Allowed = true
				return g
			}, wire.CodeInvalid, "payload.sublicensing.depth"},
		{"a license id is granted once", func() ed25519Key { return w.holder },
			func() wire.LicenseGrant {
				return w.grant("L0", "holder-us", "dist-us", "", []string{"US"}, []string{"6109"}, 0)
			}, wire.CodeConflict, "payload.id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			w.reject(tc.signer(), "license.grant", tc.g(), tc.code, tc.field)
		})
	}
	// IP rights are vouched for by an agency acting on IPR, for an enrolled holder.
	w.reject(w.cbsa, "ipright.register", wire.IPRightRegister{ID: "TM-2", Type: "trademark", Office: "CIPO", RegistrationNumber: "1", Title: "x", Holder: "participant/holder-us"}, CodeJurisdiction, "signer")
	w.reject(w.cbp, "ipright.register", wire.IPRightRegister{ID: "TM-2", Type: "trademark", Office: "USPTO", RegistrationNumber: "1", Title: "x", Holder: "participant/bigbox-us"}, CodeWrongRole, "payload.holder")
	w.reject(w.cbp, "ipright.register", wire.IPRightRegister{ID: "TM-2", Type: "brand", Office: "USPTO", RegistrationNumber: "1", Title: "x", Holder: "participant/holder-us"}, wire.CodeInvalid, "payload.type")
	// ... of its own country: SAT (acting on IPR) cannot vouch for a US holder.
	w.reject(w.sat, "ipright.register", wire.IPRightRegister{ID: "TM-2", Type: "trademark", Office: "USPTO", RegistrationNumber: "1", Title: "x", Holder: "participant/holder-us"}, CodeJurisdiction, "payload.holder")
}

func TestAgencyRevokesOnlyLicensesWhoseTerritoryIncludesItsCountry(t *testing.T) {
	w := newIPWorld(t)
	// L1 covers the US only: Mexico's SAT has no say over it, even though
	// it acts on IPR and the licensor is Mexican.
	w.reject(w.sat, "license.revoke", wire.LicenseRevoke{ID: "L1", Reason: "not ours to revoke"}, CodeJurisdiction, "signer")
	w.view(func(v *state.View) {
		if l, _, _ := LookupLicense(v, "L1"); l.Status != wire.StatusActive {
			t.Fatalf("L1 is %s", l.Status)
		}
	})
	// L0 covers MX too: SAT may revoke it.
	w.Must(w.sat, "license.revoke", wire.LicenseRevoke{ID: "L0", Reason: "counterfeit findings at the plant"})
}

func TestLicenseVerdicts(t *testing.T) {
	w := newIPWorld(t)
	now := ts(w.Now)
	base := wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", At: now}
	cases := []struct {
		name   string
		edit   func(q *wire.LicenseQuery)
		answer string
		step   int
		code   string
	}{
		{"the importer's chain to the holder covers the goods", func(q *wire.LicenseQuery) {}, wire.AnswerYes, 0, ""},
		{"a ten-digit tariff line inside the licensed heading is covered", func(q *wire.LicenseQuery) { q.HSCode = "6109100012" }, wire.AnswerYes, 0, ""},
		{"a country outside the territory gives no", func(q *wire.LicenseQuery) { q.Country = "CA" }, wire.AnswerNo, 0, "territory_not_covered"},
		{"goods outside the license give no", func(q *wire.LicenseQuery) { q.HSCode = "611020" }, wire.AnswerNo, 0, "goods_not_covered"},
		{"a date after the term gives no", func(q *wire.LicenseQuery) { q.At = ts(w.end.Add(time.Hour)) }, wire.AnswerNo, 0, "expired"},
		{"a date before the term gives no", func(q *wire.LicenseQuery) { q.At = ts(w.start.Add(-time.Hour)) }, wire.AnswerNo, 0, "not_yet_valid"},
		{"an importer without a license gives no", func(q *wire.LicenseQuery) { q.Importer = "participant/dist-us" }, wire.AnswerNo, 0, "no_license"},
		{"another right gives no", func(q *wire.LicenseQuery) { q.Right = "TM-OTHER" }, wire.AnswerNo, 0, "no_license"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			q := base
			tc.edit(&q)
			vd := w.ask(q)
			if vd.Answer != tc.answer {
				t.Fatalf("answer %s, want %s: %+v", vd.Answer, tc.answer, vd.Failure)
			}
			if tc.answer == wire.AnswerYes {
				if len(vd.Path) != 2 || vd.Path[1].License != "L0" || vd.Holder != "participant/holder-us" || len(vd.Evidence) < 3 {
					t.Fatalf("path %+v evidence %d", vd.Path, len(vd.Evidence))
				}
				return
			}
			if vd.Failure == nil || vd.Failure.Step != tc.step || vd.Failure.Code != tc.code {
				t.Fatalf("failure %+v, want step %d %s", vd.Failure, tc.step, tc.code)
			}
		})
	}
}

func TestRevokedMiddleLinkGivesNoAtThatStep(t *testing.T) {
	w := newIPWorld(t)
	w.Must(w.holder, "license.revoke", wire.LicenseRevoke{ID: "L0", Reason: "breach of quality clause"})
	vd := w.ask(wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US"})
	if vd.Answer != wire.AnswerNo || vd.Failure.Step != 1 || vd.Failure.License != "L0" || vd.Failure.Code != CodeRevoked ||
		!strings.Contains(vd.Failure.Reason, "breach of quality clause") {
		t.Fatalf("%+v", vd.Failure)
	}
	if vd.Path[0].Status != "ok" || vd.Path[1].Status != wire.ResultFail {
		t.Fatalf("path %+v", vd.Path)
	}
	// Asked about a date before the revocation took effect, the chain holds.
	if vd := w.ask(wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", At: ts(w.start.Add(time.Hour))}); vd.Answer != wire.AnswerYes {
		t.Fatalf("before the revocation: %+v", vd.Failure)
	}
}

func TestLicenseChainOfFiveResolves(t *testing.T) {
	w := newIPWorld(t)
	prev, prevKey, depth := "holder-us", w.holder, 4
	parent := ""
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("p%d-us", i)
		k := w.participant(w.cbp, id, "US", wire.RoleLicensee)
		lic := fmt.Sprintf("CH-%d", i)
		w.Must(prevKey, "license.grant", w.grant(lic, prev, id, parent, []string{"US"}, []string{"6109"}, max(depth, 0)))
		prev, prevKey, parent = id, k, lic
		depth--
	}
	vd := w.ask(wire.LicenseQuery{Importer: "participant/p5-us", HSCode: "610910", Right: "TM-ACME", Country: "US"})
	if vd.Answer != wire.AnswerYes || len(vd.Path) != 5 || vd.Path[4].License != "CH-1" || vd.Path[4].Level != 0 || vd.Path[0].Level != 4 {
		t.Fatalf("answer %s path %+v failure %+v", vd.Answer, vd.Path, vd.Failure)
	}
	// The fifth licensee may not sub-license further: depth ran out.
	w.reject(w.keys["participant/p5-us"], "license.grant", w.grant("CH-6", "p5-us", "dist-us", "CH-5", []string{"US"}, []string{"6109"}, 0), CodeSublicensingNotAllowed, "payload.parent")
}

func TestLicenseValidTodayButParentExpiredYesterdayGivesNo(t *testing.T) {
	w := newIPWorld(t)
	yesterday := w.Now.Add(-24 * time.Hour)
	// The parent's term ended yesterday; the leaf (recorded under rules
	// that did not bound it) runs another year.
	parent := wire.License{LicenseGrant: w.grant("P-OLD", "holder-us", "maker-mx", "", []string{"US"}, []string{"6109"}, 1), Status: wire.StatusActive, Root: "P-OLD"}
	parent.ValidFrom, parent.ValidUntil = ts(w.start.AddDate(-1, 0, 0)), ts(yesterday)
	leaf := wire.License{LicenseGrant: w.grant("LEAF", "maker-mx", "bigbox-us", "P-OLD", []string{"US"}, []string{"6109"}, 0), Status: wire.StatusActive, Level: 1, Root: "P-OLD"}
	leaf.ValidFrom, leaf.ValidUntil = ts(w.start.AddDate(-1, 0, 0)), ts(w.Now.AddDate(1, 0, 0))
	w.Must(w.Admin, "test.rawLicense", parent)
	w.Must(w.Admin, "test.rawLicense", leaf)
	vd := w.ask(wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", License: "LEAF"})
	if vd.Answer != wire.AnswerNo || vd.Failure.Step != 1 || vd.Failure.License != "P-OLD" || vd.Failure.Code != "expired" ||
		!strings.Contains(vd.Failure.Reason, "expired at "+ts(yesterday)) {
		t.Fatalf("%+v", vd.Failure)
	}
	if vd.Path[0].Status != "ok" {
		t.Fatalf("the leaf itself is in term: %+v", vd.Path[0])
	}
}

func TestCyclesAndOverLongChainsEndTheWalk(t *testing.T) {
	w := newIPWorld(t)
	mk := func(id, licensor, licensee, parent string) wire.License {
		l := wire.License{LicenseGrant: w.grant(id, licensor, licensee, parent, []string{"US"}, []string{"6109"}, 5), Status: wire.StatusActive}
		return l
	}
	// A cycle: CY-A's parent is CY-B and CY-B's parent is CY-A.
	w.Must(w.Admin, "test.rawLicense", mk("CY-A", "maker-mx", "dist-us", "CY-B"))
	w.Must(w.Admin, "test.rawLicense", mk("CY-B", "dist-us", "maker-mx", "CY-A"))
	vd := w.ask(wire.LicenseQuery{Importer: "participant/dist-us", HSCode: "610910", Right: "TM-ACME", Country: "US", License: "CY-A"})
	if vd.Answer != wire.AnswerNo || len(vd.Path) != 3 || lastCode(vd) != "cycle" {
		t.Fatalf("cycle: %+v path %d", vd.Failure, len(vd.Path))
	}
	// A chain longer than MaxChainLength.
	for i := 0; i < wire.MaxChainLength+3; i++ {
		w.Must(w.Admin, "test.rawLicense", mk(fmt.Sprintf("LONG-%02d", i), "maker-mx", "maker-mx", fmt.Sprintf("LONG-%02d", i+1)))
	}
	vd = w.ask(wire.LicenseQuery{Importer: "participant/maker-mx", HSCode: "610910", Right: "TM-ACME", Country: "US", License: "LONG-00"})
	if vd.Answer != wire.AnswerNo || lastCode(vd) != CodeChainTooLong || len(vd.Path) != wire.MaxChainLength+1 {
		t.Fatalf("long: %+v path %d", vd.Failure, len(vd.Path))
	}
	// A broken chain (missing parent).
	w.Must(w.Admin, "test.rawLicense", mk("ORPHAN", "maker-mx", "bigbox-us", "GONE"))
	vd = w.ask(wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US", License: "ORPHAN"})
	if vd.Answer != wire.AnswerNo || vd.Failure.Code != "broken_chain" || vd.Failure.Step != 1 {
		t.Fatalf("broken: %+v", vd.Failure)
	}
}

func TestGrantSignedByAKeyNotValidThenGivesNo(t *testing.T) {
	w := newIPWorld(t)
	// maker-mx's key is found compromised since before it granted L1.
	l1Time := ""
	w.view(func(v *state.View) { l, _, _ := LookupLicense(v, "L1"); l1Time = l.Recorded.Time })
	t1, _ := tx.ParseTime(l1Time)
	w.Must(w.Admin, "key.revoke", wire.KeyRevoke{KeyID: keyID(w.maker), Effective: ts(t1.Add(-time.Second)), Reason: "key leaked"})
	vd := w.ask(wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US"})
	if vd.Answer != wire.AnswerNo || vd.Failure.Step != 0 || vd.Failure.Code != "signature_revoked_retroactively" || !strings.Contains(vd.Failure.Reason, "key leaked") {
		t.Fatalf("%+v", vd.Failure)
	}
}

func TestSeveralCandidateLicensesPreferThePassingPath(t *testing.T) {
	w := newIPWorld(t)
	// bigbox-us also holds a direct license from the holder, for Canada only.
	w.Must(w.holder, "license.grant", w.grant("L-CA", "holder-us", "bigbox-us", "", []string{"CA"}, []string{"6109"}, 0))
	vd := w.ask(wire.LicenseQuery{Importer: "participant/bigbox-us", HSCode: "610910", Right: "TM-ACME", Country: "US"})
	if vd.Answer != wire.AnswerYes || vd.Path[0].License != "L1" || len(vd.Alternatives) != 2 {
		t.Fatalf("%+v %+v", vd.Path, vd.Alternatives)
	}
}

// lastCode is the code of the last check of the last step: how the walk ended.
func lastCode(vd *wire.LicenseVerdict) string {
	st := vd.Path[len(vd.Path)-1]
	return st.Checks[len(st.Checks)-1].Code
}
