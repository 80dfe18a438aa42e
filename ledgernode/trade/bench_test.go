package trade

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Verify cost against the number of certificates on the ledger. A verdict
// reads the certificate, its version, the signing key and the certifier by
// key, and proves a handful of leaves (O(log n) hashes each): it must stay
// near-constant from 10k to 100k certificates. The stores are built once per
// process (100k signed issues take a while) and removed by TestMain.

func TestMain(m *testing.M) {
	code := m.Run()
	if scaleDir != "" {
		os.RemoveAll(scaleDir)
	}
	os.Exit(code)
}

var (
	scaleOnce   sync.Once
	scaleDir    string
	scaleStores [2]*state.Store // 10k, 100k
	scaleErr    error
)

const (
	scaleSmall = 10_000
	scaleLarge = 100_000
)

// scaleBuilder applies blocks of certificate issues to a store.
type scaleBuilder struct {
	g       *chain.Genesis
	admin   ed25519.PrivateKey
	acme    ed25519.PrivateKey
	now     time.Time
	applied uint64
	issued  int
}

func (sb *scaleBuilder) block(s *state.Store, sts []*tx.Signed) error {
	sb.now = sb.now.Add(time.Second)
	p := &state.Proposal{Time: tx.FormatTime(sb.now), Proposer: "n0"}
	for _, st := range sts {
		p.Txs = append(p.Txs, json.RawMessage(st.Canonical))
	}
	sb.applied++
	res, err := s.ApplyBlock(p, sb.applied, 1)
	if err != nil {
		return err
	}
	for _, rc := range res.Receipts {
		if rc.Status != chain.Accepted {
			return fmt.Errorf("block %d: %s rejected: %+v", res.Height, rc.Type, rc.Reasons)
		}
	}
	return nil
}

func (sb *scaleBuilder) sign(key ed25519.PrivateKey, typ string, payload any) *tx.Signed {
	st, err := tx.BuildSigned(sb.g.Network, typ, payload, sb.now.Add(time.Second), key)
	if err != nil {
		panic(err)
	}
	return st
}

func scaleCert(i int, now time.Time) wire.Certificate {
	return wire.Certificate{ID: fmt.Sprintf("SCALE-%07d", i), Program: "USMCA", CertifierRole: wire.RoleExporter,
		Certifier: wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones", Title: "Director"},
		Importer:  &wire.Party{ID: "participant/bigbox-us", Name: "BigBox"}, ExportCountry: "MX", ImportCountry: "US",
		Goods:         []wire.GoodsItem{{Description: "Laptops", HSCode: []string{"847130", "610910", "090111", "870323"}[i%4], OriginCriterion: "B", CountryOfOrigin: "MX"}},
		BlanketPeriod: &wire.Period{ValidFrom: tx.FormatTime(now.AddDate(0, -1, 0)), ValidUntil: tx.FormatTime(now.AddDate(0, 11, 0))},
		SignedAt:      tx.FormatTime(now.Add(-time.Hour)), Language: "en"}
}

// issueUpTo signs (in parallel) and applies certificates in blocks of 1000.
func (sb *scaleBuilder) issueUpTo(s *state.Store, n int) error {
	const per = 1000
	for sb.issued < n {
		k := min(per, n-sb.issued)
		sts := make([]*tx.Signed, k)
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < k; i += 2 {
					sts[i] = sb.sign(sb.acme, "certificate.issue", scaleCert(sb.issued+i, t0))
				}
			}(w)
		}
		wg.Wait()
		if err := sb.block(s, sts); err != nil {
			return err
		}
		sb.issued += k
	}
	return nil
}

