package trade

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

func TestAgencyRegistrationRules(t *testing.T) {
	f := newFx(t)
	cbp := f.agency("us-cbp", "US", "USMCA", "IPR")
	k := newKey()
	cases := []struct {
		name        string
		signer      func() any
		payload     wire.AgencyRegister
		code, field string
	}{
		{"only the network admin registers an agency", func() any { return cbp }, wire.AgencyRegister{ID: "evil", Name: "Evil", Country: "US", PublicKeys: []string{keyID(k)}}, wire.CodeUnauthorized, "signer"},
		{"an agency id is registered once", nil, wire.AgencyRegister{ID: "us-cbp", Name: "Again", Country: "US", PublicKeys: []string{keyID(k)}}, wire.CodeConflict, "payload.id"},
		{"a key already registered is refused", nil, wire.AgencyRegister{ID: "cbsa", Name: "CBSA", Country: "CA", PublicKeys: []string{keyID(cbp)}}, wire.CodeConflict, "payload.publicKeys[0]"},
		{"an agency needs a key", nil, wire.AgencyRegister{ID: "cbsa", Name: "CBSA", Country: "CA"}, wire.CodeInvalid, "payload.publicKeys"},
		{"the country must be ISO 3166-1", nil, wire.AgencyRegister{ID: "cbsa", Name: "CBSA", Country: "Canada", PublicKeys: []string{keyID(k)}}, wire.CodeInvalid, "payload.country"},
		{"programs are upper-case codes", nil, wire.AgencyRegister{ID: "cbsa", Name: "CBSA", Country: "CA", Programs: []string{"usmca"}, PublicKeys: []string{keyID(k)}}, wire.CodeInvalid, "payload.programs[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer f.Use(t)()
			key := f.Admin
			if tc.signer != nil {
				key = cbp
			}
			f.reject(key, "agency.register", tc.payload, tc.code, tc.field)
		})
	}
	f.view(func(v *state.View) {
		a, ok, err := LookupAgency(v, "agency/us-cbp")
		if err != nil || !ok || a.Country != "US" || a.Status != wire.StatusActive || len(a.History) != 1 {
			t.Fatalf("agency = %+v ok=%v err=%v", a, ok, err)
		}
		keys, _ := state.KeysOf(v, "agency/us-cbp")
		if len(keys) != 1 || keys[0].Kind != wire.KindAgency {
			t.Fatalf("keys = %+v", keys)
		}
	})
}

func TestAgencyRegisterResultNamesTheIdentity(t *testing.T) {
	f := newFx(t)
	k := newKey()
	rc := f.Must(f.Admin, "agency.register", map[string]any{"id": "us-cbp", "name": "U.S. Customs and Border Protection", "country": "US",
		"programs": []string{"USMCA", "CAFTA-DR", "NAFTA", "IPR"}, "publicKeys": []string{keyID(k)}, "contact": map[string]string{"email": "trade@cbp.example", "phone": "+1 202 555 0100"}})
	if got := string(rc.Result); got[:len(`{"agency":"agency/us-cbp"`)] != `{"agency":"agency/us-cbp"` {
		t.Fatalf("result = %s", got)
	}
}

func TestAgencyUpdateSuspendReinstate(t *testing.T) {
	w := newWorld(t)
	w.Must(w.Admin, "agency.update", wire.AgencyUpdate{ID: "cbsa", Programs: []string{"USMCA", "NAFTA", "IPR"}})
	w.reject(w.cbp, "agency.update", wire.AgencyUpdate{ID: "cbsa", Name: "x"}, wire.CodeUnauthorized, "signer")
	w.reject(w.Admin, "agency.update", wire.AgencyUpdate{ID: "nope", Name: "x"}, wire.CodeNotFound, "payload.id")

	// Suspended from block time: its key no longer signs, history stays.
	w.Must(w.Admin, "agency.suspend", wire.AgencySuspend{ID: "sat-mx", Reason: "key custody audit"})
	rc := w.reject(w.sat, "participant.enrol", wire.ParticipantEnrol{ID: "late-mx", Name: "Late", Country: "MX", Roles: []string{wire.RoleExporter}, PublicKeys: []string{keyID(newKey())}}, wire.CodeUnauthorized, "signer")
	if rc.Reasons[0].Message != "agency/sat-mx is suspended and may not sign" {
		t.Fatalf("message = %q", rc.Reasons[0].Message)
	}
	w.reject(w.Admin, "agency.suspend", wire.AgencySuspend{ID: "sat-mx", Reason: "again"}, wire.CodeConflict, "payload.id")
	w.Must(w.Admin, "agency.reinstate", wire.AgencyReinstate{ID: "sat-mx"})
	w.Must(w.sat, "participant.enrol", wire.ParticipantEnrol{ID: "late-mx", Name: "Late", Country: "MX", Roles: []string{wire.RoleExporter}, PublicKeys: []string{keyID(newKey())}})
	w.view(func(v *state.View) {
		a, _, _ := LookupAgency(v, "sat-mx")
		var events []string
		for _, h := range a.History {
			events = append(events, h.Event)
		}
		if a.Status != wire.StatusActive || len(events) != 3 || events[1] != "suspended" || events[2] != "reinstated" {
			t.Fatalf("history = %v status %s", events, a.Status)
		}
		c, _, _ := LookupAgency(v, "cbsa")
		if !c.ActsOn("IPR") {
			t.Fatalf("programs not updated: %v", c.Programs)
		}
	})
}

