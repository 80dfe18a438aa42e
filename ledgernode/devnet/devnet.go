// Package devnet runs `ledgernode dev`: a local network of real nodes in
// one process (TLS on loopback, data on disk), seeded once with demo
// identities and records, resumed as is on the next run.
package devnet

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/chain"
	"github.com/tradeledger/tradeledger/ledgernode/client"
	"github.com/tradeledger/tradeledger/ledgernode/netgen"
	"github.com/tradeledger/tradeledger/ledgernode/node"
	"github.com/tradeledger/tradeledger/ledgernode/pki"
	"github.com/tradeledger/tradeledger/ledgernode/tx"
	"github.com/tradeledger/tradeledger/ledgernode/wire"
)

// Options configure the dev network.
type Config struct {
	Dir      string // everything lives here (DefaultConfig: .dev)
	Nodes    int    // DefaultConfig: 3
	BasePort int    // API ports BasePort+i, Raft ports BasePort+10+i (DefaultConfig: 7441)
	Network  string // DefaultConfig: "devnet"
	Logger   *slog.Logger
	Out      io.Writer // banner and progress
}

// DefaultConfig is the dev network `make dev` runs: three nodes on
// 127.0.0.1:7441-7443 (Raft on 7451-7453), data in .dev, logs discarded,
// the banner on stdout. The dev command's flags start from it.
func DefaultConfig() Config {
	return Config{Dir: ".dev", Nodes: 3, BasePort: 7441, Network: "devnet", Logger: slog.New(slog.DiscardHandler), Out: os.Stdout}
}

// Validate says what is missing or out of range, naming the field and the
// fix. Run calls it; it changes nothing.
func (c Config) Validate() error {
	var errs []error
	need := func(ok bool, field, fix string) {
		if !ok {
			errs = append(errs, fmt.Errorf("devnet.Config.%s: %s", field, fix))
		}
	}
	need(c.Dir != "", "Dir", "required: the directory for data, keys and certificates (DefaultConfig: .dev)")
	// API ports are BasePort+i and Raft ports BasePort+10+i: more than 10
	// nodes would give two nodes one port.
	need(c.Nodes >= 1 && c.Nodes <= 10, "Nodes", fmt.Sprintf("%d: must be 1 to 10 (--nodes; DefaultConfig: 3)", c.Nodes))
	// The highest port is a Raft port: BasePort+10+Nodes-1.
	need(c.BasePort >= 1 && c.BasePort+10+c.Nodes-1 <= 65535, "BasePort",
		fmt.Sprintf("%d: must leave room for %d API and Raft ports below 65536 (--base-port; DefaultConfig: 7441)", c.BasePort, c.Nodes))
	need(c.Network != "", "Network", "required: the network's name (DefaultConfig: devnet)")
	need(c.Logger != nil, "Logger", "nil: start from DefaultConfig (it discards)")
	need(c.Out != nil, "Out", "nil: start from DefaultConfig (stdout)")
	return errors.Join(errs...)
}

// Seed is what a demo seeder gets.
type Seed struct {
	Client  *client.Client
	Network string
	Admin   ed25519.PrivateKey
	KeysDir string
	Out     io.Writer
}

// Sign builds a signed transaction for the dev network.
func (s *Seed) Sign(key ed25519.PrivateKey, typ string, payload any) (*tx.Signed, error) {
	return tx.BuildSigned(s.Network, typ, payload, time.Now(), key)
}

