package wire

import (
	"strings"
	"testing"
)

func TestAnItemListedTwiceIsRefusedAtItsSecondPlace(t *testing.T) {
	key := "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	for _, tc := range []struct {
		name  string
		check func(*Problems)
		field string
	}{
		{"agency roles", func(p *Problems) {
			checkAgencyRoles(p, "payload.roles", []string{AgencyRoleCustoms, AgencyRoleCustoms})
		}, "payload.roles[1]"},
		{"programs", func(p *Problems) { checkPrograms(p, "payload.programs", []string{"USMCA", "IPR", "USMCA"}) }, "payload.programs[2]"},
		{"participant roles", func(p *Problems) { checkRoles(p, "payload.roles", []string{Roles[0], Roles[0]}) }, "payload.roles[1]"},
		{"countries", func(p *Problems) { checkCountries(p, "payload.territory", []string{"MX", "US", "MX"}, true) }, "payload.territory[2]"},
		{"public keys", func(p *Problems) { p.publicKeys("payload.publicKeys", []string{key, key}, 1) }, "payload.publicKeys[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Problems
			tc.check(&p)
			if len(p.reasons) != 1 {
				t.Fatalf("reasons %+v, want one", p.reasons)
			}
			if r := p.reasons[0]; r.Field != tc.field || !strings.HasSuffix(r.Message, "listed twice") {
				t.Errorf("reason %+v, want %s listed twice", r, tc.field)
			}
		})
	}
}

func TestABadItemListedTwiceIsRefusedForBoth(t *testing.T) {
	var p Problems
	checkPrograms(&p, "payload.programs", []string{"usmca", "usmca"})
	var got []string
	for _, r := range p.reasons {
		got = append(got, r.Field+" "+r.Message)
	}
	if len(got) != 3 || !strings.Contains(got[0], "program code") || !strings.HasPrefix(got[1], "payload.programs[1]") ||
		!strings.Contains(got[1], "program code") || !strings.HasSuffix(got[2], "listed twice") {
		t.Errorf("reasons %q, want [0] bad, [1] bad, [1] listed twice", got)
	}
}
