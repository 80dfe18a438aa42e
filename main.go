// Command operator is the tradeledger Kubernetes operator: it runs
// LedgerNetworks (StatefulSets of ledger nodes with their genesis, CA and
// keys), registers AgencyMembers on their network's ledger and publishes
// their CertificatePolicies.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
	"github.com/tradeledger/tradeledger/controllers"
)

// version is set at build time (make build).
var version = "dev"

// config is the operator's command line.
type config struct {
	metricsAddr, probeAddr string
	leaderElect            bool
	ledgerImage            string
	clusterDomain          string
	poll, ledgerTimeout    time.Duration
}

func main() {
	// The flags' defaults are the controllers' own (one place).
	def := controllers.DefaultOptions()
	var cfg config
	flag.StringVar(&cfg.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus /metrics endpoint (\"0\" disables it)")
	flag.StringVar(&cfg.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.BoolVar(&cfg.leaderElect, "leader-elect", false, "elect one active operator among replicas (a Lease in the operator's namespace)")
	flag.StringVar(&cfg.ledgerImage, "ledger-image", envOr("LEDGER_IMAGE", "tradeledger:"+version),
		"image of the ledger nodes when a LedgerNetwork sets no spec.image (env LEDGER_IMAGE)")
	flag.StringVar(&cfg.clusterDomain, "cluster-domain", envOr("CLUSTER_DOMAIN", def.Build.ClusterDomain),
		"DNS domain of the cluster: the nodes' stable names end with it (env CLUSTER_DOMAIN)")
	flag.DurationVar(&cfg.poll, "status-interval", def.Intervals.Poll, "how often a stable object's status (ledger height, members, keys) is refreshed")
	flag.DurationVar(&cfg.ledgerTimeout, "ledger-timeout", def.Intervals.LedgerCall,
		"bound of each call to a ledger node (status, membership change, transaction): a reconcile never waits longer on a node that does not answer")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	if err := run(ctrl.SetupSignalHandler(), cfg); err != nil {
		ctrl.Log.Error(err, "operator stopped")
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, cfg config) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(ledgerv1.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), controllers.ManagerOptions(scheme, controllers.ManagerConfig{
		MetricsAddr: cfg.metricsAddr, ProbeAddr: cfg.probeAddr, LeaderElect: cfg.leaderElect,
	}))
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	o := controllers.DefaultOptions()
	o.Build.DefaultImage, o.Build.ClusterDomain = cfg.ledgerImage, cfg.clusterDomain
	o.Resolver = controllers.ServiceResolver{ClusterDomain: cfg.clusterDomain}
	o.Intervals.Poll, o.Intervals.LedgerCall = cfg.poll, cfg.ledgerTimeout
	o.Metrics = controllers.NewMetrics(metrics.Registry)
	if err := controllers.Setup(ctx, mgr, o); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.Info("starting operator", "version", version, "ledgerImage", cfg.ledgerImage)
	return mgr.Start(ctx)
}
