package main

import (
	"strings"
	"testing"
	"time"
)

func TestMaxClockOffsetIsValidated(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		d         time.Duration
		want      string // "" accepted
	}{
		{name: "default", d: 30 * time.Second},
		{name: "one second", d: time.Second},
		{name: "below a second", d: 500 * time.Millisecond, want: "--max-clock-offset 500ms: must be at least 1s"},
		{name: "negative", d: -time.Minute, want: "must be at least 1s"},
		{name: "unreadable environment variable", env: "thirty", d: 30 * time.Second, want: `LEDGERNODE_MAX_CLOCK_OFFSET "thirty"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("LEDGERNODE_MAX_CLOCK_OFFSET", tc.env)
			}
			err := checkMaxClockOffset(tc.d)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestFaultClockOffsetShiftsTheClock(t *testing.T) {
	clock := offsetClock(time.Hour, "")
	if d := time.Until(clock()); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("clock shifted by %s, want 1h", d)
	}
}
