package main

import (
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// SizeReport is what `ledgerbench size` measured: the state file's growth
// per certificate, in total and per bucket, between the ledger with its
// setup (agencies, participants, policies) and the ledger with Certificates
// more.
type SizeReport struct {
	Certificates   int             `json:"certificates"`
	Policies       int             `json:"policiesInScope"`
	BlockTxs       int             `json:"blockTxs"`
	IDOrder        string          `json:"idOrder"`
	EnvelopeBytes  int             `json:"envelopeBytes"` // one certificate.issue envelope
	FilePerCert    float64         `json:"fileBytesPerCertificate"`
	WrittenPerCert float64         `json:"writtenBytesPerCertificate"` // pages committed (each commit writes the pages it changed, whole)
	PageSize       int             `json:"pageSize"`
	FileBytes      int64           `json:"fileBytes"` // bbolt's high-water mark: what a snapshot copies
	FreeBytes      int64           `json:"freeBytes"`
	Buckets        []SizeBucketRow `json:"buckets"`
	Usage          state.Usage     `json:"usage"`
	Before         state.Usage     `json:"before"`
}

// SizeBucketRow is one bucket's growth, per certificate.
type SizeBucketRow struct {
	Bucket       string  `json:"bucket"`
	KeysPerCert  float64 `json:"keysPerCertificate"`
	ValuePerCert float64 `json:"valueBytesPerCertificate"`
	InUsePerCert float64 `json:"inUseBytesPerCertificate"`
	AllocPerCert float64 `json:"allocatedBytesPerCertificate"`
}

// sizeMain: ledgerbench size [-certs 10000] [-policies 10]. It applies
// signed certificate.issue transactions to a state store through the
// state machine's block apply (the path every node takes for a committed
// block: decode, signature, checks, the handler, the agency rules, receipts,
// tree, history), without Raft, on a fixed clock, and reports the bytes of
// state file each certificate costs, per bucket (bbolt Bucket.Stats). The
// figures are bytes, not times: they are the same on a busy machine.
func sizeMain(args []string) error {
	fl := flag.NewFlagSet("size", flag.ExitOnError)
	certs := fl.Int("certs", 10000, "certificates to apply")
	policies := fl.Int("policies", 10, "agency policies in force and in scope for every certificate")
	block := fl.Int("block", 1000, "certificates per block")
	order := fl.String("ids", "sequential", "certificate id order: sequential (one issuer numbering its certificates) or interleaved (16 issuers' sequences mixed: inserts land inside the key range) or random (ids in no order: the worst case for page fill)")
	output := fl.String("o", "table", "output: table or json")
	pageSize := fl.Int("page-size", state.DefaultPageSize, "bbolt page size of the new state file (bytes, a multiple of 4096)")
	keep := fl.String("keep", "", "keep the state file at this path (default: a temporary file, removed)")
	fl.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ledgerbench size [flags]\n\nApplies signed USMCA certificates (agency policies in scope) to a state store through the block\napply path, on a fixed clock, and reports the state file's bytes per certificate, per bucket.")
		fl.PrintDefaults()
	}
	_ = fl.Parse(args)
	switch {
	case *certs < 1:
		return fmt.Errorf("-certs %d: at least 1", *certs)
	case *block < 1:
		return fmt.Errorf("-block %d: at least 1", *block)
	case *order != "sequential" && *order != "interleaved" && *order != "random":
		return fmt.Errorf("-ids %q: sequential, interleaved or random", *order)
	case *pageSize < 4096 || *pageSize%4096 != 0:
		return fmt.Errorf("-page-size %d: a multiple of 4096", *pageSize)
	case checkOutput(*output) != nil:
		return checkOutput(*output)
	}
	path := *keep
	if path == "" {
		dir, err := os.MkdirTemp("", "ledgerbench-size-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "state.db")
	} else if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("-keep %s: the file exists; give a new path", path)
	}
	rep, err := measureStateSize(path, *certs, *policies, *block, *order, *pageSize, func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "ledgerbench size: "+f+"\n", a...)
	})
	if err != nil {
		return err
	}
	return writeReport(*output, rep, printSize)
}