func TestAgencyEnrolsOnlyInItsJurisdiction(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name        string
		signer      func(w *world) any
		p           wire.ParticipantEnrol
		code, field string
	}{
		{"an agency cannot enrol a participant of another country", nil, wire.ParticipantEnrol{ID: "texan", Name: "Texan", Country: "US", Roles: []string{wire.RoleImporter}, PublicKeys: []string{keyID(newKey())}}, CodeJurisdiction, "payload.country"},
		{"a participant cannot enrol another", func(w *world) any { return w.acme }, wire.ParticipantEnrol{ID: "friend", Name: "Friend", Country: "MX", Roles: []string{wire.RoleImporter}, PublicKeys: []string{keyID(newKey())}}, wire.CodeUnauthorized, "signer"},
		{"roles come from the fixed list", nil, wire.ParticipantEnrol{ID: "odd", Name: "Odd", Country: "MX", Roles: []string{"broker"}, PublicKeys: []string{keyID(newKey())}}, wire.CodeInvalid, "payload.roles[0]"},
		{"a participant is enrolled once", nil, wire.ParticipantEnrol{ID: "acme-mx", Name: "Again", Country: "MX", Roles: []string{wire.RoleExporter}, PublicKeys: []string{keyID(newKey())}}, wire.CodeConflict, "payload.id"},
		{"a new participant needs a key", nil, wire.ParticipantEnrol{ID: "keyless", Name: "Keyless", Country: "MX", Roles: []string{wire.RoleExporter}}, wire.CodeInvalid, "payload.publicKeys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer w.Use(t)()
			key := w.sat
			if tc.signer != nil {
				key = w.acme
			}
			w.reject(key, "participant.enrol", tc.p, tc.code, tc.field)
		})
	}
	// An agency changes only its own country's participants.
	w.reject(w.cbp, "participant.update", wire.ParticipantUpdate{ID: "acme-mx", Roles: []string{wire.RoleExporter}}, CodeJurisdiction, "signer")
	w.Must(w.sat, "participant.update", wire.ParticipantUpdate{ID: "participant/maker-mx", Roles: []string{wire.RoleLicensee, wire.RoleProducer, wire.RoleExporter, wire.RoleCertifier}})
	w.view(func(v *state.View) {
		p, _, _ := LookupParticipant(v, "maker-mx")
		if !p.HasRole(wire.RoleCertifier) || p.EnrolledBy != "agency/sat-mx" {
			t.Fatalf("participant = %+v", p)
		}
	})
}

func TestIdentityCreatedByAdminIsAdoptedAtEnrolment(t *testing.T) {
	w := newWorld(t)
	k := newKey()
	w.Must(w.Admin, "key.register", wire.KeyRegister{Owner: "participant/adopted-mx", PublicKey: keyID(k)})
	w.Must(w.sat, "participant.enrol", wire.ParticipantEnrol{ID: "adopted-mx", Name: "Adopted", Country: "MX", Roles: []string{wire.RoleExporter, wire.RoleCertifier}})
	c := w.usmca("ADOPTED-1")
	c.Certifier.ID = "participant/adopted-mx"
	w.Must(k, "certificate.issue", c)
}

func TestSuspendedParticipantCannotSignUntilReinstated(t *testing.T) {
	w := newWorld(t)
	w.reject(w.sat, "participant.suspend", wire.ParticipantStatus{ID: "acme-mx"}, wire.CodeInvalid, "payload.reason")
	w.Must(w.sat, "participant.suspend", wire.ParticipantStatus{ID: "acme-mx", Reason: "under investigation"})
	w.reject(w.acme, "certificate.issue", w.usmca("S-1"), wire.CodeUnauthorized, "signer")
	w.Must(w.sat, "participant.reinstate", wire.ParticipantStatus{ID: "acme-mx"})
	w.Must(w.acme, "certificate.issue", w.usmca("S-1"))
}

func TestKeyRotationKeepsOldSignaturesVerifiable(t *testing.T) {
	w := newWorld(t)
	w.issue("ROT-1") // signed with the old key
	newK := newKey()
	rc := w.Must(w.acme, "key.rotate", wire.KeyRotate{NewKey: keyID(newK), Retire: keyID(w.acme)})
	rotatedAt := rc.Time

	// The old key is retired from block time; the new one signs.
	w.reject(w.acme, "certificate.issue", w.usmca("ROT-2"), wire.CodeKeyInvalid, "signer")
	w.Must(newK, "certificate.issue", w.usmca("ROT-2"))

	// The record signed before the rotation still verifies, and so does the new one.
	for _, id := range []string{"ROT-1", "ROT-2"} {
		w.view(func(v *state.View) {
			vd, err := VerifyCertificate(v, wire.CertificateQuery{ID: id})
			if err != nil || vd.Verdict != wire.VerdictValid {
				t.Fatalf("%s: %+v %v", id, vd, err)
			}
		})
	}
	w.view(func(v *state.View) {
		k, _, _ := state.LookupKey(v, keyID(w.acme))
		if k.RetiredAt != rotatedAt || len(k.History) != 2 || k.History[1].Event != "retired" {
			t.Fatalf("old key = %+v", k)
		}
	})
}

