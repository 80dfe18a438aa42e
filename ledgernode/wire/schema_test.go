package wire

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.golden from the types as they are")

// The payloads are signed, stored and replayed as their JSON: a field
// renamed, reordered or given omitempty would change the bytes a node
// hashes and replays. testdata/schema.golden was written by the code
// before these types moved here from state and trade (commit c7bc3b1,
// with trade.Agency, state.Key, ...); this test holds the moved types to
// it. A deliberate change of the wire format updates it with -update, in
// the commit that says why.
func TestWireTypesEncodeAsBeforeTheMove(t *testing.T) {
	got := schema([]any{
		Agency{},
		AgencyRegister{},
		AgencyUpdate{},
		AgencySuspend{},
		AgencyReinstate{},
		Identifier{},
		Participant{},
		ParticipantEnrol{},
		ParticipantUpdate{},
		ParticipantStatus{},
		ParticipantFilter{},
		Party{},
		GoodsItem{},
		Period{},
		Certificate{},
		CertificateAmend{},
		CertificateRevoke{},
		CertificateEndorse{},
		CertificateRecord{},
		VersionRef{},
		Endorsement{},
		CertificateVersion{},
		CertificateHistory{},
		CertificateFilter{},
		CertificatePage{},
		IPRight{},
		IPRightRegister{},
		LicensedGoods{},
		Sublicensing{},
		LicenseGrant{},
		License{},
		LicenseRevoke{},
		LicenseFilter{},
		LicensePage{},
		LicenseQuery{},
		PathStep{},
		StepFailure{},
		Alternative{},
		LicenseVerdict{},
		EffectiveStatus{},
		LicenseView{},
		StatusIndex{},
		Shipment{},
		ShipmentLine{},
		ShipmentRecord{},
		ShipmentQuery{},
		LineVerdict{},
		ShipmentVerdict{},
		Check{},
		EvidenceItem{},
		CertificateQuery{},
		CertificateVerdict{},
		Contact{},
		StatusEvent{},
		Recorded{},
		Revocation{},
		KeyRotate{},
		Identity{},
		Key{},
		KeyEvent{},
		KeyRegister{},
		KeyRevoke{},
		Note{},
		NotePut{},
		Rejection{},
		IdentityResponse{},
		AgencyResponse{},
		ParticipantResponse{},
	})
	if *update {
		if err := os.WriteFile("testdata/schema.golden", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/schema.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "\tRoles *[]string \"roles,omitempty\"\n") {
		t.Fatalf("the schema does not list AgencyUpdate.Roles; the walk is broken:\n%s", got)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("the JSON of the wire types changed at line %d of testdata/schema.golden:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("the JSON of the wire types changed: %d schema lines, want %d", len(gl), len(wl))
	}
}

// schema describes how encoding/json writes each of types: every struct
// reached from them (by name, once), each field in order with its Go type
// and its json tag, embedded fields marked, and whether a type encodes
// itself. encoding/json (and JCS after it) writes a value from exactly
// this, so two type sets with the same schema write the same bytes.
func schema(types []any) string {
	var b strings.Builder
	seen := map[reflect.Type]bool{}
	marshaler := reflect.TypeFor[json.Marshaler]()
	unmarshaler := reflect.TypeFor[json.Unmarshaler]()
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			if t.Kind() == reflect.Map {
				walk(t.Key())
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		fmt.Fprintf(&b, "%s", t.Name())
		if t.Implements(marshaler) || reflect.PointerTo(t).Implements(marshaler) {
			b.WriteString(" MarshalJSON")
		}
		if reflect.PointerTo(t).Implements(unmarshaler) {
			b.WriteString(" UnmarshalJSON")
		}
		b.WriteString("\n")
		var inner []reflect.Type
		for i := range t.NumField() {
			f := t.Field(i)
			typ := strings.NewReplacer("trade.", "", "state.", "", "wire.", "").Replace(f.Type.String())
			emb := ""
			if f.Anonymous {
				emb = " embedded"
			}
			fmt.Fprintf(&b, "\t%s %s %q%s\n", f.Name, typ, f.Tag.Get("json"), emb)
			inner = append(inner, f.Type)
		}
		for _, it := range inner {
			walk(it)
		}
	}
	for _, v := range types {
		walk(reflect.TypeOf(v))
	}
	return b.String()
}
