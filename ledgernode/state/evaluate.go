package state

// Document is what agency rules are evaluated on: a record being applied
// (a certificate of origin, a shipment, a license), with the attributes
// that decide which rules are in scope and the JSON the rules read.
type Document struct {
	ID                   string   // the document's id (certificate id, shipment id, license id)
	Type                 string   // certificate, shipment, license
	Program              string   // USMCA, CAFTA-DR, NAFTA, IPR
	HSCodes              []string // six-digit HS codes of the goods
	OriginCountries      []string // ISO 3166-1 alpha-2
	DestinationCountries []string
	// Input is the evaluation input as JSON-compatible values, under the
	// keys rules read: "doc" (the document itself), "parties",
	// "licensePath" and "context" (see ledgernode/policy/DESIGN.md,
	// "Inputs"; the engine refuses other keys). It must be deterministic
	// (no clock reads).
	Input map[string]any
}

// Evaluator evaluates the rules in scope for a document at block time
// (c.Time) and records each outcome with c.AddFinding. It returns a
// Rejection when an enforced rule fails (or fails to run). It must be
// deterministic: no clock, no randomness, no network.
type Evaluator interface {
	Evaluate(c *Context, doc *Document) error
}

// SetEvaluator installs the rule engine (package policy) into the registry.
func (r *Registry) SetEvaluator(e Evaluator) { r.evaluator = e }

// Evaluate runs the installed rule engine on doc; without one it accepts.
// Domain handlers call it after their own validation, before writing.
func (c *Context) Evaluate(doc *Document) error {
	if c.reg == nil || c.reg.evaluator == nil {
		return nil
	}
	return c.reg.evaluator.Evaluate(c, doc)
}
