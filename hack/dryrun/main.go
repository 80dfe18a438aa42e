// Command dryrun checks rendered Kubernetes manifests against a real API
// server: it starts one (envtest: kube-apiserver and etcd from
// hack/controlplane.sh) with the given CRDs installed and sends every
// object as a server-side apply with dryRun=All. The API server validates
// each object against its OpenAPI schema, CEL rules and admission, and
// stores nothing. make helm-lint runs it on the chart's output.
//
//	KUBEBUILDER_ASSETS="$(hack/controlplane.sh)" go run ./hack/dryrun \
//	    --crds config/crd/bases --crds DIR rendered.yaml...
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

type dirs []string

func (d *dirs) String() string     { return strings.Join(*d, ",") }
func (d *dirs) Set(s string) error { *d = append(*d, s); return nil }

func main() {
	var crds dirs
	flag.Var(&crds, "crds", "directory or file of CRDs to install first (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: dryrun [--crds DIR]... MANIFEST.yaml...\n\n"+
			"Validates every object of the manifests by a dry-run server-side apply against a\n"+
			"throwaway API server (KUBEBUILDER_ASSETS must point at kube-apiserver and etcd).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(crds, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dryrun:", err)
		os.Exit(1)
	}
}

func run(crds, files []string, out io.Writer) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: export KUBEBUILDER_ASSETS=\"$(hack/controlplane.sh)\"")
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		o, err := decodeFile(f)
		if err != nil {
			return err
		}
		objs = append(objs, o...)
	}
	env := &envtest.Environment{CRDInstallOptions: envtest.CRDInstallOptions{Paths: crds, ErrorIfPathMissing: true}}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start the API server: %w", err)
	}
	defer func() { _ = env.Stop() }()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	return check(context.Background(), c, objs, out)
}

// check applies every object with dryRun=All and reports each refusal.
func check(ctx context.Context, c client.Client, objs []*unstructured.Unstructured, out io.Writer) error {
	made := map[string]bool{}
	var failed []string
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && !made[ns] {
			err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create namespace %s: %w", ns, err)
			}
			made[ns] = true
		}
		id := fmt.Sprintf("%s %s", o.GetKind(), o.GetName())
		if o.GetNamespace() != "" {
			id = fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
		}
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.DryRunAll, client.FieldOwner("dryrun"), client.ForceOwnership)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", id, err))
			fmt.Fprintf(out, "FAIL %s: %v\n", id, err)
			continue
		}
		fmt.Fprintf(out, "ok   %s\n", id)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d objects refused by the API server", len(failed), len(objs))
	}
	fmt.Fprintf(out, "dryrun: %d objects accepted by kube-apiserver\n", len(objs))
	return nil
}

func decodeFile(path string) ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("%s: document %d has no apiVersion or kind", path, i+1)
		}
		objs = append(objs, u)
	}
	return objs, nil
}
