package metricwatch

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// Sample is one query's outcome: a value, an empty result, or an error.
type Sample struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value,omitempty"`
	// Empty: the query returned no series, or NaN or ±Inf.
	Empty bool `json:"empty,omitempty"`
	// Error is the query's failure (the source down, a timeout); the
	// sample is neither passed nor failed.
	Error string `json:"error,omitempty"`
}

// Limits on what a watch keeps, so that its state, carried across
// continue-as-new, stays small whatever its length.
const (
	// exactValues: up to this many values the percentile is exact; past
	// it they go into a sketch of relative accuracy sketchAccuracy.
	exactValues    = 2048
	sketchAccuracy = 0.005
	// maxPoints: the report's series has at most this many points; past
	// it, neighbouring points merge (min, mean and max kept).
	maxPoints = 720
	// maxRangePoints is the most points one range query returns
	// (Prometheus refuses more than 11,000).
	maxRangePoints = 11000
)

// Point is one point of the report's series: one sample, or consecutive
// samples merged.
type Point struct {
	// At is seconds from the watch's start to its first sample.
	At      float64 `json:"t"`
	Samples int     `json:"k"`
	N       int     `json:"n,omitempty"`
	Sum     float64 `json:"s,omitempty"`
	Min     float64 `json:"lo,omitempty"`
	Max     float64 `json:"hi,omitempty"`
	Failed  int     `json:"f,omitempty"`
	Empty   int     `json:"e,omitempty"`
	Errors  int     `json:"x,omitempty"`
}

// Stats is what a watch accumulates from its samples: small and JSON
// encodable, so it is carried across continue-as-new. Its methods are
// deterministic (workflow code calls them).
type Stats struct {
	Samples       int     `json:"samples"`
	N             int     `json:"n"`
	Sum           float64 `json:"sum"`
	Min           float64 `json:"min"`
	Max           float64 `json:"max"`
	Last          float64 `json:"last"`
	Failed        int     `json:"failed"`
	Streak        int     `json:"streak"`
	LongestStreak int     `json:"longestStreak"`
	Empty         int     `json:"empty"`
	Errors        int     `json:"errors"`
	LastError     string  `json:"lastError,omitempty"`
	// Values are every value while there are at most exactValues of
	// them; then Sketch holds them.
	Values []float64 `json:"values,omitempty"`
	Sketch *Sketch   `json:"sketch,omitempty"`
	// Points are the series; each merges Width samples.
	Points []Point `json:"points,omitempty"`
	Width  int     `json:"width"`
}

// Rules say how samples are judged.
type Rules struct {
	// Thresholds every value must meet.
	Thresholds []plan.Threshold
	OnEmpty    string
	// FailureLimit failed samples are tolerated; ConsecutiveLimit > 0 in
	// a row are not; ErrorLimit query errors are.
	FailureLimit, ConsecutiveLimit, ErrorLimit int
	// AbortOn are the gates written with abortOnFail.
	AbortOn []plan.Gate
}

// Add records sample s, taken offset after the watch began, and says
// whether it failed.
func (st *Stats) Add(s Sample, offset time.Duration, r Rules) (failed bool) {
	st.Samples++
	if st.Width == 0 {
		st.Width = 1
	}
	p := st.point(offset)
	p.Samples++
	switch {
	case s.Error != "":
		st.Errors++
		st.LastError = s.Error
		p.Errors++
		return false
	case s.Empty:
		st.Empty++
		p.Empty++
		switch r.OnEmpty {
		case EmptySkip:
			return false
		case EmptyPass:
		default:
			failed = true
		}
	default:
		v := s.Value
		if st.N == 0 || v < st.Min {
			st.Min = v
		}
		if st.N == 0 || v > st.Max {
			st.Max = v
		}
		st.N++
		st.Sum += v
		st.Last = v
		st.addValue(v)
		if p.N == 0 || v < p.Min {
			p.Min = v
		}
		if p.N == 0 || v > p.Max {
			p.Max = v
		}
		p.N++
		p.Sum += v
		for _, t := range r.Thresholds {
			if !t.Holds(v) {
				failed = true
			}
		}
	}
	if failed {
		st.Failed++
		p.Failed++
		st.Streak++
		st.LongestStreak = max(st.LongestStreak, st.Streak)
	} else {
		st.Streak = 0
	}
	return failed
}

