package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Who may read what. Every request is authenticated first (a client
// certificate from the network CA, or a request signed by a key
// registered on the ledger), then its route group decides:
//
//	group         routes                                        who
//	health        /healthz /readyz                              anyone (kubelet probes)
//	submit        POST /v1/tx, /v1/txs, cluster operations      anyone: the envelope is the credential
//	metrics       /metrics                                      authenticated, or anyone (AccessConfig.Metrics)
//	verification  POST /v1/verify/*, head, consistency proof    authenticated; anyone when the network opens it
//	ledger        /v1/tx/{id}, /v1/types                        authenticated (a participant: its own transactions)
//	ledger        /v1/blocks, /v1/state/digest                  agency, admin, node
//	directory     keys, identities, agencies, participants     authenticated (a participant sees other
//	                                                            participants' directory fields only)
//	trade         certificates, rights, licenses, shipments,   agency, admin, node; a participant: the
//	              credentials                                   records it is a party to
//	policy        policies, policy scope                        authenticated
//	policy        evaluations                                   agency, admin, node
//	notes         notes                                         authenticated
//	cluster       GET /v1/cluster/status                        admin, node
//	backup        GET /v1/backup (the whole state)              admin, node; never open
//
// A group listed in AccessConfig.Open is readable by anyone, whole: opening
// a group publishes everything in it.

// Role is what an authenticated client is to the ledger.
type Role int

// Roles, least to most trusted.
const (
	RoleAnonymous Role = iota
	RoleParticipant
	RoleAgency
	RoleAdmin
	RoleNode
)

func (r Role) String() string {
	return [...]string{"anonymous", "participant", "agency", "admin", "node"}[r]
}

// Principal is the authenticated client of a request.
type Principal struct {
	Role     Role
	Identity string // ledger identity ("admin", "agency/us-cbp", "participant/acme-mx", "node/n0")
	Via      string // "certificate", "signature" or "" (anonymous)
}

// restricted says whether reads must be limited to what this principal is
// a party to (participants; anonymous clients reach only open groups,
// which are public whole).
func (p Principal) restricted() bool { return p.Role == RoleParticipant }

// Route groups (see the table above).
const (
	GroupHealth       = "health"
	GroupSubmit       = "submit"
	GroupMetrics      = "metrics"
	GroupVerification = "verification"
	GroupLedger       = "ledger"
	GroupDirectory    = "directory"
	GroupTrade        = "trade"
	GroupPolicy       = "policy"
	GroupNotes        = "notes"
	GroupCluster      = "cluster"
	// GroupBackup streams the whole state (every record of every party):
	// admin and nodes only, and it is never opened.
	GroupBackup = "backup"
	// GroupInternal is node-to-node only; it is never opened.
	GroupInternal = "internal"
)

// OpenableGroups are the groups AccessConfig.Open may name.
var OpenableGroups = []string{GroupVerification, GroupLedger, GroupDirectory, GroupTrade, GroupPolicy, GroupNotes, GroupCluster}

// AccessConfig says which route groups anonymous clients may read.
type AccessConfig struct {
	// Open lists the route groups readable without authentication (for
	// example "verification", for verifiers outside the network).
	Open []string
	// Metrics is "authenticated" (default) or "open".
	Metrics string
}

// Validate names a wrong setting.
func (a AccessConfig) Validate() error {
	for _, g := range a.Open {
		if !slices.Contains(OpenableGroups, g) {
			return fmt.Errorf("open route group %q: must be one of %s", g, strings.Join(OpenableGroups, ", "))
		}
	}
	switch a.Metrics {
	case "", "authenticated", "open":
	default:
		return fmt.Errorf("metrics access %q: must be \"authenticated\" or \"open\"", a.Metrics)
	}
	return nil
}

type principalKey struct{}

// principalOf is the request's authenticated client.
func principalOf(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey{}).(Principal)
	return p
}

// Errors of access control; statusOf maps them (401 and 403).
var (
	errUnauthenticated = errors.New("unauthenticated")
	errForbidden       = errors.New("forbidden")
)

func unauthenticated(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUnauthenticated, fmt.Sprintf(format, args...))
}

