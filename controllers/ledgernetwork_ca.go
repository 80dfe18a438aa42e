package controllers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/pki"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// NodeTLSProber reads the certificate chain a node serves at its API
// address, so that a CA rotation sees each node's certificate, not the
// Secret it was written to. ClientDialer implements it.
type NodeTLSProber interface {
	ServedCertificates(ctx context.Context, apiAddr string) ([]*x509.Certificate, error)
}

// ServedCertificates implements NodeTLSProber: one TLS handshake, the
// chain as presented (the caller judges it against the CA it expects).
func (d *ClientDialer) ServedCertificates(ctx context.Context, apiAddr string) ([]*x509.Certificate, error) {
	dialer := &tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS13,
		InsecureSkipVerify: true}} //nolint:gosec // only reads the chain; the caller verifies it against the issuing CA
	conn, err := dialer.DialContext(ctx, "tcp", apiAddr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates, nil
}

// reconcileCA keeps the CA bundle ConfigMap and the backup client
// current, and carries a CA rotation (spec.tls.caGeneration) one phase at
// a time, each observed on every running node before the next:
//
//	Bundling   a new CA in the CA Secret (pending-ca.key), trusted beside
//	           the old everywhere; waits until every node reports both
//	Reissuing  the new CA issues; node and client certificates reissued;
//	           waits until every node serves a certificate from it
//	Dropping   the old CA removed from every bundle; waits until every
//	           node trusts the new CA alone
//	Complete
//
// The CA Secret decides where a rotation is (caPhase), so an operator
// restarted at any point resumes it and never makes a second new CA. A
// pod that is not running is not waited for: when it starts it mounts its
// Secret as it is then. The rotation never holds the other phases up.
func (r *LedgerNetworkReconciler) reconcileCA(ctx context.Context, s *networkScope, id *networkIdentity) error {
	n := s.net
	if s.caSecret == nil {
		return nil
	}
	st := n.Status.TLS
	if st == nil {
		st = &ledgerv1.TLSStatus{}
		n.Status.TLS = st
	}
	phase := caPhase(id.CAs, st.Phase)
	if want := specCAGeneration(n); (phase == "" || phase == ledgerv1.CAComplete) && want > id.CAs.Generation {
		if err := r.startCARotation(ctx, s, id, want); err != nil {
			return err
		}
		phase = ledgerv1.CABundling
		now := metav1.Now()
		st.StartedAt, st.CompletedAt = &now, nil
	}
	if err := r.syncCAConsumers(ctx, s, id); err != nil {
		return err
	}

	var waiting map[string]string
	switch phase {
	case ledgerv1.CABundling:
		if waiting = r.nodesWaiting(ctx, s, id, trustsAll(fingerprints(id.CAs.Trust))); len(waiting) > 0 {
			break
		}
		if err := r.promotePendingCA(ctx, s, id); err != nil {
			return err
		}
		phase = ledgerv1.CAReissuing
		// The node certificates are reissued from the new CA at once.
		if err := r.renewNodeCertificates(ctx, s, id, s.nodeSecrets); err != nil {
			return err
		}
		if err := r.syncCAConsumers(ctx, s, id); err != nil {
			return err
		}
		waiting = r.nodesWaiting(ctx, s, id, servesFrom(id.CA.Cert))
	case ledgerv1.CAReissuing:
		waiting = r.nodesWaiting(ctx, s, id, servesFrom(id.CA.Cert))
		for pod, m := range id.Nodes {
			if !chainsTo(m.CertPEM, id.CA.Cert) {
				waiting[pod] = "its Secret still holds a certificate of the old CA"
			}
		}
		if bc := s.backupClient; bc != nil && !chainsTo(bc.Data[corev1.TLSCertKey], id.CA.Cert) {
			waiting[bc.Name] = "the backup client certificate is not reissued yet"
		}
		if len(waiting) > 0 {
			break
		}
		if err := r.dropOldCAs(ctx, s, id); err != nil {
			return err
		}
		phase = ledgerv1.CADropping
		if err := r.syncNodeTrust(ctx, s, id, s.nodeSecrets); err != nil {
			return err
		}
		if err := r.syncCAConsumers(ctx, s, id); err != nil {
			return err
		}
		waiting = r.nodesWaiting(ctx, s, id, trustsOnly(fingerprints(id.CAs.Trust)))
	case ledgerv1.CADropping:
		if waiting = r.nodesWaiting(ctx, s, id, trustsOnly(fingerprints(id.CAs.Trust))); len(waiting) > 0 {
			break
		}
		phase = ledgerv1.CAComplete
		now := metav1.Now()
		st.CompletedAt = &now
		r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "CARotationComplete", "RotateCA",
			"CA rotation to generation %d complete: every node serves a certificate of CA %s and trusts it alone; the old CA is trusted no more",
			id.CAs.Generation, shortFP(pki.Fingerprint(id.CA.Cert.Raw)))
	}

	st.Phase, st.CAGeneration, st.RotatingTo, st.CAs = phase, id.CAs.Generation, id.CAs.RotatingTo, caStatuses(id.CAs)
	if phase == "" {
		return nil
	}
	newFP := pki.Fingerprint(id.CA.Cert.Raw)
	gen := id.CAs.Generation
	if id.CAs.Pending != nil {
		newFP, gen = pki.Fingerprint(id.CAs.Pending.Cert.Raw), id.CAs.RotatingTo
	}
	switch {
	case phase == ledgerv1.CAComplete:
		at := "now"
		if st.CompletedAt != nil {
			at = st.CompletedAt.UTC().Format(time.RFC3339)
		}
		s.caRotation = &metav1.Condition{Type: ledgerv1.ConditionCARotation, Status: metav1.ConditionFalse, Reason: string(ledgerv1.CAComplete),
			Message: fmt.Sprintf("CA generation %d (%s) issues every node certificate and is the only CA trusted, since %s", gen, shortFP(newFP), at)}
	case len(waiting) == 0:
		s.caRotation = &metav1.Condition{Type: ledgerv1.ConditionCARotation, Status: metav1.ConditionTrue, Reason: string(phase),
			Message: fmt.Sprintf("%s: every node observed; the next phase follows on the next pass", phase)}
		s.requeueAfter(r.Intervals.Wait)
	default:
		s.caRotation = &metav1.Condition{Type: ledgerv1.ConditionCARotation, Status: metav1.ConditionTrue, Reason: string(phase),
			Message: caWaitMessage(phase, gen, newFP, waiting, max(s.caNodesAsked, len(waiting)))}
		s.requeueAfter(r.Intervals.Wait)
	}
	return nil
}

