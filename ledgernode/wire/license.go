package wire

import (
	"fmt"
)

// IP right types.
var RightTypes = []string{"trademark", "patent", "copyright", "design"}

// MaxChainLength bounds a license chain: the root license and at most
// MaxChainLength-1 generations of sub-licenses below it.
const MaxChainLength = 10

// IPRight is an intellectual-property right held by an enrolled rights
// holder and vouched for by an agency that acts on IPR.
type IPRight struct {
	ID                 string   `json:"id"`
	Type               string   `json:"type"`
	Office             string   `json:"office"` // e.g. USPTO, IMPI, CIPO
	RegistrationNumber string   `json:"registrationNumber"`
	Title              string   `json:"title"`
	Holder             string   `json:"holder"` // participant identity
	Countries          []string `json:"countries,omitempty"`
	ValidUntil         string   `json:"validUntil,omitempty"` // e.g. a patent's expiry
	Evidence           string   `json:"evidence,omitempty"`
	VouchedBy          string   `json:"vouchedBy,omitempty"`
	Recorded           `json:"recorded"`
}

// IPRightRegister is the payload of ipright.register, signed by an agency
// that acts on IPR.
type IPRightRegister struct {
	ID                 string   `json:"id"`
	Type               string   `json:"type"`
	Office             string   `json:"office"`
	RegistrationNumber string   `json:"registrationNumber"`
	Title              string   `json:"title"`
	Holder             string   `json:"holder"`
	Countries          []string `json:"countries,omitempty"`
	ValidUntil         string   `json:"validUntil,omitempty"`
	Evidence           string   `json:"evidence,omitempty"`
}

// Validate checks the payload's shape.
func (p IPRightRegister) Validate() error {
	var pr Problems
	pr.docID("payload.id", p.ID)
	pr.oneOf("payload.type", p.Type, RightTypes)
	pr.text("payload.office", p.Office, 64, true)
	pr.text("payload.registrationNumber", p.RegistrationNumber, 64, true)
	pr.text("payload.title", p.Title, maxNameBytes, true)
	pr.participantRef("payload.holder", p.Holder, true)
	checkCountries(&pr, "payload.countries", p.Countries, false)
	checkOffice(&pr, "payload.office", p.Office, "payload.countries", p.Countries)
	pr.time("payload.validUntil", p.ValidUntil, false, datesIP)
	pr.text("payload.evidence", p.Evidence, maxTextBytes, false)
	return pr.err()
}

func checkCountries(pr *Problems, field string, cs []string, required bool) {
	if required && len(cs) == 0 {
		pr.invalid(field, "", "at least one ISO 3166-1 alpha-2 country code is required")
	}
	if len(cs) > 250 {
		pr.invalid(field, "", "%d countries; at most 250", len(cs))
		return
	}
	pr.each(field, cs, func(f, c string) { pr.country(f, c) })
}

// LicensedGoods are the goods a license covers: a description and the HS
// chapters, headings or subheadings (prefixes) it applies to.
type LicensedGoods struct {
	Description string   `json:"description"`
	HSPrefixes  []string `json:"hsPrefixes"`
}

// Sublicensing says whether the licensee may sub-license and how many
// further levels below this license may exist (Depth >= 1 when Allowed).
// There is no implied right to sub-license.
type Sublicensing struct {
	Allowed bool `json:"allowed"`
	Depth   int  `json:"depth,omitempty"`
}

// LicenseGrant is the payload of license.grant, signed by the licensor. A
// root license (no Parent) is granted by the right's registered holder; a
// sub-license names its Parent, whose licensee is this licensor, and may
// only narrow it (goods, territory, term) where the parent allows
// sub-licensing at that depth.
type LicenseGrant struct {
	ID           string        `json:"id"`
	Right        string        `json:"right"`
	Licensor     string        `json:"licensor"`
	Licensee     string        `json:"licensee"`
	Goods        LicensedGoods `json:"goods"`
	Territory    []string      `json:"territory"`
	ValidFrom    string        `json:"validFrom"`
	ValidUntil   string        `json:"validUntil"`
	Sublicensing Sublicensing  `json:"sublicensing"`
	Parent       string        `json:"parent,omitempty"`
}

