package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/policy"
	"github.com/tradeledger/tradeledger/ledgernode/policy/policystate"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// workload makes the signed transactions one kind of load sends.
type workload struct {
	name string
	// sign builds envelope seq of client i (called ahead of the load, so
	// that client-side signing is not in the measured path).
	sign func(i, seq int) (*tx.Signed, error)
}

// noteWorkload: note.put of a value of size bytes, one note key per client
// (each put rewrites the client's note, as each etcd client rewrites its key).
func noteWorkload(ctx context.Context, c benchCluster, size int) (*workload, error) {
	key, err := c.Enrol(ctx, "participant/bench")
	if err != nil {
		return nil, err
	}
	value, _ := json.Marshal(strings.Repeat("x", size))
	return &workload{name: "note", sign: func(i, _ int) (*tx.Signed, error) {
		return tx.BuildSigned(c.Network(), wire.TypeNotePut, wire.NotePut{Key: fmt.Sprintf("c%d", i), Value: value}, time.Now(), key)
	}}, nil
}

// certWorkload: certificate.issue of a USMCA certificate of origin (two
// goods lines, a blanket period) by an enrolled Mexican exporter to an
// enrolled US importer, with nPolicies agency policies (CEL rules, in
// force) whose scope covers it, so that every certificate is evaluated by
// each of them on every node.
func certWorkload(ctx context.Context, c benchCluster, admin ed25519.PrivateKey, nPolicies int, run string) (*workload, error) {
	cl := c.Client()
	submit := func(k ed25519.PrivateKey, typ string, payload any) error {
		st, err := tx.BuildSigned(c.Network(), typ, payload, time.Now(), k)
		if err != nil {
			return err
		}
		resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
		if err != nil {
			return fmt.Errorf("%s: %w", typ, err)
		}
		if resp.Receipt.Status != chain.Accepted {
			return fmt.Errorf("%s rejected: %+v", typ, resp.Receipt.Reasons)
		}
		return nil
	}
	keys, setup := benchSetup(admin, nPolicies)
	for _, st := range setup {
		if err := submit(keys[st.signer], st.typ, st.payload); err != nil {
			return nil, err
		}
	}
	now := time.Now().UTC()
	var serial atomic.Int64 // certificate ids are unique across every level of the run
	return &workload{name: "cert", sign: func(_, _ int) (*tx.Signed, error) {
		ct := benchCertificate(fmt.Sprintf("USMCA-%s-%08d", run, serial.Add(1)), now)
		return tx.BuildSigned(c.Network(), wire.TypeCertificateIssue, ct, time.Now(), keys["acme-mx"])
	}}, nil
}

// setupTx is one transaction of the cert workload's setup, signed by the
// key keys[signer].
type setupTx struct {
	signer, typ string
	payload     any
}

