package controllers

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestDefaultOptionsLackOnlyWhatHasNoDefaultAndSetupSaysWhat(t *testing.T) {
	err := DefaultOptions().validate()
	if err == nil {
		t.Fatal("the defaults name no image and no metrics registry, and pass")
	}
	for _, field := range []string{"Build.DefaultImage", "Metrics"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%v: does not name %s", err, field)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
		t.Errorf("%d complaints about the defaults, want 2: %v", n, err)
	}

	complete := func() Options {
		o := DefaultOptions()
		o.Build.DefaultImage = "tradeledger:1"
		o.Metrics = NewMetrics(prometheus.NewRegistry())
		return o
	}
	if err := complete().validate(); err != nil {
		t.Fatalf("the defaults with an image and metrics: %v", err)
	}
	for _, tc := range []struct {
		name, field string
		change      func(*Options)
	}{
		{"no cluster domain", "Build.ClusterDomain", func(o *Options) { o.Build.ClusterDomain = "" }},
		{"no resolver", "Resolver", func(o *Options) { o.Resolver = nil }},
		{"no compiler", "Compiler", func(o *Options) { o.Compiler = nil }},
		{"no clock", "Clock", func(o *Options) { o.Clock = nil }},
		{"no requeue while waiting", "Intervals.Wait is 0s", func(o *Options) { o.Intervals.Wait = 0 }},
		{"no status refresh", "Intervals.Poll is 0s", func(o *Options) { o.Intervals.Poll = 0 }},
		{"negative ledger call bound", "Intervals.LedgerCall is -1ns", func(o *Options) { o.Intervals.LedgerCall = -1 }},
	} {
		o := complete()
		tc.change(&o)
		if err := o.validate(); err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want it to name %s", tc.name, err, tc.field)
		}
	}
}
