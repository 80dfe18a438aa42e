package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tradeledger/tradeledger/ledgernode/proccluster"
)

// etcdCluster is a 3-member etcd on loopback, fsync on (etcd's default),
// with TLS and client-certificate authentication on the client and peer
// URLs as production runs it, or plaintext for the figure beside it.
type etcdCluster struct {
	dir           string
	tls           bool
	endpoints     []string
	cmds          []*exec.Cmd
	done          []chan struct{}
	ca, cert, key string // client TLS material
}

// findEtcd returns the etcd binary: the flag's path, or the one
// hack/controlplane.sh builds from pinned source (it builds it when cold).
func findEtcd(flagValue string) (string, error) {
	if flagValue != "" && flagValue != "auto" {
		if _, err := os.Stat(flagValue); err != nil {
			return "", fmt.Errorf("-etcd %s: %w", flagValue, err)
		}
		return flagValue, nil
	}
	script := "hack/controlplane.sh"
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("-etcd auto needs %s (run from the repository root) or -etcd PATH to an etcd v3.6 binary", script)
	}
	out, err := exec.Command(script, "etcd").Output()
	if err != nil {
		return "", fmt.Errorf("%s etcd: %v", script, err)
	}
	bin := filepath.Join(strings.TrimSpace(string(out)), "etcd")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%s etcd printed %q but %s is missing", script, strings.TrimSpace(string(out)), bin)
	}
	return bin, nil
}

func startEtcd(ctx context.Context, bin, dir string, withTLS bool) (*etcdCluster, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c := &etcdCluster{dir: dir, tls: withTLS}
	scheme := "http"
	if withTLS {
		scheme = "https"
		if err := c.writeCerts(); err != nil {
			return nil, err
		}
	}
	ports, err := proccluster.FreePorts("127.0.0.1", 6)
	if err != nil {
		return nil, err
	}
	var initial []string
	for i := 0; i < 3; i++ {
		initial = append(initial, fmt.Sprintf("m%d=%s://%s", i, scheme, ports[2*i+1]))
	}
	for i := 0; i < 3; i++ {
		client, peer := scheme+"://"+ports[2*i], scheme+"://"+ports[2*i+1]
		args := []string{"--name", fmt.Sprintf("m%d", i), "--data-dir", filepath.Join(dir, fmt.Sprintf("m%d", i)),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "ledgerbench", "--log-level", "error", "--quota-backend-bytes", fmt.Sprint(8 << 30)}
		if withTLS {
			args = append(args, "--cert-file", c.cert, "--key-file", c.key, "--trusted-ca-file", c.ca, "--client-cert-auth",
				"--peer-cert-file", c.cert, "--peer-key-file", c.key, "--peer-trusted-ca-file", c.ca, "--peer-client-cert-auth")
		}
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("m%d.log", i)))
		if err != nil {
			c.Close()
			return nil, err
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			c.Close()
			return nil, fmt.Errorf("start etcd: %w", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
		c.cmds, c.done, c.endpoints = append(c.cmds, cmd), append(c.done, done), append(c.endpoints, client)
	}
	return c, nil
}

// writeCerts makes a CA and one certificate (server and client use, for
// 127.0.0.1 and localhost) that the members and the load driver share.
func (c *etcdCluster) writeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ledgerbench etcd CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "etcd"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	c.ca, c.cert, c.key = filepath.Join(c.dir, "ca.pem"), filepath.Join(c.dir, "etcd.pem"), filepath.Join(c.dir, "etcd-key.pem")
	for path, block := range map[string]*pem.Block{
		c.ca:   {Type: "CERTIFICATE", Bytes: caDER},
		c.cert: {Type: "CERTIFICATE", Bytes: der},
		c.key:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// load runs etcdload against the cluster and summarises its latencies.
func (c *etcdCluster) load(ctx context.Context, loader string, clients, valueBytes int, d time.Duration, rate float64) (Summary, error) {
	args := []string{"-endpoints", strings.Join(c.endpoints, ","), "-clients", fmt.Sprint(clients),
		"-value-bytes", fmt.Sprint(valueBytes), "-seconds", fmt.Sprint(d.Seconds())}
	if c.tls {
		args = append(args, "-cacert", c.ca, "-cert", c.cert, "-key", c.key)
	}
	if rate > 0 {
		args = append(args, "-rate", fmt.Sprintf("%.0f", rate))
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, loader, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The first put may wait for the members to elect a leader.
	n0 := cpuOf(c.pids())
	if err := cmd.Run(); err != nil {
		return Summary{}, fmt.Errorf("%s: %v: %s (etcd logs in %s)", loader, err, shorten(strings.TrimSpace(stderr.String()), 400), c.dir)
	}
	s, err := parseEtcdResult(stdout.Bytes())
	if err == nil {
		s.NodeCPUus = perOpMicros(cpuOf(c.pids())-n0, s.Ops)
		s.ClientCPUus = perOpMicros(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime(), s.Ops)
	}
	return s, err
}

func (c *etcdCluster) pids() []int {
	var out []int
	for _, cmd := range c.cmds {
		out = append(out, cmd.Process.Pid)
	}
	return out
}

func (c *etcdCluster) Close() {
	for i, cmd := range c.cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done[i]:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-c.done[i]
		}
	}
}

// findLoader returns the etcdload binary beside this one (make bench builds
// it from hack/etcdload, its own module).
func findLoader() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(self), "etcdload")
	if _, err := os.Stat(bin); err != nil {
		return "", errors.New(bin + " not found: build it with `make bench` (or: cd hack/etcdload && go build -o ../../bin/etcdload .), or pass -etcd off")
	}
	return bin, nil
}
