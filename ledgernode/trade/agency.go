package trade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// requireCustoms checks that an agency is the customs authority of its
// country, for what (an action on a certificate of origin or an entry).
func requireCustoms(a *wire.Agency, what string) error {
	if a.HasRole(wire.AgencyRoleCustoms) {
		return nil
	}
	return wire.Reject(wire.CodeUnauthorized, "signer", "%s is not the customs authority of %s (its roles: %s); %s belongs to the customs authority (an agency with the role %q, which the network admin gives with agency.update)",
		a.Identity, a.Country, joinOr(a.Roles, "none"), what, wire.AgencyRoleCustoms)
}

// LookupAgency reads an agency by id ("us-cbp") or identity ("agency/us-cbp").
func LookupAgency(r state.Reader, id string) (*wire.Agency, bool, error) {
	return state.Lookup[wire.Agency](r, BucketAgencies, strings.TrimPrefix(id, identityPrefixAgency))
}

// Agencies lists every agency, by id.
func Agencies(r state.Reader) ([]*wire.Agency, error) {
	var out []*wire.Agency
	err := state.ScanJSON(r, BucketAgencies, "", func(a *wire.Agency) bool {
		out = append(out, a)
		return true
	})
	return out, err
}

func requireAdmin(c *state.Context, typ string) error {
	if !c.Signer.IsAdmin() {
		return wire.Reject(wire.CodeUnauthorized, "signer", "only the network admin may submit %s; %s is %s", typ, c.Signer.Owner, c.Signer.Kind)
	}
	return nil
}

func applyAgencyRegister(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.AgencyRegister](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c, "agency.register"); err != nil {
		return nil, err
	}
	ident := identityPrefixAgency + p.ID
	if _, ok, err := state.LookupIdentity(c, ident); err != nil {
		return nil, err
	} else if ok {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%q: %s is already registered; use agency.update to change it", p.ID, ident)
	}
	now := tx.FormatTime(c.Time)
	if err := state.PutIdentity(c, &wire.Identity{ID: ident, Kind: wire.KindAgency, Name: p.Name, Status: wire.StatusActive, Since: now, AddedTx: c.TxID, Country: p.Country}); err != nil {
		return nil, err
	}
	var fps []string
	for i, k := range p.PublicKeys {
		key, err := state.RegisterKey(c, k, ident, wire.KindAgency, c.Time, c.TxID)
		if err != nil {
			return nil, fieldOf(err, fmt.Sprintf("payload.publicKeys[%d]", i))
		}
		fps = append(fps, key.Fingerprint)
	}
	a := &wire.Agency{ID: p.ID, Identity: ident, Name: p.Name, Country: p.Country, Roles: p.Roles, Programs: p.Programs, Contact: p.Contact,
		Status: wire.StatusActive, Since: now, History: []wire.StatusEvent{{Time: now, Event: eventRegistered, TxID: c.TxID, By: c.Signer.Owner}}}
	if a.Programs == nil {
		a.Programs = []string{}
	}
	if err := state.PutJSON(c, BucketAgencies, p.ID, a); err != nil {
		return nil, err
	}
	return map[string]any{"agency": ident, "fingerprints": fps}, nil
}

// mustAgency loads an agency named in a payload field.
func mustAgency(r state.Reader, field, id string) (*wire.Agency, error) {
	a, ok, err := LookupAgency(r, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, field, "%q: no agency %s is registered (ledgerctl agency list)", id, identityPrefixAgency+strings.TrimPrefix(id, identityPrefixAgency))
	}
	return a, nil
}

