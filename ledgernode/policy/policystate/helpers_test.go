package policystate_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// testDocument is the payload of the test-only type "test.document": a
// synthetic domain record that is evaluated by the agency rules and, when
// accepted, stored. It stands in for certificates and shipments.
type testDocument struct {
	ID          string         `json:"id"`
	Type        string         `json:"type"`
	Program     string         `json:"program,omitempty"`
	HSCodes     []string       `json:"hsCodes,omitempty"`
	Origin      []string       `json:"origin,omitempty"`
	Destination []string       `json:"destination,omitempty"`
	Doc         map[string]any `json:"doc"`
	Parties     map[string]any `json:"parties,omitempty"`
	LicensePath []any          `json:"licensePath,omitempty"`
	Context     map[string]any `json:"context,omitempty"`
	// Stray is passed under an input key no rule reads, as a buggy domain
	// handler would.
	Stray map[string]any `json:"stray,omitempty"`
}

func (d testDocument) Validate() error {
	if d.ID == "" {
		return tx.Fieldf("payload.id", "", "required")
	}
	return nil
}

const bucketTestDocs = "testdocs"

// testDocumentHandler calls c.Evaluate the way a domain handler does:
// after its own validation, before writing.
func testDocumentHandler() state.Handler {
	return state.Handler{
		Type:    "test.document",
		Summary: "test only: a synthetic document evaluated by the agency rules",
		Check:   wire.CheckAs[testDocument](),
		Apply: func(c *state.Context) (any, error) {
			d, err := wire.DecodeAndCheck[testDocument](c.Tx.Payload)
			if err != nil {
				return nil, err
			}
			doc := &state.Document{ID: d.ID, Type: d.Type, Program: d.Program, HSCodes: d.HSCodes, OriginCountries: d.Origin,
				DestinationCountries: d.Destination, Input: map[string]any{
					policystate.InputDoc: d.Doc, policystate.InputParties: d.Parties, policystate.InputLicensePath: d.LicensePath,
					policystate.InputContext: d.Context}}
			if d.Stray != nil {
				doc.Input["stray"] = d.Stray
			}
			if err := c.Evaluate(doc); err != nil {
				return nil, err
			}
			if err := state.PutJSON(c, bucketTestDocs, d.ID, d); err != nil {
				return nil, err
			}
			return map[string]string{"id": d.ID}, nil
		},
	}
}

// testRegistry is the product registry plus the test document type.
func testRegistry() *state.Registry {
	r := state.NewRegistry()
	policystate.Register(r)
	r.MustRegister(testDocumentHandler())
	return r
}

// fixture is the shared state fixture with the policy types and the test
// document registered.
type fixture struct{ *statetest.Ledger }

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return &fixture{statetest.New(t, statetest.Options{Registry: testRegistry()})}
}

func (f *fixture) sign(priv ed25519.PrivateKey, typ string, payload any) []byte {
	f.T.Helper()
	return f.Sign(priv, typ, payload).Canonical
}

func (f *fixture) one(priv ed25519.PrivateKey, typ string, payload any) chain.Receipt {
	f.T.Helper()
	return f.Submit(priv, typ, payload)
}

func (f *fixture) accepted(priv ed25519.PrivateKey, typ string, payload any) chain.Receipt {
	f.T.Helper()
	return f.Must(priv, typ, payload)
}

// enrol registers a key for owner through the admin (key.register creates
// the identity, e.g. agency/us-fda of kind agency, with the jurisdiction its
// id starts with: us-fda is in US).
func (f *fixture) enrol(owner string) ed25519.PrivateKey {
	f.T.Helper()
	return f.Register(wire.KeyRegister{Owner: owner, Name: owner, Country: countryOfTestID(owner)})
}

// countryOfTestID is the jurisdiction test agencies get: "agency/us-fda" is US.
func countryOfTestID(owner string) string {
	name := strings.TrimPrefix(owner, "agency/")
	if name == owner || len(name) < 3 || name[2] != '-' {
		return ""
	}
	return strings.ToUpper(name[:2])
}

func (f *fixture) view(fn func(v *state.View) error) {
	f.T.Helper()
	if err := f.Store.View(fn); err != nil {
		f.T.Fatal(err)
	}
}

func (f *fixture) history(docID string) []policy.Evaluation {
	f.T.Helper()
	var out []policy.Evaluation
	f.view(func(v *state.View) (err error) { out, err = policystate.History(v, docID); return err })
	return out
}

func (f *fixture) testDoc(id string) bool {
	f.T.Helper()
	found := false
	f.view(func(v *state.View) error { found = v.Get(bucketTestDocs, id) != nil; return nil })
	return found
}

// fishPolicy is an FDA-style policy: HS chapters 03 and 16 need a
// registered facility.
func fishPolicy(id, enforcement string) policy.Policy {
	return policy.Policy{ID: id, Agency: "us-fda", Enforcement: enforcement,
		Scope: policy.Scope{HSPrefixes: []string{"03", "16"}, DestinationCountries: []string{"US"}, DocumentTypes: []string{"certificate"}},
		Rules: []policy.Rule{{Name: "registered-facility", Expression: `has(doc.producer.fdaRegistration) && doc.producer.fdaRegistration != ''`,
			Message: "producer {{doc.producer.name}} has no FDA food facility registration"}}}
}

// fishDoc is a certificate for frozen shrimp into the US.
func fishDoc(id string, registered bool) testDocument {
	producer := map[string]any{"name": "Camarones del Pacifico"}
	if registered {
		producer["fdaRegistration"] = "12345678901"
	}
	return testDocument{ID: id, Type: "certificate", Program: "USMCA", HSCodes: []string{"030617"}, Origin: []string{"MX"}, Destination: []string{"US"},
		Doc: map[string]any{"producer": producer, "originCriterion": "A"}}
}
