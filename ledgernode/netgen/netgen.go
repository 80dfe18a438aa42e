// Package netgen generates what a new ledger network needs: the genesis,
// the network CA, each node's key and TLS certificate, and the admin key.
// `ledgernode init`, `ledgernode dev` and the tests use it; it is pure key
// and file generation, with no network and no state.
package netgen

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
)

// NodeSpec is one initial node.
type NodeSpec struct {
	ID       string
	RaftAddr string   // host:port peers dial
	APIAddr  string   // host:port clients and peers use for the API
	Hosts    []string // extra names/IPs for its certificate
}

// Options describe a network to generate.
type Options struct {
	Network      string
	Nodes        []NodeSpec
	Now          time.Time
	Params       chain.Params  // zero: chain.DefaultParams()
	CAValidity   time.Duration // default 10 years
	CertValidity time.Duration // default 1 year
}

// NodeMaterial is one node's secrets.
type NodeMaterial struct {
	ID      string
	Key     ed25519.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// Bundle is a generated network.
type Bundle struct {
	Genesis  *chain.Genesis
	CA       *pki.CA
	AdminKey ed25519.PrivateKey
	Nodes    []NodeMaterial
	// ClientCertPEM and ClientKeyPEM are a client certificate for the
	// network admin identity: what ledgerctl and tests read with.
	ClientCertPEM, ClientKeyPEM []byte
}

// Generate creates a new network.
func Generate(o Options) (*Bundle, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.CAValidity == 0 {
		o.CAValidity = 10 * 365 * 24 * time.Hour
	}
	if o.CertValidity == 0 {
		o.CertValidity = 365 * 24 * time.Hour
	}
	if o.Params == (chain.Params{}) {
		o.Params = chain.DefaultParams()
	}
	ca, err := pki.NewCA(o.Network+" network CA", o.Now, o.CAValidity)
	if err != nil {
		return nil, err
	}
	admin, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	g := &chain.Genesis{Network: o.Network, Time: tx.FormatTime(o.Now),
		Admins: []string{tx.KeyID(admin.Public().(ed25519.PublicKey))}, Params: o.Params}
	b := &Bundle{Genesis: g, CA: ca, AdminKey: admin}
	if b.ClientCertPEM, b.ClientKeyPEM, err = ca.IssueClient("admin", o.Now, o.CertValidity); err != nil {
		return nil, err
	}
	for _, n := range o.Nodes {
		nm, err := IssueNode(ca, n, o.Now, o.CertValidity)
		if err != nil {
			return nil, err
		}
		b.Nodes = append(b.Nodes, *nm)
		g.Nodes = append(g.Nodes, chain.GenesisNode{ID: n.ID, RaftAddr: n.RaftAddr, APIAddr: n.APIAddr,
			Key: tx.KeyID(nm.Key.Public().(ed25519.PublicKey))})
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// IssueNode creates a node key and a node certificate naming its hosts.
func IssueNode(ca *pki.CA, n NodeSpec, now time.Time, validity time.Duration) (*NodeMaterial, error) {
	key, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := IssueNodeTLS(ca, n, now, validity)
	if err != nil {
		return nil, err
	}
	return &NodeMaterial{ID: n.ID, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// IssueNodeTLS issues a node's TLS certificate, with a new TLS key, naming
// its hosts. It renews a certificate without touching the node's
// head-signing key, which the genesis names.
func IssueNodeTLS(ca *pki.CA, n NodeSpec, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	hosts := append([]string{n.ID, "localhost", "127.0.0.1", "::1"}, n.Hosts...)
	for _, a := range []string{n.RaftAddr, n.APIAddr} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	return ca.Issue(pki.LeafOptions{CommonName: n.ID, NodeID: n.ID, Hosts: dedupe(hosts), NotBefore: now, Validity: validity})
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Layout is where Write put the files.
type Layout struct {
	Dir     string
	Genesis string
	CACert  string
	CAKey   string
	Admin   string
	// ClientCert and ClientKey: the admin's client certificate for reads.
	ClientCert, ClientKey string
	Nodes                 map[string]NodePaths
}

// NodePaths are one node's files.
type NodePaths struct {
	Dir     string
	NodeKey string
	TLS     pki.Files
}

// PathsIn returns the layout of a network directory without writing.
func PathsIn(dir string, nodeIDs []string) Layout {
	l := Layout{Dir: dir, Genesis: filepath.Join(dir, "genesis.json"), CACert: filepath.Join(dir, "ca.crt"),
		CAKey: filepath.Join(dir, "ca.key"), Admin: filepath.Join(dir, "admin.key"), Nodes: map[string]NodePaths{},
		ClientCert: filepath.Join(dir, "client.crt"), ClientKey: filepath.Join(dir, "client.key")}
	for _, id := range nodeIDs {
		nd := filepath.Join(dir, "nodes", id)
		l.Nodes[id] = NodePaths{Dir: nd, NodeKey: filepath.Join(nd, "node.key"),
			TLS: pki.Files{CA: l.CACert, Cert: filepath.Join(nd, "tls.crt"), Key: filepath.Join(nd, "tls.key")}}
	}
	return l
}

// Write stores the bundle under dir (secrets mode 0600); it refuses to
// overwrite an existing network.
func (b *Bundle) Write(dir string) (Layout, error) {
	var ids []string
	for _, n := range b.Nodes {
		ids = append(ids, n.ID)
	}
	l := PathsIn(dir, ids)
	if _, err := os.Stat(l.Genesis); err == nil {
		return l, fmt.Errorf("%s exists: a network is already generated there", l.Genesis)
	}
	gj, err := json.MarshalIndent(b.Genesis, "", "  ")
	if err != nil {
		return l, err
	}
	if _, err := pki.WriteFile(dir, "ca.crt", b.CA.CertPEM, 0o644); err != nil {
		return l, err
	}
	if _, err := pki.WriteFile(dir, "ca.key", b.CA.KeyPEM, 0o600); err != nil {
		return l, err
	}
	if err := writeKey(l.Admin, b.AdminKey, "network admin of "+b.Genesis.Network); err != nil {
		return l, err
	}
	if b.ClientCertPEM != nil {
		if _, err := pki.WriteFile(dir, "client.crt", b.ClientCertPEM, 0o644); err != nil {
			return l, err
		}
		if _, err := pki.WriteFile(dir, "client.key", b.ClientKeyPEM, 0o600); err != nil {
			return l, err
		}
	}
	for _, n := range b.Nodes {
		p := l.Nodes[n.ID]
		if err := os.MkdirAll(p.Dir, 0o700); err != nil {
			return l, err
		}
		if err := writeKey(p.NodeKey, n.Key, "node "+n.ID); err != nil {
			return l, err
		}
		if _, err := pki.WriteFile(p.Dir, "tls.crt", n.CertPEM, 0o644); err != nil {
			return l, err
		}
		if _, err := pki.WriteFile(p.Dir, "tls.key", n.KeyPEM, 0o600); err != nil {
			return l, err
		}
	}
	// The genesis is written last: its presence marks a complete network.
	_, err = pki.WriteFile(dir, "genesis.json", append(gj, '\n'), 0o644)
	return l, err
}

func writeKey(path string, k ed25519.PrivateKey, comment string) error {
	_ = os.Remove(path)
	return tx.WriteKeyFile(path, k, comment)
}