// startCARotation makes the new CA and saves it in the CA Secret beside
// the old one, in one update: its key as pending-ca.key, its certificate
// added to the bundle, the generation it brings as an annotation. The
// update carries the Secret's resourceVersion, so a pass that read a
// Secret another pass already rotated conflicts instead of making a
// second CA.
func (r *LedgerNetworkReconciler) startCARotation(ctx context.Context, s *networkScope, id *networkIdentity, want int64) error {
	n := s.net
	// Dated by the real clock, as every certificate: nodes check against it.
	ca, err := pki.NewCA(newCAName(n, want), time.Now(), caValidity)
	if err != nil {
		return fmt.Errorf("make the new network CA: %w", err)
	}
	err = r.updateCASecret(ctx, s, id, func(sec *corev1.Secret) {
		sec.Data[caCertKey] = bundlePEM(append(slices.Clone(id.CAs.Trust), ca.Cert)...)
		sec.Data[caPendingKeyKey] = ca.KeyPEM
		sec.Annotations[annCARotatingTo] = strconv.FormatInt(want, 10)
	})
	if err != nil {
		return fmt.Errorf("save the new CA in Secret %s: %w", caSecretName(n), err)
	}
	r.Recorder.Eventf(n, nil, corev1.EventTypeNormal, "CARotationBundling", "RotateCA",
		"CA rotation to generation %d: made CA %s (until %s); every node and client is given it beside the old CA %s",
		want, shortFP(pki.Fingerprint(ca.Cert.Raw)), ca.Cert.NotAfter.UTC().Format(time.RFC3339), shortFP(pki.Fingerprint(id.CA.Cert.Raw)))
	return nil
}

