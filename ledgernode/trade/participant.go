package trade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/credential"
	"github.com/tradeledger/tradeledger/ledgernode/wire"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// LookupParticipant reads a participant by id or identity.
func LookupParticipant(r state.Reader, id string) (*wire.Participant, bool, error) {
	return state.Lookup[wire.Participant](r, BucketParticipants, strings.TrimPrefix(id, identityPrefixParticipant))
}

// Participants lists participants matching f, by id.
func Participants(r state.Reader, f wire.ParticipantFilter) ([]*wire.Participant, error) {
	var out []*wire.Participant
	agency := f.Agency
	if agency != "" {
		agency = identityPrefixAgency + strings.TrimPrefix(agency, identityPrefixAgency)
	}
	err := state.ScanJSON(r, BucketParticipants, "", func(p *wire.Participant) bool {
		if (agency == "" || p.EnrolledBy == agency) && (f.Role == "" || p.HasRole(f.Role)) && (f.Country == "" || p.Country == f.Country) {
			out = append(out, p)
		}
		return true
	})
	return out, err
}

func applyParticipantEnrol(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.ParticipantEnrol](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	ag, err := signerAgency(c, "participant.enrol")
	if err != nil {
		return nil, err
	}
	if p.Country != ag.Country {
		return nil, wire.Reject(CodeJurisdiction, "payload.country", "%q: %s enrols participants of %s only; a participant of %s is enrolled by an agency of %s",
			p.Country, ag.Identity, ag.Country, p.Country, p.Country)
	}
	ident := identityPrefixParticipant + p.ID
	if _, ok, err := LookupParticipant(c, p.ID); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%q: %s is already enrolled; use participant.update", p.ID, ident)
	}
	now := tx.FormatTime(c.Time)
	id, existed, err := state.LookupIdentity(c, ident)
	if err != nil {
		return nil, err
	}
	if existed {
		// A participant identity created by key.register (the admin) is
		// adopted with its keys; it still needs the agency's enrolment to act.
		if id.Status != wire.StatusActive {
			return nil, wire.Reject(wire.CodeConflict, "payload.id", "%s exists and is %s", ident, id.Status)
		}
	} else {
		if len(p.PublicKeys) == 0 {
			return nil, wire.Reject(wire.CodeInvalid, "payload.publicKeys", "at least one key id is required for a new participant")
		}
		id = &wire.Identity{ID: ident, Kind: wire.KindParticipant, Name: p.Name, Status: wire.StatusActive, Since: now, AddedTx: c.TxID, Country: p.Country}
		if err := state.PutIdentity(c, id); err != nil {
			return nil, err
		}
	}
	for i, k := range p.PublicKeys {
		if _, err := state.RegisterKey(c, k, ident, wire.KindParticipant, c.Time, c.TxID); err != nil {
			return nil, fieldOf(err, fmt.Sprintf("payload.publicKeys[%d]", i))
		}
	}
	part := &wire.Participant{ID: p.ID, Identity: ident, Name: p.Name, Country: p.Country, Roles: p.Roles, Identifiers: p.Identifiers,
		Contact: p.Contact, Evidence: p.Evidence, EnrolledBy: ag.Identity, Status: wire.StatusActive, Since: now, EnrolTx: c.TxID,
		History: []wire.StatusEvent{{Time: now, Event: eventRegistered, TxID: c.TxID, By: ag.Identity}}}
	if err := state.PutJSON(c, BucketParticipants, p.ID, part); err != nil {
		return nil, err
	}
	return map[string]any{"participant": ident, "enrolledBy": ag.Identity}, nil
}

// agencyOver loads the participant named in a payload and checks that the
// signing agency has jurisdiction over it (same country).
func agencyOver(c *state.Context, what, id string) (*wire.Agency, *wire.Participant, error) {
	ag, err := signerAgency(c, what)
	if err != nil {
		return nil, nil, err
	}
	p, ok, err := LookupParticipant(c, id)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, wire.Reject(wire.CodeNotFound, "payload.id", "%q: no participant is enrolled under that id", id)
	}
	if p.Country != ag.Country {
		return nil, nil, wire.Reject(CodeJurisdiction, "signer", "%s (%s) has no jurisdiction over %s (%s)", ag.Identity, ag.Country, p.Identity, p.Country)
	}
	return ag, p, nil
}

