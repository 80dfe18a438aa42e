package controllers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ledgerv1 "github.com/tradeledger/tradeledger/api/v1alpha1"
)

// contradictions lists the ways a set of conditions contradicts itself:
// Progressing=False "Stable" beside Degraded=True, or Ready=True beside
// Degraded or Progressing being True.
func contradictions(list []metav1.Condition) []string {
	var out []string
	is := func(typ string, st metav1.ConditionStatus) bool {
		c := meta.FindStatusCondition(list, typ)
		return c != nil && c.Status == st
	}
	p := meta.FindStatusCondition(list, ledgerv1.ConditionProgressing)
	if is(ledgerv1.ConditionDegraded, metav1.ConditionTrue) && p != nil && p.Status == metav1.ConditionFalse && p.Reason == reasonStable {
		out = append(out, fmt.Sprintf("Progressing=False %s (%s) beside Degraded=True", p.Reason, p.Message))
	}
	if is(ledgerv1.ConditionReady, metav1.ConditionTrue) {
		for _, typ := range []string{ledgerv1.ConditionDegraded, ledgerv1.ConditionProgressing} {
			if is(typ, metav1.ConditionTrue) {
				out = append(out, "Ready=True beside "+typ+"=True")
			}
		}
	}
	return out
}

func TestProgressingNeverSaysStableBesideDegraded(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "x"}, "x", errors.New("changed"))
	outcome := func(err error) verdict {
		o := runPhases(context.Background(), struct{}{}, []phase[struct{}]{{"only", func(context.Context, struct{}) error { return err }}})
		return decide(o, passNotes{}, Intervals{}, 0)
	}
	outcomes := []struct {
		name string
		err  error
	}{
		{"every phase ran", nil},
		{"waiting on something outside", waitFor("NetworkNotReady", "no leader yet")},
		{"someone wrote first", conflict},
		{"a person must act", degraded("AgencyIDTaken", "choose another spec.agencyID")},
		{"transient failure", errors.New("connection refused")},
	}
	r := readiness{stable: "the ledger holds what the spec says", ready: "fine"}
	// Every pass after every other: a condition left by the one before
	// must not survive into a contradiction.
	for _, before := range outcomes {
		for _, now := range outcomes {
			var list []metav1.Condition
			conds := conditions{list: &list, generation: 1}
			conds.record(outcome(before.err), r)
			conds.record(outcome(now.err), r)
			if c := contradictions(list); len(c) > 0 {
				t.Errorf("%s, then %s: %v", before.name, now.name, c)
			}
			if now.err != nil && !apierrors.IsConflict(now.err) {
				if d := meta.FindStatusCondition(list, ledgerv1.ConditionDegraded); (d.Status == metav1.ConditionTrue) != (outcome(now.err).degraded != nil) {
					t.Errorf("%s, then %s: Degraded=%s", before.name, now.name, d.Status)
				}
			}
		}
	}
}