func applyAgencyUpdate(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.AgencyUpdate](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c, "agency.update"); err != nil {
		return nil, err
	}
	a, err := mustAgency(c, "payload.id", p.ID)
	if err != nil {
		return nil, err
	}
	var changed []string
	if p.Name != "" && p.Name != a.Name {
		a.Name = p.Name
		changed = append(changed, "name")
		id, _, err := state.LookupIdentity(c, a.Identity)
		if err != nil {
			return nil, err
		}
		id.Name = p.Name
		if err := state.PutIdentity(c, id); err != nil {
			return nil, err
		}
	}
	if p.Roles != nil && !slices.Equal(*p.Roles, a.Roles) {
		a.Roles = *p.Roles
		changed = append(changed, "roles")
	}
	if p.Programs != nil && !slices.Equal(p.Programs, a.Programs) {
		a.Programs = p.Programs
		changed = append(changed, "programs")
	}
	if p.Contact != nil {
		a.Contact = p.Contact
		changed = append(changed, "contact")
	}
	a.History = append(a.History, wire.StatusEvent{Time: tx.FormatTime(c.Time), Event: eventUpdated, TxID: c.TxID, By: c.Signer.Owner, Detail: joinOr(changed, "nothing changed")})
	if err := state.PutJSON(c, BucketAgencies, a.ID, a); err != nil {
		return nil, err
	}
	return map[string]any{"agency": a.Identity, "changed": changed}, nil
}

func applyAgencySuspend(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.AgencySuspend](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c, "agency.suspend"); err != nil {
		return nil, err
	}
	a, err := mustAgency(c, "payload.id", p.ID)
	if err != nil {
		return nil, err
	}
	if a.Status == wire.StatusSuspended {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%s is already suspended (%s); reinstate it first", a.Identity, a.Reason)
	}
	if err := setStatus(c, a.Identity, wire.StatusSuspended); err != nil {
		return nil, err
	}
	a.Status, a.Reason = wire.StatusSuspended, p.Reason
	a.History = append(a.History, wire.StatusEvent{Time: tx.FormatTime(c.Time), Event: eventSuspended, TxID: c.TxID, By: c.Signer.Owner, Detail: p.Reason})
	if err := state.PutJSON(c, BucketAgencies, a.ID, a); err != nil {
		return nil, err
	}
	return map[string]any{"agency": a.Identity, "status": a.Status, "effective": tx.FormatTime(c.Time)}, nil
}

func applyAgencyReinstate(c *state.Context) (any, error) {
	p, err := wire.DecodeAndCheck[wire.AgencyReinstate](c.Tx.Payload)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c, "agency.reinstate"); err != nil {
		return nil, err
	}
	a, err := mustAgency(c, "payload.id", p.ID)
	if err != nil {
		return nil, err
	}
	if a.Status != wire.StatusSuspended {
		return nil, wire.Reject(wire.CodeConflict, "payload.id", "%s is %s, not suspended", a.Identity, a.Status)
	}
	if err := setStatus(c, a.Identity, wire.StatusActive); err != nil {
		return nil, err
	}
	a.Status, a.Reason = wire.StatusActive, ""
	a.History = append(a.History, wire.StatusEvent{Time: tx.FormatTime(c.Time), Event: eventReinstated, TxID: c.TxID, By: c.Signer.Owner})
	if err := state.PutJSON(c, BucketAgencies, a.ID, a); err != nil {
		return nil, err
	}
	return map[string]any{"agency": a.Identity, "status": a.Status}, nil
}

// setStatus changes the core identity's status: a suspended identity's
// keys can no longer sign (the state machine checks it before Apply), and
// its history stays.
func setStatus(c *state.Context, ident, status string) error {
	id, ok, err := state.LookupIdentity(c, ident)
	if err != nil {
		return err
	}
	if !ok {
		return wire.Reject(wire.CodeInternal, "", "identity %s is missing", ident)
	}
	id.Status = status
	return state.PutIdentity(c, id)
}

// signerAgency returns the agency whose key signed the transaction.
func signerAgency(c *state.Context, what string) (*wire.Agency, error) {
	if c.Signer.Kind != wire.KindAgency {
		return nil, wire.Reject(wire.CodeUnauthorized, "signer", "%s must be signed by an agency key; %s is %s", what, c.Signer.Owner, c.Signer.Kind)
	}
	a, ok, err := LookupAgency(c, c.Signer.Owner)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wire.Reject(CodeNotEnrolled, "signer", "%s holds agency keys but was never registered with agency.register", c.Signer.Owner)
	}
	if a.Status != wire.StatusActive {
		return nil, wire.Reject(CodeSuspended, "signer", "%s is %s", a.Identity, a.Status)
	}
	return a, nil
}
