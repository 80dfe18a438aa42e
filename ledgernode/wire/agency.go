package wire

import (
	"slices"
)

// Agency is a customs or partner government agency: registered, updated,
// suspended and reinstated by the network admin. Its identity is
// "agency/<id>" (kind agency); its keys live in the core key registry.
type Agency struct {
	ID       string `json:"id"`
	Identity string `json:"identity"`
	Name     string `json:"name"`
	Country  string `json:"country"`
	// Roles are the authorities the agency holds in its country
	// (AgencyRoles); an agency without a role publishes rules only.
	Roles    []string      `json:"roles,omitempty"`
	Programs []string      `json:"programs"`
	Contact  *Contact      `json:"contact,omitempty"`
	Status   string        `json:"status"`
	Reason   string        `json:"reason,omitempty"` // why it is suspended
	Since    string        `json:"since"`            // registration (block time)
	History  []StatusEvent `json:"history"`
}

// ActsOn says whether the agency declares a program.
func (a *Agency) ActsOn(program string) bool { return slices.Contains(a.Programs, program) }

// HasRole says whether the agency holds an authority (AgencyRoles).
func (a *Agency) HasRole(role string) bool { return slices.Contains(a.Roles, role) }

// AgencyRoleCustoms is the customs authority of a country: it revokes and
// endorses certificates of origin (of trade its country exports or
// imports) and records entries into its country. Partner government
// agencies (food, health, sanctions, ...) publish rules and enrol
// participants, but do not decide on origin.
const AgencyRoleCustoms = "customs"

// AgencyRoles are the roles an agency may hold.
var AgencyRoles = []string{AgencyRoleCustoms}

func checkAgencyRoles(pr *Problems, field string, roles []string) {
	pr.each(field, roles, func(f, r string) { pr.oneOf(f, r, AgencyRoles) })
}

// AgencyRegister is the payload of agency.register (network admin only).
type AgencyRegister struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Country    string   `json:"country"`
	Roles      []string `json:"roles,omitempty"`
	Programs   []string `json:"programs"`
	PublicKeys []string `json:"publicKeys"`
	Contact    *Contact `json:"contact,omitempty"`
}

// Validate checks the payload's shape.
func (p AgencyRegister) Validate() error {
	var pr Problems
	pr.partyID("payload.id", p.ID)
	pr.text("payload.name", p.Name, maxNameBytes, true)
	pr.country("payload.country", p.Country)
	checkAgencyRoles(&pr, "payload.roles", p.Roles)
	checkPrograms(&pr, "payload.programs", p.Programs)
	pr.publicKeys("payload.publicKeys", p.PublicKeys, 1)
	pr.contact("payload.contact", p.Contact)
	return pr.err()
}

func checkPrograms(pr *Problems, field string, programs []string) {
	if programs != nil && len(programs) == 0 {
		pr.invalid(field, "", "empty: an agency acts on at least one program (USMCA, CAFTA-DR, NAFTA, IPR)")
	}
	if len(programs) > 16 {
		pr.invalid(field, "", "%d programs; at most 16", len(programs))
	}
	pr.each(field, programs, func(f, pg string) {
		if !programPattern.MatchString(pg) {
			pr.invalid(f, pg, "must be an upper-case program code such as USMCA, CAFTA-DR, NAFTA or IPR")
		}
	})
}

// AgencyUpdate is the payload of agency.update (network admin only). Absent
// fields are unchanged; roles and programs, when present, replace the list.
// Roles is a pointer so that "roles": [] (the agency holds no role any
// more) survives encoding: a nil slice and an empty one are different
// requests, and omitempty would drop the empty one.
type AgencyUpdate struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Roles    *[]string `json:"roles,omitempty"`
	Programs []string  `json:"programs,omitempty"`
	Contact  *Contact  `json:"contact,omitempty"`
}

// Replacing is a list for an update field that replaces the record's
// list: never nil, so that an empty list is sent as [] (clear it) rather
// than dropped (leave it unchanged).
func Replacing[T any](list []T) *[]T {
	if list == nil {
		list = []T{}
	}
	return &list
}

// Validate checks the payload's shape.
func (p AgencyUpdate) Validate() error {
	var pr Problems
	pr.partyID("payload.id", p.ID)
	pr.text("payload.name", p.Name, maxNameBytes, false)
	if p.Roles != nil {
		checkAgencyRoles(&pr, "payload.roles", *p.Roles)
	}
	checkPrograms(&pr, "payload.programs", p.Programs)
	pr.contact("payload.contact", p.Contact)
	if p.Name == "" && p.Roles == nil && p.Programs == nil && p.Contact == nil {
		pr.invalid("payload", "", "nothing to update: give name, roles, programs or contact")
	}
	return pr.err()
}

// AgencySuspend is the payload of agency.suspend (network admin only).
type AgencySuspend struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Validate checks the payload's shape.
func (p AgencySuspend) Validate() error {
	var pr Problems
	pr.partyID("payload.id", p.ID)
	pr.text("payload.reason", p.Reason, maxTextBytes, true)
	return pr.err()
}

// AgencyReinstate is the payload of agency.reinstate (network admin only).
type AgencyReinstate struct {
	ID string `json:"id"`
}

// Validate checks the payload's shape.
func (p AgencyReinstate) Validate() error {
	var pr Problems
	pr.partyID("payload.id", p.ID)
	return pr.err()
}
