package loadtest_test

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/loadtest"
	"github.com/shipshape-dev/shipshape/plan"
)

func TestFormatLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                         "0",
		373 * time.Microsecond:    "373µs",
		1500 * time.Microsecond:   "1.5ms",
		12340 * time.Microsecond:  "12.3ms",
		999950 * time.Microsecond: "1s",
		999700 * time.Nanosecond:  "1ms",
		200 * time.Millisecond:    "200ms",
		1500 * time.Millisecond:   "1.5s",
		90 * time.Second:          "90s",
	} {
		if got := loadtest.FormatLatency(d); got != want {
			t.Errorf("FormatLatency(%s) = %q, want %q", d, got, want)
		}
	}
}

// mustSVG checks that data is one well-formed SVG document and returns it.
func mustSVG(t *testing.T, data []byte) string {
	t.Helper()
	var doc struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("not an SVG document (%v):\n%s", err, data)
	}
	return string(data)
}

func TestLatencyChart(t *testing.T) {
	series := []loadtest.Second{
		{At: 0, Requests: 100, P50: 2 * time.Millisecond, P95: 5 * time.Millisecond, P99: 9 * time.Millisecond},
		{At: time.Second, Requests: 100, Errors: 3, P50: 3 * time.Millisecond, P95: 40 * time.Millisecond, P99: 120 * time.Millisecond},
		{At: 2 * time.Second},
	}
	svg := mustSVG(t, loadtest.LatencyChart("checkout <api> & co", series, nil))
	for _, want := range []string{"checkout &lt;api&gt; &amp; co", ">p95<", ">150ms<", "1s: 3 errors", "time since measuring began"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<polyline"); n != 3 {
		t.Errorf("%d lines, want p50, p95 and p99", n)
	}
	if empty := mustSVG(t, loadtest.LatencyChart("none", nil, nil)); !strings.Contains(empty, "no responses measured") {
		t.Error("an empty chart does not say so")
	}
}

// TestLatencyChartMarksGates: the thresholds of latency gates are drawn
// across the chart; gates on other metrics are not.
func TestLatencyChartMarksGates(t *testing.T) {
	series := []loadtest.Second{{At: 0, Requests: 100, P50: 2 * time.Millisecond, P95: 5 * time.Millisecond, P99: 9 * time.Millisecond}}
	gates := []plan.Gate{
		{Metric: "http.latency.p95", Pass: mustThreshold(t, "< 12ms", plan.UnitSeconds), Warning: ptr(mustThreshold(t, "< 15ms", plan.UnitSeconds))},
		{Metric: "http.errors.rate", Pass: mustThreshold(t, "< 1%", plan.UnitRatio)},
	}
	svg := mustSVG(t, loadtest.LatencyChart("marks", series, gates))
	if n := strings.Count(svg, `class="mark"`); n != 2 {
		t.Errorf("%d marks, want the p95 gate's pass and warning thresholds", n)
	}
	for _, want := range []string{"http.latency.p95 &lt; 12ms", "http.latency.p95 warning &lt; 15ms"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks the mark %q", want)
		}
	}
}

func mustThreshold(t *testing.T, text string, unit plan.Unit) plan.Threshold {
	t.Helper()
	th, err := plan.ParseThreshold(text, unit)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func ptr[T any](v T) *T { return &v }

func TestHistogramChart(t *testing.T) {
	bars := []loadtest.Bar{
		{From: time.Millisecond, To: 2 * time.Millisecond, Count: 900},
		{From: 2 * time.Millisecond, To: 4 * time.Millisecond, Count: 0},
		{From: 4 * time.Millisecond, To: 8 * time.Millisecond, Count: 100},
	}
	svg := mustSVG(t, loadtest.HistogramChart("latency", bars))
	if n := strings.Count(svg, `fill="#2b6cb0"><title>`); n != 2 {
		t.Errorf("%d bars drawn, want the 2 that have responses", n)
	}
	if !strings.Contains(svg, "1ms–2ms: 900") {
		t.Error("bars lack their ranges and counts")
	}
	if empty := mustSVG(t, loadtest.HistogramChart("none", nil)); !strings.Contains(empty, "no responses measured") {
		t.Error("an empty chart does not say so")
	}
}
