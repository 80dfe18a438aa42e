package wire

import (
	"crypto/sha256"
	"encoding/hex"
)

// Signed requests: a client without a client certificate authenticates a
// read by signing it with a key registered on the ledger. The three
// headers carry the key id, the signing time and the Ed25519 signature
// (base64url, no padding) over RequestSigningBytes.
const (
	HeaderAuthKey       = "X-Ledger-Key"
	HeaderAuthSignedAt  = "X-Ledger-Signed-At"
	HeaderAuthSignature = "X-Ledger-Signature"
)

// RequestSigningBytes is what a signed request's signature covers: the
// method, the request URI (path and query as sent), the signing time
// (RFC 3339 UTC, as tx.FormatTime writes it) and SHA-256 of the body.
func RequestSigningBytes(method, requestURI, signedAt string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("tradeledger-request-v1\n" + method + "\n" + requestURI + "\n" + signedAt + "\n" + hex.EncodeToString(sum[:]))
}
