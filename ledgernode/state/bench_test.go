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

// BenchmarkPagesWrittenPerNote applies signed 1.5 KB notes, each to a new
// key (as ledgerbench's note workload does), in blocks of 10, 50 and 200
// after 10,000 notes already applied, and reports the state file's pages
// written per transaction (pages/tx: every commit writes each page it
// changed, whole) and their bytes. Counts, not times: the same on a busy
// machine. Buckets keyed in random order (transaction ids, nonces, and
// their history) change a page each per transaction until a block holds
// more transactions than the bucket has pages. ns/op includes signing:
// read the counts.
func BenchmarkPagesWrittenPerNote(b *testing.B) {
	for _, per := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("block=%d", per), func(b *testing.B) {
			f := statetest.New(b, statetest.Options{DeferSync: true})
			st := f.Store
			k := f.Enrol("participant/bench")
			val, _ := json.Marshal(strings.Repeat("x", 1400))
			n, height := 0, uint64(100)
			apply := func(notes int) {
				for notes > 0 {
					f.Now = f.Now.Add(time.Millisecond)
					p := &state.Proposal{Time: tx.FormatTime(f.Now), Proposer: "n0"}
					for j := 0; j < per && notes > 0; j++ {
						p.Txs = append(p.Txs, f.Sign(k, "note.put", wire.NotePut{Key: fmt.Sprintf("c%d", n), Value: val}).Canonical)
						n++
						notes--
					}
					height++
					if _, err := st.ApplyBlock(p, height, 1); err != nil {
						b.Fatal(err)
					}
				}
			}
			apply(10000)
			w0 := state.PagesWritten(st)
			b.ResetTimer()
			apply(b.N)
			pages := float64(state.PagesWritten(st)-w0) / float64(b.N)
			b.ReportMetric(pages, "pages/tx")
			b.ReportMetric(pages*float64(state.DefaultPageSize)/1024, "KiB/tx")
		})
	}
}