// benchSetup is the cert workload's cast and the transactions that put it
// on a ledger, in order: three agencies (by the network admin, keys["admin"]),
// the exporter and the importer, and nPolicies agency policies in scope for
// every bench certificate.
func benchSetup(admin ed25519.PrivateKey, nPolicies int) (map[string]ed25519.PrivateKey, []setupTx) {
	keys := map[string]ed25519.PrivateKey{"admin": admin}
	var out []setupTx
	for _, a := range []wire.AgencyRegister{
		{ID: "us-cbp", Name: "U.S. Customs and Border Protection", Country: "US", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA"}},
		{ID: "mx-sat", Name: "Servicio de Administración Tributaria", Country: "MX", Roles: []string{wire.AgencyRoleCustoms}, Programs: []string{"USMCA"}},
		{ID: "us-fda", Name: "U.S. Food and Drug Administration", Country: "US", Programs: []string{"USMCA"}},
	} {
		k, _ := tx.GenerateKey()
		a.PublicKeys = []string{tx.KeyID(k.Public().(ed25519.PublicKey))}
		out = append(out, setupTx{"admin", wire.TypeAgencyRegister, a})
		keys[a.ID] = k
	}
	for _, p := range []struct {
		agency string
		wire.ParticipantEnrol
	}{
		{"mx-sat", wire.ParticipantEnrol{ID: "acme-mx", Name: "ACME Exportaciones SA de CV", Country: "MX", Roles: []string{wire.RoleExporter, wire.RoleProducer, wire.RoleCertifier}}},
		{"us-cbp", wire.ParticipantEnrol{ID: "bigbox-us", Name: "BigBox Stores Inc.", Country: "US", Roles: []string{wire.RoleImporter}}},
	} {
		k, _ := tx.GenerateKey()
		p.PublicKeys = []string{tx.KeyID(k.Public().(ed25519.PublicKey))}
		out = append(out, setupTx{p.agency, wire.TypeParticipantEnrol, p.ParticipantEnrol})
		keys[p.ID] = k
	}
	for i := 0; i < nPolicies; i++ {
		agency := []string{"us-cbp", "us-fda"}[i%2]
		out = append(out, setupTx{agency, policystate.TypePublish, benchPolicy(agency, i)})
	}
	return keys, out
}

// benchCertificate is the bench's USMCA certificate of origin: two goods
// lines, a blanket period around now, issued by acme-mx to bigbox-us.
func benchCertificate(id string, now time.Time) wire.Certificate {
	return wire.Certificate{
		ID: id, Program: "USMCA", CertifierRole: wire.RoleExporter,
		Certifier:     wire.Party{ID: "participant/acme-mx", Name: "ACME Exportaciones SA de CV", Title: "Export Manager", Country: "MX", Email: "export@acme.example"},
		Producer:      &wire.Party{Name: wire.ProducerVarious},
		Importer:      &wire.Party{ID: "participant/bigbox-us", Name: "BigBox Stores Inc.", Country: "US"},
		ExportCountry: "MX", ImportCountry: "US",
		Goods: []wire.GoodsItem{
			{Description: "Laptop computers", HSCode: "847130", OriginCriterion: "B", CountryOfOrigin: "MX"},
			{Description: "Cotton T-shirts", HSCode: "610910", OriginCriterion: "C", CountryOfOrigin: "MX"},
		},
		BlanketPeriod: &wire.Period{ValidFrom: tx.FormatTime(now.AddDate(0, -1, 0)), ValidUntil: tx.FormatTime(now.AddDate(0, 11, 0))},
		SignedAt:      tx.FormatTime(now.Add(-24 * time.Hour)),
		Language:      "es",
	}
}

// benchPolicy is an agency rule in scope for the bench certificates (USMCA,
// into the US, HS chapters 61 and 84), that passes: the kind of check
// agencies publish (goods described, origin criteria known, a named
// certifier).
func benchPolicy(agency string, i int) policy.Policy {
	return policy.Policy{ID: fmt.Sprintf("%s-bench-%02d", agency, i), Agency: agency, Enforcement: "Enforce",
		Description: "bench rule in scope for every bench certificate",
		Scope:       policy.Scope{Programs: []string{"USMCA"}, HSPrefixes: []string{"61", "84"}, DestinationCountries: []string{"US"}, DocumentTypes: []string{"certificate"}},
		Rules: []policy.Rule{
			{Name: "goods-described", Expression: "doc.goods.all(g, size(g.description) > 3 && g.originCriterion in ['A', 'B', 'C', 'D'])",
				Message: "every goods line needs a description and an origin criterion"},
			{Name: "certifier-named", Expression: "size(doc.certifier.name) > 0", Message: "the certifier must be named"},
		}}
}

// submitter sends one envelope and waits for its receipt.
type submitter func(ctx context.Context, st *tx.Signed) error

func requestSubmitter(cl *client.Client) submitter {
	return func(ctx context.Context, st *tx.Signed) error {
		resp, err := cl.Submit(ctx, st, client.SubmitOptions{})
		if err != nil {
			return err
		}
		if resp.Receipt.Status != chain.Accepted {
			return fmt.Errorf("rejected: %+v", resp.Receipt.Reasons)
		}
		return nil
	}
}

// presign signs per[i] envelopes for each client i, in parallel.
func presign(wl *workload, per []int) ([][]*tx.Signed, error) {
	out := make([][]*tx.Signed, len(per))
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for i := range per {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out[i] = make([]*tx.Signed, 0, per[i])
			for j := 0; j < per[i]; j++ {
				st, err := wl.sign(i, j)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				out[i] = append(out[i], st)
			}
		}(i)
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return nil, err
	}
	return out, nil
}

// closedLoop runs n clients for d, each sending its next envelope when the
// previous one has its receipt.
func closedLoop(ctx context.Context, subs []submitter, signed [][]*tx.Signed, d time.Duration) (Summary, error) {
	n := len(signed)
	lat := make([][]time.Duration, n)
	var failed atomic.Int64
	var exhausted atomic.Bool
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sub := subs[i%len(subs)]
			for _, st := range signed[i] {
				if time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				if err := sub(ctx, st); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
			if time.Now().Before(deadline) {
				exhausted.Store(true)
			}
		}(i)
	}
	wg.Wait()
	elapsed := min(time.Since(start), d)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	s := summarize(all, int(failed.Load()), elapsed)
	s.Exhausts = exhausted.Load()
	if err, ok := firstErr.Load().(error); ok {
		s.FirstErr = shorten(err.Error(), 300)
		if s.Ops == 0 {
			return s, fmt.Errorf("every submission failed: %w", err)
		}
	}
	return s, nil
}

// openLoop sends the envelopes at a fixed rate (schedule), at most
// maxInFlight at once, and measures each latency from its due time.
func openLoop(ctx context.Context, subs []submitter, signed []*tx.Signed, rate float64, d time.Duration, maxInFlight int) (Summary, error) {
	sch := schedule{start: time.Now(), rate: rate}
	total := min(sch.count(d), len(signed))
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var firstErr atomic.Value
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for k := 0; k < total; k++ {
		due := sch.due(k)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(k int, due time.Time) {
			defer wg.Done()
			defer func() { <-slots }()
			if err := subs[k%len(subs)](ctx, signed[k]); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			took := time.Since(due)
			mu.Lock()
			lat = append(lat, took)
			mu.Unlock()
		}(k, due)
	}
	wg.Wait()
	s := summarize(lat, int(failed.Load()), d)
	s.Offered = rate
	s.Exhausts = total < sch.count(d)
	if err, ok := firstErr.Load().(error); ok {
		s.FirstErr = shorten(err.Error(), 300)
		if s.Ops == 0 {
			return s, fmt.Errorf("every submission failed: %w", err)
		}
	}
	return s, nil
}
