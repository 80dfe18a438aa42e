package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkReference names a LedgerNetwork, possibly in another namespace.
type NetworkReference struct {
	// Name of the LedgerNetwork.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Namespace of the LedgerNetwork; defaults to the AgencyMember's own.
	// Another namespace is allowed only when the network's
	// spec.memberNamespaceSelector selects the AgencyMember's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
}

// Contact is how to reach the agency's ledger administrators; it is
// recorded on the ledger with the agency.
type Contact struct {
	// Email address.
	// +optional
	// +kubebuilder:validation:Pattern=`^[^@\s]{1,64}@[^@\s]{1,190}$`
	Email string `json:"email,omitempty"`
	// Phone number, e.g. +1 202 555 0100.
	// +optional
	// +kubebuilder:validation:Pattern=`^\+?[0-9 ().-]{3,32}$`
	Phone string `json:"phone,omitempty"`
	// Postal address.
	// +optional
	// +kubebuilder:validation:MaxLength=500
	Address string `json:"address,omitempty"`
}

// AgencyKeys says who holds the agency's signing keys. Set exactly one.
// +kubebuilder:validation:XValidation:rule="has(self.managed) != has(self.publicKeys)",message="spec.keys: set exactly one of managed (the operator creates and holds the private key) or publicKeys (the agency holds its private keys)"
type AgencyKeys struct {
	// Managed: the operator creates the key pair, keeps the private key in
	// a Secret in this namespace and rotates it (spec.keyRotation).
	// +optional
	Managed *ManagedKeys `json:"managed,omitempty"`
	// PublicKeys: the agency holds its private keys and rotates them with
	// ledgerctl; these are the key ids (base64url Ed25519 public keys) to
	// register. The operator then mirrors the ledger's view in status.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_-]{43}$`
	PublicKeys []string `json:"publicKeys,omitempty"`
}

// ManagedKeys configures the operator-held key.
type ManagedKeys struct {
	// SecretName of the Secret holding the private key; defaults to
	// "<AgencyMember name>-agency-key".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`
}

