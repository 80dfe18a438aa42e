package trade

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// BenchmarkApplyCertificateIssues applies blocks of 500 signed USMCA
// certificate issues to a state store on disk (signing outside the
// timer): the apply side of a node's cost per certificate, with no
// consensus and no HTTP. ns/op is per certificate; cpu-µs/op is the
// process's CPU time (user and system, every goroutine) while applying,
// per certificate: steadier than ns/op on a shared machine.
func BenchmarkApplyCertificateIssues(b *testing.B) {
	sb, s, _, err := newScaleStore(filepath.Join(b.TempDir(), "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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
