package state_test

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/state/statetest"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

var t0 = statetest.T0

// fixture is the shared state fixture (core transaction types only).
type fixture = statetest.Ledger

func newFixture(t *testing.T) *fixture { return statetest.New(t, statetest.Options{}) }

func newGenesis(t testing.TB) (*chain.Genesis, ed25519.PrivateKey, ed25519.PrivateKey) {
	return statetest.Genesis(t, t0, nil)
}

func note(key string, v any) wire.NotePut {
	raw, _ := json.Marshal(v)
	return wire.NotePut{Key: key, Value: raw}
}
