package tx

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
)

// KeyID is how a public key is named on the ledger: the raw key, base64url
// without padding. Self-certifying: a signature verifies without a lookup.
func KeyID(pub ed25519.PublicKey) string { return base64.RawURLEncoding.EncodeToString(pub) }

// ParseKeyID decodes a KeyID back into a public key.
func ParseKeyID(id string) (ed25519.PublicKey, error) {
	b, err := decodeB64(id, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("key id %q: %w", Shorten(id, 64), err)
	}
	return b, nil
}

// Fingerprint is a short, human-sized name of a key (first 8 bytes of its
// SHA-256, hex): for status, logs and tables, never for authorisation.
func Fingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// FingerprintOf is Fingerprint for a KeyID; an invalid id yields "invalid".
func FingerprintOf(id string) string {
	pub, err := ParseKeyID(id)
	if err != nil {
		return "invalid"
	}
	return Fingerprint(pub)
}

// KeyFile is the on-disk form of a key pair (mode 0600).
type KeyFile struct {
	Type        string `json:"type"`
	KeyID       string `json:"keyId"`
	Fingerprint string `json:"fingerprint"`
	PrivateKey  string `json:"privateKey,omitempty"` // base64url seed
	Comment     string `json:"comment,omitempty"`
}

// GenerateKey returns a new Ed25519 private key.
func GenerateKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	return priv, err
}

// MarshalKey encodes priv as a KeyFile.
func MarshalKey(priv ed25519.PrivateKey, comment string) ([]byte, error) {
	pub := priv.Public().(ed25519.PublicKey)
	kf := KeyFile{Type: "ed25519", KeyID: KeyID(pub), Fingerprint: Fingerprint(pub),
		PrivateKey: base64.RawURLEncoding.EncodeToString(priv.Seed()), Comment: comment}
	return json.MarshalIndent(kf, "", "  ")
}

// UnmarshalKey decodes a KeyFile holding a private key.
func UnmarshalKey(data []byte) (ed25519.PrivateKey, error) {
	var kf KeyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if kf.Type != "ed25519" {
		return nil, fmt.Errorf("key file: type %q: only ed25519 is supported", kf.Type)
	}
	seed, err := decodeB64(kf.PrivateKey, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("key file: privateKey: %w", err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if kf.KeyID != "" && kf.KeyID != KeyID(priv.Public().(ed25519.PublicKey)) {
		return nil, fmt.Errorf("key file: keyId does not match the private key")
	}
	return priv, nil
}

// WriteKeyFile writes priv to path with mode 0600, refusing to overwrite.
func WriteKeyFile(path string, priv ed25519.PrivateKey, comment string) error {
	data, err := MarshalKey(priv, comment)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadKeyFile reads a key written by WriteKeyFile.
func ReadKeyFile(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	priv, err := UnmarshalKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return priv, nil
}
