package clockcheck

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// peers is a Source whose peers' clocks are this process's clock shifted
// by a set offset: other machines' clocks cannot be set here, and the
// sampling over HTTPS is tested with real nodes (ledgernode/node).
type peers struct {
	voters []string
	offset map[string]time.Duration
	down   map[string]bool
	old    map[string]bool
}

func (p peers) Voters() ([]Peer, error) {
	var out []Peer
	for _, id := range p.voters {
		out = append(out, Peer{ID: id, APIAddr: id + ":8443"})
	}
	return out, nil
}

func (p peers) PeerClock(_ context.Context, pr Peer) (time.Time, error) {
	switch {
	case p.down[pr.ID]:
		return time.Time{}, errors.New("connection refused")
	case p.old[pr.ID]:
		return time.Time{}, ErrUnsupported
	}
	return time.Now().Add(p.offset[pr.ID]), nil
}

func monitor(t *testing.T, self string, selfOffset time.Duration, p peers) *Monitor {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Self = self
	cfg.Clock = func() time.Time { return time.Now().Add(selfOffset) }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.round(context.Background(), p)
	return m
}

func TestClockCheckNeedsAQuorumOfAgreeingFreshClocks(t *testing.T) {
	three := []string{"n0", "n1", "n2"}
	for _, tc := range []struct {
		name       string
		selfOffset time.Duration
		p          peers
		want       error // nil, ErrSkewed, ErrUnconfirmed
		target     string
		inMessage  string
	}{
		{name: "all agree", p: peers{voters: three}},
		{name: "a follower an hour ahead is outvoted", p: peers{voters: three, offset: map[string]time.Duration{"n2": time.Hour}}},
		{name: "a down peer does not count; one agreeing peer is a quorum", p: peers{voters: three, down: map[string]bool{"n2": true}}},
		{name: "a single voter agrees with itself", p: peers{voters: []string{"n0"}}},
		{name: "a peer of an older version counts as agreeing", selfOffset: time.Hour, p: peers{voters: three, old: map[string]bool{"n1": true}}},
		{name: "leader an hour ahead of both peers", selfOffset: time.Hour, p: peers{voters: three},
			want: ErrSkewed, target: "n1", inMessage: "clock of n0 is 3600 s ahead of a quorum of voters"},
		{name: "leader an hour behind", selfOffset: -time.Hour, p: peers{voters: three},
			want: ErrSkewed, target: "n1", inMessage: "3600 s behind"},
		{name: "leader ahead, one peer down: cannot tell, so it does not propose", selfOffset: time.Hour, p: peers{voters: three, down: map[string]bool{"n1": true}},
			want: ErrUnconfirmed, inMessage: "n1 not measured, n2 -3600.0 s"},
		{name: "both peers down: cannot tell", p: peers{voters: three, down: map[string]bool{"n1": true, "n2": true}},
			want: ErrUnconfirmed, inMessage: "cannot compare its clock"},
		{name: "just inside the bound", selfOffset: 29 * time.Second, p: peers{voters: three}},
		{name: "the target agrees with a quorum, not just with itself", selfOffset: time.Hour,
			p:    peers{voters: []string{"n0", "n1", "n2", "n3", "n4"}, offset: map[string]time.Duration{"n1": 3 * time.Hour}},
			want: ErrSkewed, target: "n2"},
		{name: "no quorum of agreeing clocks anywhere: no target", selfOffset: time.Hour,
			p:    peers{voters: []string{"n0", "n1", "n2", "n3", "n4"}, offset: map[string]time.Duration{"n1": 2 * time.Hour, "n2": 3 * time.Hour}},
			want: ErrSkewed, target: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := monitor(t, "n0", tc.selfOffset, tc.p)
			err := m.Check(m.cfg.Clock())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var se *SkewError
			if !errors.Is(err, tc.want) || !errors.As(err, &se) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if se.Target != tc.target {
				t.Errorf("target %q, want %q", se.Target, tc.target)
			}
			if !strings.Contains(err.Error(), tc.inMessage) {
				t.Errorf("message %q lacks %q", err, tc.inMessage)
			}
		})
	}
}

// A sample is extrapolated with the monotonic clock: a local clock that
// jumps after the last sample is caught by the next check, not the next
// sample.
func TestClockCheckCatchesALocalJumpBetweenSamples(t *testing.T) {
	var jump time.Duration
	cfg := DefaultConfig()
	cfg.Self = "n0"
	cfg.Clock = func() time.Time { return time.Now().Add(jump) }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.round(context.Background(), peers{voters: []string{"n0", "n1", "n2"}})
	if err := m.Check(m.cfg.Clock()); err != nil {
		t.Fatalf("setup: refused before the jump: %v", err)
	}
	jump = time.Hour
	if err := m.Check(m.cfg.Clock()); !errors.Is(err, ErrSkewed) {
		t.Fatalf("after the jump: %v, want ErrSkewed", err)
	}
}

