package pki

import (
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
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// NodeURIPrefix marks a certificate as a ledger node's: only such
// certificates may take part in Raft. A CA may issue other certificates
// (e.g. for clients) that must not be able to join the cluster.
const NodeURIPrefix = "tradeledger:node/"

// ClientURIPrefix marks a client certificate and names the ledger identity
// it reads as: "tradeledger:client/admin", "tradeledger:client/agency/us-cbp",
// "tradeledger:client/participant/acme-mx". Whoever holds the network CA
// key can issue one for any identity: the CA is the network admin's.
const ClientURIPrefix = "tradeledger:client/"

// CA is a network certificate authority.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// NewCA creates a self-signed CA valid from now for validity.
func NewCA(name string, now time.Time, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"tradeledger"}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}, nil
}

// LoadCA reads a CA certificate and key in PEM.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("ca: certificate or key is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ca certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ca key: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

// LeafOptions describe a certificate to issue.
type LeafOptions struct {
	CommonName string
	NodeID     string // when set, the certificate is a node certificate
	// ClientIdentity, when set, makes a client-only certificate (no server
	// use) naming the ledger identity its holder reads as.
	ClientIdentity string
	Hosts          []string // DNS names and IP addresses
	NotBefore      time.Time
	Validity       time.Duration
}

// Issue signs a certificate usable as TLS server and client.
func (ca *CA) Issue(o LeafOptions) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: o.CommonName, Organization: []string{"tradeledger"}},
		NotBefore:    o.NotBefore.Add(-5 * time.Minute),
		NotAfter:     o.NotBefore.Add(o.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	if o.NodeID != "" {
		u, err := url.Parse(NodeURIPrefix + o.NodeID)
		if err != nil {
			return nil, nil, err
		}
		tmpl.URIs = []*url.URL{u}
	}
	if o.ClientIdentity != "" {
		if o.NodeID != "" {
			return nil, nil, errors.New("pki: a certificate is a node's or a client's, not both")
		}
		u, err := url.Parse(ClientURIPrefix + o.ClientIdentity)
		if err != nil {
			return nil, nil, err
		}
		tmpl.URIs = []*url.URL{u}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// NodeIDOf returns the node id a certificate was issued to, or "".
func NodeIDOf(cert *x509.Certificate) string {
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, NodeURIPrefix) {
			return strings.TrimPrefix(s, NodeURIPrefix)
		}
	}
	return ""
}

// ClientIdentityOf returns the ledger identity a client certificate was
// issued for, or "".
func ClientIdentityOf(cert *x509.Certificate) string {
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, ClientURIPrefix) {
			return strings.TrimPrefix(s, ClientURIPrefix)
		}
	}
	return ""
}

// IssueClient issues a client certificate for a ledger identity ("admin",
// "agency/<id>", "participant/<id>"), valid from now for validity.
func (ca *CA) IssueClient(identity string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	return ca.Issue(LeafOptions{CommonName: identity, ClientIdentity: identity, NotBefore: now, Validity: validity})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// WriteFile writes data to dir/name with mode (creating dir 0700).
func WriteFile(dir, name string, data []byte, mode os.FileMode) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return "", err
	}
	return p, os.Rename(tmp, p)
}
