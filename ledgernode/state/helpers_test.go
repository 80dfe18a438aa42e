package state

import (
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t       *testing.T
	g       *chain.Genesis
	admin   ed25519.PrivateKey
	node    ed25519.PrivateKey
	store   *Store
	now     time.Time
	applied uint64
}

func newGenesis(t testing.TB) (*chain.Genesis, ed25519.PrivateKey, ed25519.PrivateKey) {
	admin, _ := tx.GenerateKey()
	node, _ := tx.GenerateKey()
	g := &chain.Genesis{Network: "testnet", Time: tx.FormatTime(t0),
		Admins: []string{tx.KeyID(admin.Public().(ed25519.PublicKey))},
		Nodes:  []chain.GenesisNode{{ID: "n0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Key: tx.KeyID(node.Public().(ed25519.PublicKey))}},
		Params: chain.DefaultParams()}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g, admin, node
}

func newFixture(t *testing.T) *fixture {
	g, admin, node := newGenesis(t)
	f := &fixture{t: t, g: g, admin: admin, node: node, now: t0}
	f.store = f.open(filepath.Join(t.TempDir(), "state.db"))
	return f
}

func (f *fixture) open(path string) *Store {
	s, err := Open(Config{Path: path, Genesis: f.g})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { s.Close() })
	return s
}

// sign builds a signed envelope created at the fixture's current time.
func (f *fixture) sign(priv ed25519.PrivateKey, typ string, payload any) *tx.Signed {
	f.t.Helper()
	s, err := tx.BuildSigned(f.g.Network, typ, payload, f.now, priv)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// block applies raw envelopes as the next block, one second later.
func (f *fixture) block(raws ...[]byte) *BlockResult {
	f.t.Helper()
	f.now = f.now.Add(time.Second)
	p := &Proposal{Time: tx.FormatTime(f.now), Proposer: "n0"}
	for _, r := range raws {
		p.Txs = append(p.Txs, json.RawMessage(r))
	}
	f.applied++
	res, err := f.store.ApplyBlock(p, f.applied, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) one(s *tx.Signed) chain.Receipt {
	f.t.Helper()
	return f.block(s.Canonical).Receipts[0]
}

func (f *fixture) enrol(owner string) ed25519.PrivateKey {
	f.t.Helper()
	k, _ := tx.GenerateKey()
	rc := f.one(f.sign(f.admin, "key.register", KeyRegister{Owner: owner, PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}))
	if rc.Status != chain.Accepted {
		f.t.Fatalf("enrol %s: %+v", owner, rc.Reasons)
	}
	return k
}

func note(key string, v any) NotePut {
	raw, _ := json.Marshal(v)
	return NotePut{Key: key, Value: raw}
}
