package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options configure the three controllers. DefaultOptions holds every
// default, in this one place; main.go's flags start from it and the suites
// change what they test. Setup fills nothing in: it refuses what is missing.
type Options struct {
	Build    BuildConfig
	Resolver Resolver
	// Dialer opens ledgers; nil means a ClientDialer over Resolver whose
	// requests are bounded by Intervals.LedgerCall.
	Dialer LedgerDialer
	// Compiler checks policies (EngineCompiler: the nodes' engine).
	Compiler PolicyCompiler
	// Clock schedules key rotations and backups.
	Clock clock.PassiveClock
	// Metrics are the operator's series (NewMetrics on the manager's registry).
	Metrics *Metrics
	// Intervals: requeues, status refreshes and the bound of each ledger call.
	Intervals Intervals
}

// Intervals say how often a reconciler looks again when nothing wakes it.
type Intervals struct {
	// Wait is the requeue while waiting on something outside (a pod, the
	// ledger catching up).
	Wait time.Duration
	// Poll refreshes the status of a stable object (ledger height,
	// members, keys).
	Poll time.Duration
	// LedgerCall bounds each call to a ledger (one status query, one
	// membership change, one transaction): a reconcile never waits longer
	// on a node that does not answer; it requeues instead.
	LedgerCall time.Duration
}

// DefaultOptions are the operator's defaults. What has no default (the
// nodes' image, the metrics registry) is left for the caller.
func DefaultOptions() Options {
	const clusterDomain = "cluster.local"
	return Options{
		Build:     BuildConfig{ClusterDomain: clusterDomain},
		Resolver:  ServiceResolver{ClusterDomain: clusterDomain},
		Compiler:  EngineCompiler{},
		Clock:     clock.RealClock{},
		Intervals: Intervals{Wait: 5 * time.Second, Poll: 30 * time.Second, LedgerCall: 5 * time.Second},
	}
}

// validate says what is missing or out of range, each with its fix.
func (o Options) validate() error {
	var errs []error
	missing := func(field, fix string) {
		errs = append(errs, fmt.Errorf("controllers.Options.%s is not set: %s", field, fix))
	}
	if o.Build.DefaultImage == "" {
		missing("Build.DefaultImage", "name the image the nodes run when a LedgerNetwork sets no spec.image")
	}
	if o.Build.ClusterDomain == "" {
		missing("Build.ClusterDomain", "start from DefaultOptions() (cluster.local)")
	}
	if o.Resolver == nil {
		missing("Resolver", "start from DefaultOptions() (ServiceResolver)")
	}
	if o.Compiler == nil {
		missing("Compiler", "start from DefaultOptions() (EngineCompiler)")
	}
	if o.Clock == nil {
		missing("Clock", "start from DefaultOptions() (the real clock)")
	}
	if o.Metrics == nil {
		missing("Metrics", "NewMetrics(the manager's registry)")
	}
	for _, iv := range []struct {
		field string
		d     time.Duration
	}{{"Wait", o.Intervals.Wait}, {"Poll", o.Intervals.Poll}, {"LedgerCall", o.Intervals.LedgerCall}} {
		if iv.d <= 0 {
			errs = append(errs, fmt.Errorf("controllers.Options.Intervals.%s is %s: it must be positive; start from DefaultOptions()", iv.field, iv.d))
		}
	}
	return errors.Join(errs...)
}

// Setup registers the field indexes and the controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	if o.Dialer == nil {
		o.Dialer = &ClientDialer{Resolver: o.Resolver, Timeout: o.Intervals.LedgerCall, Retry: o.Intervals.LedgerCall}
	}
	if err := SetupFieldIndexes(ctx, mgr); err != nil {
		return err
	}
	rec := mgr.GetEventRecorder("tradeledger-operator")
	if err := (&LedgerNetworkReconciler{Client: mgr.GetClient(), Recorder: rec, Dialer: o.Dialer,
		Resolver: o.Resolver, Build: o.Build, Metrics: o.Metrics, Intervals: o.Intervals, Clock: o.Clock}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&LedgerBackupReconciler{Client: mgr.GetClient(), Recorder: rec, Build: o.Build, Clock: o.Clock,
		Intervals: o.Intervals}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&AgencyMemberReconciler{Client: mgr.GetClient(), Recorder: rec, Dialer: o.Dialer, Clock: o.Clock,
		Metrics: o.Metrics, Intervals: o.Intervals}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&CertificatePolicyReconciler{Client: mgr.GetClient(), Recorder: rec, Dialer: o.Dialer, Compiler: o.Compiler,
		Metrics: o.Metrics, Intervals: o.Intervals}).SetupWithManager(mgr)
}
