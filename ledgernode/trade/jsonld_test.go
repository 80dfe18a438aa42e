package trade

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/piprate/json-gold/ld"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// embeddedLoader serves the contexts the verifier embeds and refuses every
// other URL: nothing is fetched.
type embeddedLoader struct{}

func (embeddedLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	raw, ok := credential.Contexts()[u]
	if !ok {
		return nil, fmt.Errorf("refusing to fetch %s: not an embedded context", u)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}

// expandSafe expands doc as a JSON-LD 1.1 processor in safe mode does (a
// property that does not expand to an absolute IRI is an error), then
// checks what safe mode in json-gold leaves out: every node id and type is
// an absolute IRI too.
func expandSafe(doc map[string]any) error {
	opts := ld.NewJsonLdOptions("")
	opts.SafeMode = true
	opts.DocumentLoader = embeddedLoader{}
	opts.ProcessingMode = ld.JsonLd_1_1
	out, err := ld.NewJsonLdProcessor().Expand(doc, opts)
	if err != nil {
		return err
	}
	return absoluteIRIs("", out)
}

func absoluteIRIs(path string, v any) error {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			if err := absoluteIRIs(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
		}
	case map[string]any:
		if _, ok := x["@value"]; ok {
			return nil
		}
		if _, ok := x["@json"]; ok {
			return nil
		}
		for k, e := range x {
			switch k {
			case "@id":
				if s, _ := e.(string); !isAbsolute(s) {
					return fmt.Errorf("%s: @id %q is not an absolute IRI", path, s)
				}
			case "@type":
				for _, t := range e.([]any) {
					if s, _ := t.(string); !isAbsolute(s) {
						return fmt.Errorf("%s: @type %q is not an absolute IRI", path, s)
					}
				}
			default:
				if !strings.HasPrefix(k, "@") && !isAbsolute(k) {
					return fmt.Errorf("%s: property %q is not an absolute IRI", path, k)
				}
				if strings.HasPrefix(k, "https://www.w3.org/ns/credentials/issuer-dependent#") {
					return fmt.Errorf("%s: property %q is defined by no context", path, k)
				}
				if err := absoluteIRIs(path+"."+k, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func isAbsolute(iri string) bool {
	i := strings.IndexByte(iri, ':')
	return i > 0 && !strings.ContainsAny(iri[:i], "/?#")
}

// TestExportedCredentialsExpandInJSONLDSafeMode: every term and type of an
// exported certificate, license and status list credential is defined by
// the embedded contexts with an absolute IRI (an RDF-based suite such as
// eddsa-rdfc-2022 could sign and verify them).
func TestExportedCredentialsExpandInJSONLDSafeMode(t *testing.T) {
	w := newIPWorld(t)
	ct := w.usmca("VC-1")
	ct.Exporter = &wire.Party{ID: "participant/acme-mx", Name: "ACME", Address: "Av. Industrial 100, Monterrey", Country: "MX", Phone: "+52 81 0000", Email: "x@acme.example"}
	ct.Producer = &wire.Party{Name: wire.ProducerUponRequest}
	ct.Statement = "I certify that the goods described in this document qualify as originating."
	w.Must(w.acme, "certificate.issue", ct)
	ct.Goods[0].Description = "Laptops"
	w.Must(w.acme, "certificate.amend", wire.CertificateAmend{Supersedes: 1, ID: "VC-1", Reason: "description", Certificate: ct})
	w.Must(w.sat, "certificate.endorse", wire.CertificateEndorse{ID: "VC-1"})
	docs := map[string]map[string]any{
		"certificate v1": w.exportCredential("certificate", "VC-1", 1),
		"certificate v2": w.exportCredential("certificate", "VC-1", 2),
		"license":        w.exportCredential("license", "L1", 0),
	}
	raw, err := w.statusFetcher()(t.Context(), testPublicURL+credential.StatusListPath(credential.PurposeRevocation, 0))
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]any
	_ = json.Unmarshal(raw, &list)
	docs["status list"] = list
	for name, doc := range docs {
		if err := expandSafe(doc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The check can fail: a term no context defines is refused, and so is
	// a relative IRI.
	bad := jsonCopy(t, docs["certificate v1"])
	bad["credentialSubject"].(map[string]any)["ledgerStatus"] = "active"
	if err := expandSafe(bad); err == nil {
		t.Fatal("an undefined term expanded in safe mode")
	}
	bad = jsonCopy(t, docs["certificate v1"])
	bad["credentialSubject"].(map[string]any)["certifier"].(map[string]any)["id"] = "participant/acme-mx"
	if err := expandSafe(bad); err == nil || !strings.Contains(err.Error(), "absolute IRI") {
		t.Fatalf("a relative id: %v", err)
	}
}
