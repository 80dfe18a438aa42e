package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// BenchmarkApplyBlock applies blocks of 100 signed 1.5 KB notes, as a
// follower does (signatures not seen before: verified in the block).
func BenchmarkApplyBlock(b *testing.B) {
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("verified-before=%v", cached), func(b *testing.B) {
			g, admin, _ := newGenesis(b)
			st, err := Open(Config{Path: b.TempDir() + "/s.db", Genesis: g})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			f := &fixture{t: &testing.T{}, g: g, admin: admin, store: st, now: t0}
			k := f.enrol("participant/bench")
			val, _ := json.Marshal(strings.Repeat("x", 1400))
			const per = 100
			blocks := make([]*Proposal, b.N)
			for i := range blocks {
				f.now = f.now.Add(time.Millisecond)
				p := &Proposal{Time: tx.FormatTime(f.now), Proposer: "n0"}
				for j := 0; j < per; j++ {
					s := f.sign(k, "note.put", NotePut{Key: fmt.Sprintf("k%d", j), Value: val})
					if cached {
						_ = st.Verifier().Verify(s)
					}
					p.Txs = append(p.Txs, s.Canonical)
				}
				blocks[i] = p
			}
			b.ResetTimer()
			for i, p := range blocks {
				if _, err := st.ApplyBlock(p, uint64(100+i), 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}
