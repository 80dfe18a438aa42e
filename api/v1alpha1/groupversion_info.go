// Package v1alpha1 holds the API types of the tradeledger operator (group
// ledger.tradeledger.io): LedgerNetwork, AgencyMember and CertificatePolicy.
// Types and validation markers only: no behaviour, no client calls, and no
// dependency beyond k8s.io/api and k8s.io/apimachinery, so that anyone may
// import it. The CRDs under config/crd/bases and zz_generated.deepcopy.go
// are generated from this package (make manifests generate).
//
// +kubebuilder:object:generate=true
// +groupName=ledger.tradeledger.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "ledger.tradeledger.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&LedgerNetwork{}, &LedgerNetworkList{},
		&AgencyMember{}, &AgencyMemberList{},
		&CertificatePolicy{}, &CertificatePolicyList{},
		&LedgerBackup{}, &LedgerBackupList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
