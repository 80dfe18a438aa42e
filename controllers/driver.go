package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// kind is what the driver needs of one kind of object: O is the object,
// S the scope of one pass over it. LedgerNetworkReconciler,
// AgencyMemberReconciler and CertificatePolicyReconciler implement it.
type kind[O client.Object, S passScope] interface {
	// newObject is an empty object to read into.
	newObject() O
	// statusOf points at the object's conditions and observedGeneration,
	// which only the driver writes.
	statusOf(O) (conditions *[]metav1.Condition, observedGeneration *int64)
	// begin starts a pass over the object: its scope and its phases, in
	// order.
	begin(O) (S, []phase[S])
	// summarize writes what the pass's facts say beyond Progressing,
	// Degraded and Ready (the kind's own conditions through conds, its
	// phase, its metrics) and says what Ready needs.
	summarize(s S, v verdict, conds conditions) readiness
	// finalize tells the ledger that the object goes; false while it must
	// wait. A *refusal is the ledger's final answer: the object goes.
	finalize(context.Context, O) (done bool, err error)
	// forget drops what is kept about an object that is gone (its series).
	forget(types.NamespacedName)
}

// driver runs the reconcile passes of one kind, one skeleton for all:
// get (gone: forget it) → deletion (finalize, then drop the finalizer) →
// ensure the finalizer → defer the one status patch → the phases → the
// requeue decision. The deferred patch writes the kind's summary,
// Progressing, Degraded and Ready through one helper, and stamps
// observedGeneration only when the pass settled.
type driver[O client.Object, S passScope] struct {
	client    client.Client
	recorder  events.EventRecorder
	metrics   *Metrics
	intervals Intervals
	name      string        // the controller: metrics and logs
	finalizer string        // held until finalize is done; "" when nothing must be told
	refresh   time.Duration // how often a settled object is looked at again; 0: on change only
	kind      kind[O, S]
}

// reconcile is one pass over the object req names.
func (d *driver[O, S]) reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	obj := d.kind.newObject()
	if err := d.client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			d.kind.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !obj.GetDeletionTimestamp().IsZero() {
		return d.delete(ctx, obj)
	}
	if d.finalizer != "" && controllerutil.AddFinalizer(obj, d.finalizer) {
		if err := d.client.Update(ctx, obj); err != nil {
			return ctrl.Result{}, err
		}
	}

	base := obj.DeepCopyObject().(O)
	s, phases := d.kind.begin(obj)
	o := unfinishedPass
	defer func() {
		v := decide(o, *s.notes(), d.intervals, d.refresh)
		d.record(ctx, obj, s, v)
		retErr = errors.Join(v.retry, d.patchStatus(ctx, base, obj))
		res = ctrl.Result{}
		if retErr == nil {
			res.RequeueAfter = v.requeue
		}
	}()
	o = runPhases(ctx, s, phases)
	return ctrl.Result{}, nil
}

// record writes a pass's verdict into the object: the kind's summary, then
// Progressing, Degraded and Ready, and observedGeneration when the pass
// settled. It counts a failed phase and reports a refusal as an event.
func (d *driver[O, S]) record(ctx context.Context, obj O, s S, v verdict) {
	list, observed := d.kind.statusOf(obj)
	conds := conditions{list: list, generation: obj.GetGeneration()}
	conds.record(v, d.kind.summarize(s, v, conds))
	if v.settled {
		*observed = obj.GetGeneration()
	}
	if v.failedPhase != "" {
		d.metrics.PhaseErrors.WithLabelValues(d.name, v.failedPhase).Inc()
	}
	if v.retry != nil {
		log.FromContext(ctx).Error(v.retry, "reconcile phase failed", "phase", v.failedPhase)
	}
	if v.refusal != nil {
		d.reportRefusal(obj, v.refusal)
	}
}

// reportRefusal tells a person that the ledger refused a transaction: a
// Warning event under the refusal's reason, the transaction type as its
// action.
func (d *driver[O, S]) reportRefusal(obj O, ref *refusal) {
	d.recorder.Eventf(obj, nil, corev1.EventTypeWarning, ref.reason, ref.typ, "%s", ref.Error())
}

// delete lets a deleted object go once the ledger has been told (or
// refused, which is as final).
func (d *driver[O, S]) delete(ctx context.Context, obj O) (ctrl.Result, error) {
	if d.finalizer == "" || !controllerutil.ContainsFinalizer(obj, d.finalizer) {
		return ctrl.Result{}, nil
	}
	done, err := d.kind.finalize(ctx, obj)
	var ref *refusal
	if errors.As(err, &ref) {
		// The ledger's answer is final (already suspended, already
		// withdrawn): say so, and let the object go.
		d.reportRefusal(obj, ref)
		done, err = true, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if !done {
		return ctrl.Result{RequeueAfter: d.intervals.Wait}, nil
	}
	controllerutil.RemoveFinalizer(obj, d.finalizer)
	return ctrl.Result{}, client.IgnoreNotFound(d.client.Update(ctx, obj))
}

// patchStatus writes what the pass changed in the status, and only that: a
// merge patch of the status subresource, sent when the status changed. A
// phase that updated the object itself (the publication claim) changed
// its metadata, which is not the status's to send. An object deleted
// meanwhile is fine.
func (d *driver[O, S]) patchStatus(ctx context.Context, base, obj O) error {
	data, err := client.MergeFrom(base).Data(obj)
	if err != nil {
		return fmt.Errorf("patch status: %w", err)
	}
	var diff struct {
		Status json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(data, &diff); err != nil {
		return fmt.Errorf("patch status: %w", err)
	}
	if len(diff.Status) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]json.RawMessage{"status": diff.Status})
	if err != nil {
		return fmt.Errorf("patch status: %w", err)
	}
	if err := d.client.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch status: %w", err)
	}
	return nil
}
