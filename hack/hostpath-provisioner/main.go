// Command hostpath-provisioner gives the local single-node cluster
// (hack/cluster.sh) dynamic volumes: every pending claim of its storage
// class gets a hostPath PersistentVolume, pre-bound to the claim, in a
// directory of its own; a released volume's directory and object are
// deleted. One node only: the volumes have no node affinity.
//
// It runs on the host (not in a pod) with a kubeconfig whose user may
// create and delete PersistentVolumes and read claims.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// ProvisionerName is the StorageClass provisioner this program serves.
const ProvisionerName = "tradeledger.local/hostpath"

const annProvisionedBy = "pv.kubernetes.io/provisioned-by"

// Config of one provisioner.
type Config struct {
	// Dir holds one directory per volume.
	Dir string
	// StorageClass whose claims are served.
	StorageClass string
	// Interval between passes.
	Interval time.Duration
}

// DefaultConfig is the local cluster's setting.
func DefaultConfig() Config {
	return Config{Dir: "/var/lib/tradeledger-cluster/volumes", StorageClass: "local-hostpath", Interval: time.Second}
}

func main() {
	cfg := DefaultConfig()
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (env KUBECONFIG)")
	flag.StringVar(&cfg.Dir, "dir", cfg.Dir, "directory that holds one sub-directory per volume")
	flag.StringVar(&cfg.StorageClass, "storage-class", cfg.StorageClass, "storage class whose pending claims get volumes")
	flag.DurationVar(&cfg.Interval, "interval", cfg.Interval, "time between passes over claims and volumes")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(*kubeconfig, cfg, log); err != nil {
		log.Error("hostpath-provisioner stopped", "err", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, cfg Config, log *slog.Logger) error {
	if kubeconfig == "" {
		return errors.New("--kubeconfig: required (or set KUBECONFIG)")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	p := &Provisioner{Client: cs, Config: cfg, Log: log}
	log.Info("serving", "storageClass", cfg.StorageClass, "dir", cfg.Dir)
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		if err := p.Pass(ctx); err != nil && ctx.Err() == nil {
			log.Warn("pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Provisioner creates and deletes hostPath volumes.
type Provisioner struct {
	Client kubernetes.Interface
	Config Config
	Log    *slog.Logger
}

// Pass provisions every pending claim of the class and deletes every
// released volume this provisioner made.
func (p *Provisioner) Pass(ctx context.Context) error {
	claims, err := p.Client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list claims: %w", err)
	}
	var errs []error
	for i := range claims.Items {
		c := &claims.Items[i]
		if c.Spec.VolumeName != "" || c.Status.Phase != corev1.ClaimPending || c.DeletionTimestamp != nil ||
			c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != p.Config.StorageClass {
			continue
		}
		if err := p.provision(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	vols, err := p.Client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list volumes: %w", err))...)
	}
	for i := range vols.Items {
		v := &vols.Items[i]
		if v.Annotations[annProvisionedBy] != ProvisionerName || v.DeletionTimestamp != nil ||
			v.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
			(v.Status.Phase != corev1.VolumeReleased && v.Status.Phase != corev1.VolumeFailed) {
			continue
		}
		if err := p.remove(ctx, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func volumeName(c *corev1.PersistentVolumeClaim) string { return "pvc-" + string(c.UID) }

func (p *Provisioner) provision(ctx context.Context, c *corev1.PersistentVolumeClaim) error {
	name := volumeName(c)
	dir := filepath.Join(p.Config.Dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("claim %s/%s: %w", c.Namespace, c.Name, err)
	}
	// hostPath volumes get no fsGroup ownership: any pod user may write.
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	size := c.Spec.Resources.Requests[corev1.ResourceStorage]
	modes := c.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	hostPathType := corev1.HostPathDirectory
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: ProvisionerName},
			Labels: map[string]string{"app.kubernetes.io/managed-by": "tradeledger-hostpath-provisioner"}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              p.Config.StorageClass,
			VolumeMode:                    c.Spec.VolumeMode,
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: c.Namespace, Name: c.Name, UID: c.UID},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType}},
		},
	}
	_, err := p.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create volume for claim %s/%s: %w", c.Namespace, c.Name, err)
	}
	p.Log.Info("provisioned", "claim", c.Namespace+"/"+c.Name, "volume", name, "size", size.String(), "dir", dir)
	return nil
}

func (p *Provisioner) remove(ctx context.Context, v *corev1.PersistentVolume) error {
	if v.Spec.HostPath != nil {
		dir := filepath.Clean(v.Spec.HostPath.Path)
		// Only ever delete inside our own directory.
		if rel, err := filepath.Rel(p.Config.Dir, dir); err != nil || rel == "." || strings.HasPrefix(rel, "..") || strings.Contains(rel, string(filepath.Separator)) {
			return fmt.Errorf("volume %s: path %s is not a volume directory under %s; left alone", v.Name, dir, p.Config.Dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	err := p.Client.CoreV1().PersistentVolumes().Delete(ctx, v.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete volume %s: %w", v.Name, err)
	}
	p.Log.Info("deleted released volume", "volume", v.Name)
	return nil
}
