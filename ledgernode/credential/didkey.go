package credential

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"

	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multicodec"
	"github.com/multiformats/go-varint"
)

// did:key for Ed25519 (W3C CCG did:key method): "did:key:" followed by the
// base58btc multibase encoding of the multicodec ed25519-pub (0xed) prefix
// and the 32-byte key. The encoding is done by the multiformats libraries;
// the method itself is this small.

// Multikey is the Multikey (publicKeyMultibase) form of an Ed25519 public key.
func Multikey(pub ed25519.PublicKey) string {
	raw := append(varint.ToUvarint(uint64(multicodec.Ed25519Pub)), pub...)
	s, err := multibase.Encode(multibase.Base58BTC, raw)
	if err != nil { // only for an unknown base, which Base58BTC is not
		panic(err)
	}
	return s
}

// DIDKey is the did:key of an Ed25519 public key.
func DIDKey(pub ed25519.PublicKey) string { return "did:key:" + Multikey(pub) }

// VerificationMethod is the id of the did:key's only verification method,
// as the did:key method defines it: did:key:z...#z....
func VerificationMethod(pub ed25519.PublicKey) string {
	mk := Multikey(pub)
	return "did:key:" + mk + "#" + mk
}

// ParseMultikey decodes a publicKeyMultibase value of an Ed25519 key.
func ParseMultikey(s string) (ed25519.PublicKey, error) {
	if !strings.HasPrefix(s, "z") {
		return nil, errors.New("not base58btc multibase (must start with z)")
	}
	enc, raw, err := multibase.Decode(s)
	if err != nil || enc != multibase.Base58BTC {
		return nil, fmt.Errorf("not base58btc multibase: %v", err)
	}
	code, n, err := varint.FromUvarint(raw)
	if err != nil || multicodec.Code(code) != multicodec.Ed25519Pub {
		return nil, errors.New("not an Ed25519 public key (multicodec ed25519-pub, 0xed)")
	}
	if len(raw)-n != ed25519.PublicKeySize {
		return nil, fmt.Errorf("Ed25519 public key of %d bytes, want %d", len(raw)-n, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw[n:]), nil
}

// PublicKeyFromDID decodes a did:key DID (no fragment) into its key.
func PublicKeyFromDID(did string) (ed25519.PublicKey, error) {
	s, ok := strings.CutPrefix(did, "did:key:")
	if !ok {
		return nil, fmt.Errorf("%q: only did:key identifiers are resolved (offline, without a network)", shorten(did))
	}
	if strings.ContainsAny(s, "#?/") {
		return nil, fmt.Errorf("%q: a DID has no fragment, query or path", shorten(did))
	}
	pub, err := ParseMultikey(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", shorten(did), err)
	}
	return pub, nil
}

// ResolveVerificationMethod resolves a did:key verification method id
// (did:key:z...#z...) into its controller DID and key. The fragment must be
// the key itself, as the did:key method's DID document lists it: any other
// fragment names no method of that document.
func ResolveVerificationMethod(vm string) (controller string, pub ed25519.PublicKey, err error) {
	did, frag, ok := strings.Cut(vm, "#")
	if !ok {
		return "", nil, fmt.Errorf("%q: a verification method id has a fragment (did:key:z...#z...)", shorten(vm))
	}
	if pub, err = PublicKeyFromDID(did); err != nil {
		return "", nil, err
	}
	if frag != strings.TrimPrefix(did, "did:key:") {
		return "", nil, fmt.Errorf("%q: the DID document of %s lists no method #%s (its only method is #%s)", shorten(vm), shorten(did), shorten(frag), shorten(strings.TrimPrefix(did, "did:key:")))
	}
	return did, pub, nil
}

func shorten(s string) string {
	if len(s) <= 80 {
		return s
	}
	return s[:77] + "..."
}
