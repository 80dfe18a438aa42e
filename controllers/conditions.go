package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// conditions sets an object's conditions, always stamping the generation
// they were computed for. Every condition is set on every pass, so there
// is no "changed ||" chain that could skip one.
type conditions struct {
	list       *[]metav1.Condition
	generation int64
}

func (c conditions) set(typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(c.list, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message,
		ObservedGeneration: c.generation})
}

func (c conditions) setTrue(typ, reason, message string) {
	c.set(typ, metav1.ConditionTrue, reason, message)
}
func (c conditions) setFalse(typ, reason, message string) {
	c.set(typ, metav1.ConditionFalse, reason, message)
}

func (c conditions) get(typ string) *metav1.Condition { return meta.FindStatusCondition(*c.list, typ) }

// readiness is what a kind says about Ready: the messages of a pass that
// settled with nothing noted, and its own conditions Ready requires.
type readiness struct {
	stable   string   // Progressing=False Stable: nothing under way
	ready    string   // Ready=True
	required []string // the kind's own conditions that must be True, in order
}

// record writes a pass's verdict: Progressing and Degraded, then Ready
// from them and the kind's own conditions (which the kind wrote first).
// They never contradict each other: a pass that is stuck (Degraded) says
// Progressing=False with the same reason, never Stable. A pass that did
// not settle (a conflict, a failure) leaves what it did not note as it
// was: it has not looked at everything, so it cannot say all is well.
func (c conditions) record(v verdict, r readiness) {
	switch {
	case v.progressing != nil:
		c.setTrue(ledgerv1.ConditionProgressing, v.progressing.reason, v.progressing.message)
	case v.degraded != nil:
		c.setFalse(ledgerv1.ConditionProgressing, v.degraded.reason, "stopped until this is resolved: "+v.degraded.message)
	case v.settled:
		c.setFalse(ledgerv1.ConditionProgressing, reasonStable, r.stable)
	}
	switch {
	case v.degraded != nil:
		c.setTrue(ledgerv1.ConditionDegraded, v.degraded.reason, v.degraded.message)
	case v.settled:
		c.setFalse(ledgerv1.ConditionDegraded, reasonHealthy, "nothing needs attention")
	}
	c.summarize(r.ready, r.required...)
}

// Reasons of Progressing=False and Degraded=False when all is well.
const (
	reasonStable  = "Stable"
	reasonHealthy = "Healthy"
)

// summarize sets Ready from Degraded, Progressing and the kind's own
// conditions that must be True (in order): Ready carries the reason and
// message of the first thing that keeps it from being True.
func (c conditions) summarize(readyMessage string, required ...string) {
	if d := c.get(ledgerv1.ConditionDegraded); d != nil && d.Status == metav1.ConditionTrue {
		c.setFalse(ledgerv1.ConditionReady, d.Reason, d.Message)
		return
	}
	if p := c.get(ledgerv1.ConditionProgressing); p != nil && p.Status == metav1.ConditionTrue {
		c.setFalse(ledgerv1.ConditionReady, p.Reason, p.Message)
		return
	}
	for _, typ := range required {
		r := c.get(typ)
		if r == nil {
			c.setFalse(ledgerv1.ConditionReady, "Unknown", typ+" has not been determined yet")
			return
		}
		if r.Status != metav1.ConditionTrue {
			c.setFalse(ledgerv1.ConditionReady, r.Reason, r.Message)
			return
		}
	}
	c.setTrue(ledgerv1.ConditionReady, "Ready", readyMessage)
}