func TestClockOffsetsNameTheSkewedMemberAgainstTheMedian(t *testing.T) {
	// Measured by the skewed node itself and by a good one: the same answer.
	for _, self := range []struct {
		id     string
		offset time.Duration
		p      peers
	}{
		{"n0", time.Hour, peers{voters: []string{"n0", "n1", "n2"}}},
		{"n1", 0, peers{voters: []string{"n0", "n1", "n2"}, offset: map[string]time.Duration{"n0": time.Hour}}},
	} {
		m := monitor(t, self.id, self.offset, self.p)
		offs, skew := m.Offsets()
		if len(offs) != 3 {
			t.Fatalf("%s: offsets %+v", self.id, offs)
		}
		for _, o := range offs {
			if !o.Measure {
				t.Fatalf("%s: %s not measured", self.id, o.ID)
			}
			if want := o.ID == "n0"; o.Skewed != want {
				t.Errorf("%s: %s skewed %v, want %v (offset %s)", self.id, o.ID, o.Skewed, want, o.Offset)
			}
			if o.ID == "n0" && (o.Offset-time.Hour).Abs() > time.Second {
				t.Errorf("%s: n0 offset %s, want about 1h", self.id, o.Offset)
			}
		}
		if !strings.Contains(skew, "n0's clock is 3600 s ahead of the voters' median") {
			t.Errorf("%s: skew sentence %q", self.id, skew)
		}
	}
	m := monitor(t, "n0", 0, peers{voters: []string{"n0", "n1", "n2"}})
	if _, skew := m.Offsets(); skew != "" {
		t.Errorf("agreeing clocks named skewed: %q", skew)
	}
}

func TestClockCheckConfigIsValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxOffset = 10 * time.Millisecond
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "MaxOffset") {
		t.Fatalf("a 10ms bound accepted: %v", err)
	}
	cfg = DefaultConfig()
	cfg.Fresh = 0
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "Fresh") {
		t.Fatalf("a zero freshness accepted: %v", err)
	}
}

// heldPeers is a Source whose one peer (n1) answers a clock request only
// once release is closed: an in-process fake of the peers' HTTPS clock
// route (the real route is tested with real nodes in ledgernode/node),
// needed here to hold a round in progress for as long as the test says.
type heldPeers struct {
	calls   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (p *heldPeers) Voters() ([]Peer, error) {
	return []Peer{{ID: "n0", APIAddr: "n0:8443"}, {ID: "n1", APIAddr: "n1:8443"}}, nil
}

func (p *heldPeers) PeerClock(ctx context.Context, _ Peer) (time.Time, error) {
	p.calls.Add(1)
	p.entered <- struct{}{}
	select {
	case <-p.release:
		return time.Now(), nil
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// TestRefreshWaitsForTheRoundInProgressAndRunsNoOther: the proposer's
// Refresh, called while a round is in progress, used to wait for that
// round and then run a second one (up to twice the sample timeout); it
// also ignored its ctx while waiting.
func TestRefreshWaitsForTheRoundInProgressAndRunsNoOther(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Self = "n0"
	cfg.Interval = time.Hour // one round from Run: the one held
	cfg.Timeout = time.Hour  // the held sample ends only when released
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 4)
	m.waiting = func() { waiting <- struct{}{} }
	src := &heldPeers{entered: make(chan struct{}, 4), release: make(chan struct{})}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { m.Run(ctx, src); close(ran) }()
	defer func() { stop(); <-ran }()
	<-src.entered // Run's round is asking n1 for its clock
	if err := m.Check(cfg.Clock()); !errors.Is(err, ErrUnconfirmed) {
		t.Fatalf("setup: Check before n1 answers = %v, want ErrUnconfirmed", err)
	}
	returned := func(done <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(time.Minute): // a hang guard, not a measurement
			t.Fatalf("Refresh did not return %s", what)
		}
	}

	// A Refresh whose ctx ends returns then, with the round still held.
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Refresh(rctx); close(done) }()
	<-waiting
	cancel()
	returned(done, "when its ctx ended")
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("n1 asked %d times, want 1 (the held round; Refresh started another)", n)
	}

	// A Refresh during the round returns when it ends, with its sample,
	// and asks n1 no second time.
	done = make(chan struct{})
	go func() { m.Refresh(context.Background()); close(done) }()
	<-waiting
	close(src.release)
	returned(done, "after the round in progress ended")
	if n := src.calls.Load(); n != 1 {
		t.Fatalf("n1 asked %d times, want 1 (Refresh ran a second round after the one in progress)", n)
	}
	if err := m.Check(cfg.Clock()); err != nil {
		t.Fatalf("Check after the round = %v, want nil (n1's sample from the round Refresh waited for)", err)
	}
}
