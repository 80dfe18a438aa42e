package trade_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// BenchmarkCertificateIssue3Nodes measures certificate.issue throughput on a
// real 3-node cluster over mutual TLS: b.N signed certificates submitted by
// 256 concurrent clients spread over the nodes, each waiting for its receipt.
// Signing happens before the timer starts.
func BenchmarkCertificateIssue3Nodes(b *testing.B) {
	f := newCluster(b, 3)
	keys := f.cast()
	now := time.Now().UTC()
	run := fmt.Sprintf("B%d-%d", b.N, now.UnixNano())
	sts := make([]*tx.Signed, b.N)
	for i := range sts {
		st, err := f.c.Sign(keys["acme-mx"], "certificate.issue", certificate(fmt.Sprintf("%s-%07d", run, i), now))
		if err != nil {
			b.Fatal(err)
		}
		sts[i] = st
	}
	clients := []*client.Client{f.c.Client(0), f.c.Client(1), f.c.Client(2)}
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := clients[w%len(clients)]
			for {
				i := next.Add(1) - 1
				if i >= int64(len(sts)) {
					return
				}
				resp, err := cl.Submit(f.ctx, sts[i], client.SubmitOptions{})
				if err == nil && resp.Receipt.Status != chain.Accepted {
					err = fmt.Errorf("rejected: %+v", resp.Receipt.Reasons)
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tx/s")
}

// BenchmarkVerifyCertificateWithProof1Node measures verdict queries with
// inclusion proofs through the HTTP API of one node, 16 in flight.
func BenchmarkVerifyCertificateWithProof1Node(b *testing.B) {
	f := newCluster(b, 1)
	keys := f.cast()
	now := time.Now().UTC()
	const certs = 200
	for i := 0; i < certs; i++ {
		f.must(keys["acme-mx"], "certificate.issue", certificate(fmt.Sprintf("Q-%04d", i), now))
	}
	cl := f.c.Client(0)
	at := tx.FormatTime(time.Now().UTC())
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			vd, err := cl.VerifyCertificate(f.ctx, wire.CertificateQuery{ID: fmt.Sprintf("Q-%04d", i%certs), At: at}, client.ReadOptions{})
			if err != nil {
				b.Error(err)
				return
			}
			if vd.Verdict != wire.VerdictValid || len(vd.Evidence) == 0 || len(vd.Evidence[0].Evidence.Proof.Hashes) == 0 {
				b.Errorf("verdict %s, %d evidence", vd.Verdict, len(vd.Evidence))
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
}
