package controllers

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/netgen"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// nodeCertRenewBefore is how long before its expiry a node's TLS
// certificate is renewed: a third of its validity, so a stopped operator
// has months to come back before any node's certificate lapses.
const nodeCertRenewBefore = nodeCertValidity / 3

// certNotAfter reads the expiry of a PEM certificate.
func certNotAfter(certPEM []byte) (time.Time, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return time.Time{}, errors.New("no PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return time.Time{}, err
	}
	return c.NotAfter, nil
}

// renewalPlan says which nodes' certificates to renew at now, and for how
// long the new ones are valid: the usual validity, cut at the CA's expiry
// (no certificate may outlive its issuer). A certificate is renewed when
// it is unreadable or inside its renewal window, and only if the new one
// would end later: near the CA's end this keeps a pass from reissuing the
// same expiry again and again.
//
// A certificate another CA issued (the old one, once a rotation made the
// new one the issuer) is always due.
func renewalPlan(nodes map[string]nodeIdentity, issuer *x509.Certificate, now time.Time) (due []string, validity time.Duration) {
	validity = min(nodeCertValidity, issuer.NotAfter.Sub(now))
	if validity <= 0 {
		return nil, 0
	}
	newEnd := now.Add(validity)
	for _, pod := range slices.Sorted(maps.Keys(nodes)) {
		end, err := certNotAfter(nodes[pod].CertPEM)
		if err != nil || !chainsTo(nodes[pod].CertPEM, issuer) || (now.After(end.Add(-nodeCertRenewBefore)) && newEnd.After(end.Add(time.Hour))) {
			due = append(due, pod)
		}
	}
	return due, validity
}

// renewNodeCertificates gives nodes whose TLS certificates are due new ones
// (with new TLS keys) from the network CA. The head-signing keys, which
// the genesis names, never change. The kubelet refreshes the pods' Secret
// volume and each node picks up the new files on its next handshake
// (pki.Reloader), so no pod restarts.
func (r *LedgerNetworkReconciler) renewNodeCertificates(ctx context.Context, s *networkScope, id *networkIdentity, nodeSecs map[string]*corev1.Secret) error {
	n := s.net
	// Certificates are dated by the real clock: peers check them against it.
	now := time.Now()
	if !now.Before(id.CA.Cert.NotAfter) {
		return degraded("CAExpired", "the network CA in Secret %s expired at %s: nodes can no longer authenticate each other; "+
			"rotate it: raise spec.tls.caGeneration (docs/operations.md, Rotating the network CA)", caSecretName(n), id.CA.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	due, validity := renewalPlan(id.Nodes, id.CA.Cert, now)
	for _, pod := range due {
		certPEM, keyPEM, err := netgen.IssueNodeTLS(id.CA, r.nodeSpec(n, pod), now, validity)
		if err != nil {
			return fmt.Errorf("renew TLS certificate of %s: %w", pod, err)
		}
		m := id.Nodes[pod]
		m.CertPEM, m.KeyPEM = certPEM, keyPEM
		// Each node's certificate goes into its own Secret only.
		if err := r.updateNodeKeysSecret(ctx, n, nodeSecs[pod], pod, m, id.trustPEM()); err != nil {
			return err
		}
		id.Nodes[pod] = m
	}
	if len(due) > 0 {
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "NodeCertificatesRenewed", "RenewCertificates",
			"renewed the TLS certificates of %v until %s", due, now.Add(validity).UTC().Format(time.RFC3339))
	}
	r.recordCertificateExpiry(n, id)
	return nil
}

// recordCertificateExpiry puts the first node certificate's expiry and the
// CA's in status and in the metrics, for alerts.
func (r *LedgerNetworkReconciler) recordCertificateExpiry(n *ledgerv1.LedgerNetwork, id *networkIdentity) {
	var first time.Time
	for _, m := range id.Nodes {
		if end, err := certNotAfter(m.CertPEM); err == nil && (first.IsZero() || end.Before(first)) {
			first = end
		}
	}
	caEnd := id.CA.Cert.NotAfter
	n.Status.CANotAfter = &metav1.Time{Time: caEnd}
	r.Metrics.CertExpiry.WithLabelValues(n.Namespace, n.Name, "ca").Set(float64(caEnd.Unix()))
	if !first.IsZero() {
		n.Status.CertificatesNotAfter = &metav1.Time{Time: first}
		r.Metrics.CertExpiry.WithLabelValues(n.Namespace, n.Name, "node").Set(float64(first.Unix()))
	}
}
