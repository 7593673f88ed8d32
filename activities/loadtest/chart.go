package loadtest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/internal/svgchart"
	"github.com/shipshape-dev/shipshape/plan"
)

// seriesTitle and seriesXLabel name the latency series and its X.
const (
	seriesTitle  = "latency per second"
	seriesXLabel = "seconds since measuring began"
)

// LatencyChart draws the p50, p95 and p99 latency of each second as lines,
// the thresholds of the latency gates among gates across, and shades the
// seconds that had errors, as a standalone SVG document (internal/svgchart,
// which draws the HTML report's series too).
func LatencyChart(title string, series []Second, gates []plan.Gate) []byte {
	c := svgchart.FromSeries(latencySeries(series, len(series), gates))
	c.Title, c.Label = title, ""
	c.XLabel = "time since measuring began"
	c.FormatX = func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) + "s" }
	c.FormatY = formatSeconds
	c.Empty = "no responses measured"
	for _, s := range series {
		if s.Errors > 0 {
			c.Bands = append(c.Bands, svgchart.Band{
				From: s.At.Seconds(), To: (s.At + time.Second).Seconds(),
				Label: fmt.Sprintf("%ds: %d errors", int(s.At.Seconds()), s.Errors),
			})
		}
	}
	c.BandLegend = "seconds with errors"
	return c.SVG()
}

// HistogramChart draws the latency distribution as bars on a logarithmic
// latency axis, as a standalone SVG document.
func HistogramChart(title string, bars []Bar) []byte {
	h := svgchart.Histogram{
		Title: title, XLabel: "latency (logarithmic scale) · responses per bar",
		FormatX: formatSeconds, Empty: "no responses measured",
	}
	for _, b := range bars {
		h.Bars = append(h.Bars, svgchart.Bar{From: b.From.Seconds(), To: b.To.Seconds(), Count: b.Count})
	}
	return h.SVG()
}

// latencySeries is p50, p95 and p99 per second, in seconds, with the
// latency gates' thresholds as marks. Beyond maxPoints seconds,
// consecutive seconds are merged (as in the per-second table: the worst
// of their percentiles). Seconds without a response have no point.
func latencySeries(series []Second, maxPoints int, gates []plan.Gate) plan.Series {
	s := plan.Series{
		Title: seriesTitle, XLabel: seriesXLabel, Unit: plan.UnitSeconds,
		Lines: []plan.Line{{Name: "p50"}, {Name: "p95"}, {Name: "p99"}},
		X:     []float64{}, // not null in JSON: a series with no point yet
	}
	for i := range s.Lines {
		s.Lines[i].Values = []float64{}
	}
	for _, g := range groupSeconds(series, maxPoints) {
		if g.merged.Requests == 0 {
			continue
		}
		// The middle of the second, or of the seconds merged.
		s.X = append(s.X, g.from.Seconds()+float64(g.seconds)/2)
		for i, v := range []time.Duration{g.merged.P50, g.merged.P95, g.merged.P99} {
			s.Lines[i].Values = append(s.Lines[i].Values, v.Seconds())
		}
	}
	for _, g := range gates {
		if m, ok := Decl.Metric(g.Metric); !ok || m.Unit != plan.UnitSeconds {
			continue
		}
		s.Marks = append(s.Marks, plan.Mark{Name: g.Metric + " " + g.Pass.Text, Value: g.Pass.Value})
		if g.Warning != nil {
			s.Marks = append(s.Marks, plan.Mark{Name: g.Metric + " warning " + g.Warning.Text, Value: g.Warning.Value})
		}
	}
	return s
}

// secondsGroup is consecutive seconds merged into one: requests and
// errors added up, percentiles the worst of theirs.
type secondsGroup struct {
	from    time.Duration
	seconds int
	merged  Second
}

// groupSeconds merges consecutive seconds so that at most maxPoints
// groups remain.
func groupSeconds(series []Second, maxPoints int) []secondsGroup {
	size := max(int(math.Ceil(float64(len(series))/float64(max(maxPoints, 1)))), 1)
	var out []secondsGroup
	for i := 0; i < len(series); i += size {
		rows := series[i:min(i+size, len(series))]
		g := secondsGroup{from: rows[0].At, seconds: len(rows)}
		for _, s := range rows {
			g.merged.Requests += s.Requests
			g.merged.Errors += s.Errors
			g.merged.P50, g.merged.P95, g.merged.P99 = max(g.merged.P50, s.P50), max(g.merged.P95, s.P95), max(g.merged.P99, s.P99)
		}
		out = append(out, g)
	}
	return out
}

// formatSeconds writes a latency in seconds as FormatLatency does.
func formatSeconds(v float64) string {
	return FormatLatency(time.Duration(math.Round(v * float64(time.Second))))
}

// FormatLatency writes a latency with three significant digits at most:
// 850µs, 12.3ms, 1.5s.
func FormatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < 999500*time.Nanosecond: // what rounds to 1000µs reads 1ms
		return threeDigits(float64(d)/float64(time.Microsecond)) + "µs"
	case d < 999500*time.Microsecond:
		return threeDigits(float64(d)/float64(time.Millisecond)) + "ms"
	}
	return threeDigits(d.Seconds()) + "s"
}

func threeDigits(v float64) string {
	decimals := 0
	switch {
	case v < 10:
		decimals = 2
	case v < 100:
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if decimals > 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