// Submit signs, submits and requires acceptance (or, with wantReject, a
// rejection: demo data includes cases that fail).
func (s *Seed) Submit(ctx context.Context, key ed25519.PrivateKey, typ string, payload any, wantReject bool) (*chain.Receipt, error) {
	st, err := s.Sign(key, typ, payload)
	if err != nil {
		return nil, err
	}
	resp, err := s.Client.Submit(ctx, st, client.SubmitOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	rc := resp.Receipt
	if (rc.Status == chain.Rejected) != wantReject {
		return rc, fmt.Errorf("%s: status %s, reasons %+v", typ, rc.Status, rc.Reasons)
	}
	return rc, nil
}

// NewKey creates (or loads, on resume) a named demo key in KeysDir.
func (s *Seed) NewKey(name string) (ed25519.PrivateKey, error) {
	p := filepath.Join(s.KeysDir, name+".key")
	if k, err := tx.ReadKeyFile(p); err == nil {
		return k, nil
	}
	k, err := tx.GenerateKey()
	if err != nil {
		return nil, err
	}
	return k, tx.WriteKeyFile(p, k, "dev network demo key: "+name)
}

// Seeder loads demo data. Seeders run once, in order, on the first start.
type Seeder struct {
	Name string
	Run  func(ctx context.Context, s *Seed) error
	// Tour lines printed in the banner after the core ones.
	Tour []string
}

// Seeders are the demo loaders, in the order they run: the core (a key
// and a note), the trade records (seed_trade.go), then the agency policies
// (seed_policy.go), which sign with the trade seeder's agency keys.
func Seeders() []Seeder { return []Seeder{coreSeeder, tradeSeeder, policySeeder} }

var coreSeeder = Seeder{
	Name: "core",
	Run: func(ctx context.Context, s *Seed) error {
		k, err := s.NewKey("writer")
		if err != nil {
			return err
		}
		if _, err := s.Submit(ctx, s.Admin, wire.TypeKeyRegister, wire.KeyRegister{Owner: "participant/demo-writer", Name: "Demo writer",
			PublicKey: tx.KeyID(k.Public().(ed25519.PublicKey))}, false); err != nil {
			return err
		}
		_, err = s.Submit(ctx, k, wire.TypeNotePut, wire.NotePut{Key: "welcome", Value: json.RawMessage(`"tradeledger dev network"`)}, false)
		return err
	},
	Tour: []string{
		"ledgerctl cluster status",
		"ledgerctl note put greeting hello --save /tmp/receipt.json",
		"ledgerctl tx get $(jq -r .receipt.txId /tmp/receipt.json) --proof",
		"ledgerctl verify receipt /tmp/receipt.json",
		"ledgerctl head --save /tmp/head.json && ledgerctl note put greeting again && ledgerctl verify consistency --from /tmp/head.json --update",
		"ledgerctl block get latest",
	},
}

// Run starts (or resumes) the dev network and blocks until ctx ends.
func Run(ctx context.Context, o Config) error {
	if err := o.Validate(); err != nil {
		return err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	netDir := filepath.Join(dir, "network")
	var ids []string
	var specs []netgen.NodeSpec
	for i := 0; i < o.Nodes; i++ {
		id := fmt.Sprintf("node-%d", i)
		ids = append(ids, id)
		specs = append(specs, netgen.NodeSpec{ID: id, APIAddr: fmt.Sprintf("127.0.0.1:%d", o.BasePort+i), RaftAddr: fmt.Sprintf("127.0.0.1:%d", o.BasePort+10+i)})
	}
	layout := netgen.PathsIn(netDir, ids)
	resumed := true
	if _, err := os.Stat(layout.Genesis); errors.Is(err, os.ErrNotExist) {
		resumed = false
		fmt.Fprintf(o.Out, "generating network %q (CA, node keys and certificates, admin key) in %s\n", o.Network, netDir)
		b, err := netgen.Generate(netgen.Options{Network: o.Network, Nodes: specs})
		if err != nil {
			return err
		}
		if layout, err = b.Write(netDir); err != nil {
			return err
		}
	}
	g, err := chain.ReadGenesis(layout.Genesis)
	if err != nil {
		return err
	}
	if len(g.Nodes) != o.Nodes {
		return fmt.Errorf("%s has %d nodes, --nodes says %d: remove %s to start afresh", layout.Genesis, len(g.Nodes), o.Nodes, dir)
	}
	var nodes []*node.Node
	defer func() {
		for _, n := range nodes {
			_ = n.Stop()
		}
	}()
	for _, gn := range g.Nodes {
		p := layout.Nodes[gn.ID]
		key, err := tx.ReadKeyFile(p.NodeKey)
		if err != nil {
			return err
		}
		nc := node.DefaultConfig()
		nc.ID, nc.DataDir, nc.Genesis, nc.NodeKey, nc.TLSFiles = gn.ID, filepath.Join(dir, "data", gn.ID), g, key, p.TLS
		nc.RaftBind, nc.APIBind, nc.Logger = gn.RaftAddr, gn.APIAddr, o.Logger
		n, err := node.Start(nc)
		if err != nil {
			var oe *net.OpError
			if errors.As(err, &oe) {
				return fmt.Errorf("%w (is another 'ledgernode dev' running? stop it, or pass --base-port)", err)
			}
			return err
		}
		nodes = append(nodes, n)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := n.WaitLeader(wctx); err != nil {
			return fmt.Errorf("waiting for a leader: %w", err)
		}
	}
	var eps []string
	for _, gn := range g.Nodes {
		eps = append(eps, "https://"+gn.APIAddr)
	}
	keysDir := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keysDir, 0o700); err != nil {
		return err
	}
	admin, err := tx.ReadKeyFile(layout.Admin)
	if err != nil {
		return err
	}
	if err := ensureClientCert(layout); err != nil {
		return err
	}
	cl, err := client.New(client.Config{Endpoints: eps, CAFile: layout.CACert, CertFile: layout.ClientCert, CertKeyFile: layout.ClientKey})
	if err != nil {
		return err
	}
	seed := &Seed{Client: cl, Network: g.Network, Admin: admin, KeysDir: keysDir, Out: o.Out}
	if err := runSeeders(ctx, seed, filepath.Join(dir, "seeded")); err != nil {
		return err
	}
	envFile := filepath.Join(dir, "env")
	if err := writeEnv(envFile, eps, layout, filepath.Join(keysDir, "writer.key"), g.Network); err != nil {
		return err
	}
	banner(o.Out, dir, envFile, g, nodes, resumed)
	<-ctx.Done()
	fmt.Fprintln(o.Out, "\nshutting down the dev network (data kept; run again to resume)")
	return nil
}

// ensureClientCert issues the admin client certificate ledgerctl reads
// with, for a dev network generated before reads needed one.
func ensureClientCert(l netgen.Layout) error {
	if _, err := os.Stat(l.ClientCert); err == nil {
		return nil
	}
	cp, err := os.ReadFile(l.CACert)
	if err != nil {
		return err
	}
	kp, err := os.ReadFile(l.CAKey)
	if err != nil {
		return err
	}
	ca, err := pki.LoadCA(cp, kp)
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := ca.IssueClient("admin", time.Now(), 365*24*time.Hour)
	if err != nil {
		return err
	}
	if _, err := pki.WriteFile(l.Dir, filepath.Base(l.ClientCert), certPEM, 0o644); err != nil {
		return err
	}
	_, err = pki.WriteFile(l.Dir, filepath.Base(l.ClientKey), keyPEM, 0o600)
	return err
}

// runSeeders runs each seeder not yet recorded in the marker file.
func runSeeders(ctx context.Context, s *Seed, marker string) error {
	done := map[string]bool{}
	if raw, err := os.ReadFile(marker); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			done[strings.TrimSpace(l)] = true
		}
	}
	for _, sd := range Seeders() {
		if done[sd.Name] {
			continue
		}
		fmt.Fprintf(s.Out, "loading demo data: %s\n", sd.Name)
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := sd.Run(sctx, s)
		cancel()
		if err != nil {
			return fmt.Errorf("demo data %s: %w", sd.Name, err)
		}
		f, err := os.OpenFile(marker, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintln(f, sd.Name)
		f.Close()
	}
	return nil
}

