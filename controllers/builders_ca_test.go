package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tradeledger/tradeledger/ledgernode/pki"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

func caSecretOf(t *testing.T, trust []*pki.CA, issuer, pending *pki.CA, ann map[string]string) *corev1.Secret {
	t.Helper()
	var pem []byte
	for _, c := range trust {
		pem = append(pem, c.CertPEM...)
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "customs-ca", Annotations: ann},
		Data: map[string][]byte{caCertKey: pem, caKeyKey: issuer.KeyPEM}}
	if pending != nil {
		sec.Data[caPendingKeyKey] = pending.KeyPEM
	}
	return sec
}

// The CA Secret alone says where a rotation is; the recorded phase only
// tells Dropping (a Secret like any settled one) from a rotation long done.
func TestTheCASecretSaysWhereARotationIs(t *testing.T) {
	now := time.Now()
	oldCA, _ := pki.NewCA("old", now, time.Hour)
	newCA, _ := pki.NewCA("new", now, time.Hour)
	for _, tc := range []struct {
		name     string
		sec      *corev1.Secret
		recorded ledgerv1.CARotationPhase
		want     ledgerv1.CARotationPhase
	}{
		{"never rotated", caSecretOf(t, []*pki.CA{oldCA}, oldCA, nil, nil), "", ""},
		{"new CA pending: Bundling, whatever the status says", caSecretOf(t, []*pki.CA{oldCA, newCA}, oldCA, newCA, nil), "", ledgerv1.CABundling},
		{"new CA issues, old still trusted: Reissuing", caSecretOf(t, []*pki.CA{oldCA, newCA}, newCA, nil, nil), ledgerv1.CABundling, ledgerv1.CAReissuing},
		{"old CA gone from the Secret after Reissuing: Dropping", caSecretOf(t, []*pki.CA{newCA}, newCA, nil, nil), ledgerv1.CAReissuing, ledgerv1.CADropping},
		{"Dropping stays until observed", caSecretOf(t, []*pki.CA{newCA}, newCA, nil, nil), ledgerv1.CADropping, ledgerv1.CADropping},
		{"Complete stays Complete", caSecretOf(t, []*pki.CA{newCA}, newCA, nil, nil), ledgerv1.CAComplete, ledgerv1.CAComplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := decodeCASecret(tc.sec)
			if err != nil {
				t.Fatal(err)
			}
			if got := caPhase(cs, tc.recorded); got != tc.want {
				t.Errorf("phase %q, want %q", got, tc.want)
			}
		})
	}
	cs, err := decodeCASecret(caSecretOf(t, []*pki.CA{oldCA, newCA}, newCA, nil, map[string]string{annCAGeneration: "3"}))
	if err != nil || !cs.Issuer.Cert.Equal(newCA.Cert) || cs.Generation != 3 || len(cs.Trust) != 2 {
		t.Fatalf("issuer found by its key among the bundle, generation 3: %+v %v", cs, err)
	}
}

func TestACASecretWhoseKeysMatchNoCertificateIsRefusedNamingTheKey(t *testing.T) {
	now := time.Now()
	oldCA, _ := pki.NewCA("old", now, time.Hour)
	other, _ := pki.NewCA("other", now, time.Hour)
	for _, tc := range []struct {
		name, want string
		sec        *corev1.Secret
	}{
		{"ca.key of a CA not in ca.crt", "key ca.key", caSecretOf(t, []*pki.CA{oldCA}, other, nil, nil)},
		{"pending-ca.key of a CA not in ca.crt", "key pending-ca.key", caSecretOf(t, []*pki.CA{oldCA}, oldCA, other, nil)},
		{"no certificate", "holds no CA certificate", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "customs-ca"}, Data: map[string][]byte{caKeyKey: oldCA.KeyPEM}}},
		{"a generation that is no number", "ca-generation", caSecretOf(t, []*pki.CA{oldCA}, oldCA, nil, map[string]string{annCAGeneration: "two"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeCASecret(tc.sec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error naming %q", err, tc.want)
			}
		})
	}
}
