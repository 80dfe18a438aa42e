package main

import (
	"path/filepath"
	"testing"
)

// ledgerbench size applies every certificate (one transaction, receipt,
// version, head record and rules evaluation each) and reports per
// certificate what the buckets gained, packed as the state store packs
// them.
func TestSizeReportCountsEachCertificateOnce(t *testing.T) {
	const certs = 300
	rep, err := measureStateSize(filepath.Join(t.TempDir(), "state.db"), certs, 2, 100, "sequential", 4096, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]SizeBucketRow{}
	for _, b := range rep.Buckets {
		rows[b.Bucket] = b
	}
	for _, b := range []string{"txs", "receipts", "trade.certificates", "trade.certversions", "policyevals"} {
		if got := rows[b].KeysPerCert; got != 1 {
			t.Errorf("bucket %s: %.2f keys per certificate, want 1", b, got)
		}
	}
	if got := rows["txs"].ValuePerCert; got != float64(rep.EnvelopeBytes) {
		t.Errorf("txs: %.0f value bytes per certificate, want the envelope's %d", got, rep.EnvelopeBytes)
	}
	if rep.FilePerCert <= 0 || rep.WrittenPerCert < rep.FilePerCert || rep.PageSize != 4096 {
		t.Errorf("file %.0f B/cert, written %.0f B/cert, page %d: want a positive file growth, at least as many bytes written, 4096-byte pages",
			rep.FilePerCert, rep.WrittenPerCert, rep.PageSize)
	}
	if f := rows["txs"].InUsePerCert / rows["txs"].AllocPerCert; f < 0.7 {
		t.Errorf("txs pages %.2f full: the chain's buckets are written in key order and packed", f)
	}
}
