package credential

import (
	"embed"
	"fmt"
)

// JSON-LD contexts. A tradeledger credential's @context is exactly
// [ContextV2, ContextV1]: the W3C VC 2.0 context and this project's own,
// versioned context, which defines every term and type a tradeledger
// credential uses with an absolute IRI (schema.org terms where they fit,
// urn:tradeledger:vocab# for the rest). Both are embedded here, so neither a
// verifier nor a JSON-LD processor given DocumentLoader needs to fetch
// anything; nodes serve ContextV1 at ContextPath.
const (
	ContextV2 = "https://www.w3.org/ns/credentials/v2"
	// ContextV1 names version 1 of the project's context. Any change to a
	// term's meaning, or to how records map to claims, is a new version:
	// verifiers keep accepting the credentials made under the old one.
	ContextV1 = "urn:tradeledger:context:v1"
	// ContextPath is where a node serves ContextV1 (application/ld+json).
	ContextPath = "/v1/contexts/tradeledger-v1.jsonld"
)

//go:embed contexts/tradeledger-v1.jsonld contexts/credentials-v2.jsonld
var contextFiles embed.FS

// Contexts maps each context URL a tradeledger credential uses to its
// document (the W3C file is a verbatim copy of the VC 2.0 context).
func Contexts() map[string][]byte {
	return map[string][]byte{
		ContextV1: mustRead("contexts/tradeledger-v1.jsonld"),
		ContextV2: mustRead("contexts/credentials-v2.jsonld"),
	}
}

// ContextDocument is the project's context, as nodes serve it.
func ContextDocument() []byte { return mustRead("contexts/tradeledger-v1.jsonld") }

func mustRead(name string) []byte {
	b, err := contextFiles.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("embedded context %s: %v", name, err))
	}
	return b
}
