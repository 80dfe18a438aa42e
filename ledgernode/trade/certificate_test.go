package trade

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// checkFails runs the stateless check on a payload and returns the reasons.
func checkReasons(t *testing.T, v any) []chain.Reason {
	t.Helper()
	raw, err := tx.Canonicalize(v)
	if err != nil {
		t.Fatal(err)
	}
	err = wire.CheckAs[wire.Certificate]()(raw)
	if err == nil {
		return nil
	}
	return state.AsReasons(err, wire.CodeInvalid)
}

func TestCertificateShapeRules(t *testing.T) {
	w := newWorld(t)
	base := w.usmca("C-1")
	from, _ := tx.ParseTime(base.BlanketPeriod.ValidFrom)
	cases := []struct {
		name  string
		edit  func(c *wire.Certificate)
		field string // "" = valid
		want  string // substring of the message
	}{
		{"valid USMCA certificate is accepted", func(c *wire.Certificate) {}, "", ""},
		{"blanket period of exactly 12 months is accepted", func(c *wire.Certificate) { c.BlanketPeriod.ValidUntil = ts(from.AddDate(0, 12, 0)) }, "", ""},
		{"blanket period of 13 months is rejected", func(c *wire.Certificate) { c.BlanketPeriod.ValidUntil = ts(from.AddDate(0, 13, 0)) }, "payload.blanketPeriod.validUntil", "longer than 12 months"},
		{"blanket period ending before it starts is rejected", func(c *wire.Certificate) { c.BlanketPeriod.ValidUntil = ts(from.Add(-time.Hour)) }, "payload.blanketPeriod.validUntil", "must be after"},
		{"HS code 84A1 is rejected", func(c *wire.Certificate) { c.Goods[1].HSCode = "84A1" }, "payload.goods[1].hsCode", "must be 2, 4 or 6 digits"},
		{"four-digit HS heading is rejected on a certificate", func(c *wire.Certificate) { c.Goods[0].HSCode = "8471" }, "payload.goods[0].hsCode", "six digits"},
		{"HS chapter 77 is rejected", func(c *wire.Certificate) { c.Goods[0].HSCode = "770100" }, "payload.goods[0].hsCode", "reserved"},
		{"HS chapter 98 is rejected", func(c *wire.Certificate) { c.Goods[0].HSCode = "980100" }, "payload.goods[0].hsCode", "01-97"},
		{"unknown program is rejected", func(c *wire.Certificate) { c.Program = "EU-FTA" }, "payload.program", "unknown certificate program"},
		{"importing country outside the agreement is rejected", func(c *wire.Certificate) { c.ImportCountry = "GT" }, "payload.importCountry", "not a party to USMCA"},
		{"country that is not ISO 3166 is rejected", func(c *wire.Certificate) { c.ExportCountry = "XX" }, "payload.exportCountry", "ISO 3166-1"},
		{"goods of non-party origin are rejected", func(c *wire.Certificate) { c.Goods[0].CountryOfOrigin = "CN" }, "payload.goods[0].countryOfOrigin", "cannot qualify"},
		{"origin criterion E is rejected under USMCA", func(c *wire.Certificate) { c.Goods[0].OriginCriterion = "E" }, "payload.goods[0].originCriterion", "one of A, B, C, D"},
		{"language outside en, es, fr is rejected", func(c *wire.Certificate) { c.Language = "de" }, "payload.language", "one of en, es, fr"},
		{"same exporting and importing country is rejected", func(c *wire.Certificate) { c.ImportCountry = "MX" }, "payload.importCountry", "export country too"},
		{"USMCA signed before 2020-07-01 is rejected", func(c *wire.Certificate) {
			c.SignedAt = "2020-06-30T00:00:00Z"
			c.BlanketPeriod = nil
		}, "payload.signedAt", "use NAFTA"},
		{"NAFTA signed after 2020-07-01 is rejected", func(c *wire.Certificate) {
			c.Program = "NAFTA"
			c.Goods = []wire.GoodsItem{{Description: "x", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX", ProducerIndicator: "YES", NetCost: "NO"}}
		}, "payload.signedAt", "certify under USMCA"},
		{"NAFTA goods without Form 434 fields are rejected", func(c *wire.Certificate) {
			c.Program, c.SignedAt, c.BlanketPeriod = "NAFTA", "2019-05-01T00:00:00Z", nil
		}, "payload.goods[0].producerIndicator", "one of YES"},
		{"Form 434 fields on a USMCA certificate are rejected", func(c *wire.Certificate) { c.Goods[0].NetCost = "NC" }, "payload.goods[0].netCost", "only NAFTA"},
		{"blanket period past four years from signing is rejected", func(c *wire.Certificate) {
			c.SignedAt = "2021-01-01T00:00:00Z"
			c.BlanketPeriod = &wire.Period{ValidFrom: "2024-06-01T00:00:00Z", ValidUntil: "2025-05-01T00:00:00Z"}
		}, "payload.blanketPeriod.validUntil", "4-year validity"},
		{"certifier without an id is rejected", func(c *wire.Certificate) { c.Certifier.ID = "" }, "payload.certifier.id", "required"},
		{"exporter other than the certifier is rejected when certifying as exporter", func(c *wire.Certificate) { c.Exporter = &wire.Party{ID: "participant/maple-ca", Name: "Maple"} }, "payload.exporter.id", "is the certifier"},
		{"no goods is rejected", func(c *wire.Certificate) { c.Goods = nil }, "payload.goods", "at least one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			c := w.usmca("C-1")
			bp := *c.BlanketPeriod
			c.BlanketPeriod = &bp
			c.Goods = append([]wire.GoodsItem(nil), c.Goods...)
			tc.edit(&c)
			rs := checkReasons(t, c)
			if tc.field == "" {
				if rs != nil {
					t.Fatalf("rejected: %+v", rs)
				}
				return
			}
			for _, r := range rs {
				if r.Field == tc.field && strings.Contains(r.Message, tc.want) {
					return
				}
			}
			t.Fatalf("want %s: %q, got %+v", tc.field, tc.want, rs)
		})
	}
}

func TestCertificateShapeErrorsAreAllReportedAndRecordedInTheReceipt(t *testing.T) {
	w := newWorld(t)
	c := w.usmca("C-2")
	c.Goods[0].HSCode = "84A1"
	c.Language = "de"
	rc := w.reject(w.acme, "certificate.issue", c, wire.CodeInvalid, "payload.goods[0].hsCode")
	if !hasReason(rc.Reasons, wire.CodeInvalid, "payload.language") {
		t.Fatalf("want both fields named: %+v", rc.Reasons)
	}
	if !strings.Contains(rc.Reasons[0].Message, `"84A1": must be 2, 4 or 6 digits`) {
		t.Fatalf("message = %q", rc.Reasons[0].Message)
	}
}

func TestCertifierNotEnrolledIsRejected(t *testing.T) {
	w := newWorld(t)
	// A key registered by the admin gives an identity, not an enrolment.
	k := newKey()
	w.Must(w.Admin, "key.register", wire.KeyRegister{Owner: "participant/ghost-mx", PublicKey: keyID(k)})
	c := w.usmca("C-3")
	c.Certifier.ID = "participant/ghost-mx"
	rc := w.reject(k, "certificate.issue", c, CodeNotEnrolled, "signer")
	if !strings.Contains(rc.Reasons[0].Message, "not enrolled") {
		t.Fatalf("message = %q", rc.Reasons[0].Message)
	}
}

func TestCertificateIssueAuthorisation(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name        string
		signer      ed25519.PrivateKey
		edit        func(c *wire.Certificate)
		code, field string
	}{
		{"agency cannot certify", w.sat, func(c *wire.Certificate) {}, wire.CodeUnauthorized, "signer"},
		{"participant cannot certify for another", w.maker, func(c *wire.Certificate) {}, wire.CodeUnauthorized, "payload.certifier.id"},
		{"participant without the certifier role is rejected", w.maker, func(c *wire.Certificate) { c.Certifier.ID = "participant/maker-mx" }, CodeWrongRole, "signer"},
		{"exporter certifying for another export country is rejected", w.acme, func(c *wire.Certificate) {
			c.ExportCountry, c.ImportCountry = "CA", "US"
		}, CodeJurisdiction, "payload.exportCountry"},
		{"importer named by id must be enrolled", w.acme, func(c *wire.Certificate) { c.Importer.ID = "participant/nobody-us" }, CodeNotEnrolled, "payload.importer.id"},
		{"importer named by id must hold the importer role", w.acme, func(c *wire.Certificate) { c.Importer.ID = "participant/holder-us" }, CodeWrongRole, "payload.importer.id"},
		{"certification signed in the future is rejected", w.acme, func(c *wire.Certificate) {
			c.SignedAt = ts(w.Now.Add(48 * time.Hour))
			c.BlanketPeriod = nil
		}, wire.CodeInvalid, "payload.signedAt"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			c := w.usmca(fmt.Sprintf("C-auth-%d", i))
			tc.edit(&c)
			w.reject(tc.signer, "certificate.issue", c, tc.code, tc.field)
		})
	}
	// Nothing of the rejected attempts is in the state.
	w.view(func(v *state.View) {
		if _, ok, _ := LookupCertificate(v, "C-auth-0"); ok {
			t.Fatal("a rejected certificate was stored")
		}
	})
}
