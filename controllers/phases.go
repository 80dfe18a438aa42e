package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// passNote is a condition's reason and message.
type passNote struct{ reason, message string }

// phase is one step of a reconcile pass over a scope S. It records what
// it finds on the scope and ends the pass early by returning an error:
// waitFor (something outside must happen), degraded (a person must act),
// errPassComplete (nothing left to do), a *refusal from the ledger, a
// conflict, or any other error (transient: retried).
type phase[S any] struct {
	name string
	run  func(context.Context, S) error
}

// waitError ends the phase list early because something outside must
// happen first; the pass is complete as far as the operator can take it.
type waitError struct {
	reason, message string
}

func (e *waitError) Error() string { return e.message }

func waitFor(reason, format string, args ...any) error {
	return &waitError{reason: reason, message: fmt.Sprintf(format, args...)}
}

// degradation is an error that ends a pass for a person to act on: a
// *degradedError, or a *refusal (the ledger's final answer).
type degradation interface {
	error
	degradedNote() passNote
}

// degradedError ends the phase list: a person must act.
type degradedError struct {
	reason, message string
}

func (e *degradedError) Error() string          { return e.message }
func (e *degradedError) degradedNote() passNote { return passNote{e.reason, e.message} }

func degraded(reason, format string, args ...any) error {
	return &degradedError{reason: reason, message: fmt.Sprintf(format, args...)}
}

// errPassComplete ends the phase list early with nothing left to do (e.g.
// rules that do not compile: the status says so, nothing is published).
var errPassComplete = errors.New("pass complete")

// errPhaseOrder: a phase ran before the phase that records what it acts
// on. It is a mistake in a phase list, never a state of the cluster.
var errPhaseOrder = errors.New("phase order")

// after declares, in its type, a phase that acts on a fact an earlier
// phase of the pass records on the scope (the network's identity, the
// ledger's answer): run receives it. A phase list that runs it before the
// fact is there fails the pass with errPhaseOrder, naming the fact,
// instead of dereferencing nil.
func after[S, F any](fact func(S) *F, run func(context.Context, S, *F) error) func(context.Context, S) error {
	return func(ctx context.Context, s S) error {
		f := fact(s)
		if f == nil {
			return fmt.Errorf("%w: %T is not known yet: the phase that records it must come first", errPhaseOrder, f)
		}
		return run(ctx, s, f)
	}
}

// passNotes are what a pass found that steers its conditions and its
// requeue without ending it (a voter that does not answer, pods still
// starting, a rotation due later). Every scope embeds them; only the
// driver turns them into conditions.
type passNotes struct {
	progressing *passNote // something is under way or awaited
	degraded    *passNote // something needs a person
	requeue     time.Duration
}

func (n *passNotes) notes() *passNotes { return n }

// noteProgressing records what the pass waits for; the first note stands.
func (n *passNotes) noteProgressing(reason, format string, args ...any) {
	if n.progressing == nil {
		n.progressing = &passNote{reason, fmt.Sprintf(format, args...)}
	}
}

// noteDegraded records what needs a person; the first note stands.
func (n *passNotes) noteDegraded(reason, format string, args ...any) {
	if n.degraded == nil {
		n.degraded = &passNote{reason, fmt.Sprintf(format, args...)}
	}
}

// requeueAfter asks to look again no later than d from now.
func (n *passNotes) requeueAfter(d time.Duration) { n.requeue = sooner(n.requeue, d) }

// passScope is the scope of one pass over one object: a struct that
// embeds passNotes beside what its phases record.
type passScope interface{ notes() *passNotes }

// passOutcome is how the phase list ended: the phase that ended it early
// and why, or neither when every phase ran.
type passOutcome struct {
	phase string
	err   error
}

// unfinishedPass is the outcome until the phases returned: a pass cut short
// (a panic) must not stamp observedGeneration.
var unfinishedPass = passOutcome{phase: "(unfinished)", err: errors.New("the pass did not finish")}

// runPhases runs the phases in order until one ends the pass.
func runPhases[S any](ctx context.Context, s S, phases []phase[S]) passOutcome {
	for _, p := range phases {
		if err := p.run(ctx, s); err != nil {
			return passOutcome{phase: p.name, err: err}
		}
	}
	return passOutcome{}
}

// verdict is what one pass comes to: the conditions it writes, whether it
// may stamp observedGeneration, what it reports, and when to look again.
type verdict struct {
	progressing *passNote // Progressing=True with this
	degraded    *passNote // Degraded=True with this
	// settled: the pass went as far as the operator can take it (every
	// phase ran, or it waits on something outside). observedGeneration
	// says the status describes this generation, and what no note says
	// is Stable and Healthy. A pass that is not settled (a conflict, a
	// failure) leaves unnoted conditions as they were.
	settled bool
	// refusal: the ledger refused a transaction (a Warning event).
	refusal *refusal
	// failedPhase is the phase that failed (degraded or transient).
	failedPhase string
	// retry is a transient failure: controller-runtime backs off.
	retry   error
	requeue time.Duration
}

// decide turns how the phase list ended and what the pass noted into a
// verdict. A wait requeues soon, a conflict (someone wrote first) quietly
// in a second, a degradation at the poll interval, and any other error
// goes back to controller-runtime, which backs off. The first note of a
// kind stands: a finding of an earlier phase is not overwritten by how a
// later one ended. refresh is how often a settled object is looked at
// again (0: only when something changes).
func decide(o passOutcome, n passNotes, iv Intervals, refresh time.Duration) verdict {
	v := verdict{progressing: n.progressing, degraded: n.degraded}
	first := func(noted *passNote, now passNote) *passNote {
		if noted != nil {
			return noted
		}
		return &now
	}
	var we *waitError
	var de degradation
	switch err := o.err; {
	case err == nil || errors.Is(err, errPassComplete):
		v.settled = true
	case errors.As(err, &we):
		v.settled = true
		v.progressing = first(v.progressing, passNote{we.reason, we.message})
	case apierrors.IsConflict(err):
		v.requeue = time.Second
	case errors.As(err, &de):
		v.degraded = first(v.degraded, de.degradedNote())
		v.failedPhase = o.phase
		errors.As(err, &v.refusal)
	default:
		v.degraded = first(v.degraded, passNote{"ReconcileError", fmt.Sprintf("%s phase failed: %v (the operator retries)", o.phase, err)})
		v.failedPhase = o.phase
		v.retry = fmt.Errorf("%s: %w", o.phase, err)
		return v
	}
	if v.progressing != nil {
		v.requeue = sooner(v.requeue, iv.Wait)
	}
	if v.degraded != nil {
		v.requeue = sooner(v.requeue, iv.Poll)
	}
	v.requeue = sooner(sooner(v.requeue, n.requeue), refresh)
	return v
}

// sooner is the shorter of two positive durations (0 means none).
func sooner(a, b time.Duration) time.Duration {
	switch {
	case b <= 0:
		return a
	case a <= 0 || b < a:
		return b
	}
	return a
}
