package trade

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// BenchmarkApplyCertificateIssues applies blocks of 500 signed USMCA
// certificate issues to a state store on disk (signing outside the
// timer): the apply side of a node's cost per certificate, with no
// consensus and no HTTP. ns/op is per certificate; cpu-µs/op is the
// process's CPU time (user and system, every goroutine) while applying,
// per certificate: steadier than ns/op on a shared machine.
func BenchmarkApplyCertificateIssues(b *testing.B) {
	admin, _ := tx.GenerateKey()
	node, _ := tx.GenerateKey()
	g := &chain.Genesis{Network: "benchnet", Time: tx.FormatTime(t0.Add(-time.Hour)), Admins: []string{keyID(admin)},
		Nodes:  []chain.GenesisNode{{ID: "n0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Key: keyID(node)}},
		Params: chain.DefaultParams()}
	sb := &scaleBuilder{g: g, admin: admin, acme: newKey(), now: t0}
	s, err := state.Open(state.Config{Path: filepath.Join(b.TempDir(), "s.db"), Genesis: g, Registry: testRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sat, cbp, bigbox := newKey(), newKey(), newKey()
	if err := sb.block(s, []*tx.Signed{
		sb.sign(admin, "agency.register", wire.AgencyRegister{ID: "mx-sat", Name: "SAT", Country: "MX", Programs: []string{"USMCA"}, PublicKeys: []string{keyID(sat)}}),
		sb.sign(admin, "agency.register", wire.AgencyRegister{ID: "us-cbp", Name: "CBP", Country: "US", Programs: []string{"USMCA"}, PublicKeys: []string{keyID(cbp)}}),
	}); err != nil {
		b.Fatal(err)
	}
	if err := sb.block(s, []*tx.Signed{
		sb.sign(sat, "participant.enrol", wire.ParticipantEnrol{ID: "acme-mx", Name: "ACME", Country: "MX", Roles: []string{wire.RoleExporter, wire.RoleCertifier}, PublicKeys: []string{keyID(sb.acme)}}),
		sb.sign(cbp, "participant.enrol", wire.ParticipantEnrol{ID: "bigbox-us", Name: "BigBox", Country: "US", Roles: []string{wire.RoleImporter}, PublicKeys: []string{keyID(bigbox)}}),
	}); err != nil {
		b.Fatal(err)
	}
	const per = 500
	var cpu time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(per, b.N-done)
		b.StopTimer()
		sts := make([]*tx.Signed, k)
		for i := range sts {
			sts[i] = sb.sign(sb.acme, "certificate.issue", scaleCert(sb.issued+i, t0))
		}
		b.StartTimer()
		c0 := processCPU()
		if err := sb.block(s, sts); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - c0
		sb.issued += k
		done += k
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
