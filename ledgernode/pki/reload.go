package pki

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Files names a node's TLS material on disk.
type Files struct {
	CA   string // network CA certificate (PEM)
	Cert string // this node's certificate (PEM)
	Key  string // this node's key (PEM)
}

// Reloader serves the current certificate and CA pool, re-reading the files
// when they change (checked at most once a second, on use) or on Reload.
// A failed reload keeps the previous material and reports the error.
type Reloader struct {
	files Files
	now   func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	pool    *x509.CertPool
	cas     []string // SHA-256 fingerprints of the CA certificates in pool, in file order
	stamp   string
	checked time.Time
	lastErr error
}

// NewReloader loads the files once; it fails if they are unusable.
func NewReloader(f Files) (*Reloader, error) {
	r := &Reloader{files: f, now: time.Now}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Reloader) fileStamp() string {
	s := ""
	for _, p := range []string{r.files.CA, r.files.Cert, r.files.Key} {
		if fi, err := os.Stat(p); err == nil {
			s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		}
	}
	return s
}

// Reload re-reads the files now.
func (r *Reloader) Reload() error {
	caPEM, err := os.ReadFile(r.files.CA)
	if err != nil {
		return fmt.Errorf("tls ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("tls ca %s: no PEM certificate in it", r.files.CA)
	}
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return fmt.Errorf("tls certificate %s: %w", r.files.Cert, err)
	}
	cas := Fingerprints(caPEM)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cert, r.pool, r.cas, r.stamp, r.checked = &cert, pool, cas, r.fileStamp(), r.now()
	return nil
}

// Fingerprints are the SHA-256 fingerprints (lower-case hex of the DER) of
// the certificates in a PEM bundle, in order; other blocks are skipped.
func Fingerprints(bundlePEM []byte) []string {
	var out []string
	for rest := bundlePEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out
		}
		if b.Type == "CERTIFICATE" {
			out = append(out, Fingerprint(b.Bytes))
		}
	}
}

// Fingerprint is the SHA-256 fingerprint (lower-case hex) of a DER
// certificate: what openssl x509 -fingerprint -sha256 shows, without colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// TrustedCAs are the fingerprints of the CA certificates the node trusts
// now (its CA file as last loaded, after checking it for a change), so
// that whoever rotates the CA can see that a node picked up a bundle.
func (r *Reloader) TrustedCAs() []string {
	r.current()
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cas...)
}

func (r *Reloader) current() (*tls.Certificate, *x509.CertPool) {
	r.mu.Lock()
	due := r.now().Sub(r.checked) > time.Second
	r.mu.Unlock()
	if due {
		stamp := r.fileStamp()
		r.mu.Lock()
		changed := stamp != r.stamp
		r.checked = r.now()
		r.mu.Unlock()
		if changed {
			err := r.Reload()
			r.mu.Lock()
			r.lastErr = err
			r.mu.Unlock()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert, r.pool
}

// LastError is the error of the last automatic reload, if it failed.
func (r *Reloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Pool returns the current CA pool.
func (r *Reloader) Pool() *x509.CertPool { _, p := r.current(); return p }

// ServerConfig is a TLS server configuration. With requireNode, clients
// must present a node certificate from the network CA (Raft); otherwise a
// client certificate is optional and verified when given (HTTPS API).
func (r *Reloader) ServerConfig(requireNode bool) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cert, pool := r.current()
			c := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{*cert}, ClientCAs: pool}
			if requireNode {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.VerifyPeerCertificate = requireNodeCert
			} else {
				c.ClientAuth = tls.VerifyClientCertIfGiven
			}
			return c, nil
		},
	}
}

// ClientConfig is a TLS client configuration presenting this node's
// certificate. With requireNode the server must hold a node certificate from
// the network CA (host names are not checked: node addresses move, the CA
// and the node marker are what is trusted); otherwise the server is verified
// against serverName as usual, but with the current CA pool.
func (r *Reloader) ClientConfig(requireNode bool, serverName string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Verification is done below against the pool current at handshake
		// time, which crypto/tls cannot do with a fixed RootCAs.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			cert, _ := r.current()
			return cert, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, pool := r.current()
			name := serverName
			if requireNode {
				name = ""
			}
			if err := VerifyChain(cs.PeerCertificates, pool, name, x509.ExtKeyUsageServerAuth); err != nil {
				return err
			}
			if requireNode && NodeIDOf(cs.PeerCertificates[0]) == "" {
				return errors.New("tls: peer certificate is not a ledger node certificate")
			}
			return nil
		},
	}
}

// VerifyChain verifies a presented chain against pool (and name, if set).
func VerifyChain(chain []*x509.Certificate, pool *x509.CertPool, name string, usage x509.ExtKeyUsage) error {
	if len(chain) == 0 {
		return errors.New("tls: no peer certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return fmt.Errorf("tls: peer certificate not trusted by the network CA: %w", err)
	}
	return nil
}

func requireNodeCert(_ [][]byte, chains [][]*x509.Certificate) error {
	if len(chains) == 0 || len(chains[0]) == 0 || NodeIDOf(chains[0][0]) == "" {
		return errors.New("tls: client certificate is not a ledger node certificate")
	}
	return nil
}