// sizeT0 is the fixed clock of the size measurement: the first block's time.
var sizeT0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func measureStateSize(path string, certs, policies, block int, order string, pageSize int, progress func(string, ...any)) (*SizeReport, error) {
	admin, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	nodeKey, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	g := &chain.Genesis{Network: "sizenet", Time: tx.FormatTime(sizeT0.Add(-time.Hour)),
		Admins: []string{tx.KeyID(admin.Public().(ed25519.PublicKey))},
		Nodes:  []chain.GenesisNode{{ID: "n0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Key: tx.KeyID(nodeKey.Public().(ed25519.PublicKey))}},
		Params: chain.DefaultParams()}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	st, err := state.Open(state.Config{Path: path, Genesis: g, Registry: node.DefaultRegistry(), PageSize: pageSize})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := sizeT0
	var index uint64
	apply := func(sts []*tx.Signed) error {
		p := &state.Proposal{Time: tx.FormatTime(now), Proposer: "n0"}
		for _, s := range sts {
			p.Txs = append(p.Txs, json.RawMessage(s.Canonical))
		}
		index++
		res, err := st.ApplyBlock(p, index, 1)
		if err != nil {
			return err
		}
		for _, rc := range res.Receipts {
			if rc.Status != chain.Accepted {
				return fmt.Errorf("block %d: %s rejected: %+v", res.Height, rc.Type, rc.Reasons)
			}
		}
		now = now.Add(time.Second)
		return nil
	}
	keys, setup := benchSetup(admin, policies)
	for _, s := range setup {
		signed, err := tx.BuildSigned(g.Network, s.typ, s.payload, now, keys[s.signer])
		if err != nil {
			return nil, err
		}
		if err := apply([]*tx.Signed{signed}); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	before, err := st.Usage()
	if err != nil {
		return nil, err
	}
	rep := &SizeReport{Certificates: certs, Policies: policies, BlockTxs: block, IDOrder: order, Before: before}
	id := func(i int) string {
		switch order {
		case "interleaved":
			return fmt.Sprintf("USMCA-%02d-%08d", i%16, i/16)
		case "random":
			h := fnv.New64a()
			fmt.Fprint(h, i)
			return fmt.Sprintf("USMCA-%016x", h.Sum64())
		}
		return fmt.Sprintf("USMCA-%08d", i)
	}
	progress("applying %d certificates (%d policies in scope) in blocks of %d to %s ...", certs, policies, block, path)
	for done := 0; done < certs; {
		k := min(block, certs-done)
		sts := make([]*tx.Signed, k)
		var wg sync.WaitGroup
		var firstErr error
		var mu sync.Mutex
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < k; i += 2 {
					s, err := tx.BuildSigned(g.Network, wire.TypeCertificateIssue, benchCertificate(id(done+i), now), now, keys["acme-mx"])
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					sts[i] = s
				}
			}(w)
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
		if rep.EnvelopeBytes == 0 {
			rep.EnvelopeBytes = len(sts[0].Canonical)
		}
		if err := apply(sts); err != nil {
			return nil, err
		}
		done += k
		if done%(20*block) == 0 {
			progress("  %d of %d", done, certs)
		}
	}
	after, err := st.Usage()
	if err != nil {
		return nil, err
	}
	rep.Usage, rep.FileBytes, rep.FreeBytes = after, after.FileBytes, after.FreeBytes
	n := float64(certs)
	rep.FilePerCert = float64(after.FileBytes-before.FileBytes) / n
	rep.WrittenPerCert = float64(after.WrittenBytes-before.WrittenBytes) / n
	rep.PageSize = after.PageSize
	prev := map[string]state.BucketUsage{}
	for _, b := range before.Buckets {
		prev[b.Name] = b
	}
	for _, b := range after.Buckets {
		p := prev[b.Name]
		rep.Buckets = append(rep.Buckets, SizeBucketRow{Bucket: b.Name, KeysPerCert: float64(b.Keys-p.Keys) / n,
			ValuePerCert: float64(b.ValueBytes-p.ValueBytes) / n, InUsePerCert: float64(b.InUse-p.InUse) / n,
			AllocPerCert: float64(b.Allocated-p.Allocated) / n})
	}
	sort.SliceStable(rep.Buckets, func(i, j int) bool { return rep.Buckets[i].AllocPerCert > rep.Buckets[j].AllocPerCert })
	return rep, nil
}

func printSize(out io.Writer, r *SizeReport) {
	fmt.Fprintf(out, "%d certificates (%d-byte envelopes, %s ids, %d per block, %d policies in scope)\n", r.Certificates, r.EnvelopeBytes, r.IDOrder, r.BlockTxs, r.Policies)
	fmt.Fprintf(out, "state file: %.0f bytes per certificate (%.1f MiB at %d; free pages %.1f MiB; %d-byte pages)\n", r.FilePerCert, float64(r.FileBytes)/(1<<20), r.Certificates, float64(r.FreeBytes)/(1<<20), r.PageSize)
	fmt.Fprintf(out, "written: %.0f bytes of pages per certificate (every commit writes the pages it changed)\n\n", r.WrittenPerCert)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "BUCKET\tKEYS/CERT\tVALUES B/CERT\tIN USE B/CERT\tALLOCATED B/CERT\tFILL\t")
	var sum SizeBucketRow
	for _, b := range r.Buckets {
		if b.AllocPerCert == 0 && b.InUsePerCert == 0 {
			continue
		}
		fill := 0.0
		if b.AllocPerCert > 0 {
			fill = b.InUsePerCert / b.AllocPerCert
		}
		fmt.Fprintf(w, "%s\t%.2f\t%.0f\t%.0f\t%.0f\t%.2f\t\n", b.Bucket, b.KeysPerCert, b.ValuePerCert, b.InUsePerCert, b.AllocPerCert, fill)
		sum.ValuePerCert += b.ValuePerCert
		sum.InUsePerCert += b.InUsePerCert
		sum.AllocPerCert += b.AllocPerCert
	}
	fmt.Fprintf(w, "%s\t\t%.0f\t%.0f\t%.0f\t%.2f\t\n", strings.ToUpper("total"), sum.ValuePerCert, sum.InUsePerCert, sum.AllocPerCert, sum.InUsePerCert/max(sum.AllocPerCert, 1))
	w.Flush()
}
