package v1alpha1

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// The +kubebuilder:default markers hold literals; the generated CRD must
// default each field to the constant the operator falls back to.
func TestCRDDefaultsAreTheConstants(t *testing.T) {
	raw, err := os.ReadFile("../../config/crd/bases/ledger.tradeledger.io_ledgernetworks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Schema == nil {
		t.Fatalf("want one version with a schema, got %d versions", len(crd.Spec.Versions))
	}
	spec, ok := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
	if !ok {
		t.Fatal("the CRD has no spec")
	}
	for _, tc := range []struct {
		path string
		want any
	}{
		{"replicas", DefaultReplicas},
		{"storage", map[string]string{"size": DefaultStorageSize}},
		{"storage.size", DefaultStorageSize},
		{"logLevel", DefaultLogLevel},
		{"deletionPolicy", DefaultDeletionPolicy},
		{"monitoring.scrapeAnnotations", DefaultScrapeAnnotations},
		{"backup.retention", DefaultBackupRetention},
	} {
		s := spec
		for _, p := range strings.Split(tc.path, ".") {
			next, ok := s.Properties[p]
			if !ok {
				t.Fatalf("spec.%s: no property %q in the CRD", tc.path, p)
			}
			s = next
		}
		if s.Default == nil {
			t.Errorf("spec.%s: the CRD sets no default; want %v", tc.path, tc.want)
			continue
		}
		want, err := json.Marshal(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		if string(s.Default.Raw) != string(want) {
			t.Errorf("spec.%s: the CRD defaults to %s, the constant is %s: make the +kubebuilder:default marker and api/v1alpha1/defaults.go agree, then make manifests",
				tc.path, s.Default.Raw, want)
		}
	}
}