// newScaleStore opens a store at path with a one-node genesis, two
// agencies (MX SAT, US CBP) and two participants (the exporter and
// certifier acme-mx, whose key sb.acme signs certificates, and the
// importer bigbox-us): what scaleCert names. open opens the store again
// (a copy of its file, say).
func newScaleStore(path string) (sb *scaleBuilder, s *state.Store, open func(path string) (*state.Store, error), err error) {
	admin, _ := tx.GenerateKey()
	node, _ := tx.GenerateKey()
	g := &chain.Genesis{Network: "benchnet", Time: tx.FormatTime(t0.Add(-time.Hour)), Admins: []string{keyID(admin)},
		Nodes:  []chain.GenesisNode{{ID: "n0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Key: keyID(node)}},
		Params: chain.DefaultParams()}
	sb = &scaleBuilder{g: g, admin: admin, acme: newKey(), now: t0}
	open = func(path string) (*state.Store, error) {
		return state.Open(state.Config{Path: path, Genesis: g, Registry: testRegistry()})
	}
	if s, err = open(path); err != nil {
		return nil, nil, nil, err
	}
	sat, cbp, bigbox := newKey(), newKey(), newKey()
	if err = sb.block(s, []*tx.Signed{
		sb.sign(admin, "agency.register", wire.AgencyRegister{ID: "mx-sat", Name: "SAT", Country: "MX", Programs: []string{"USMCA"}, PublicKeys: []string{keyID(sat)}}),
		sb.sign(admin, "agency.register", wire.AgencyRegister{ID: "us-cbp", Name: "CBP", Country: "US", Programs: []string{"USMCA"}, PublicKeys: []string{keyID(cbp)}}),
	}); err == nil {
		err = sb.block(s, []*tx.Signed{
			sb.sign(sat, "participant.enrol", wire.ParticipantEnrol{ID: "acme-mx", Name: "ACME", Country: "MX", Roles: []string{wire.RoleExporter, wire.RoleCertifier}, PublicKeys: []string{keyID(sb.acme)}}),
			sb.sign(cbp, "participant.enrol", wire.ParticipantEnrol{ID: "bigbox-us", Name: "BigBox", Country: "US", Roles: []string{wire.RoleImporter}, PublicKeys: []string{keyID(bigbox)}}),
		})
	}
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	return sb, s, open, nil
}

func buildScaleStores() {
	scaleDir, scaleErr = os.MkdirTemp("", "trade-scale-")
	if scaleErr != nil {
		return
	}
	sb, small, openAt, err := newScaleStore(filepath.Join(scaleDir, "small.db"))
	if err != nil {
		scaleErr = err
		return
	}
	open := func(name string) (*state.Store, error) { return openAt(filepath.Join(scaleDir, name)) }
	if scaleErr = sb.issueUpTo(small, scaleSmall); scaleErr != nil {
		return
	}
	// The large store starts as a copy of the small one and grows.
	if scaleErr = small.Close(); scaleErr != nil {
		return
	}
	if scaleErr = copyFile(filepath.Join(scaleDir, "small.db"), filepath.Join(scaleDir, "large.db")); scaleErr != nil {
		return
	}
	if scaleStores[0], scaleErr = open("small.db"); scaleErr != nil {
		return
	}
	if scaleStores[1], scaleErr = open("large.db"); scaleErr != nil {
		return
	}
	scaleErr = sb.issueUpTo(scaleStores[1], scaleLarge)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// verifyCost times n certificate verdicts with proofs on s, each in its own
// view as the API serves them, over random certificates.
func verifyCost(b *testing.B, s *state.Store, certs, n int, proof bool) time.Duration {
	rng := rand.New(rand.NewPCG(1, uint64(certs)))
	at := tx.FormatTime(t0.Add(time.Hour))
	start := time.Now()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("SCALE-%07d", rng.IntN(certs))
		err := s.View(func(v *state.View) error {
			vd, err := VerifyCertificate(v, wire.CertificateQuery{ID: id, At: at, NoProof: !proof})
			if err == nil && (vd.Verdict != wire.VerdictValid || len(vd.Evidence) == 0 || proof != (vd.Evidence[0].Evidence.Proof.TreeSize > 0)) {
				err = fmt.Errorf("%s: %s", id, vd.Verdict)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkVerifyCertificateCost10kVs100k reports the cost of one verdict
// with its inclusion proofs at 10k and at 100k certificates, and the ratio
// (ns/op is the 100k figure). The record lookups alone (no proofs) are
// reported too: the proofs grow with log2 of the ledger's size, the
// lookups hardly at all.
func BenchmarkVerifyCertificateCost10kVs100k(b *testing.B) {
	scaleOnce.Do(buildScaleStores)
	if scaleErr != nil {
		b.Fatal(scaleErr)
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ResetTimer()
	small := per(verifyCost(b, scaleStores[0], scaleSmall, b.N, true))
	large := per(verifyCost(b, scaleStores[1], scaleLarge, b.N, true))
	b.StopTimer()
	smallNP := per(verifyCost(b, scaleStores[0], scaleSmall, b.N, false))
	largeNP := per(verifyCost(b, scaleStores[1], scaleLarge, b.N, false))
	b.ReportMetric(small, "ns/verify@10k")
	b.ReportMetric(large, "ns/verify@100k")
	b.ReportMetric(large/small, "ratio(100k/10k)")
	b.ReportMetric(largeNP/smallNP, "ratio-noproof(100k/10k)")
	b.ReportMetric(large, "ns/op")
}

// BenchmarkVerifyLicenseChain is the cost of a five-license chain walk with
// proofs.
func BenchmarkVerifyLicenseChain(b *testing.B) {
	w := newIPWorld(b)
	prev, prevKey, parent := "holder-us", w.holder, ""
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("p%d-us", i)
		k := w.participant(w.cbp, id, "US", wire.RoleLicensee)
		lic := fmt.Sprintf("CH-%d", i)
		w.Must(prevKey, "license.grant", w.grant(lic, prev, id, parent, []string{"US"}, []string{"6109"}, max(5-i, 0)))
		prev, prevKey, parent = id, k, lic
	}
	q := wire.LicenseQuery{Importer: "participant/p5-us", HSCode: "610910", Right: "TM-ACME", Country: "US"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := w.Store.View(func(v *state.View) error {
			vd, err := VerifyLicense(v, q)
			if err == nil && vd.Answer != wire.AnswerYes {
				err = fmt.Errorf("answer %s", vd.Answer)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCertificateAsOfHeight compares a verdict at the head with
// the same verdict on the ledger as it stood at an earlier height (records
// read through the history, proofs at that height's tree size), on a ledger
// of 2,000 certificates written in 20 blocks, each later endorsed (their
// head records changed after the past height).
func BenchmarkVerifyCertificateAsOfHeight(b *testing.B) {
	w := newWorld(b)
	const perBlock, blocks = 100, 20
	var past uint64
	for blk := 0; blk < blocks; blk++ {
		var sts []*tx.Signed
		for i := 0; i < perBlock; i++ {
			sts = append(sts, w.Sign(w.acme, "certificate.issue", w.usmca(fmt.Sprintf("ASOF-%02d-%03d", blk, i))))
		}
		w.BlockOf(sts...)
		if blk == blocks/2 {
			past = w.Store.Meta().Height
		}
	}
	for blk := 0; blk < blocks; blk++ {
		var sts []*tx.Signed
		for i := 0; i < perBlock; i++ {
			sts = append(sts, w.Sign(w.sat, "certificate.endorse", wire.CertificateEndorse{ID: fmt.Sprintf("ASOF-%02d-%03d", blk, i)}))
		}
		w.BlockOf(sts...)
	}
	for _, c := range []struct {
		name   string
		height uint64
	}{{"head", 0}, {"as-of-past-height", past}} {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 5))
			for i := 0; i < b.N; i++ {
				id := fmt.Sprintf("ASOF-%02d-%03d", rng.IntN(blocks/2), rng.IntN(perBlock))
				err := w.Store.View(func(v *state.View) error {
					if c.height != 0 {
						var err error
						if v, err = v.AsOf(c.height); err != nil {
							return err
						}
					}
					vd, err := VerifyCertificate(v, wire.CertificateQuery{ID: id})
					if err == nil && (vd.Verdict != wire.VerdictValid || vd.Endorsed != (c.height == 0)) {
						err = fmt.Errorf("%s at %d: %s endorsed=%v", id, c.height, vd.Verdict, vd.Endorsed)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
