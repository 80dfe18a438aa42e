package tx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gowebpki/jcs"
)

// Version is the only envelope version this code accepts.
const Version = 1

// TimeLayout is how times are written in envelopes and ledger records: UTC,
// fixed to microseconds, so that the text is canonical and sorts as time does.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Envelope is the wire form of a transaction. Every field except Sig is
// covered by the signature; the signed bytes are the RFC 8785 canonical JSON
// of the envelope without "sig".
type Envelope struct {
	V       int             `json:"v"`
	Network string          `json:"network"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
	// Signer is the signer's Ed25519 public key, base64url without padding.
	// It doubles as the key id: verification needs no registry lookup, and the
	// ledger decides separately whether that key may sign at block time.
	Signer  string `json:"signer"`
	Nonce   string `json:"nonce"`
	Created string `json:"created"`
	Sig     string `json:"sig,omitempty"`
}

// Limits bound what outside input may cost. Zero fields take defaults.
type Limits struct {
	MaxEnvelopeBytes int // whole envelope as received (default 256 KiB)
	MaxDepth         int // JSON nesting inside the envelope (default 32)
}

// DefaultLimits are the limits used when a node is not configured otherwise.
func DefaultLimits() Limits { return Limits{MaxEnvelopeBytes: 256 << 10, MaxDepth: 32} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEnvelopeBytes <= 0 {
		l.MaxEnvelopeBytes = d.MaxEnvelopeBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// Signed is a decoded, well-formed envelope with its canonical bytes and id.
// Well-formed does not mean verified: call VerifySignature.
type Signed struct {
	Envelope
	Canonical []byte   // canonical JSON of the whole envelope, signature included
	ID        [32]byte // SHA-256 of Canonical
	PublicKey ed25519.PublicKey
	sig       []byte
}

// IDHex is the transaction id as written everywhere outside this package.
func (s *Signed) IDHex() string { return hex.EncodeToString(s.ID[:]) }

// CreatedTime is the parsed Created field (validated by Decode).
func (s *Signed) CreatedTime() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s.Created)
	return t
}

var (
	typePattern    = regexp.MustCompile(`^[a-z][a-z0-9]*(\.[a-z][a-zA-Z0-9]*)*$`)
	networkPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`)
	noncePattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
)

// decodeFull is Decode without its fast path (for tests that hold the two
// paths to the same answers).
func decodeFull(raw []byte, lim Limits) (*Signed, error) { return decode(raw, lim, false) }

// Decode parses outside input into a Signed envelope. It enforces the size
// and nesting limits before parsing, rejects duplicate keys, invalid UTF-8,
// unknown fields and wrong types, and names the offending field.
func Decode(raw []byte, lim Limits) (*Signed, error) { return decode(raw, lim, true) }

func decode(raw []byte, lim Limits, fast bool) (*Signed, error) {
	lim = lim.withDefaults()
	if len(raw) > lim.MaxEnvelopeBytes {
		return nil, &FieldError{Field: "envelope", Large: true,
			Message: fmt.Sprintf("%d bytes is over the limit of %d bytes; split the record or raise --max-envelope-bytes", len(raw), lim.MaxEnvelopeBytes)}
	}
	if fast {
		if s, ok := decodeCanonical(raw, lim.MaxDepth); ok {
			return s, nil
		}
	}
	if d := jsonDepth(raw); d > lim.MaxDepth {
		return nil, Fieldf("envelope", "", "JSON nested %d levels deep; the limit is %d", d, lim.MaxDepth)
	}
	canonical, err := jcs.Transform(raw)
	if err != nil {
		return nil, Fieldf("envelope", "", "not valid JSON (RFC 8785 canonicalisation failed: %v)", err)
	}
	if len(canonical) == 0 || canonical[0] != '{' {
		return nil, Fieldf("envelope", "", "must be a JSON object (a signed envelope: v, network, type, payload, signer, nonce, created, sig), not %s", jsonValueKind(canonical))
	}
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, jsonFieldError("", err)
	}
	s := &Signed{Envelope: env}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if s.Sig == "" {
		return nil, Fieldf("sig", "", "missing: the envelope must be signed")
	}
	// The canonical bytes are rebuilt from the typed fields so that the id
	// and the signed bytes depend only on what this code understood.
	s.Canonical = env.appendCanonical(nil, true)
	if !bytes.Equal(s.Canonical, canonical) {
		return nil, Fieldf("envelope", "", "fields do not round-trip canonically")
	}
	s.ID = sha256.Sum256(s.Canonical)
	return s, nil
}

