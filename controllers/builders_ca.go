package controllers

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/pki"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// The CA Secret (<network>-ca) holds, in ca.crt, every CA the network
// trusts now (the bundle nodes and clients load), and in ca.key the key of
// the one that issues certificates. During a rotation's first phase the
// new CA's key waits in pending-ca.key (its certificate is already in the
// bundle). The annotations say which generation the issuing CA answers
// and which one a rotation under way brings: written in the same update as
// the keys they describe, so a restarted operator resumes from the Secret
// and never makes a second new CA.
const (
	caPendingKeyKey = "pending-ca.key"
	annCAGeneration = "ledger.tradeledger.io/ca-generation"
	annCARotatingTo = "ledger.tradeledger.io/ca-rotating-to"
)

// caBundleConfigMapName is the ConfigMap the operator keeps current with
// the CAs clients should trust (key ca.crt).
func caBundleConfigMapName(n *ledgerv1.LedgerNetwork) string { return n.Name + "-ca-bundle" }

// componentCABundle is the LabelComponent of the CA bundle ConfigMap.
const componentCABundle = "ca-bundle"

// caSet is the network's CAs as the CA Secret holds them.
type caSet struct {
	Issuer  *pki.CA // issues node and client certificates
	Pending *pki.CA // the new CA of a rotation in its Bundling phase
	// Trust is every CA the network trusts now, in the Secret's order;
	// TrustPEM is ca.crt as written.
	Trust    []*x509.Certificate
	TrustPEM []byte
	// Generation of Issuer; RotatingTo the generation Pending brings.
	Generation, RotatingTo int64
}

// decodeCASecret reads the network's CAs; errors name the Secret and key.
func decodeCASecret(sec *corev1.Secret) (*caSet, error) {
	certs, err := parseCerts(sec.Data[caCertKey])
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("secret %s key %s holds no CA certificate: %v", sec.Name, caCertKey, err)
	}
	cs := &caSet{Trust: certs, TrustPEM: sec.Data[caCertKey]}
	if cs.Issuer, err = caOfKey(certs, sec.Data[caKeyKey]); err != nil {
		return nil, fmt.Errorf("secret %s key %s: %w", sec.Name, caKeyKey, err)
	}
	if p, ok := sec.Data[caPendingKeyKey]; ok {
		if cs.Pending, err = caOfKey(certs, p); err != nil {
			return nil, fmt.Errorf("secret %s key %s: %w", sec.Name, caPendingKeyKey, err)
		}
	}
	if cs.Generation, err = annotationInt(sec, annCAGeneration); err != nil {
		return nil, err
	}
	if cs.RotatingTo, err = annotationInt(sec, annCARotatingTo); err != nil {
		return nil, err
	}
	return cs, nil
}

// annotationInt reads a whole-number annotation (absent: 0).
func annotationInt(obj metav1.Object, name string) (int64, error) {
	v, ok := obj.GetAnnotations()[name]
	if !ok {
		return 0, nil
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil || i < 0 {
		return 0, fmt.Errorf("%s annotation %s=%q is not a whole number", obj.GetName(), name, v)
	}
	return i, nil
}

// caOfKey finds the certificate of a CA key among certs.
func caOfKey(certs []*x509.Certificate, keyPEM []byte) (*pki.CA, error) {
	for _, c := range certs {
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		if ca, err := pki.LoadCA(certPEM, keyPEM); err == nil && ca.Key.PublicKey.Equal(c.PublicKey) {
			return ca, nil
		}
	}
	return nil, fmt.Errorf("no certificate in %s belongs to this key", caCertKey)
}

// parseCerts reads every certificate of a PEM bundle.
func parseCerts(bundle []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := bundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// bundlePEM writes certificates as one PEM bundle.
func bundlePEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// fingerprints of certificates (pki.Fingerprint), in order.
func fingerprints(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = pki.Fingerprint(c.Raw)
	}
	return out
}

// shortFP is a fingerprint's first 16 hex digits, for messages.
func shortFP(fp string) string { return fp[:min(16, len(fp))] }

// chainsTo says whether a PEM certificate was issued by ca.
func chainsTo(certPEM []byte, ca *x509.Certificate) bool {
	certs, err := parseCerts(certPEM)
	if err != nil || len(certs) == 0 {
		return false
	}
	return certs[0].CheckSignatureFrom(ca) == nil
}

// caPhase is where a network's CA rotation is, from the CA Secret (which
// decides) and the phase last recorded (which only tells Dropping, whose
// Secret looks like any settled one, from a rotation long done).
func caPhase(cs *caSet, recorded ledgerv1.CARotationPhase) ledgerv1.CARotationPhase {
	switch {
	case cs.Pending != nil:
		return ledgerv1.CABundling
	case len(cs.Trust) > 1:
		return ledgerv1.CAReissuing
	case recorded == ledgerv1.CABundling || recorded == ledgerv1.CAReissuing || recorded == ledgerv1.CADropping:
		return ledgerv1.CADropping
	case recorded == ledgerv1.CAComplete:
		return ledgerv1.CAComplete
	}
	return ""
}

// specCAGeneration is the CA generation the spec asks for.
func specCAGeneration(n *ledgerv1.LedgerNetwork) int64 {
	if n.Spec.TLS == nil {
		return 0
	}
	return n.Spec.TLS.CAGeneration
}

// caStatuses are the trusted CAs for status.tls.cas.
func caStatuses(cs *caSet) []ledgerv1.CAStatus {
	out := make([]ledgerv1.CAStatus, 0, len(cs.Trust))
	for _, c := range cs.Trust {
		out = append(out, ledgerv1.CAStatus{Fingerprint: pki.Fingerprint(c.Raw), Subject: c.Subject.CommonName,
			NotAfter: metav1.NewTime(c.NotAfter), Issuing: c.Equal(cs.Issuer.Cert)})
	}
	return out
}

// buildCABundleConfigMap holds the CAs clients should trust (public).
func buildCABundleConfigMap(n *ledgerv1.LedgerNetwork, trustPEM []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: childMeta(n, caBundleConfigMapName(n), componentCABundle),
		Data: map[string]string{caCertKey: string(trustPEM)}}
}

// caWaitMessage says what a rotation phase waits for: the nodes that do
// not have it yet, each with why.
// The condition's reason is the phase; the message does not repeat it.
func caWaitMessage(phase ledgerv1.CARotationPhase, gen int64, fp string, waiting map[string]string, total int) string {
	var what string
	switch phase {
	case ledgerv1.CABundling:
		what = fmt.Sprintf("for every node to trust the old CA and the new CA of generation %d (%s) together", gen, shortFP(fp))
	case ledgerv1.CAReissuing:
		what = fmt.Sprintf("for every node to serve a certificate issued by the new CA of generation %d (%s)", gen, shortFP(fp))
	case ledgerv1.CADropping:
		what = fmt.Sprintf("for every node to trust the CA of generation %d (%s) alone", gen, shortFP(fp))
	}
	var parts []string
	for _, pod := range sortedKeys(waiting) {
		parts = append(parts, pod+": "+waiting[pod])
	}
	return fmt.Sprintf("waiting %s; %d of %d running nodes not yet (%s). The kubelet refreshes a Secret volume within a minute or two",
		what, len(waiting), total, strings.Join(parts, "; "))
}

// newCAName is the subject of a network's CA of a generation.
func newCAName(n *ledgerv1.LedgerNetwork, gen int64) string {
	return fmt.Sprintf("%s network CA (generation %d)", networkID(n), gen)
}

// caValidity is how long a new CA is valid (as netgen's first one).
const caValidity = 10 * 365 * 24 * time.Hour
