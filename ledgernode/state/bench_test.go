package state_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// BenchmarkApplyBlock applies blocks of 100 signed 1.5 KB notes, as a
// follower does (signatures not seen before: verified in the block).
func BenchmarkApplyBlock(b *testing.B) {
	for _, cached := range []bool{false, true} {
		b.Run(fmt.Sprintf("verified-before=%v", cached), func(b *testing.B) {
			f := statetest.New(b, statetest.Options{})
			st := f.Store
			k := f.Enrol("participant/bench")
			val, _ := json.Marshal(strings.Repeat("x", 1400))
			const per = 100
			blocks := make([]*state.Proposal, b.N)
			for i := range blocks {
				f.Now = f.Now.Add(time.Millisecond)
				p := &state.Proposal{Time: tx.FormatTime(f.Now), Proposer: "n0"}
				for j := 0; j < per; j++ {
					s := f.Sign(k, "note.put", wire.NotePut{Key: fmt.Sprintf("k%d", j), Value: val})
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