func (s *Signed) validate() error {
	e := &s.Envelope
	if e.V != Version {
		return Fieldf("v", fmt.Sprint(e.V), "unsupported envelope version; this node speaks v%d", Version)
	}
	if !networkPattern.MatchString(e.Network) {
		return Fieldf("network", e.Network, "must be 1-64 lower-case letters, digits or '-'")
	}
	if len(e.Type) > 64 || !typePattern.MatchString(e.Type) {
		return Fieldf("type", e.Type, "must be dotted lower-case words such as \"note.put\" (at most 64 bytes)")
	}
	if len(e.Payload) == 0 || e.Payload[0] != '{' {
		return Fieldf("payload", Shorten(string(e.Payload), 32), "must be a JSON object")
	}
	pub, err := decodeB64(e.Signer, ed25519.PublicKeySize)
	if err != nil {
		return Fieldf("signer", e.Signer, "must be an Ed25519 public key, base64url without padding (43 characters): %v", err)
	}
	s.PublicKey = pub
	if !noncePattern.MatchString(e.Nonce) {
		return Fieldf("nonce", e.Nonce, "must be 8-64 characters of [A-Za-z0-9_-]; use a fresh random value per transaction")
	}
	if _, err := ParseTime(e.Created); err != nil {
		return Fieldf("created", e.Created, "%v", err)
	}
	if e.Sig != "" {
		sig, err := decodeB64(e.Sig, ed25519.SignatureSize)
		if err != nil {
			return Fieldf("sig", e.Sig, "must be a 64-byte Ed25519 signature, base64url without padding (86 characters): %v", err)
		}
		s.sig = sig
	}
	return nil
}

// ParseTime parses a time as the ledger writes it: RFC 3339 in UTC ("Z").
func ParseTime(v string) (time.Time, error) {
	if len(v) > 40 || !strings.HasSuffix(v, "Z") {
		return time.Time{}, errors.New("must be an RFC 3339 time in UTC ending in Z, e.g. 2026-01-02T15:04:05Z")
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 time in UTC ending in Z, e.g. 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// FormatTime writes t in the ledger's canonical time form.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ErrBadSignature is returned by VerifySignature.
var ErrBadSignature = errors.New("signature does not verify")

// VerifySignature checks the Ed25519 signature over the signing bytes with
// the envelope's own signer key. crypto/ed25519 rejects non-canonical S.
func (s *Signed) VerifySignature() error {
	if len(s.sig) != ed25519.SignatureSize || len(s.PublicKey) != ed25519.PublicKeySize ||
		!ed25519.Verify(s.PublicKey, s.SigningBytes(), s.sig) {
		return &FieldError{Field: "sig", badSig: true,
			Message: "signature does not verify against the signer key (wrong key, or the envelope was changed after signing)"}
	}
	return nil
}

// SigningBytes is the canonical JSON of the envelope without "sig".
func (s *Signed) SigningBytes() []byte { return s.Envelope.appendCanonical(nil, false) }

// appendCanonical writes the RFC 8785 form of the envelope. Member order is
// the UTF-16 order of the fixed names; strings are escaped as RFC 8785 says;
// Payload must already be canonical (Decode and Build guarantee it).
func (e *Envelope) appendCanonical(b []byte, withSig bool) []byte {
	b = append(b, `{"created":`...)
	b = AppendJCSString(b, e.Created)
	b = append(b, `,"network":`...)
	b = AppendJCSString(b, e.Network)
	b = append(b, `,"nonce":`...)
	b = AppendJCSString(b, e.Nonce)
	b = append(b, `,"payload":`...)
	b = append(b, e.Payload...)
	if withSig {
		b = append(b, `,"sig":`...)
		b = AppendJCSString(b, e.Sig)
	}
	b = append(b, `,"signer":`...)
	b = AppendJCSString(b, e.Signer)
	b = append(b, `,"type":`...)
	b = AppendJCSString(b, e.Type)
	b = append(b, fmt.Sprintf(`,"v":%d}`, e.V)...)
	return b
}

// AppendJCSString appends s as an RFC 8785 JSON string.
func AppendJCSString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Canonicalize returns the RFC 8785 form of any JSON value.
func Canonicalize(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(raw)
}

// Build makes an unsigned envelope with a fresh random nonce. created is
// passed in (clients use their clock; nothing in the ledger does).
func Build(network, typ string, payload any, created time.Time) (*Envelope, error) {
	var raw []byte
	var err error
	if r, ok := payload.(json.RawMessage); ok {
		raw, err = jcs.Transform(r)
	} else {
		raw, err = Canonicalize(payload)
	}
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	nonce, err := NewNonce()
	if err != nil {
		return nil, err
	}
	return &Envelope{V: Version, Network: network, Type: typ, Payload: raw, Nonce: nonce, Created: FormatTime(created)}, nil
}

// NewNonce is a fresh random nonce (128 bits, base64url): what Build puts
// in an envelope, for a client that fixes an envelope's nonce before it
// builds it (to sign the very same transaction again after a crash).
func NewNonce() (string, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(nonce[:]), nil
}

// Sign signs the envelope with priv and returns the decoded Signed form,
// checked against the default limits exactly as a node would check it.
func (e *Envelope) Sign(priv ed25519.PrivateKey) (*Signed, error) {
	e.Signer = KeyID(priv.Public().(ed25519.PublicKey))
	e.Sig = ""
	sig := ed25519.Sign(priv, e.appendCanonical(nil, false))
	e.Sig = base64.RawURLEncoding.EncodeToString(sig)
	return Decode(e.appendCanonical(nil, true), signLimits)
}

// BuildSigned builds and signs in one step. It skips Sign's re-decoding:
// Build has just made the payload canonical and the other fields are
// written by appendCanonical, so the envelope is canonical by construction;
// validate still checks every field as Decode would (a test holds the two
// paths to the same result).
func BuildSigned(network, typ string, payload any, created time.Time, priv ed25519.PrivateKey) (*Signed, error) {
	e, err := Build(network, typ, payload, created)
	if err != nil {
		return nil, err
	}
	if d := jsonDepth(e.Payload); d >= signLimits.MaxDepth {
		return nil, Fieldf("envelope", "", "JSON nested %d levels deep; the limit is %d", d+1, signLimits.MaxDepth)
	}
	e.Signer = KeyID(priv.Public().(ed25519.PublicKey))
	e.Sig = base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, e.appendCanonical(nil, false)))
	s := &Signed{Envelope: *e}
	if err := s.validate(); err != nil {
		return nil, err
	}
	s.Canonical = e.appendCanonical(nil, true)
	s.ID = sha256.Sum256(s.Canonical)
	return s, nil
}

