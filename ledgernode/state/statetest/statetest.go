// Package statetest is the state machine's test fixture, shared by the
// tests of state, trade, policystate, backup and consensus: a valid genesis
// with one admin and one node (n0), a real bbolt state store opened on it,
// and blocks applied one at a time, each one second after the last, so that
// the block time is under the test's control (the state machine never reads
// the clock).
//
// It is for tests only (it takes a testing.TB and fails the test on a
// setup error); nothing outside _test.go files imports it.
package statetest

import (
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// T0 is a fixture's genesis time unless its Options say otherwise.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Genesis is a valid genesis of network "testnet" at time at, with a fresh
// admin key and one node, n0, whose head-signing key is nodeKey (a fresh
// one when nil).
func Genesis(t testing.TB, at time.Time, nodeKey ed25519.PrivateKey) (g *chain.Genesis, admin, node ed25519.PrivateKey) {
	t.Helper()
	admin, node = NewKey(t), nodeKey
	if node == nil {
		node = NewKey(t)
	}
	g = &chain.Genesis{Network: "testnet", Time: tx.FormatTime(at),
		Admins: []string{KeyID(admin)},
		Nodes:  []chain.GenesisNode{{ID: "n0", RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", Key: KeyID(node)}},
		Params: chain.DefaultParams()}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g, admin, node
}

// Open opens a state store at path on genesis g with the handlers of reg
// (nil: the core types only); it is closed when the test ends.
func Open(t testing.TB, path string, g *chain.Genesis, reg *state.Registry) *state.Store {
	t.Helper()
	return OpenConfig(t, state.Config{Path: path, Genesis: g, Registry: reg})
}

// OpenConfig opens a state store with cfg; it is closed when the test
// ends.
func OpenConfig(t testing.TB, cfg state.Config) *state.Store {
	t.Helper()
	s, err := state.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewKey is a fresh Ed25519 key.
func NewKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	k, err := tx.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// KeyID is the ledger's id of k's public key.
func KeyID(k ed25519.PrivateKey) string { return tx.KeyID(k.Public().(ed25519.PublicKey)) }

// Options shape a Ledger; the zero value is a genesis at T0, a fresh node
// key, the core transaction types and envelopes created at the previous
// block's time.
type Options struct {
	Registry    *state.Registry    // nil: the core types only
	GenesisTime time.Time          // zero: T0
	NodeKey     ed25519.PrivateKey // nil: a fresh key
	// SignLead is how long after Now (the last block's time) Sign dates an
	// envelope: 0, the previous block's time, or time.Second, the time of
	// the block it goes into.
	SignLead time.Duration
	// DeferSync opens the stores without fsync at commit (state.Config).
	DeferSync bool
}

// Ledger is a state store on a fresh genesis and the time and Raft index
// of its last block. T is the test it reports to (Use swaps it for a
// subtest's).
type Ledger struct {
	T         testing.TB
	Genesis   *chain.Genesis
	Admin     ed25519.PrivateKey
	Node      ed25519.PrivateKey // n0's head-signing key
	Registry  *state.Registry
	Store     *state.Store
	Now       time.Time // the last block's time (the genesis time before the first)
	Applied   uint64    // the last block's Raft index
	SignLead  time.Duration
	DeferSync bool // stores opened without fsync at commit (Options)
}

// New is a Ledger with its store in the test's temporary directory.
func New(t testing.TB, o Options) *Ledger {
	t.Helper()
	if o.GenesisTime.IsZero() {
		o.GenesisTime = T0
	}
	g, admin, node := Genesis(t, o.GenesisTime, o.NodeKey)
	l := &Ledger{T: t, Genesis: g, Admin: admin, Node: node, Registry: o.Registry, Now: o.GenesisTime, SignLead: o.SignLead, DeferSync: o.DeferSync}
	l.Store = l.Open(filepath.Join(t.TempDir(), "state.db"))
	return l
}

// Open opens another store at path on the same genesis and handlers (a
// replay, a copy).
func (l *Ledger) Open(path string) *state.Store {
	l.T.Helper()
	return OpenConfig(l.T, state.Config{Path: path, Genesis: l.Genesis, Registry: l.Registry, DeferSync: l.DeferSync})
}

// Use makes the Ledger report to t (a subtest) until the returned func
// runs.
func (l *Ledger) Use(t testing.TB) func() {
	old := l.T
	l.T = t
	return func() { l.T = old }
}

// Sign builds an envelope signed by key, dated SignLead after Now.
func (l *Ledger) Sign(key ed25519.PrivateKey, typ string, payload any) *tx.Signed {
	l.T.Helper()
	s, err := tx.BuildSigned(l.Genesis.Network, typ, payload, l.Now.Add(l.SignLead), key)
	if err != nil {
		l.T.Fatal(err)
	}
	return s
}

// Block applies raw envelopes as the next block, one second after the
// last, proposed by n0.
func (l *Ledger) Block(raws ...[]byte) *state.BlockResult {
	l.T.Helper()
	l.Now = l.Now.Add(time.Second)
	p := &state.Proposal{Time: tx.FormatTime(l.Now), Proposer: "n0"}
	for _, r := range raws {
		p.Txs = append(p.Txs, json.RawMessage(r))
	}
	l.Applied++
	res, err := l.Store.ApplyBlock(p, l.Applied, 1)
	if err != nil {
		l.T.Fatal(err)
	}
	return res
}

// BlockOf applies signed envelopes as the next block.
func (l *Ledger) BlockOf(sts ...*tx.Signed) *state.BlockResult {
	l.T.Helper()
	raws := make([][]byte, len(sts))
	for i, s := range sts {
		raws[i] = s.Canonical
	}
	return l.Block(raws...)
}

// One applies s alone as the next block and returns its receipt.
func (l *Ledger) One(s *tx.Signed) chain.Receipt {
	l.T.Helper()
	return l.Block(s.Canonical).Receipts[0]
}

// Submit signs a transaction and applies it alone as the next block.
func (l *Ledger) Submit(key ed25519.PrivateKey, typ string, payload any) chain.Receipt {
	l.T.Helper()
	return l.One(l.Sign(key, typ, payload))
}

// Must is Submit that fails the test unless the transaction is accepted.
func (l *Ledger) Must(key ed25519.PrivateKey, typ string, payload any) chain.Receipt {
	l.T.Helper()
	rc := l.Submit(key, typ, payload)
	if rc.Status != chain.Accepted {
		l.T.Fatalf("%s rejected: %+v", typ, rc.Reasons)
	}
	return rc
}

// Register registers a fresh key (key.register, signed by the admin) with
// the owner, name and country of r, and returns it.
func (l *Ledger) Register(r wire.KeyRegister) ed25519.PrivateKey {
	l.T.Helper()
	k := NewKey(l.T)
	r.PublicKey = KeyID(k)
	if rc := l.Submit(l.Admin, "key.register", r); rc.Status != chain.Accepted {
		l.T.Fatalf("enrol %s: %+v", r.Owner, rc.Reasons)
	}
	return k
}

// Enrol registers a fresh key for owner and returns it.
func (l *Ledger) Enrol(owner string) ed25519.PrivateKey {
	l.T.Helper()
	return l.Register(wire.KeyRegister{Owner: owner})
}
