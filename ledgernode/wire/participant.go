package wire

import (
	"fmt"
	"slices"
	"strings"
)

// Participant roles.
const (
	RoleExporter     = "exporter"
	RoleProducer     = "producer"
	RoleImporter     = "importer"
	RoleCertifier    = "certifier"
	RoleRightsholder = "rightsholder"
	RoleLicensee     = "licensee"
)

// Roles lists the participant roles.
var Roles = []string{RoleExporter, RoleProducer, RoleImporter, RoleCertifier, RoleRightsholder, RoleLicensee}

// Identifier is a business identifier of a participant (tax number,
// customs registration), e.g. {"scheme":"RFC","value":"ACM010101AB1"}.
type Identifier struct {
	Scheme string `json:"scheme"`
	Value  string `json:"value"`
}

// Participant is a business enrolled by the agency of its country:
// exporters, producers, importers, certifiers, rights holders, licensees.
// Its identity is "participant/<id>".
type Participant struct {
	ID          string        `json:"id"`
	Identity    string        `json:"identity"`
	Name        string        `json:"name"`
	Country     string        `json:"country"`
	Roles       []string      `json:"roles"`
	Identifiers []Identifier  `json:"identifiers,omitempty"`
	Contact     *Contact      `json:"contact,omitempty"`
	Evidence    string        `json:"evidence,omitempty"`
	EnrolledBy  string        `json:"enrolledBy"` // agency identity
	Status      string        `json:"status"`
	Since       string        `json:"since"`
	EnrolTx     string        `json:"enrolTx"`
	History     []StatusEvent `json:"history"`
	// StatusIndex is the participant's index in the suspension status
	// lists, assigned when a credential first needs it.
	StatusIndex *uint64 `json:"statusIndex,omitempty"`
}

// HasRole says whether the participant was enrolled with role.
func (p *Participant) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// ParticipantEnrol is the payload of participant.enrol, signed by an
// agency key, for a participant of the agency's own country.
type ParticipantEnrol struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Country     string       `json:"country"`
	Roles       []string     `json:"roles"`
	Identifiers []Identifier `json:"identifiers,omitempty"`
	Contact     *Contact     `json:"contact,omitempty"`
	PublicKeys  []string     `json:"publicKeys,omitempty"`
	// Evidence is what the agency relied on, e.g. a trademark registration
	// certificate's reference or digest for a rights holder.
	Evidence string `json:"evidence,omitempty"`
}

// Validate checks the payload's shape.
func (p ParticipantEnrol) Validate() error {
	var pr Problems
	pr.partyID("payload.id", p.ID)
	pr.text("payload.name", p.Name, maxNameBytes, true)
	pr.country("payload.country", p.Country)
	checkRoles(&pr, "payload.roles", p.Roles)
	if len(p.Identifiers) > 10 {
		pr.invalid("payload.identifiers", "", "%d identifiers; at most 10", len(p.Identifiers))
	}
	for i, id := range p.Identifiers {
		pr.text(fmt.Sprintf("payload.identifiers[%d].scheme", i), id.Scheme, 32, true)
		pr.text(fmt.Sprintf("payload.identifiers[%d].value", i), id.Value, 128, true)
	}
	pr.contact("payload.contact", p.Contact)
	pr.publicKeys("payload.publicKeys", p.PublicKeys, 0)
	pr.text("payload.evidence", p.Evidence, maxTextBytes, false)
	return pr.err()
}

func checkRoles(pr *Problems, field string, roles []string) {
	if len(roles) == 0 {
		pr.invalid(field, "", "at least one role is required: %s", joinOr(Roles, ""))
	}
	pr.each(field, roles, func(f, r string) { pr.oneOf(f, r, Roles) })
}

// ParticipantUpdate is the payload of participant.update, by an agency of
// the participant's country: absent fields are unchanged, roles replace.
type ParticipantUpdate struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles,omitempty"`
	// Identifiers, when present, replace the list; a pointer so that
	// "identifiers": [] (remove them all) survives encoding.
	Identifiers *[]Identifier `json:"identifiers,omitempty"`
	Contact     *Contact      `json:"contact,omitempty"`
}

// Validate checks the payload's shape.
func (p ParticipantUpdate) Validate() error {
	var pr Problems
	pr.partyID("payload.id", strings.TrimPrefix(p.ID, identityPrefixParticipant))
	pr.text("payload.name", p.Name, maxNameBytes, false)
	if p.Roles != nil {
		checkRoles(&pr, "payload.roles", p.Roles)
	}
	pr.contact("payload.contact", p.Contact)
	if p.Name == "" && p.Roles == nil && p.Identifiers == nil && p.Contact == nil {
		pr.invalid("payload", "", "nothing to update: give name, roles, identifiers or contact")
	}
	return pr.err()
}

// ParticipantStatus is the payload of participant.suspend and
// participant.reinstate, by an agency of the participant's country.
type ParticipantStatus struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

// Validate checks the payload's shape.
func (p ParticipantStatus) Validate() error {
	var pr Problems
	pr.partyID("payload.id", strings.TrimPrefix(p.ID, identityPrefixParticipant))
	pr.text("payload.reason", p.Reason, maxTextBytes, false)
	return pr.err()
}

// ParticipantFilter selects participants in Participants.
type ParticipantFilter struct {
	Agency, Role, Country string
}
