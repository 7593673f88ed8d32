package loadtest

import (
	"math"
	"testing"
	"time"
)

// hitTimes runs a schedule the way vegeta's attacker does, without
// sleeping: it asks when each next hit is due until the schedule stops.
func hitTimes(t *testing.T, s *schedule) []time.Duration {
	t.Helper()
	var times []time.Duration
	var now time.Duration
	for hits := uint64(0); ; hits++ {
		wait, stop := s.Pace(now, hits)
		if stop {
			return times
		}
		now += wait
		times = append(times, now)
		if len(times) > 1_000_000 {
			t.Fatal("schedule does not stop")
		}
	}
}

func TestScheduleConstantRate(t *testing.T) {
	s := newSchedule(0, 2000, 10*time.Second, nil)
	times := hitTimes(t, s)
	if len(times) != 20_000 {
		t.Fatalf("%d hits at 2000/s for 10s, want 20000", len(times))
	}
	for i, at := range times {
		want := time.Duration(i) * 500 * time.Microsecond
		if d := at - want; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("hit %d due at %s, want %s", i, at, want)
		}
	}
	if r := s.Rate(3 * time.Second); r != 2000 {
		t.Errorf("Rate = %v, want 2000", r)
	}
}

func TestScheduleWarmupComesFirst(t *testing.T) {
	s := newSchedule(2*time.Second, 10, 3*time.Second, nil)
	if got := len(hitTimes(t, s)); got != 50 {
		t.Errorf("%d hits, want 20 of warmup and 30 measured", got)
	}
}

func TestScheduleStages(t *testing.T) {
	// Up from 0 to 100/s over 10s (500 hits), hold 5s (500), down to 0
	// over 2s (100).
	s := newSchedule(0, 0, 0, []Stage{{10 * time.Second, 100}, {5 * time.Second, 100}, {2 * time.Second, 0}})
	times := hitTimes(t, s)
	if len(times) != 1100 {
		t.Fatalf("%d hits, want 1100", len(times))
	}
	perSecond := make([]int, 17)
	for _, at := range times {
		perSecond[int(at/time.Second)]++
	}
	for sec, n := range perSecond {
		// The mean rate over second sec of each stage.
		var want float64
		switch {
		case sec < 10:
			want = 10*float64(sec) + 5
		case sec < 15:
			want = 100
		default:
			want = 100 - 50*float64(sec-15) - 25
		}
		if math.Abs(float64(n)-want) > 1 {
			t.Errorf("second %d: %d hits, want %v", sec, n, want)
		}
	}
	for _, tt := range []struct {
		at   time.Duration
		want float64
	}{{0, 0}, {5 * time.Second, 50}, {12 * time.Second, 100}, {16 * time.Second, 50}, {20 * time.Second, 0}} {
		if got := s.Rate(tt.at); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("Rate(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestScheduleSkipsStagesWithoutHits(t *testing.T) {
	// Nothing for 1s, then 10/s for 1s.
	s := newSchedule(0, 0, 0, []Stage{{time.Second, 0}, {0, 10}, {time.Second, 10}})
	times := hitTimes(t, s)
	if len(times) != 10 || times[0] != time.Second {
		t.Errorf("hits at %v, want 10 from 1s", times)
	}
}
