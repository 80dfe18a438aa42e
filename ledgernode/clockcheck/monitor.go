// Package clockcheck compares this node's clock with the other voters'
// clocks, so that a leader never stamps a block with a time a quorum of
// voters disagrees with (a leader whose clock runs an hour ahead would
// otherwise make every new transaction look expired).
//
// Every node samples every voter's clock about once a second over the
// authenticated node-to-node HTTPS (an NTP-style exchange: the offset is
// the peer's reading minus the midpoint of the request's send and receive
// times). A sample is extrapolated with the monotonic clock, so a check
// made between samples compares the clock reading about to be stamped
// with each peer's clock now: a local clock that jumps is caught at once,
// a peer's jump at its next sample.
//
// It is outside the state machine: it decides whether the leader proposes
// at all, never what a block contains, and the FSM never consults it.
package clockcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Errors a proposer decides on (both wrapped in *SkewError).
var (
	// ErrSkewed: the fresh samples show that no quorum of voters agrees
	// with this node's clock.
	ErrSkewed = errors.New("clock skew")
	// ErrUnconfirmed: too few fresh samples to say either way (peers not
	// answering, or just started).
	ErrUnconfirmed = errors.New("clock unconfirmed")
)

// Peer is a voter to sample.
type Peer struct {
	ID      string
	APIAddr string
}

// Source is what the monitor samples through: the current voters and a
// peer's clock reading (the node's HTTPS client).
type Source interface {
	Voters() ([]Peer, error)
	// PeerClock asks a peer for its clock. ErrUnsupported: the peer runs
	// a version without the clock route.
	PeerClock(ctx context.Context, p Peer) (time.Time, error)
}

// ErrUnsupported is returned by a Source for a peer that cannot tell its
// clock (an older version during a rolling upgrade): it counts as
// agreeing, so that an upgrade does not stop writes.
var ErrUnsupported = errors.New("peer does not report its clock")

// Config configures a Monitor. Start from DefaultConfig.
type Config struct {
	Self string
	// MaxOffset is how far a voter's clock may be from this node's and
	// still agree (default 30s).
	MaxOffset time.Duration
	// Fresh is how old a sample may be and still count (default 30s): a
	// peer not sampled for that long (down, partitioned) does not count.
	// Samples are extrapolated with the monotonic clock, so an older one
	// still catches this node's own clock jumping; only a peer's jump
	// waits for its next sample. Generous, so that a loaded peer that
	// answers late for a few seconds does not stop writes.
	Fresh time.Duration
	// Interval is how often every voter is sampled (default 1s).
	Interval time.Duration
	// Timeout bounds one sample (default 5s).
	Timeout time.Duration
	// Clock is this node's clock (the one block times come from).
	Clock  func() time.Time
	Logger *slog.Logger
	// Observe, if set, is told each peer's measured offset (metrics).
	Observe func(id string, offset time.Duration)
}

// DefaultConfig fills every field but Self.
func DefaultConfig() Config {
	return Config{MaxOffset: 30 * time.Second, Fresh: 30 * time.Second, Interval: time.Second, Timeout: 5 * time.Second,
		Clock: time.Now, Logger: slog.New(slog.DiscardHandler)}
}

// Validate names what is out of range.
func (c Config) Validate() error {
	var errs []error
	for _, p := range []struct {
		field string
		v     time.Duration
	}{{"MaxOffset", c.MaxOffset}, {"Fresh", c.Fresh}, {"Interval", c.Interval}, {"Timeout", c.Timeout}} {
		if p.v <= 0 {
			errs = append(errs, fmt.Errorf("clockcheck.Config.%s: %s: must be positive (start from DefaultConfig)", p.field, p.v))
		}
	}
	if c.MaxOffset > 0 && c.MaxOffset < time.Second {
		errs = append(errs, fmt.Errorf("clockcheck.Config.MaxOffset: %s: must be at least 1s (network delays alone reach tens of milliseconds)", c.MaxOffset))
	}
	if c.Clock == nil || c.Logger == nil {
		errs = append(errs, errors.New("clockcheck.Config: Clock and Logger are required (start from DefaultConfig)"))
	}
	return errors.Join(errs...)
}

// sample is one peer's clock reading: peer is its clock at the local
// monotonic instant mid (the midpoint of the exchange).
type sample struct {
	peer        time.Time
	mid         time.Time // time.Now(): carries the monotonic reading
	rtt         time.Duration
	unsupported bool
}

// Monitor holds the latest sample of every voter's clock.
type Monitor struct {
	cfg Config

	mu      sync.Mutex
	voters  []string // sorted; self included when it votes
	samples map[string]sample

	roundMu sync.Mutex    // guards running and src
	running chan struct{} // closed when the round in progress ends; nil: none
	src     Source        // set by Run
	// waiting, if set, is called when Refresh starts waiting for a round
	// in progress (tests).
	waiting func()
}