// promotePendingCA makes the pending CA the issuing one (the bundle keeps
// both), in one update of the CA Secret.
func (r *LedgerNetworkReconciler) promotePendingCA(ctx context.Context, s *networkScope, id *networkIdentity) error {
	pending, gen := id.CAs.Pending, id.CAs.RotatingTo
	err := r.updateCASecret(ctx, s, id, func(sec *corev1.Secret) {
		sec.Data[caKeyKey] = pending.KeyPEM
		delete(sec.Data, caPendingKeyKey)
		sec.Annotations[annCAGeneration] = strconv.FormatInt(gen, 10)
		delete(sec.Annotations, annCARotatingTo)
	})
	if err != nil {
		return fmt.Errorf("make the new CA issue certificates (Secret %s): %w", caSecretName(s.net), err)
	}
	r.Recorder.Eventf(s.net, nil, corev1.EventTypeNormal, "CARotationReissuing", "RotateCA",
		"CA rotation to generation %d: every node trusts both CAs; node and client certificates are reissued from CA %s",
		gen, shortFP(pki.Fingerprint(pending.Cert.Raw)))
	return nil
}

// dropOldCAs leaves the issuing CA alone in the bundle.
func (r *LedgerNetworkReconciler) dropOldCAs(ctx context.Context, s *networkScope, id *networkIdentity) error {
	var dropped []string
	for _, c := range id.CAs.Trust {
		if !c.Equal(id.CA.Cert) {
			dropped = append(dropped, shortFP(pki.Fingerprint(c.Raw)))
		}
	}
	err := r.updateCASecret(ctx, s, id, func(sec *corev1.Secret) {
		sec.Data[caCertKey] = bundlePEM(id.CA.Cert)
	})
	if err != nil {
		return fmt.Errorf("drop the old CA from Secret %s: %w", caSecretName(s.net), err)
	}
	r.Recorder.Eventf(s.net, nil, corev1.EventTypeNormal, "CARotationDropping", "RotateCA",
		"CA rotation to generation %d: every node serves a certificate of CA %s; dropping %v from every bundle",
		id.CAs.Generation, shortFP(pki.Fingerprint(id.CA.Cert.Raw)), dropped)
	return nil
}

// updateCASecret changes the CA Secret (with its resourceVersion: a stale
// copy conflicts) and reads the identity's CAs back from it.
func (r *LedgerNetworkReconciler) updateCASecret(ctx context.Context, s *networkScope, id *networkIdentity, change func(*corev1.Secret)) error {
	sec := s.caSecret.DeepCopy()
	if sec.Annotations == nil {
		sec.Annotations = map[string]string{}
	}
	change(sec)
	cas, err := decodeCASecret(sec)
	if err != nil {
		return err
	}
	if err := r.Update(ctx, sec); err != nil {
		return err
	}
	s.caSecret, id.CAs, id.CA = sec, cas, cas.Issuer
	return nil
}

// syncCAConsumers gives the CA bundle ConfigMap and the backup client
// Secret (if a backup made one) the network's bundle, and the node Secrets
// too.
func (r *LedgerNetworkReconciler) syncCAConsumers(ctx context.Context, s *networkScope, id *networkIdentity) error {
	n := s.net
	if err := r.syncNodeTrust(ctx, s, id, s.nodeSecrets); err != nil {
		return err
	}
	want := buildCABundleConfigMap(n, id.trustPEM())
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, key(n, want.Name), cm); apierrors.IsNotFound(err) {
		if err := r.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create ConfigMap %s: %w", want.Name, err)
		}
	} else if err != nil {
		return err
	} else if cm.Data[caCertKey] != want.Data[caCertKey] {
		cm.Data = want.Data
		if err := r.Update(ctx, cm); err != nil {
			return fmt.Errorf("update ConfigMap %s: %w", want.Name, err)
		}
	}
	bc, err := ensureBackupClientSecret(ctx, r.Client, n, s.caSecret, false)
	if err != nil {
		return fmt.Errorf("backup client Secret %s: %w", backupClientSecretName(n), err)
	}
	s.backupClient = bc
	return nil
}