func TestKeyRotationRules(t *testing.T) {
	w := newWorld(t)
	nk := newKey()
	cases := []struct {
		name        string
		p           wire.KeyRotate
		code, field string
	}{
		{"retiring another owner's key is refused", wire.KeyRotate{NewKey: keyID(nk), Retire: keyID(w.sat)}, wire.CodeNotFound, "payload.retire"},
		{"retiring in the past is refused", wire.KeyRotate{NewKey: keyID(nk), Retire: keyID(w.acme), RetireAt: ts(t0.Add(-time.Hour))}, wire.CodeInvalid, "payload.retireAt"},
		{"reusing a registered key is refused", wire.KeyRotate{NewKey: keyID(w.maker), Retire: keyID(w.acme)}, wire.CodeConflict, "payload.newKey"},
		{"the new key must differ from the old", wire.KeyRotate{NewKey: keyID(w.acme), Retire: keyID(w.acme)}, wire.CodeInvalid, "payload.newKey"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { defer w.Use(t)(); w.reject(w.acme, "key.rotate", tc.p, tc.code, tc.field) })
	}
	// A scheduled retirement: the old key signs until retireAt.
	retireAt := w.Now.Add(time.Hour)
	w.Must(w.acme, "key.rotate", wire.KeyRotate{NewKey: keyID(nk), Retire: keyID(w.acme), RetireAt: ts(retireAt)})
	w.Must(w.acme, "certificate.issue", w.usmca("SCHED-1"))
	w.advance(2 * time.Hour)
	w.reject(w.acme, "certificate.issue", w.usmca("SCHED-2"), wire.CodeKeyInvalid, "signer")
	w.Must(nk, "certificate.issue", w.usmca("SCHED-2"))
	// Agencies rotate the same way.
	nc := newKey()
	w.Must(w.cbp, "key.rotate", wire.KeyRotate{NewKey: keyID(nc), Retire: keyID(w.cbp)})
	w.Must(nc, "participant.enrol", wire.ParticipantEnrol{ID: "new-us", Name: "New", Country: "US", Roles: []string{wire.RoleImporter}, PublicKeys: []string{keyID(newKey())}})
}

func TestSignatureAfterKeyRevocationIsRejectedWhileEarlierOneStillVerifies(t *testing.T) {
	w := newWorld(t)
	w.issue("REV-EARLY")
	compromised := w.Now
	w.advance(time.Hour)
	w.issue("REV-LATE") // signed after the (later declared) compromise
	spare := newKey()
	w.Must(w.sat, "participant.enrol", wire.ParticipantEnrol{ID: "spare", Name: "x", Country: "MX", Roles: []string{wire.RoleExporter}, PublicKeys: []string{keyID(spare)}})
	// The admin revokes acme's key with effect from before REV-LATE.
	w.Must(w.Admin, "key.revoke", wire.KeyRevoke{KeyID: keyID(w.acme), Effective: ts(compromised.Add(time.Second)), Reason: "laptop stolen"})

	// New signatures with the key are rejected at once ...
	rc := w.reject(w.acme, "certificate.issue", w.usmca("REV-NEW"), wire.CodeKeyInvalid, "signer")
	if rc.Status != chain.Rejected {
		t.Fatal("accepted")
	}
	// ... the record signed after the effective time is invalid now ...
	w.view(func(v *state.View) {
		late, err := VerifyCertificate(v, wire.CertificateQuery{ID: "REV-LATE"})
		if err != nil {
			t.Fatal(err)
		}
		if late.Verdict != wire.VerdictInvalid || late.Reasons[0].Code != "signature_revoked_retroactively" || !strings.Contains(late.Reasons[0].Message, "backdated revocation") {
			t.Fatalf("late: %+v", late)
		}
		// ... and the one signed before it still verifies.
		early, err := VerifyCertificate(v, wire.CertificateQuery{ID: "REV-EARLY"})
		if err != nil || early.Verdict != wire.VerdictValid {
			t.Fatalf("early: %+v %v", early, err)
		}
		// The key's revocation is part of the evidence of the failing verdict.
		found := false
		for _, e := range late.Evidence {
			var env tx.Envelope
			_ = json.Unmarshal(e.Evidence.Tx, &env)
			found = found || env.Type == "key.revoke"
		}
		if !found {
			t.Fatalf("no key.revoke in the evidence: %+v", late.Evidence)
		}
	})
}