func forbidden(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errForbidden, fmt.Sprintf(format, args...))
}

const howToAuthenticate = "present a client certificate from the network CA, or sign the request with a registered key (docs/api.md, Authentication)"

// guard authenticates the request and admits it to its route group (with
// at least minRole unless the group is open), then runs fn.
func (s *Server) guard(group string, minRole Role, fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if group == GroupHealth || group == GroupSubmit {
			fn(w, r)
			return
		}
		p, err := s.authenticate(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if p.Role == RoleAnonymous {
			if !s.open(group) {
				writeError(w, unauthenticated("the %s routes need an authenticated client: %s", group, howToAuthenticate))
				return
			}
		} else if p.Role < minRole && !s.open(group) {
			writeError(w, forbidden("%s (%s) may not read %s: it takes the role %s or above", p.Identity, p.Role, r.URL.Path, minRole))
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

func (s *Server) open(group string) bool {
	if group == GroupMetrics {
		return s.cfg.Access.Metrics == "open"
	}
	return slices.Contains(s.cfg.Access.Open, group)
}

// authenticate finds the request's client: a signed request first (it
// names its key explicitly), else the TLS client certificate (verified
// against the network CA by the TLS handshake), else anonymous.
func (s *Server) authenticate(r *http.Request) (Principal, error) {
	arrived := time.Now()
	p, err := s.authenticateOnce(r)
	if errors.Is(err, errNotOnLedger) && s.catchUp(r.Context(), arrived) == nil {
		// The key or identity may have been registered a moment ago by a
		// write this node had not applied: judge again once caught up.
		return s.authenticateOnce(r)
	}
	return p, err
}

// errNotOnLedger marks an authentication failure that a node catching up
// with the leader may resolve.
var errNotOnLedger = errors.New("not on this ledger")

// notOnLedger is such a failure: it reads as the failure it wraps.
type notOnLedger struct{ err error }

func (e notOnLedger) Error() string        { return e.err.Error() }
func (e notOnLedger) Unwrap() error        { return e.err }
func (e notOnLedger) Is(target error) bool { return target == errNotOnLedger }

func (s *Server) authenticateOnce(r *http.Request) (Principal, error) {
	if r.Header.Get(wire.HeaderAuthKey) != "" {
		return s.authenticateSignature(r)
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return Principal{}, nil
	}
	cert := r.TLS.PeerCertificates[0]
	if id := pki.NodeIDOf(cert); id != "" {
		if as := r.Header.Get(wire.HeaderOnBehalfOf); as != "" {
			return s.onBehalfOf(as)
		}
		return Principal{Role: RoleNode, Identity: wire.KindNode + "/" + id, Via: "certificate"}, nil
	}
	ident := pki.ClientIdentityOf(cert)
	if ident == "" {
		return Principal{}, unauthenticated("the client certificate (CN %q) names no ledger identity: issue one with a %s URI (ledgernode client-cert)", cert.Subject.CommonName, pki.ClientURIPrefix)
	}
	if ident == wire.KindAdmin {
		return Principal{Role: RoleAdmin, Identity: ident, Via: "certificate"}, nil
	}
	role, err := s.identityRole(ident)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Role: role, Identity: ident, Via: "certificate"}, nil
}

// onBehalfValue is how a forwarded request names its client.
func onBehalfValue(p Principal) string {
	if p.Role == RoleAnonymous {
		return "anonymous"
	}
	return p.Identity
}

// onBehalfOf is the principal a node forwarded a request for.
func (s *Server) onBehalfOf(as string) (Principal, error) {
	switch as {
	case "anonymous":
		return Principal{}, nil
	case wire.KindAdmin:
		return Principal{Role: RoleAdmin, Identity: as, Via: "forwarded"}, nil
	}
	role, err := s.identityRole(as)
	return Principal{Role: role, Identity: as, Via: "forwarded"}, err
}

// identityRole is the role of an active identity on the ledger.
func (s *Server) identityRole(ident string) (Role, error) {
	var role Role
	err := s.cfg.Store.View(func(v *state.View) error {
		id, ok, err := state.LookupIdentity(v, ident)
		if err != nil {
			return err
		}
		if !ok {
			return notOnLedger{unauthenticated("identity %q of the client certificate is not on this ledger", ident)}
		}
		if id.Status != "active" {
			return forbidden("%s is %s and may not read", ident, id.Status)
		}
		role = roleOfKind(id.Kind)
		return nil
	})
	return role, err
}

func roleOfKind(kind string) Role {
	switch kind {
	case wire.KindAdmin:
		return RoleAdmin
	case wire.KindNode:
		return RoleNode
	case wire.KindAgency:
		return RoleAgency
	case wire.KindParticipant:
		return RoleParticipant
	}
	return RoleAnonymous
}

// maxSignedBody bounds the body of a signed request (the verification
// queries; submissions need no request signature).
const maxSignedBody = 1 << 20

// authenticateSignature checks a signed request: the key is registered,
// valid now and its owner active; the signing time is within the
// network's clock skew of now; the signature covers method, URI, time and
// body.
func (s *Server) authenticateSignature(r *http.Request) (Principal, error) {
	keyID, at, sig := r.Header.Get(wire.HeaderAuthKey), r.Header.Get(wire.HeaderAuthSignedAt), r.Header.Get(wire.HeaderAuthSignature)
	pub, err := tx.ParseKeyID(keyID)
	if err != nil {
		return Principal{}, unauthenticated("header %s: %v", wire.HeaderAuthKey, err)
	}
	t, err := tx.ParseTime(at)
	if err != nil {
		return Principal{}, unauthenticated("header %s %q: %v", wire.HeaderAuthSignedAt, tx.Shorten(at, 40), err)
	}
	g := s.cfg.Store.Genesis()
	skew := max(time.Duration(g.Params.MaxClockSkewSeconds)*time.Second, 30*time.Second)
	now := s.now()
	if t.Before(now.Add(-skew)) || t.After(now.Add(skew)) {
		return Principal{}, unauthenticated("header %s %s is more than %s from this node's clock %s: sign each request afresh (and check the clock)", wire.HeaderAuthSignedAt, at, skew, tx.FormatTime(now))
	}
	rawSig, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(rawSig) != ed25519.SignatureSize {
		return Principal{}, unauthenticated("header %s: must be a 64-byte Ed25519 signature, base64url without padding", wire.HeaderAuthSignature)
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		if body, err = io.ReadAll(io.LimitReader(r.Body, maxSignedBody+1)); err != nil {
			return Principal{}, badRequest("body", "could not read the request body: "+err.Error())
		}
		if len(body) > maxSignedBody {
			return Principal{}, &tx.FieldError{Field: "body", Large: true, Message: fmt.Sprintf("a signed request's body is over the limit of %d bytes", maxSignedBody)}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if !ed25519.Verify(pub, wire.RequestSigningBytes(r.Method, r.URL.RequestURI(), at, body), rawSig) {
		return Principal{}, unauthenticated("header %s does not verify for key %s over this request (method, path and query, %s, body)", wire.HeaderAuthSignature, tx.Fingerprint(pub), wire.HeaderAuthSignedAt)
	}
	var p Principal
	err = s.cfg.Store.View(func(v *state.View) error {
		k, ok, err := state.LookupKey(v, keyID)
		if err != nil {
			return err
		}
		if !ok {
			return notOnLedger{unauthenticated("key %s is not registered on this ledger", tx.Fingerprint(pub))}
		}
		if rej := k.ValidAt(s.cfg.Store.LedgerNow(now)); rej != nil {
			return forbidden("%s", rej.Reasons[0].Message)
		}
		if id, ok, _ := state.LookupIdentity(v, k.Owner); ok && id.Status != "active" {
			return forbidden("%s is %s and may not read", id.ID, id.Status)
		}
		p = Principal{Role: roleOfKind(k.Kind), Identity: k.Owner, Via: "signature"}
		return nil
	})
	return p, err
}

// requireParty refuses a participant's read of a record it is not a party
// to; other principals pass.
func requireParty(p Principal, what, id string, parties ...string) error {
	if !p.restricted() || slices.Contains(parties, p.Identity) {
		return nil
	}
	return forbidden("%s %q: %s is not a party to it; a participant reads only the records that name it", what, id, p.Identity)
}
