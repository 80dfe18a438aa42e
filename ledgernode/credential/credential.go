package credential

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tradeledger/tradeledger/ledgernode/verify"
)

// Claims is what a credential asserts, apart from who asserts it: its id,
// types, name, validity and subject, and where its status is kept. A
// record maps to Claims through one function (ledgernode/trade) that the
// exporter and the verifier both use.
type Claims struct {
	ID         string
	Types      []string // after "VerifiableCredential"
	Name       string
	ValidFrom  string
	ValidUntil string
	Subject    map[string]any
	Status     []StatusRef
}

// EvidenceEntry is one ledger record carried in a credential's evidence:
// the signed transaction, its receipt, inclusion proof and signed head.
type EvidenceEntry struct {
	Description string
	Record      *verify.Evidence
}

// EvidenceType is the type of a tradeledger evidence entry.
const EvidenceType = "LedgerRecordEvidence"

// ID names a record as a URN that is stable across nodes:
// urn:tradeledger:NETWORK:KIND:ID[:vVERSION].
func ID(network, kind, id string, version int) string {
	if version > 0 {
		return fmt.Sprintf("urn:tradeledger:%s:%s:%s:v%d", network, kind, id, version)
	}
	return fmt.Sprintf("urn:tradeledger:%s:%s:%s", network, kind, id)
}

// Build assembles the unsigned credential of claims, with its status
// entries in the lists served under statusBase (a node's public URL) and
// the ledger evidence.
func Build(c *Claims, statusBase string, evidence []EvidenceEntry) map[string]any {
	vc := map[string]any{
		"@context":          []any{ContextV2, ContextV1},
		"id":                c.ID,
		"type":              append([]any{"VerifiableCredential"}, stringsAny(c.Types)...),
		"credentialSubject": c.Subject,
	}
	if c.Name != "" {
		vc["name"] = c.Name
	}
	if c.ValidFrom != "" {
		vc["validFrom"] = c.ValidFrom
	}
	if c.ValidUntil != "" {
		vc["validUntil"] = c.ValidUntil
	}
	if len(c.Status) > 0 {
		var entries []any
		for _, s := range c.Status {
			entries = append(entries, s.Entry(statusBase))
		}
		vc["credentialStatus"] = entries
	}
	var evs []any
	for _, e := range evidence {
		if e.Record == nil {
			continue
		}
		evs = append(evs, map[string]any{"type": []any{EvidenceType}, "description": e.Description, "ledgerRecord": e.Record})
	}
	if len(evs) > 0 {
		vc["evidence"] = evs
	}
	return vc
}

// topLevel lists every member a tradeledger credential may have: any other
// is a claim nobody rebuilt from the ledger, and is refused.
var topLevel = map[string]bool{"@context": true, "id": true, "type": true, "name": true, "validFrom": true, "validUntil": true,
	"credentialSubject": true, "credentialStatus": true, "evidence": true, "issuer": true, "proof": true}

// ClaimsDocument is the JSON the claims occupy in a credential: what the
// verifier compares, member by member, with the claims it rebuilt.
func (c *Claims) document() (map[string]any, error) {
	doc := Build(c, "", nil)
	delete(doc, "credentialStatus")
	delete(doc, "@context")
	return normalize(doc)
}

// normalize round-trips v through JSON, numbers as json.Number, so that it
// compares with a decoded credential.
func normalize(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// diff reports where got differs from want, by JSON path.
func diff(pr *problems, path string, got, want any) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			pr.add(path, "%s in the credential; the ledger record gives an object", brief(got))
			return
		}
		for _, k := range sortedKeys(w) {
			diff(pr, join(path, k), g[k], w[k])
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				pr.add(join(path, k), "%s in the credential is not in the ledger record", brief(g[k]))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			pr.add(path, "%s in the credential; the ledger record gives a list of %d", brief(got), len(w))
			return
		}
		if len(g) != len(w) {
			pr.add(path, "%d entries in the credential; the ledger record has %d", len(g), len(w))
			return
		}
		for i := range w {
			diff(pr, path+"["+strconv.Itoa(i)+"]", g[i], w[i])
		}
	default:
		if got == nil {
			pr.add(path, "missing from the credential; the ledger record says %s", brief(want))
			return
		}
		if fmt.Sprintf("%T:%v", got, got) != fmt.Sprintf("%T:%v", want, want) {
			pr.add(path, "%s in the credential, but the ledger record says %s", brief(got), brief(want))
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func brief(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(shorten(x))
	case map[string]any:
		return "an object"
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	}
	return fmt.Sprint(v)
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
