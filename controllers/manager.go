package controllers

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// LeaderElectionID names the Lease the operator's replicas elect a leader by.
const LeaderElectionID = "operator.ledger.tradeledger.io"

// ManagerConfig is what shapes the operator's manager; main.go fills it
// from its flags, the suites from what they test.
type ManagerConfig struct {
	MetricsAddr string // "0" disables /metrics
	ProbeAddr   string // "" or "0" disables /healthz and /readyz
	LeaderElect bool
	// LeaderElectionNamespace holds the Lease; empty means the operator
	// pod's own namespace (required outside a cluster).
	LeaderElectionNamespace string
}

// ManagerOptions are the manager's options, in one place for main.go and
// the suites.
func ManagerOptions(scheme *runtime.Scheme, c ManagerConfig) ctrl.Options {
	// Secrets, ConfigMaps, Pods and Jobs are cached only when the operator
	// made them: it never holds every Secret of the cluster in memory.
	managed := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy})
	return ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: c.MetricsAddr},
		HealthProbeBindAddress:  c.ProbeAddr,
		LeaderElection:          c.LeaderElect,
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: c.LeaderElectionNamespace,
		// A stopping operator hands its Lease back, so a standby takes over
		// at its next retry (about 2 s) instead of after the whole lease
		// duration (15 s). Safe because main returns, and the process
		// ends, as soon as the manager has stopped its controllers.
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:    {Label: managed},
			&corev1.ConfigMap{}: {Label: managed},
			&corev1.Pod{}:       {Label: managed},
			&batchv1.Job{}:      {Label: managed},
		}},
	}
}
