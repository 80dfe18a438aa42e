package wire

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Record statuses and history events.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
	StatusWithdrawn = "withdrawn"

	identityPrefixParticipant = KindParticipant + "/"
)

// Size limits of outside input (the envelope limit bounds the total).
const (
	maxReasons         = 25
	maxNameBytes       = 200
	maxTextBytes       = 2000
	maxListItems       = 200
	maxKeysPerIdentity = 8
)

var (
	// Agency and participant names: a DNS-label-like id; the identity is
	// "agency/<id>" or "participant/<id>".
	partyIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`)
	// Document ids (certificates, rights, licenses, shipments) are chosen by
	// their authors: letters, digits, '.', '_' and '-', at most 128 bytes.
	docIDPattern   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$`)
	programPattern = regexp.MustCompile(`^[A-Z][A-Z0-9-]{1,31}$`)
	emailPattern   = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]{1,190}$`)
	phonePattern   = regexp.MustCompile(`^\+?[0-9 ().-]{3,32}$`)
)

// Problems collects every field error of a payload, so that one rejection
// names all of them at once (at most 25). Its error is a *Rejection. The
// node's handlers use it too, for the checks that need the state.
type Problems struct{ reasons []chain.Reason }

// Add records a reason: code, the field at fault, its value (shortened;
// "" for none) and a message.
func (p *Problems) Add(code, field, value, format string, args ...any) {
	p.add(code, field, value, format, args...)
}

// Err is the Rejection naming every problem, or nil.
func (p *Problems) Err() error { return p.err() }

func (p *Problems) add(code, field, value, format string, args ...any) {
	if len(p.reasons) >= maxReasons {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if value != "" {
		msg = fmt.Sprintf("%q: %s", tx.Shorten(value, 64), msg)
	}
	p.reasons = append(p.reasons, chain.Reason{Code: code, Field: field, Message: msg})
}

// invalid records a shape error (code "invalid").
func (p *Problems) invalid(field, value, format string, args ...any) {
	p.add(CodeInvalid, field, value, format, args...)
}

func (p *Problems) ok() bool { return len(p.reasons) == 0 }

func (p *Problems) err() error {
	if len(p.reasons) == 0 {
		return nil
	}
	return &Rejection{Reasons: p.reasons}
}

func (p *Problems) required(field, v string) bool {
	if strings.TrimSpace(v) == "" {
		p.invalid(field, "", "required")
		return false
	}
	return true
}

func (p *Problems) text(field, v string, max int, required bool) {
	if required && !p.required(field, v) {
		return
	}
	if len(v) > max {
		p.invalid(field, "", "%d bytes; at most %d", len(v), max)
	}
}

func (p *Problems) country(field, v string) bool {
	if v == "" {
		p.invalid(field, "", "required: an ISO 3166-1 alpha-2 country code such as US, MX or CA")
		return false
	}
	if !ValidCountry(v) {
		p.invalid(field, v, "not an ISO 3166-1 alpha-2 country code (upper case, e.g. US, MX, CA, GT)")
		return false
	}
	return true
}

// dateRange is where the dates of a kind of record plausibly lie. A date
// outside it (year 0001, 9999) is a typing error or an attempt to game a
// verdict, never a document: it is refused, naming the field and the range.
type dateRange struct {
	from, until time.Time // from <= t < until
	what        string
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var (
	// Trade documents: certificates of origin and entries (NAFTA, the
	// oldest program the ledger knows, entered into force on 1994-01-01).
	datesTrade = dateRange{day(1994, 1, 1), day(2100, 1, 1), "dates of certificates of origin and entries (NAFTA entered into force on 1994-01-01)"}
	// IP rights and licenses run long (renewable trademarks).
	datesIP = dateRange{day(1900, 1, 1), day(2200, 1, 1), "dates of IP rights and licenses"}
	// Key events.
	datesKeys = dateRange{day(2000, 1, 1), day(2200, 1, 1), "key dates"}
	// The date a question is about.
	datesQuery = dateRange{day(1900, 1, 1), day(2200, 1, 1), "dates a question can be about"}
)

func (r dateRange) check(t time.Time) bool { return !t.Before(r.from) && t.Before(r.until) }

func (r dateRange) describe() string {
	return fmt.Sprintf("must be between %s and %s (%s)", r.from.Format(time.DateOnly), r.until.Format(time.DateOnly), r.what)
}

// time reads a time field and checks it lies in r.
func (p *Problems) time(field, v string, required bool, r dateRange) (time.Time, bool) {
	if v == "" {
		if required {
			p.invalid(field, "", "required: an RFC 3339 time in UTC such as 2026-01-02T00:00:00Z")
		}
		return time.Time{}, false
	}
	t, err := tx.ParseTime(v)
	if err != nil {
		p.invalid(field, v, "%v", err)
		return time.Time{}, false
	}
	if !r.check(t) {
		p.invalid(field, v, "%s", r.describe())
		return time.Time{}, false
	}
	return t, true
}

func (p *Problems) docID(field, v string) {
	if !docIDPattern.MatchString(v) {
		p.invalid(field, v, "must be 1-128 characters of letters, digits, '.', '_' or '-', starting and ending with a letter or digit")
	}
}

func (p *Problems) partyID(field, v string) {
	if !partyIDPattern.MatchString(v) {
		p.invalid(field, v, "must be 1-64 lower-case letters, digits, '.', '_' or '-' (e.g. acme-mx); the identity becomes kind/<id>")
	}
}

// participantRef checks a reference to a participant identity.
func (p *Problems) participantRef(field, v string, required bool) {
	if v == "" {
		if required {
			p.invalid(field, "", "required: a participant identity such as participant/acme-mx")
		}
		return
	}
	if !strings.HasPrefix(v, identityPrefixParticipant) || !partyIDPattern.MatchString(v[len(identityPrefixParticipant):]) {
		p.invalid(field, v, "must be a participant identity such as participant/acme-mx")
	}
}

func (p *Problems) oneOf(field, v string, allowed []string) bool {
	if !slices.Contains(allowed, v) {
		p.invalid(field, v, "must be one of %s", strings.Join(allowed, ", "))
		return false
	}
	return true
}

func (p *Problems) contact(field string, c *Contact) {
	if c == nil {
		return
	}
	if c.Email != "" && !emailPattern.MatchString(c.Email) {
		p.invalid(field+".email", c.Email, "not an email address")
	}
	if c.Phone != "" && !phonePattern.MatchString(c.Phone) {
		p.invalid(field+".phone", c.Phone, "not a telephone number (digits, spaces, + ( ) . -)")
	}
	p.text(field+".address", c.Address, maxTextBytes, false)
}

func (p *Problems) publicKeys(field string, keys []string, min int) {
	if len(keys) < min {
		p.invalid(field, "", "at least %d key id is required (ledgerctl keys create, then keys show)", min)
	}
	if len(keys) > maxKeysPerIdentity {
		p.invalid(field, "", "%d keys; at most %d", len(keys), maxKeysPerIdentity)
	}
	p.each(field, keys, func(f, k string) {
		if _, err := tx.ParseKeyID(k); err != nil {
			p.invalid(f, k, "must be an Ed25519 public key id, base64url without padding (43 characters)")
		}
	})
}

// each checks every item of a list with check, which is given the item's
// field name (field[i]), and records an item listed twice.
func (p *Problems) each(field string, items []string, check func(f, v string)) {
	seen := make(map[string]bool, len(items))
	for i, v := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		check(f, v)
		if seen[v] {
			p.invalid(f, v, "listed twice")
		}
		seen[v] = true
	}
}

// Contact is how to reach an agency or participant.
type Contact struct {
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	Address string `json:"address,omitempty"`
}

// StatusEvent is one change of a record's status, with its transaction.
type StatusEvent struct {
	Time   string `json:"time"`
	Event  string `json:"event"`
	TxID   string `json:"txId"`
	By     string `json:"by,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Recorded says which transaction wrote a record, when (block time) and
// with which key: what a verdict needs to judge the signature later.
type Recorded struct {
	TxID   string `json:"txId"`
	Time   string `json:"time"`
	KeyID  string `json:"keyId"`
	Signer string `json:"signer"` // the key's owner, e.g. participant/acme-mx
}

// Revocation ends a record's validity from an effective time.
type Revocation struct {
	Kind      string `json:"kind"` // revoked or withdrawn
	By        string `json:"by"`
	Reason    string `json:"reason"`
	Effective string `json:"effective"`
	Recorded
}

func uniqueSorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func joinOr(items []string, empty string) string {
	if len(items) == 0 {
		return empty
	}
	return strings.Join(items, ", ")
}