// New returns a monitor; Run starts sampling.
func New(cfg Config) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Monitor{cfg: cfg, samples: map[string]sample{}}, nil
}

// MaxOffset is the bound.
func (m *Monitor) MaxOffset() time.Duration { return m.cfg.MaxOffset }

// Run samples every voter each Interval through src until ctx ends.
func (m *Monitor) Run(ctx context.Context, src Source) {
	m.roundMu.Lock()
	m.src = src
	m.roundMu.Unlock()
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.round(ctx, src)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh samples every voter now and returns when that is done (at once
// before Run). If a round is in progress it waits for that round instead
// and uses its samples: it never runs a second round after it, so a caller
// (the proposer waiting on an unconfirmed clock) waits for at most one
// round. It returns when ctx ends, without waiting further.
func (m *Monitor) Refresh(ctx context.Context) {
	m.roundMu.Lock()
	src := m.src
	m.roundMu.Unlock()
	if src == nil {
		return
	}
	if wait := m.begin(); wait != nil {
		if m.waiting != nil {
			m.waiting()
		}
		select {
		case <-wait:
		case <-ctx.Done():
		}
		return
	}
	m.sampleAll(ctx, src)
}

// begin marks a round as running and returns nil, or returns the channel
// the round already in progress closes when it ends (and starts none).
func (m *Monitor) begin() <-chan struct{} {
	m.roundMu.Lock()
	defer m.roundMu.Unlock()
	if m.running != nil {
		return m.running
	}
	m.running = make(chan struct{})
	return nil
}

// round samples every voter through src, after the round in progress if
// there is one (rounds never overlap).
func (m *Monitor) round(ctx context.Context, src Source) {
	for {
		wait := m.begin()
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return
		}
	}
	m.sampleAll(ctx, src)
}

// sampleAll is one round; the caller has begun it.
func (m *Monitor) sampleAll(ctx context.Context, src Source) {
	defer func() {
		m.roundMu.Lock()
		close(m.running)
		m.running = nil
		m.roundMu.Unlock()
	}()
	peers, err := src.Voters()
	if err != nil {
		return
	}
	ids := make([]string, 0, len(peers))
	for _, p := range peers {
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	m.mu.Lock()
	m.voters = ids
	for id := range m.samples {
		if !slices.Contains(ids, id) {
			delete(m.samples, id)
		}
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range peers {
		if p.ID == m.cfg.Self || p.APIAddr == "" {
			continue
		}
		wg.Add(1)
		go func(p Peer) {
			defer wg.Done()
			m.sample(ctx, src, p)
		}(p)
	}
	wg.Wait()
}

func (m *Monitor) sample(ctx context.Context, src Source, p Peer) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	sent := time.Now()
	sentClock := m.cfg.Clock()
	peer, err := src.PeerClock(ctx, p)
	rtt := time.Since(sent)
	if errors.Is(err, ErrUnsupported) {
		m.record(p.ID, sample{mid: sent.Add(rtt / 2), rtt: rtt, unsupported: true})
		return
	}
	if err != nil {
		return // no sample: the old one ages out
	}
	// The peer read its clock about halfway through the exchange; keep
	// the reading against the local monotonic clock at that instant.
	s := sample{peer: peer, mid: sent.Add(rtt / 2), rtt: rtt}
	m.record(p.ID, s)
	if m.cfg.Observe != nil {
		m.cfg.Observe(p.ID, peer.Sub(sentClock.Add(rtt/2)))
	}
}

func (m *Monitor) record(id string, s sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.Contains(m.voters, id) {
		m.samples[id] = s
	}
}

// offsets are the fresh peers' clocks minus at, this node's clock reading
// now (unsupported peers count as 0), by id; voters are all voters.
func (m *Monitor) offsets(at time.Time) (voters []string, offs map[string]time.Duration) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	offs = map[string]time.Duration{}
	for _, id := range m.voters {
		if id == m.cfg.Self {
			offs[id] = 0
			continue
		}
		s, ok := m.samples[id]
		if !ok || now.Sub(s.mid) > m.cfg.Fresh {
			continue
		}
		if s.unsupported {
			offs[id] = 0
			continue
		}
		offs[id] = s.peer.Add(now.Sub(s.mid)).Sub(at)
	}
	return append([]string(nil), m.voters...), offs
}

// SkewError says why this node may not stamp a block with its clock.
type SkewError struct {
	Kind   error         // ErrSkewed or ErrUnconfirmed
	Self   string        // this node
	Offset time.Duration // the disagreeing voters' median clock minus ours (ErrSkewed)
	Bound  time.Duration
	Detail string // per voter
	Target string // a voter whose clock agrees with a quorum, if any
}

func (e *SkewError) Error() string {
	if e.Kind == ErrUnconfirmed {
		return fmt.Sprintf("%s cannot compare its clock with a quorum of voters (%s): it proposes no block until it can; retry shortly", e.Self, e.Detail)
	}
	dir := "ahead of"
	if e.Offset > 0 {
		dir = "behind"
	}
	return fmt.Sprintf("clock of %s is %s %s a quorum of voters (%s; bound %s): %s stamps no block and judges no transaction's time with it (leading, it hands leadership to a voter whose clock agrees); fix the clock (NTP) on %s",
		e.Self, seconds(e.Offset.Abs()), dir, e.Detail, seconds(e.Bound), e.Self, e.Self)
}

func (e *SkewError) Unwrap() error { return e.Kind }

func seconds(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.0f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// Check says whether at, this node's clock reading about to be stamped,
// agrees within MaxOffset with a quorum of voters (this node included):
// nil, or a *SkewError wrapping ErrSkewed (the fresh samples rule a quorum
// out) or ErrUnconfirmed (too few fresh samples to tell). A single voter
// always agrees with itself. It reads only cached samples.
func (m *Monitor) Check(at time.Time) error {
	voters, offs := m.offsets(at)
	if len(voters) == 0 {
		return &SkewError{Kind: ErrUnconfirmed, Self: m.cfg.Self, Bound: m.cfg.MaxOffset, Detail: "voters not known yet"}
	}
	quorum := len(voters)/2 + 1
	agree, fresh := 0, 0
	var off []time.Duration
	var detail []string
	for _, id := range voters {
		o, ok := offs[id]
		switch {
		case !ok:
			detail = append(detail, id+" not measured")
			continue
		case id == m.cfg.Self:
		default:
			detail = append(detail, fmt.Sprintf("%s %+.1f s", id, o.Seconds()))
		}
		fresh++
		if o.Abs() <= m.cfg.MaxOffset {
			agree++
		} else {
			off = append(off, o)
		}
	}
	if agree >= quorum {
		return nil
	}
	e := &SkewError{Kind: ErrUnconfirmed, Self: m.cfg.Self, Bound: m.cfg.MaxOffset, Detail: strings.Join(detail, ", ")}
	if agree+len(voters)-fresh < quorum {
		e.Kind = ErrSkewed
		e.Offset = median(off)
		e.Target = m.target(voters, offs, quorum)
	}
	return e
}

// target is a voter other than this node whose clock agrees with a quorum
// of voters (the first by id: voters are sorted).
func (m *Monitor) target(voters []string, offs map[string]time.Duration, quorum int) string {
	for _, c := range voters {
		oc, ok := offs[c]
		if c == m.cfg.Self || !ok {
			continue
		}
		near := 0
		for _, v := range voters {
			if ov, ok := offs[v]; ok && (ov-oc).Abs() <= m.cfg.MaxOffset {
				near++
			}
		}
		if near >= quorum {
			return c
		}
	}
	return ""
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// MemberOffset is one voter's clock as this node measures it.
type MemberOffset struct {
	ID string
	// Offset is its clock minus the measured voters' median clock.
	Offset  time.Duration
	Skewed  bool // |Offset| > MaxOffset
	Measure bool // false: no fresh sample (Offset meaningless)
}

// Offsets reports every voter's clock against the voters' median (this
// node included), sorted by id, and a sentence naming the skewed ones
// (empty when none is).
func (m *Monitor) Offsets() ([]MemberOffset, string) {
	voters, offs := m.offsets(m.cfg.Clock())
	var all []time.Duration
	for _, id := range voters {
		if o, ok := offs[id]; ok {
			all = append(all, o)
		}
	}
	ref := median(all)
	out := make([]MemberOffset, 0, len(voters))
	var skewed []string
	for _, id := range voters {
		o, ok := offs[id]
		mo := MemberOffset{ID: id, Measure: ok}
		if ok {
			mo.Offset = o - ref
			mo.Skewed = mo.Offset.Abs() > m.cfg.MaxOffset
		}
		if mo.Skewed {
			dir := "ahead of"
			if mo.Offset < 0 {
				dir = "behind"
			}
			skewed = append(skewed, fmt.Sprintf("%s's clock is %s %s the voters' median", id, seconds(mo.Offset.Abs()), dir))
		}
		out = append(out, mo)
	}
	if len(skewed) == 0 {
		return out, ""
	}
	return out, fmt.Sprintf("%s (bound %s, measured by %s); fix the clock (NTP) on that node", strings.Join(skewed, "; "), seconds(m.cfg.MaxOffset), m.cfg.Self)
}