// KeyRotation schedules rotations of a managed key. A rotation creates a
// new key and submits key.rotate signed by the current one; signatures made
// with the old key before it retires stay verifiable forever.
type KeyRotation struct {
	// Every rotates the key this long after the last rotation (or the
	// registration), e.g. "2160h" for 90 days.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="spec.keyRotation.every must be at least 1m"
	Every *metav1.Duration `json:"every,omitempty"`
	// RequestedAt triggers one rotation: set it to the current time (e.g.
	// kubectl patch ... --type merge -p '{"spec":{"keyRotation":{"requestedAt":"'$(date -u +%FT%TZ)'"}}}').
	// A value at or before the last honoured request does nothing.
	// +optional
	RequestedAt *metav1.Time `json:"requestedAt,omitempty"`
	// GracePeriod keeps the old key valid this long after a rotation, for
	// transactions already signed with it; zero retires it at once.
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('720h')",message="spec.keyRotation.gracePeriod must be between 0s and 720h"
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// AgencyMemberSpec is an agency's membership of a ledger network.
// +kubebuilder:validation:XValidation:rule="!has(self.keyRotation) || has(self.keys.managed)",message="spec.keyRotation needs spec.keys.managed: the operator can only rotate a key it holds; rotate agency-held keys with ledgerctl"
type AgencyMemberSpec struct {
	// NetworkRef is the LedgerNetwork to join. Immutable.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.networkRef is immutable: an agency's history stays on the ledger it joined"
	NetworkRef NetworkReference `json:"networkRef"`

	// AgencyID is the agency's ledger identity: agency/<agencyID>.
	// Immutable.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.agencyID is immutable: it names the agency's identity on the ledger"
	AgencyID string `json:"agencyID"`

	// DisplayName of the agency, e.g. "U.S. Customs and Border Protection".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	DisplayName string `json:"displayName"`

	// Country of the agency, ISO 3166-1 alpha-2 (e.g. US). Immutable.
	// +kubebuilder:validation:Pattern=`^[A-Z]{2}$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.country is immutable: the ledger records it at registration"
	Country string `json:"country"`

	// Roles the agency holds in its country. "customs" makes it the
	// customs authority: it revokes and endorses certificates of origin and
	// records entries. Partner agencies (food, health, sanctions) have no
	// role: they enrol participants and publish their rules.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:Enum=customs
	Roles []string `json:"roles,omitempty"`

	// Programs the agency takes part in, e.g. USMCA, CAFTA-DR.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Pattern=`^[A-Z][A-Z0-9-]{1,31}$`
	Programs []string `json:"programs"`

	// Contact of the agency's ledger administrators.
	// +optional
	Contact Contact `json:"contact,omitempty"`

	// Keys: who holds the agency's signing keys.
	Keys AgencyKeys `json:"keys"`

	// KeyRotation of a managed key.
	// +optional
	KeyRotation *KeyRotation `json:"keyRotation,omitempty"`
}

// AgencyKeyStatus is one of the agency's public keys.
type AgencyKeyStatus struct {
	// KeyID is the base64url Ed25519 public key.
	KeyID string `json:"keyID"`
	// Fingerprint is a short name of the key for people.
	Fingerprint string `json:"fingerprint"`
	// ValidFrom is when the ledger registered it.
	// +optional
	ValidFrom string `json:"validFrom,omitempty"`
	// RetiredAt is when it stopped signing, after a rotation.
	// +optional
	RetiredAt string `json:"retiredAt,omitempty"`
	// RevokedAt is set when the key was revoked as compromised.
	// +optional
	RevokedAt string `json:"revokedAt,omitempty"`
}

// AgencyMemberStatus is what the operator observed.
type AgencyMemberStatus struct {
	// ObservedGeneration is the generation the last successful pass acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Identity on the ledger: agency/<agencyID>.
	// +optional
	Identity string `json:"identity,omitempty"`
	// Registered is true once the agency is on the ledger.
	// +optional
	Registered bool `json:"registered,omitempty"`
	// RegistrationHeight is the ledger height of the registration.
	// +optional
	RegistrationHeight int64 `json:"registrationHeight,omitempty"`
	// RegistrationTxID is the registering transaction.
	// +optional
	RegistrationTxID string `json:"registrationTxID,omitempty"`
	// SyncedHash identifies the name, programs and contact the ledger
	// holds (a hash of them as last written).
	// +optional
	SyncedHash string `json:"syncedHash,omitempty"`
	// ActiveKey is the key the agency signs with now.
	// +optional
	ActiveKey *AgencyKeyStatus `json:"activeKey,omitempty"`
	// KeyHistory lists every key the agency has held, oldest first.
	// +optional
	KeyHistory []AgencyKeyStatus `json:"keyHistory,omitempty"`
	// ActiveKeySince is when the active key took over: the registration or
	// the last rotation (spec.keyRotation.every counts from it).
	// +optional
	ActiveKeySince *metav1.Time `json:"activeKeySince,omitempty"`
	// NextRotation is when spec.keyRotation.every rotates it next.
	// +optional
	NextRotation *metav1.Time `json:"nextRotation,omitempty"`
	// HandledRotationRequest is the last spec.keyRotation.requestedAt honoured.
	// +optional
	HandledRotationRequest *metav1.Time `json:"handledRotationRequest,omitempty"`
	// Conditions: Ready, Registered, Progressing, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// AgencyMember is an agency's membership of a ledger network: the operator
// registers the agency with the network admin key, keeps its programs in
// sync, rotates a managed key and suspends the agency when it is deleted
// (its history stays on the ledger).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=agency;agencies,categories=tradeledger
// +kubebuilder:printcolumn:name="Agency",type=string,JSONPath=`.spec.agencyID`
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.networkRef.name`
// +kubebuilder:printcolumn:name="Registered",type=boolean,JSONPath=`.status.registered`
// +kubebuilder:printcolumn:name="Key",type=string,JSONPath=`.status.activeKey.fingerprint`
// +kubebuilder:printcolumn:name="Next Rotation",type=string,JSONPath=`.status.nextRotation`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type AgencyMember struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec AgencyMemberSpec `json:"spec"`
	// +optional
	Status AgencyMemberStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AgencyMemberList is a list of AgencyMembers.
type AgencyMemberList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AgencyMember `json:"items"`
}