func writeEnv(path string, eps []string, l netgen.Layout, key, network string) error {
	bin, _ := filepath.Abs("bin")
	session, _ := filepath.Abs(filepath.Join(filepath.Dir(path), "ledgerctl-session.json"))
	content := fmt.Sprintf(`# source this file: it points ledgerctl at the dev network
export PATH=%q:"$PATH"
export LEDGER_SERVER=%q
export LEDGER_CA=%q
export LEDGER_CERT=%q
export LEDGER_CERT_KEY=%q
export LEDGER_KEY=%q
export LEDGER_TRUST=%q
export LEDGER_NETWORK=%q
export LEDGER_ADMIN_KEY=%q
export LEDGER_SESSION=%q
`, bin, strings.Join(eps, ","), l.CACert, l.ClientCert, l.ClientKey, key, l.Genesis, network, l.Admin, session)
	return os.WriteFile(path, []byte(content), 0o644)
}

func banner(w io.Writer, dir, envFile string, g *chain.Genesis, nodes []*node.Node, resumed bool) {
	verb := "started"
	if resumed {
		verb = "resumed"
	}
	fmt.Fprintf(w, "\ntradeledger dev network %q %s: %d nodes, mutual TLS on loopback\n", g.Network, verb, len(nodes))
	for _, n := range nodes {
		m := n.Store().Meta()
		fmt.Fprintf(w, "  %-8s https://%s  height %d\n", n.Consensus().State(), n.APIAddr(), m.Height)
	}
	fmt.Fprintf(w, "data, keys and certificates: %s\n\nIn another shell:\n  source %s\n", dir, envFile)
	for _, sd := range Seeders() {
		for _, l := range sd.Tour {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	fmt.Fprintf(w, "\nAdmin commands take --key $LEDGER_ADMIN_KEY. Ctrl-C stops the network; run 'make dev' again to resume.\n")
}