// signLimits are the limits Sign checks a new envelope against: none that
// a node may lower, only what keeps the client itself safe.
var signLimits = Limits{MaxEnvelopeBytes: 1 << 30, MaxDepth: 1 << 10}

func decodeB64(s string, size int) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not base64url")
	}
	if len(b) != size {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), size)
	}
	return b, nil
}

// jsonDepth returns the deepest nesting of arrays and objects in raw, outside
// strings. It is linear and allocation-free so that hostile input is cheap to
// reject before a real parser sees it.
func jsonDepth(raw []byte) int {
	depth, maxDepth, inStr, esc := 0, 0, false, false
	for _, c := range raw {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth {
				maxDepth = depth
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return maxDepth
}

// jsonFieldError turns encoding/json errors into FieldErrors naming the
// field with prefix (e.g. "payload").
func jsonFieldError(prefix string, err error) error {
	join := func(f string) string {
		switch {
		case prefix == "":
			return f
		case f == "":
			return prefix
		}
		return prefix + "." + f
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := join(te.Field)
		if field == "" {
			field = "envelope"
		}
		return Fieldf(field, "", "wrong type: got JSON %s, want %s", te.Value, jsonKind(te.Type.String()))
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return Fieldf(join(name), "", "unknown field; check the spelling against the API reference")
	}
	where := prefix
	if where == "" {
		where = "envelope"
	}
	return Fieldf(where, "", "malformed JSON: %s", strings.TrimPrefix(msg, "json: "))
}

// jsonValueKind names the kind of a JSON value for an error message.
func jsonValueKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	}
	return "a number"
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "string", strings.HasSuffix(goType, "Time"):
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	}
	return "object"
}

// DecodePayload decodes a canonical payload strictly into v (unknown fields
// and wrong types rejected, the field named as "payload.<name>").
func DecodePayload(payload json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			// encoding/json names only the key: find where it is.
			if perr := CheckPayloadKeys(payload, v); perr != nil {
				return perr
			}
		}
		return jsonFieldError("payload", err)
	}
	if dec.More() {
		return Fieldf("payload", "", "trailing data after the JSON object")
	}
	return nil
}
