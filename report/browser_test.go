//go:build integration

package report_test

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shipshape-dev/shipshape/internal/browsertest"
	"github.com/shipshape-dev/shipshape/internal/svgchart"
	"github.com/shipshape-dev/shipshape/report"
)

// TestHTMLInBrowser opens report.html, as WriteDir writes it with a load
// test's real charts beside it, in headless Chromium: the page shows the
// result, score, timeline bars, gates and the inlined charts, and the
// browser requests nothing but the file itself and inline data.
func TestHTMLInBrowser(t *testing.T) {
	ctx := browsertest.Chromium(t)
	dir := t.TempDir()
	r := MustHTMLFixture(t)
	// With what the run history attaches: the comparison and the trend.
	h := MustHistoryFixture(t)
	r.Compared, r.Trend = h.Compared, h.Trend
	latency := svgchart.LineChart{Title: "api-load: latency per second", Lines: []svgchart.Line{{Name: "p50"}, {Name: "p95"}, {Name: "p99"}}}
	for s := range 30 {
		ms := time.Duration(2+s%7) * time.Millisecond
		latency.X = append(latency.X, float64(s)+0.5)
		for i, v := range []time.Duration{ms / 2, ms, 2 * ms} {
			latency.Lines[i].Values = append(latency.Lines[i].Values, v.Seconds())
		}
	}
	chart := filepath.Join(dir, "artifacts", "resilience", "api-load", "latency.svg")
	if err := os.MkdirAll(filepath.Dir(chart), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chart, latency.SVG(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteDir(dir, r); err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, report.HTMLFile)

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("summary"))); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	check := func(js string) bool {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return ok
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	result, score := text("#result"), text("#score")
	phaseBars, taskBars := count("#timeline rect.phase-bar"), count("#timeline rect.task-bar")
	barsWide := check(`[...document.querySelectorAll("#timeline rect.bar")].every(b => b.getBoundingClientRect().width >= 2)`)
	gateRows := count("#gates-table tbody tr.gate-row")
	images := count("#charts img")
	comparedShown := check(`!!document.querySelector("#compared") && document.querySelector("#compared").getBoundingClientRect().height > 0`)
	trendCharts := count("#trends svg.trend-chart")
	trendsDrawn := check(`[...document.querySelectorAll("#trends svg.trend-chart")].every(s => s.getBoundingClientRect().width > 100 && s.querySelectorAll("polyline").length > 0)`)
	imagesLoaded := check(`[...document.querySelectorAll("#charts img")].every(i => i.complete && i.naturalWidth > 0)`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(browsertest.ScreenshotDir(t), "report.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	if result != "FAIL" {
		t.Errorf("result shows %q, want FAIL", result)
	}
	// One decimal, rounded down, as every report shows a score.
	if want := strconv.FormatFloat(math.Floor(r.Score*10+1e-9)/10, 'f', -1, 64); score != want {
		t.Errorf("score shows %q, want %q", score, want)
	}
	if !strings.Contains(title, r.Plan) {
		t.Errorf("title %q does not name the plan", title)
	}
	started := 0
	tasks, gates := 0, 0
	for _, ph := range r.Phases {
		if !ph.StartedAt.IsZero() {
			started++
		}
		for _, tk := range ph.Tasks {
			if !tk.StartedAt.IsZero() {
				tasks++
			}
			gates += len(tk.Gates)
		}
	}
	if phaseBars != started || taskBars != tasks {
		t.Errorf("timeline has %d phase and %d task bars, want %d and %d", phaseBars, taskBars, started, tasks)
	}
	if !barsWide {
		t.Error("a timeline bar is narrower than 2px")
	}
	if gateRows != gates {
		t.Errorf("gates table has %d rows, want %d", gateRows, gates)
	}
	if images != 1 || !imagesLoaded {
		t.Errorf("%d inlined charts (loaded: %v), want the one the load test wrote", images, imagesLoaded)
	}
	if !comparedShown || !strings.Contains(text("#compared-head"), h.Compared.Before.RunID) {
		t.Error("the comparison with the previous run is not shown")
	}
	if want := len(report.TrendCharts(r.Trend)); trendCharts != want || want < 2 || !trendsDrawn {
		t.Errorf("%d trend charts (drawn: %v), want %d", trendCharts, trendsDrawn, want)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if u != page && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s", u)
		}
	}
}
