package faults

import (
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func op(client int, in noteInput, out noteOutput, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
}

// A prefix of a history keeps what was called by its end, turns a write
// still pending then into one of unknown outcome and drops a pending read:
// so a linearizable history has linearizable prefixes, and a prefix that
// holds the violation is still refused.
func TestHistoryPrefixesAreSoundAndStillCatchViolations(t *testing.T) {
	init := op(0, noteInput{Kind: "init", Key: "k"}, noteOutput{}, -2, -1)
	w1 := op(1, noteInput{Kind: "write", Key: "k", Value: 7}, noteOutput{Value: 7, Version: 1}, 0, 100)
	w2 := op(1, noteInput{Kind: "write", Key: "k", Value: 8}, noteOutput{Value: 8, Version: 2}, 150, 400)
	r := op(2, noteInput{Kind: "read", Key: "k"}, noteOutput{Value: 8, Version: 2}, 300, 350)
	late := op(2, noteInput{Kind: "read", Key: "k"}, noteOutput{Value: 8, Version: 2}, 500, 600)
	h := []porcupine.Operation{init, w1, w2, r, late}

	p := prefix(h, 320)
	if len(p) != 3 {
		t.Fatalf("prefix at 320: %d operations, want init, w1 and w2 (pending: unknown): %+v", len(p), p)
	}
	if out := p[2].Output.(noteOutput); !out.Unknown || p[2].Return != 1<<62 {
		t.Fatalf("a write pending at the prefix's end must become outcome unknown: %+v", p[2])
	}
	for _, at := range []int64{50, 120, 320, 450, 1000} {
		if res := porcupine.CheckOperations(noteModel, prefix(h, at)); !res {
			t.Fatalf("prefix at %d of a linearizable history is not linearizable", at)
		}
	}
	// A stale read: version 1 read after version 2 was acknowledged.
	stale := op(2, noteInput{Kind: "read", Key: "k"}, noteOutput{Value: 7, Version: 1}, 450, 460)
	bad := []porcupine.Operation{init, w1, w2, stale}
	res, _, window, full, shrinks := linearizable(noteModel, bad, time.Minute)
	if res != porcupine.Illegal || shrinks != 0 || window != full {
		t.Fatalf("a stale read: %v over %s of %s after %d halvings, want Illegal over the whole history", res, window, full, shrinks)
	}
	if porcupine.CheckOperations(noteModel, prefix(bad, 470)) {
		t.Fatal("the prefix holding the stale read passed")
	}
}