func applyParticipantUpdate(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.ParticipantUpdate](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	ag, part, err := agencyOver(c, "participant.update", p.ID)
	if err != nil {
		return nil, err
	}
	var changed []string
	if p.Name != "" && p.Name != part.Name {
		part.Name = p.Name
		changed = append(changed, "name")
	}
	if p.Roles != nil && !slices.Equal(p.Roles, part.Roles) {
		part.Roles = p.Roles
		changed = append(changed, "roles")
	}
	if p.Identifiers != nil {
		part.Identifiers = *p.Identifiers
		changed = append(changed, "identifiers")
	}
	if p.Contact != nil {
		part.Contact = p.Contact
		changed = append(changed, "contact")
	}
	part.History = append(part.History, wire.StatusEvent{Time: tx.FormatTime(c.Time), Event: eventUpdated, TxID: c.TxID, By: ag.Identity, Detail: joinOr(changed, "nothing changed")})
	if err := state.PutJSON(c, BucketParticipants, part.ID, part); err != nil {
		return nil, err
	}
	return map[string]any{"participant": part.Identity, "changed": changed}, nil
}

func applyParticipantStatus(to string) func(c *state.Context) (any, error) {
	return func(c *state.Context) (any, error) {
		p, err := wire.DecodeAndCheck[wire.ParticipantStatus](c.Tx.Payload)
		if err != nil {
			return nil, err
		}
		what, event := "participant.reinstate", eventReinstated
		if to == wire.StatusSuspended {
			what, event = "participant.suspend", eventSuspended
			if p.Reason == "" {
				return nil, wire.Reject(wire.CodeInvalid, "payload.reason", "required: say why the participant is suspended")
			}
		}
		ag, part, err := agencyOver(c, what, p.ID)
		if err != nil {
			return nil, err
		}
		if part.Status == to {
			return nil, wire.Reject(wire.CodeConflict, "payload.id", "%s is already %s", part.Identity, to)
		}
		if err := setStatus(c, part.Identity, to); err != nil {
			return nil, err
		}
		if part.StatusIndex != nil {
			if err := setStatusBit(c, credential.PurposeSuspension, *part.StatusIndex, to == wire.StatusSuspended); err != nil {
				return nil, err
			}
		}
		part.Status = to
		part.History = append(part.History, wire.StatusEvent{Time: tx.FormatTime(c.Time), Event: event, TxID: c.TxID, By: ag.Identity, Detail: p.Reason})
		if err := state.PutJSON(c, BucketParticipants, part.ID, part); err != nil {
			return nil, err
		}
		return map[string]any{"participant": part.Identity, "status": to}, nil
	}
}

// signerParticipant returns the enrolled, active participant whose key
// signed the transaction.
func signerParticipant(c *state.Context, what string) (*wire.Participant, error) {
	if c.Signer.Kind != wire.KindParticipant {
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "%s must be signed by a participant's key; %s is %s", what, c.Signer.Owner, c.Signer.Kind)
	}
	p, ok, err := LookupParticipant(c, c.Signer.Owner)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(CodeNotEnrolled, "signer", "%s has a key but is not enrolled by an agency (participant.enrol); ask the agency of its country to enrol it", c.Signer.Owner)
	}
	if p.Status != wire.StatusActive {
		return nil, wire.Reject(CodeSuspended, "signer", "%s is %s", p.Identity, p.Status)
	}
	return p, nil
}

// enrolledParty loads a participant named by a payload field and checks
// that it is enrolled, active and holds role (when role is not "").
func enrolledParty(r state.Reader, field, ident, role string) (*wire.Participant, error) {
	p, ok, err := LookupParticipant(r, ident)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(CodeNotEnrolled, field, "%q is not an enrolled participant; an agency of its country enrols it with participant.enrol", ident)
	}
	if p.Status != wire.StatusActive {
		return nil, wire.Reject(CodeSuspended, field, "%q is %s", ident, p.Status)
	}
	if role != "" && !p.HasRole(role) {
		return nil, wire.Reject(CodeWrongRole, field, "%q is enrolled as %s, not %s; the agency can add the role with participant.update", ident, joinOr(p.Roles, "nothing"), role)
	}
	return p, nil
}
