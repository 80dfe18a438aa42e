package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The provisioner runs against a real API server (envtest). No
// controller-manager runs there, so the test plays the PV controller's
// part where it must: it marks a volume Released as the binder would once
// the claim is gone.
func startAPIServer(t *testing.T) kubernetes.Interface {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run through make unit (hack/controlplane.sh builds the API server)")
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return kubernetes.NewForConfigOrDie(cfg)
}

func claim(ns, name, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func TestPendingClaimGetsAPreboundHostPathVolumeAndAReleasedOneIsDeleted(t *testing.T) {
	cs := startAPIServer(t)
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	p := &Provisioner{Client: cs, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	ours, err := cs.CoreV1().PersistentVolumeClaims("default").Create(ctx, claim("default", "data-0", cfg.StorageClass), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := cs.CoreV1().PersistentVolumeClaims("default").Create(ctx, claim("default", "elsewhere", "fast-ssd"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The API server leaves a new claim's phase empty until the binder
	// sets Pending: set it as the binder does.
	for _, c := range []*corev1.PersistentVolumeClaim{ours, other} {
		c.Status.Phase = corev1.ClaimPending
		if _, err := cs.CoreV1().PersistentVolumeClaims("default").UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Pass(ctx); err != nil {
		t.Fatalf("pass: %v", err)
	}
	pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, "pvc-"+string(ours.UID), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("no volume for the pending claim: %v", err)
	}
	if r := pv.Spec.ClaimRef; r == nil || r.Name != "data-0" || r.Namespace != "default" || r.UID != ours.UID {
		t.Fatalf("volume not pre-bound to the claim: %+v", pv.Spec.ClaimRef)
	}
	dir := filepath.Join(cfg.Dir, pv.Name)
	if pv.Spec.HostPath == nil || pv.Spec.HostPath.Path != dir || pv.Spec.StorageClassName != cfg.StorageClass {
		t.Fatalf("volume source %+v class %q", pv.Spec.HostPath, pv.Spec.StorageClassName)
	}
	if q := pv.Spec.Capacity[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Fatalf("capacity %s", q.String())
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o777 {
		t.Fatalf("volume directory %s: %v %v", dir, st, err)
	}
	all, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil || len(all.Items) != 1 {
		t.Fatalf("want one volume (the other class's claim is not ours), got %d (%v)", len(all.Items), err)
	}
	// A second pass changes nothing.
	if err := p.Pass(ctx); err != nil {
		t.Fatalf("second pass: %v", err)
	}

	// The claim is gone; the binder marks the volume Released.
	if err := os.WriteFile(filepath.Join(dir, "ledger.db"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := cs.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Pass(ctx); err != nil {
		t.Fatalf("pass after release: %v", err)
	}
	// The API server's admission adds the pv-protection finalizer, which
	// only the controller-manager (not running here) removes: a deletion
	// shows as a deletion timestamp.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := cs.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && got.DeletionTimestamp != nil) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("released volume still there: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("released volume's directory still there: %v", err)
	}
}

func TestReleasedVolumeOutsideTheDirectoryIsLeftAlone(t *testing.T) {
	cs := startAPIServer(t)
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	outside := t.TempDir()
	p := &Provisioner{Client: cs, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pvc-forged", Annotations: map[string]string{annProvisionedBy: ProvisionerName}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: outside}},
		},
	}
	pv, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := cs.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = p.Pass(ctx)
	if err == nil || !strings.Contains(err.Error(), "is not a volume directory under") {
		t.Fatalf("want a refusal naming the path, got %v", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("directory outside ours was touched: %v", err)
	}
	if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("the volume object was deleted: %v", err)
	}
}