// point returns the series point the next sample goes in, merging points
// pairwise once there are maxPoints.
func (st *Stats) point(offset time.Duration) *Point {
	if n := len(st.Points); n > 0 && st.Points[n-1].Samples < st.Width {
		return &st.Points[n-1]
	}
	if len(st.Points) == maxPoints {
		merged := st.Points[:0]
		for i := 0; i < len(st.Points); i += 2 {
			a := st.Points[i]
			if i+1 < len(st.Points) {
				a = mergePoints(a, st.Points[i+1])
			}
			merged = append(merged, a)
		}
		st.Points = merged
		st.Width *= 2
		if n := len(st.Points); st.Points[n-1].Samples < st.Width {
			return &st.Points[n-1]
		}
	}
	st.Points = append(st.Points, Point{At: offset.Seconds()})
	return &st.Points[len(st.Points)-1]
}

func mergePoints(a, b Point) Point {
	out := Point{At: a.At, Samples: a.Samples + b.Samples, N: a.N + b.N, Sum: a.Sum + b.Sum,
		Failed: a.Failed + b.Failed, Empty: a.Empty + b.Empty, Errors: a.Errors + b.Errors}
	switch {
	case a.N == 0:
		out.Min, out.Max = b.Min, b.Max
	case b.N == 0:
		out.Min, out.Max = a.Min, a.Max
	default:
		out.Min, out.Max = min(a.Min, b.Min), max(a.Max, b.Max)
	}
	return out
}

func (st *Stats) addValue(v float64) {
	if st.Sketch == nil && len(st.Values) < exactValues {
		st.Values = append(st.Values, v)
		return
	}
	if st.Sketch == nil {
		st.Sketch = newSketch()
		for _, x := range st.Values {
			st.Sketch.Add(x)
		}
		st.Values = nil
	}
	st.Sketch.Add(v)
}