// nodeTLSCheck says why a node does not have what a phase waits for ("":
// it has), from what it reports trusting and the chain it serves.
type nodeTLSCheck struct {
	needServed bool
	judge      func(trusted []string, served []*x509.Certificate) string
}

func trustsAll(fps []string) nodeTLSCheck {
	return nodeTLSCheck{judge: func(trusted []string, _ []*x509.Certificate) string {
		for _, fp := range fps {
			if !slices.Contains(trusted, fp) {
				return fmt.Sprintf("trusts %s, not yet %s", shortList(trusted), shortFP(fp))
			}
		}
		return ""
	}}
}

func trustsOnly(fps []string) nodeTLSCheck {
	return nodeTLSCheck{judge: func(trusted []string, _ []*x509.Certificate) string {
		for _, fp := range trusted {
			if !slices.Contains(fps, fp) {
				return fmt.Sprintf("still trusts %s", shortFP(fp))
			}
		}
		if len(trusted) == 0 {
			return "reports no trusted CA (an older node version?)"
		}
		return ""
	}}
}

func servesFrom(issuer *x509.Certificate) nodeTLSCheck {
	return nodeTLSCheck{needServed: true, judge: func(_ []string, served []*x509.Certificate) string {
		if len(served) == 0 {
			return "served no certificate"
		}
		if served[0].CheckSignatureFrom(issuer) != nil {
			return fmt.Sprintf("serves a certificate issued by %q", served[0].Issuer.CommonName)
		}
		return ""
	}}
}

// shortList is fingerprints shortened, for messages.
func shortList(fps []string) string {
	out := make([]string, len(fps))
	for i, fp := range fps {
		out[i] = shortFP(fp)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// shortFPs are the shortened fingerprints of a network's trusted CAs.
func shortFPs(cs *caSet) string { return shortList(fingerprints(cs.Trust)) }

// nodesWaiting asks the node of every running pod that holds keys what it
// trusts (its status) and, if the check needs it, what it serves (a TLS
// handshake), and returns those that do not pass, with why. A node that
// does not answer waits; a pod that is not running does not (it mounts
// its Secret as it is when it starts).
func (r *LedgerNetworkReconciler) nodesWaiting(ctx context.Context, s *networkScope, id *networkIdentity, check nodeTLSCheck) map[string]string {
	waiting := map[string]string{}
	s.caNodesAsked = 0
	prober, ok := r.Dialer.(MemberProber)
	if !ok {
		waiting["operator"] = "its ledger dialer cannot ask single nodes"
		return waiting
	}
	certs, _ := r.Dialer.(NodeTLSProber)
	t := id.target(s.net)
	for _, pod := range sortedKeys(id.Nodes) {
		if podGone(s.pods[pod]) != "" {
			continue
		}
		s.caNodesAsked++
		_, apiAddr := r.Resolver.MemberAddrs(s.net, pod)
		cctx, cancel := context.WithTimeout(ctx, r.Intervals.LedgerCall)
		st, err := prober.ProbeMember(cctx, t, apiAddr)
		var served []*x509.Certificate
		if err == nil && check.needServed {
			if certs == nil {
				err = fmt.Errorf("the operator's dialer cannot read served certificates")
			} else {
				served, err = certs.ServedCertificates(cctx, apiAddr)
			}
		}
		cancel()
		switch {
		case err != nil:
			waiting[pod] = "does not answer: " + err.Error()
		case st.Node != pod:
			waiting[pod] = fmt.Sprintf("the node at %s is %q", apiAddr, st.Node)
		default:
			if why := check.judge(st.TrustedCAs, served); why != "" {
				waiting[pod] = why
			}
		}
	}
	return waiting
}
