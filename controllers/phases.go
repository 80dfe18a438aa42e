package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// passNote is a condition's reason and message.
type passNote struct{ reason, message string }

// waitError ends the phase list early because something outside must
// happen first; the pass is complete as far as the operator can take it.
type waitError struct {
	reason, message string
}

func (e *waitError) Error() string { return e.message }

func waitFor(reason, format string, args ...any) error {
	return &waitError{reason: reason, message: fmt.Sprintf(format, args...)}
}

// degradedError ends the phase list: a person must act.
type degradedError struct {
	reason, message string
}

func (e *degradedError) Error() string { return e.message }

func degraded(reason, format string, args ...any) error {
	return &degradedError{reason: reason, message: fmt.Sprintf(format, args...)}
}

// errPassComplete ends the phase list early with nothing left to do (e.g.
// rules that do not compile: the status says so, nothing is published).
var errPassComplete = errors.New("pass complete")

// phase is one step of a reconcile pass over a scope S.
type phase[S any] struct {
	name string
	run  func(context.Context, S) error
}

// passOutcome is how a pass ended.
type passOutcome struct {
	phase   string    // the phase that ended it early; "" when every phase ran
	waiting *passNote // it waits on something outside (Progressing)
	failed  error     // a *degradedError, a conflict, or a transient error
	requeue time.Duration
}

// unfinishedPass is the outcome until the phases returned: a pass cut short
// (a panic) must not stamp observedGeneration.
var unfinishedPass = passOutcome{failed: errors.New("the pass did not finish")}

// runPhases runs the phases in order until one ends the pass, and says how
// it ended: a wait requeues soon, a conflict (someone wrote first) quietly
// in a second, a degradation at the poll interval, and any other error
// goes back to controller-runtime, which backs off.
func runPhases[S any](ctx context.Context, controller string, m *Metrics, iv Intervals, s S, phases ...phase[S]) passOutcome {
	for _, p := range phases {
		err := p.run(ctx, s)
		if err == nil {
			continue
		}
		o := passOutcome{phase: p.name}
		var we *waitError
		var de *degradedError
		switch {
		case errors.Is(err, errPassComplete):
			return passOutcome{}
		case errors.As(err, &we):
			o.waiting, o.requeue = &passNote{we.reason, we.message}, iv.Wait
		case apierrors.IsConflict(err):
			o.failed, o.requeue = err, time.Second
		case errors.As(err, &de):
			o.failed, o.requeue = err, iv.Poll
			m.PhaseErrors.WithLabelValues(controller, p.name).Inc()
		default:
			o.failed = err
			m.PhaseErrors.WithLabelValues(controller, p.name).Inc()
			log.FromContext(ctx).Error(err, "reconcile phase failed", "phase", p.name)
		}
		return o
	}
	return passOutcome{}
}

// ok says whether the pass went through, so that observedGeneration may
// say the status describes this generation.
func (o passOutcome) ok() bool { return o.failed == nil }

// degradation is the Degraded condition's reason and message, or nil (a
// conflict is not worth telling anyone).
func (o passOutcome) degradation() *passNote {
	var de *degradedError
	switch {
	case o.failed == nil || apierrors.IsConflict(o.failed):
		return nil
	case errors.As(o.failed, &de):
		return &passNote{de.reason, de.message}
	}
	return &passNote{"ReconcileError", fmt.Sprintf("%s phase failed: %v (the operator retries)", o.phase, o.failed)}
}

// transient is the error controller-runtime should back off on, if any.
func (o passOutcome) transient() error {
	var de *degradedError
	if o.failed == nil || apierrors.IsConflict(o.failed) || errors.As(o.failed, &de) {
		return nil
	}
	return fmt.Errorf("%s: %w", o.phase, o.failed)
}

// setProgressingAndDegraded sets the two conditions every kind has from how
// the pass ended. They never contradict each other: a pass that is stuck
// (Degraded) says Progressing=False with the same reason, never "Stable".
// A conflict (someone wrote first) leaves both as they were.
func setProgressingAndDegraded(conds conditions, o passOutcome, stable string) {
	d := o.degradation()
	switch {
	case o.waiting != nil:
		conds.setTrue(ledgerv1.ConditionProgressing, o.waiting.reason, o.waiting.message)
	case d != nil:
		conds.setFalse(ledgerv1.ConditionProgressing, d.reason, "stopped until this is resolved: "+d.message)
	case o.ok():
		conds.setFalse(ledgerv1.ConditionProgressing, reasonStable, stable)
	}
	if d != nil {
		conds.setTrue(ledgerv1.ConditionDegraded, d.reason, d.message)
	} else if o.ok() {
		conds.setFalse(ledgerv1.ConditionDegraded, reasonHealthy, "nothing needs attention")
	}
}

// Reasons of Progressing=False and Degraded=False when all is well.
const (
	reasonStable  = "Stable"
	reasonHealthy = "Healthy"
)

// patchStatus writes the status a pass computed, when it changed (a merge
// patch of the status subresource; an object deleted meanwhile is fine).
func patchStatus(ctx context.Context, c client.Client, obj, base client.Object, changed bool) error {
	if !changed {
		return nil
	}
	if err := c.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch status: %w", err)
	}
	return nil
}
