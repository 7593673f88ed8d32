package loadtest

import (
	"math"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// schedule is an open-model vegeta.Pacer: the rate is a piecewise linear
// function of time (a warmup at a constant rate, then a constant rate or a
// ramp of stages), and hit number k is due at the moment the rate's
// integral reaches k. The attacker sends each hit when it is due whatever
// earlier responses do, and a new worker starts when all are busy, so a
// slow response never delays the next request.
type schedule struct {
	segments []segment
	end      time.Duration
	total    float64 // hits due over the whole schedule
}

// segment is a stretch of linearly changing rate.
type segment struct {
	start    time.Duration
	length   time.Duration
	from, to float64 // rates per second at its start and its end
	before   float64 // hits due before it starts
}

var _ vegeta.Pacer = (*schedule)(nil)

// newSchedule lays out the warmup then either a constant rate for
// duration or the stages, each ramping linearly from the rate the one
// before it ended at (0 for the first) to its target.
func newSchedule(warmup time.Duration, rate float64, duration time.Duration, stages []Stage) *schedule {
	s := &schedule{}
	add := func(length time.Duration, from, to float64) {
		if length <= 0 {
			return
		}
		seg := segment{start: s.end, length: length, from: from, to: to, before: s.total}
		s.segments = append(s.segments, seg)
		s.end += length
		s.total += (from + to) / 2 * length.Seconds()
	}
	if len(stages) == 0 {
		add(warmup, rate, rate)
		add(duration, rate, rate)
		return s
	}
	add(warmup, stages[0].Target, stages[0].Target)
	prev := 0.0
	for _, st := range stages {
		add(st.Duration, prev, st.Target)
		prev = st.Target
	}
	return s
}

// Pace returns how long to wait for the next hit, hits having been sent.
func (s *schedule) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due, ok := s.due(float64(hits))
	if !ok {
		return 0, true
	}
	if due <= elapsed {
		return 0, false
	}
	return due - elapsed, false
}

// Rate returns the rate, per second, at elapsed.
func (s *schedule) Rate(elapsed time.Duration) float64 {
	for _, seg := range s.segments {
		if elapsed < seg.start+seg.length {
			x := max(0, (elapsed - seg.start).Seconds())
			return seg.from + (seg.to-seg.from)*x/seg.length.Seconds()
		}
	}
	return 0
}

// due returns when hit number h (from 0) is due, or false when it falls
// after the end of the schedule.
func (s *schedule) due(h float64) (time.Duration, bool) {
	for _, seg := range s.segments {
		n := (seg.from + seg.to) / 2 * seg.length.Seconds()
		local := h - seg.before
		if local < 0 || local >= n {
			continue
		}
		// Hits by x seconds into the segment: H(x) = a·x + k·x²/2, with a
		// the start rate and k the slope. Solve H(x) = local in the form
		// that stays exact for k = 0 and for a = 0.
		a, k := seg.from, (seg.to-seg.from)/seg.length.Seconds()
		x := 0.0
		if local > 0 {
			x = 2 * local / (a + math.Sqrt(max(0, a*a+2*k*local)))
		}
		at := seg.start + time.Duration(x*float64(time.Second))
		if at >= seg.start+seg.length {
			at = seg.start + seg.length - 1
		}
		return at, at < s.end
	}
	return 0, false
}
