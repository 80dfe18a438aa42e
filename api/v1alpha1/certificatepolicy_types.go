package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Enforcement says what a failing rule does.
// +kubebuilder:validation:Enum=Enforce;Audit;DryRun
type Enforcement string

// Enforcement modes.
const (
	// EnforcementEnforce rejects a certificate that fails a rule.
	EnforcementEnforce Enforcement = "Enforce"
	// EnforcementAudit accepts it and records the findings.
	EnforcementAudit Enforcement = "Audit"
	// EnforcementDryRun evaluates the rules without consequence.
	EnforcementDryRun Enforcement = "DryRun"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// PolicyScope limits where a policy applies; an empty list matches all.
type PolicyScope struct {
	// Programs, e.g. USMCA, CAFTA-DR.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^[A-Z][A-Z0-9-]{0,15}$`
	Programs []string `json:"programs,omitempty"`
	// HSPrefixes are Harmonized System code prefixes of 2, 4 or 6 digits
	// (chapters 01 to 97), e.g. "03" or "1601".
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^(0[1-9]|[1-8][0-9]|9[0-7])([0-9]{2}){0,2}$`
	HSPrefixes []string `json:"hsPrefixes,omitempty"`
	// OriginCountries, ISO 3166-1 alpha-2.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^[A-Z]{2}$`
	OriginCountries []string `json:"originCountries,omitempty"`
	// DestinationCountries, ISO 3166-1 alpha-2.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^[A-Z]{2}$`
	DestinationCountries []string `json:"destinationCountries,omitempty"`
	// DocumentTypes, e.g. certificate, shipment, license.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:Pattern=`^[a-z][a-z0-9-]{0,31}$`
	DocumentTypes []string `json:"documentTypes,omitempty"`
}

// PolicyRule is one CEL rule: a document passes when Expression is true.
type PolicyRule struct {
	// Name of the rule, unique in the policy.
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_-]{0,62}$`
	Name string `json:"name"`
	// Expression in CEL (github.com/google/cel-go), evaluated by every node.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Expression string `json:"expression"`
	// Message recorded when the rule fails: say what is wrong and the fix.
	// It may quote input values with {{path}} placeholders.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Message string `json:"message,omitempty"`
}

// CertificatePolicySpec is one agency's validation rules.
type CertificatePolicySpec struct {
	// AgencyRef is the AgencyMember (in this namespace) that owns and signs
	// the policy; its key must be managed by the operator. Immutable.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.agencyRef is immutable: a policy belongs to one agency; withdraw it and publish a new one"
	AgencyRef LocalObjectReference `json:"agencyRef"`
	// Description of the policy for people.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
	// Scope of the policy.
	// +optional
	Scope PolicyScope `json:"scope,omitempty"`
	// Enforcement: Enforce rejects, Audit records findings, DryRun only evaluates.
	Enforcement Enforcement `json:"enforcement"`
	// Rules of the policy.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Rules []PolicyRule `json:"rules"`
}

// CompileError is a rule that does not compile.
type CompileError struct {
	// Rule name.
	Rule string `json:"rule"`
	// Line in the rule's expression, from 1.
	// +optional
	Line int32 `json:"line,omitempty"`
	// Column in that line, from 1.
	// +optional
	Column int32 `json:"column,omitempty"`
	// Message of the compiler.
	Message string `json:"message"`
}

// CertificatePolicyStatus is what the operator observed.
type CertificatePolicyStatus struct {
	// ObservedGeneration is the generation the last successful pass acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// PolicyID on the ledger (the object's name).
	// +optional
	PolicyID string `json:"policyID,omitempty"`
	// Agency that signs it: agency/<agencyID>.
	// +optional
	Agency string `json:"agency,omitempty"`
	// PublishedVersion is the ledger's version of the policy (1 on publish,
	// +1 on each update).
	// +optional
	PublishedVersion int64 `json:"publishedVersion,omitempty"`
	// PublishedGeneration is the generation the ledger holds.
	// +optional
	PublishedGeneration int64 `json:"publishedGeneration,omitempty"`
	// TxID of the last publish or update.
	// +optional
	TxID string `json:"txID,omitempty"`
	// Height of the block holding it.
	// +optional
	Height int64 `json:"height,omitempty"`
	// CompileErrors of the current generation; nothing is published while
	// there are any.
	// +optional
	CompileErrors []CompileError `json:"compileErrors,omitempty"`
	// Conditions: Ready, Compiled, Published.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CertificatePolicy is an agency's validation rules for certificates, in
// CEL. The operator compiles them with the engine the nodes use, publishes
// them signed by the agency's key and withdraws them when deleted.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cpol,categories=tradeledger
// +kubebuilder:printcolumn:name="Agency",type=string,JSONPath=`.spec.agencyRef.name`
// +kubebuilder:printcolumn:name="Enforcement",type=string,JSONPath=`.spec.enforcement`
// +kubebuilder:printcolumn:name="Version",type=integer,JSONPath=`.status.publishedVersion`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([a-z0-9.-]{0,62}[a-z0-9])?$')",message="metadata.name is the policy's id on the ledger: at most 64 lower-case letters, digits, '.' or '-'"
type CertificatePolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec CertificatePolicySpec `json:"spec"`
	// +optional
	Status CertificatePolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// CertificatePolicyList is a list of CertificatePolicies.
type CertificatePolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CertificatePolicy `json:"items"`
}