// Validate checks the payload's shape.
func (p LicenseGrant) Validate() error {
	var pr Problems
	pr.docID("payload.id", p.ID)
	pr.docID("payload.right", p.Right)
	pr.participantRef("payload.licensor", p.Licensor, true)
	pr.participantRef("payload.licensee", p.Licensee, true)
	if p.Licensor != "" && p.Licensor == p.Licensee {
		pr.invalid("payload.licensee", p.Licensee, "is the licensor; a license is granted to someone else")
	}
	pr.text("payload.goods.description", p.Goods.Description, maxTextBytes, true)
	if len(p.Goods.HSPrefixes) == 0 {
		pr.invalid("payload.goods.hsPrefixes", "", "at least one HS chapter, heading or subheading is required (e.g. 6109)")
	}
	if len(p.Goods.HSPrefixes) > 50 {
		pr.invalid("payload.goods.hsPrefixes", "", "%d prefixes; at most 50", len(p.Goods.HSPrefixes))
	}
	for i, h := range p.Goods.HSPrefixes {
		if err := CheckHSCode(h); err != nil {
			pr.invalid(fmt.Sprintf("payload.goods.hsPrefixes[%d]", i), h, "%v", err)
		}
	}
	checkCountries(&pr, "payload.territory", p.Territory, true)
	from, okF := pr.time("payload.validFrom", p.ValidFrom, true, datesIP)
	until, okU := pr.time("payload.validUntil", p.ValidUntil, true, datesIP)
	if okF && okU && !until.After(from) {
		pr.invalid("payload.validUntil", p.ValidUntil, "must be after validFrom %s", p.ValidFrom)
	}
	s := p.Sublicensing
	switch {
	case s.Depth < 0 || s.Depth >= MaxChainLength:
		pr.invalid("payload.sublicensing.depth", fmt.Sprint(s.Depth), "must be 0-%d", MaxChainLength-1)
	case s.Allowed && s.Depth == 0:
		pr.invalid("payload.sublicensing.depth", "0", "sub-licensing is allowed, so give how many further levels may exist (1 or more)")
	case !s.Allowed && s.Depth != 0:
		pr.invalid("payload.sublicensing.depth", fmt.Sprint(s.Depth), "sub-licensing is not allowed, so depth must be 0 (omit it)")
	}
	if p.Parent != "" {
		pr.docID("payload.parent", p.Parent)
		if p.Parent == p.ID {
			pr.invalid("payload.parent", p.Parent, "a license cannot be its own parent")
		}
	}
	return pr.err()
}

// License is a recorded license with its place in its chain.
type License struct {
	LicenseGrant
	Level      int         `json:"level"` // 0 for a root license
	Root       string      `json:"root"`  // the chain's root license
	Status     string      `json:"status"`
	Revocation *Revocation `json:"revocation,omitempty"`
	Recorded   Recorded    `json:"recorded"`
	// StatusIndex places the license in the status lists (absent for
	// licenses recorded before status lists existed).
	StatusIndex *StatusIndex `json:"statusIndex,omitempty"`
}

// LicenseRevoke is the payload of license.revoke: by the licensor, the
// right's holder or an agency that acts on IPR; effective from Effective
// (default block time; it may be in the past).
type LicenseRevoke struct {
	ID        string `json:"id"`
	Reason    string `json:"reason"`
	Effective string `json:"effective,omitempty"`
}

// Validate checks the payload's shape.
func (p LicenseRevoke) Validate() error {
	var pr Problems
	pr.docID("payload.id", p.ID)
	pr.text("payload.reason", p.Reason, maxTextBytes, true)
	pr.time("payload.effective", p.Effective, false, datesIP)
	return pr.err()
}

// LicenseFilter selects licenses in ListLicenses: by Licensee or Licensor
// (optionally narrowed to Right), by Right alone, or the children of Parent.
type LicenseFilter struct {
	Licensee, Licensor, Right, Parent string
	After                             string
	Limit                             int
}

// LicensePage is one page of a license listing, each with its effective
// status.
type LicensePage struct {
	Licenses []*LicenseView `json:"licenses"`
	Next     string         `json:"next,omitempty"`
}

// License answers. AnswerNotFound: the license the question starts from
// is not recorded at the height asked, so nothing was judged.
const (
	AnswerYes      = "yes"
	AnswerNo       = "no"
	AnswerNotFound = "not-found"
)