// Quantile returns the q-quantile of the values (nearest rank).
func (st *Stats) Quantile(q float64) float64 {
	if st.N == 0 {
		return math.NaN()
	}
	if st.Sketch != nil {
		return min(max(st.Sketch.Quantile(q), st.Min), st.Max)
	}
	sorted := slices.Clone(st.Values)
	slices.Sort(sorted)
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Metrics are the watch's metrics so far; the value metrics only once a
// sample had a value.
func (st *Stats) Metrics() map[string]float64 {
	m := map[string]float64{
		MetricSamples:     float64(st.Samples),
		MetricFailed:      float64(st.Failed),
		MetricStreak:      float64(st.LongestStreak),
		MetricEmpty:       float64(st.Empty),
		MetricQueryErrors: float64(st.Errors),
	}
	if st.N > 0 {
		m[MetricLast] = st.Last
		m[MetricMin] = st.Min
		m[MetricMax] = st.Max
		m[MetricMean] = st.Sum / float64(st.N)
		m[MetricP95] = st.Quantile(0.95)
	}
	return m
}

// Outcomes of a Verdict.
const (
	// Continue: nothing is decided yet.
	Continue = ""
	// LimitBroken: failed samples broke failureLimit or
	// consecutiveFailureLimit: the task's own check failed.
	LimitBroken = "limit"
	// TooManyErrors: the source failed more than queryErrorLimit: the
	// task could not measure.
	TooManyErrors = "errors"
	// GateSettled: a gate written with abortOnFail can no longer pass:
	// the watch stops and the gate fails on its own, with its value.
	GateSettled = "gate"
)

// Verdict says whether the samples so far decide the task (an outcome
// other than Continue), and why.
func (st *Stats) Verdict(r Rules) (outcome, why string) {
	if st.Errors > r.ErrorLimit {
		return TooManyErrors, fmt.Sprintf("%d queries failed, more than queryErrorLimit (%d); the last: %s", st.Errors, r.ErrorLimit, st.LastError)
	}
	if st.Failed > r.FailureLimit {
		why := fmt.Sprintf("%d of %d samples failed, more than failureLimit (%d)", st.Failed, st.Samples, r.FailureLimit)
		if st.Empty > 0 && r.OnEmpty == EmptyFail {
			why += fmt.Sprintf("; %d of them returned no data (onEmpty fail)", st.Empty)
		}
		return LimitBroken, why
	}
	if r.ConsecutiveLimit > 0 && st.Streak >= r.ConsecutiveLimit {
		return LimitBroken, fmt.Sprintf("%d samples in a row failed (consecutiveFailureLimit %d)", st.Streak, r.ConsecutiveLimit)
	}
	if len(r.AbortOn) == 0 {
		return Continue, ""
	}
	m := st.Metrics()
	for _, g := range r.AbortOn {
		if v, ok := m[g.Metric]; ok && !g.Pass.Holds(v) && settled(g) {
			return GateSettled, fmt.Sprintf("stopped after %d samples: gate %s %s failed with %s and can no longer pass (abortOnFail)", st.Samples, g.Metric, g.Pass.Text, formatValue(v))
		}
	}
	return Continue, ""
}

// settled says whether a failed gate can no longer pass however the
// watch goes on: its metric only moves one way, away from passing (a
// maximum only grows, so max < X never passes again once broken). A gate
// on the last value, the mean or the percentile may recover.
func settled(g plan.Gate) bool {
	upper := g.Pass.Op == "<" || g.Pass.Op == "<="
	lower := g.Pass.Op == ">" || g.Pass.Op == ">="
	switch g.Metric {
	case MetricMax, MetricSamples, MetricFailed, MetricStreak, MetricEmpty, MetricQueryErrors:
		return upper
	case MetricMin:
		return lower
	}
	return false
}

// Series is the samples as the report draws them, with thresholds and
// the gates on the value metrics as marks.
func (st *Stats) Series(title string, unit plan.Unit, thresholds []plan.Threshold, gates []plan.Gate) plan.Series {
	s := plan.Series{Title: title, XLabel: "seconds since the watch began", Unit: unit, X: []float64{}}
	value := plan.Line{Name: "value", Values: []float64{}}
	low := plan.Line{Name: "min", Values: []float64{}}
	high := plan.Line{Name: "max", Values: []float64{}}
	for _, p := range st.Points {
		if p.N == 0 {
			continue
		}
		s.X = append(s.X, p.At)
		value.Values = append(value.Values, p.Sum/float64(p.N))
		low.Values = append(low.Values, p.Min)
		high.Values = append(high.Values, p.Max)
	}
	if st.Width > 1 {
		value.Name = "mean"
		s.Lines = []plan.Line{low, value, high}
	} else {
		s.Lines = []plan.Line{value}
	}
	for _, t := range thresholds {
		s.Marks = append(s.Marks, plan.Mark{Name: "threshold " + t.Text, Value: t.Value})
	}
	for _, g := range gates {
		switch g.Metric {
		case MetricLast, MetricMin, MetricMax, MetricMean, MetricP95:
			s.Marks = append(s.Marks, plan.Mark{Name: g.Metric + " " + g.Pass.Text, Value: g.Pass.Value})
			if g.Warning != nil {
				s.Marks = append(s.Marks, plan.Mark{Name: g.Metric + " warning " + g.Warning.Text, Value: g.Warning.Value})
			}
		}
	}
	return s
}

// Table lists the samples (or the merged points of a long watch).
func (st *Stats) Table(started time.Time) plan.Table {
	if st.Width <= 1 {
		t := plan.Table{Title: "Samples", Columns: []string{"time", "value", "result"}}
		for _, p := range st.Points {
			at := started.Add(time.Duration(p.At * float64(time.Second))).UTC().Format(time.RFC3339)
			value, result := "—", "pass"
			switch {
			case p.Errors > 0:
				result = "query error"
			case p.Empty > 0 && p.Failed > 0:
				result = "empty: failed"
			case p.Empty > 0:
				result = "empty"
			case p.Failed > 0:
				result = "failed"
			}
			if p.N > 0 {
				value = formatValue(p.Sum)
			}
			t.Rows = append(t.Rows, []string{at, value, result})
		}
		return t
	}
	t := plan.Table{Title: fmt.Sprintf("Samples, %d to a row", st.Width),
		Columns: []string{"from", "samples", "min", "mean", "max", "failed", "empty", "query errors"}}
	for _, p := range st.Points {
		at := started.Add(time.Duration(p.At * float64(time.Second))).UTC().Format(time.RFC3339)
		lo, mean, hi := "—", "—", "—"
		if p.N > 0 {
			lo, mean, hi = formatValue(p.Min), formatValue(p.Sum/float64(p.N)), formatValue(p.Max)
		}
		t.Rows = append(t.Rows, []string{at, strconv.Itoa(p.Samples), lo, mean, hi,
			strconv.Itoa(p.Failed), strconv.Itoa(p.Empty), strconv.Itoa(p.Errors)})
	}
	return t
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// Sketch is a quantile sketch with relative accuracy sketchAccuracy
// (DDSketch's logarithmic buckets): a bucket per value range of ratio
// gamma, counted; zero and negative values apart. Buckets are kept
// sorted by index, in slices (workflow code reads them: no map order).
type Sketch struct {
	Positive []Bucket `json:"pos,omitempty"`
	Negative []Bucket `json:"neg,omitempty"`
	Zero     int      `json:"zero,omitempty"`
	Count    int      `json:"count"`
}

// Bucket counts the values of one logarithmic range.
type Bucket struct {
	Index int `json:"i"`
	Count int `json:"c"`
}

var sketchGamma = (1 + sketchAccuracy) / (1 - sketchAccuracy)

func newSketch() *Sketch { return &Sketch{} }

func sketchIndex(v float64) int { return int(math.Ceil(math.Log(v) / math.Log(sketchGamma))) }

func sketchValue(i int) float64 { return 2 * math.Pow(sketchGamma, float64(i)) / (sketchGamma + 1) }

// Add counts v.
func (s *Sketch) Add(v float64) {
	s.Count++
	switch {
	case v > 0:
		s.Positive = addBucket(s.Positive, sketchIndex(v))
	case v < 0:
		s.Negative = addBucket(s.Negative, sketchIndex(-v))
	default:
		s.Zero++
	}
}

func addBucket(buckets []Bucket, index int) []Bucket {
	i, found := slices.BinarySearchFunc(buckets, index, func(b Bucket, index int) int { return b.Index - index })
	if found {
		buckets[i].Count++
		return buckets
	}
	return slices.Insert(buckets, i, Bucket{Index: index, Count: 1})
}

// Quantile returns the value of nearest rank q.
func (s *Sketch) Quantile(q float64) float64 {
	rank := max(int(math.Ceil(q*float64(s.Count))), 1)
	seen := 0
	for i := len(s.Negative) - 1; i >= 0; i-- { // most negative first
		if seen += s.Negative[i].Count; seen >= rank {
			return -sketchValue(s.Negative[i].Index)
		}
	}
	if seen += s.Zero; seen >= rank {
		return 0
	}
	for _, b := range s.Positive {
		if seen += b.Count; seen >= rank {
			return sketchValue(b.Index)
		}
	}
	if n := len(s.Positive); n > 0 {
		return sketchValue(s.Positive[n-1].Index)
	}
	return 0
}
