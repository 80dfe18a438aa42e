package chain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// Genesis is the ledger's starting point: every node of a network holds the
// same genesis, and its hash is the Prev of block 1.
type Genesis struct {
	Network string        `json:"network"`
	Time    string        `json:"time"`
	Admins  []string      `json:"admins"` // network admin key ids
	Nodes   []GenesisNode `json:"nodes"`  // the initial voters
	Params  Params        `json:"params"`
}

// GenesisNode is one initial member of the network.
type GenesisNode struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	APIAddr  string `json:"apiAddr"`
	Key      string `json:"key"` // node key id: signs ledger heads
}

// Params are network-wide rules every node applies identically.
type Params struct {
	MaxEnvelopeBytes    int `json:"maxEnvelopeBytes"`
	TxWindowSeconds     int `json:"txWindowSeconds"`     // how old `created` may be at block time
	MaxClockSkewSeconds int `json:"maxClockSkewSeconds"` // how far `created` may be ahead of block time
	// SelfRevokeBackdateSeconds is how far before block time a key's owner
	// may date the revocation of its own key (0: 72 hours). Further back
	// only the network admin or the agency that enrolled the owner may.
	SelfRevokeBackdateSeconds int `json:"selfRevokeBackdateSeconds,omitempty"`
}

// DefaultSelfRevokeBackdate is the backdating window of a network whose
// genesis does not set one.
const DefaultSelfRevokeBackdate = 72 * time.Hour

// SelfRevokeBackdate is the window SelfRevokeBackdateSeconds sets.
func (p Params) SelfRevokeBackdate() time.Duration {
	if p.SelfRevokeBackdateSeconds <= 0 {
		return DefaultSelfRevokeBackdate
	}
	return time.Duration(p.SelfRevokeBackdateSeconds) * time.Second
}

// DefaultParams are the parameters of a new network.
func DefaultParams() Params {
	return Params{MaxEnvelopeBytes: 256 << 10, TxWindowSeconds: 600, MaxClockSkewSeconds: 120,
		SelfRevokeBackdateSeconds: int(DefaultSelfRevokeBackdate / time.Second)}
}

var nodeIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)

// ValidNodeID says whether id can name a node (a DNS label-like name, such
// as a StatefulSet pod name).
func ValidNodeID(id string) bool { return nodeIDPattern.MatchString(id) }

// Validate checks a genesis and names the field at fault.
func (g *Genesis) Validate() error {
	if g.Network == "" || len(g.Network) > 64 {
		return fmt.Errorf("genesis.network %q: must be 1-64 lower-case letters, digits or '-'", g.Network)
	}
	if _, err := tx.ParseTime(g.Time); err != nil {
		return fmt.Errorf("genesis.time %q: %v", g.Time, err)
	}
	if len(g.Admins) == 0 {
		return fmt.Errorf("genesis.admins: at least one network admin key is required")
	}
	for i, a := range g.Admins {
		if _, err := tx.ParseKeyID(a); err != nil {
			return fmt.Errorf("genesis.admins[%d]: %v", i, err)
		}
	}
	if len(g.Nodes) == 0 {
		return fmt.Errorf("genesis.nodes: at least one node is required")
	}
	seen := map[string]bool{}
	for i, n := range g.Nodes {
		if !ValidNodeID(n.ID) {
			return fmt.Errorf("genesis.nodes[%d].id %q: must be a DNS label such as ledger-0", i, n.ID)
		}
		if seen[n.ID] {
			return fmt.Errorf("genesis.nodes[%d].id %q: duplicate", i, n.ID)
		}
		seen[n.ID] = true
		if n.RaftAddr == "" || n.APIAddr == "" {
			return fmt.Errorf("genesis.nodes[%d]: raftAddr and apiAddr are required (host:port)", i)
		}
		if _, err := tx.ParseKeyID(n.Key); err != nil {
			return fmt.Errorf("genesis.nodes[%d].key: %v", i, err)
		}
	}
	p := g.Params
	if p.MaxEnvelopeBytes < 1024 || p.TxWindowSeconds < 1 || p.MaxClockSkewSeconds < 0 {
		return fmt.Errorf("genesis.params: maxEnvelopeBytes must be >= 1024, txWindowSeconds >= 1, maxClockSkewSeconds >= 0")
	}
	if p.SelfRevokeBackdateSeconds < 0 {
		return fmt.Errorf("genesis.params.selfRevokeBackdateSeconds %d: must be >= 0 (0: 72 hours)", p.SelfRevokeBackdateSeconds)
	}
	return nil
}

// Hash is SHA-256 of the genesis' canonical JSON, hex.
func (g *Genesis) Hash() (string, error) {
	c, err := tx.Canonicalize(g)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// ReadGenesis loads and validates a genesis file.
func ReadGenesis(path string) (*Genesis, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var g Genesis
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &g, nil
}