// LicenseQuery asks: may Importer import goods of HS code HSCode bearing
// Right into Country at At?
type LicenseQuery struct {
	Importer string `json:"importer"`
	HSCode   string `json:"hsCode"`
	Right    string `json:"right"`
	Country  string `json:"country"`
	At       string `json:"at,omitempty"` // default: the ledger head's time
	// License starts the walk at this license (held by Importer) instead
	// of trying every license Importer holds for Right.
	License string `json:"license,omitempty"`
	NoProof bool   `json:"noProof,omitempty"`
}

// Validate checks a query's shape.
func (q LicenseQuery) Validate() error {
	var pr Problems
	pr.participantRef("importer", q.Importer, true)
	if err := CheckTariffLine(q.HSCode); err != nil {
		if err2 := CheckHSCode(q.HSCode); err2 != nil {
			pr.invalid("hsCode", q.HSCode, "%v", err)
		}
	}
	if q.Right == "" && q.License == "" {
		pr.invalid("right", "", "required: the IP right on the goods (or the license to start from)")
	}
	if q.Right != "" {
		pr.docID("right", q.Right)
	}
	if q.License != "" {
		pr.docID("license", q.License)
	}
	pr.country("country", q.Country)
	pr.time("at", q.At, false, datesQuery)
	return pr.err()
}

// PathStep is one license on the path from the importer's license (step 0)
// to the rights holder's root license.
type PathStep struct {
	Step       int     `json:"step"`
	License    string  `json:"license"`
	Licensor   string  `json:"licensor,omitempty"`
	Licensee   string  `json:"licensee,omitempty"`
	Level      int     `json:"level"`
	ValidFrom  string  `json:"validFrom,omitempty"`
	ValidUntil string  `json:"validUntil,omitempty"`
	Status     string  `json:"status"` // ok, fail
	Checks     []Check `json:"checks"`
}

// StepFailure is the first failing step of a path and why.
type StepFailure struct {
	Step    int    `json:"step"`
	License string `json:"license,omitempty"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
}

// Alternative summarises another candidate path that was tried.
type Alternative struct {
	License string       `json:"license"`
	Answer  string       `json:"answer"`
	Failure *StepFailure `json:"failure,omitempty"`
}

// LicenseVerdict answers `verify license`: yes or no, the path as
// evidence and, on no, the first failing step and the reason.
type LicenseVerdict struct {
	Answer string       `json:"answer"`
	Query  LicenseQuery `json:"query"`
	At     string       `json:"at"` // the date the question is about
	// Height and LedgerTime are what the ledger knew (see CertificateVerdict).
	Height       uint64         `json:"height"`
	LedgerTime   string         `json:"ledgerTime"`
	Warnings     []Check        `json:"warnings"`         // the chosen path's warnings
	Holder       string         `json:"holder,omitempty"` // the right's registered holder
	Path         []PathStep     `json:"path"`
	Failure      *StepFailure   `json:"failure,omitempty"`
	Alternatives []Alternative  `json:"alternatives,omitempty"`
	Evidence     []EvidenceItem `json:"evidence"`
}

// Effective statuses of a license.
const (
	EffectiveActive        = "active"
	EffectiveRevoked       = StatusRevoked
	EffectiveNotYetValid   = "not-yet-valid"
	EffectiveExpired       = "expired"
	EffectiveParentRevoked = "parent-revoked"
	EffectiveParentExpired = "parent-expired"
	EffectiveBrokenChain   = "broken-chain"
)

// EffectiveStatus is whether a license is in force at a time, and why not:
// License names the license on the chain that decides it.
type EffectiveStatus struct {
	Status  string `json:"status"`
	At      string `json:"at"`
	License string `json:"license,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// LicenseView is a license as the API shows it: the record and its
// effective status at the view's time.
type LicenseView struct {
	License
	Effective *EffectiveStatus `json:"effective"`
}

// StatusIndex is the place of a record in the status lists, as the ledger
// assigned it (and as the receipt of the record's transaction says).
type StatusIndex struct {
	Revocation uint64 `json:"revocation"`
	Suspension uint64 `json:"suspension"`
}
