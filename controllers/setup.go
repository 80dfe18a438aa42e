package controllers

import (
	"context"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options configure the three controllers; main.go and the tests fill them.
type Options struct {
	Build    BuildConfig
	Resolver Resolver
	// Dialer opens ledgers; nil means a ClientDialer over Resolver.
	Dialer LedgerDialer
	// Compiler checks policies; nil means EngineCompiler (the nodes' engine).
	Compiler PolicyCompiler
	// Clock schedules key rotations; nil means the real clock.
	Clock   clock.PassiveClock
	Metrics *Metrics
	// Intervals: requeues, status refreshes and the bound of each ledger call.
	Intervals Intervals
}

// Setup registers the field indexes and the three controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if o.Dialer == nil {
		o.Dialer = &ClientDialer{Resolver: o.Resolver, Timeout: o.Intervals.ledgerCall(), Retry: o.Intervals.ledgerCall()}
	}
	if o.Compiler == nil {
		o.Compiler = EngineCompiler{}
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if err := SetupFieldIndexes(ctx, mgr); err != nil {
		return err
	}
	rec := mgr.GetEventRecorder("tradeledger-operator")
	if err := (&LedgerNetworkReconciler{Client: mgr.GetClient(), Recorder: rec, Dialer: o.Dialer,
		Resolver: o.Resolver, Build: o.Build, Metrics: o.Metrics, Intervals: o.Intervals}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&AgencyMemberReconciler{Client: mgr.GetClient(), Recorder: rec, Dialer: o.Dialer, Clock: o.Clock,
		Metrics: o.Metrics, Intervals: o.Intervals}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&CertificatePolicyReconciler{Client: mgr.GetClient(), Recorder: rec, Dialer: o.Dialer, Compiler: o.Compiler,
		Metrics: o.Metrics, Intervals: o.Intervals}).SetupWithManager(mgr)
}
