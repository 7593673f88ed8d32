package report_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
)

// MustHTMLFixture is MustFixture with what only the HTML report draws: a
// load test with its summary, its latency series (as numbers, with a gate's
// threshold as a mark, and as a table) and SVG charts (under artifacts/), a
// restore drill that measured its RTO and RPO, and an SBOM scan with
// findings, an SBOM and a SARIF file. Score and result are plan.Score's.
func MustHTMLFixture(tb testing.TB) *plan.RunResult {
	tb.Helper()
	r := MustFixture(tb)
	table := plan.Table{Title: "Per second", Kind: plan.TableSeries, Columns: []string{"second", "requests/s", "p50", "p95", "p99", "errors"}}
	series := plan.Series{
		Title: "latency per second", XLabel: "seconds since measuring began", Unit: plan.UnitSeconds,
		Lines: []plan.Line{{Name: "p50"}, {Name: "p95"}, {Name: "p99"}},
		Marks: []plan.Mark{{Name: "http.latency.p95 < 50ms", Value: 0.05}},
	}
	for s, lat := range []float64{0.00085, 0.0012, 0.0011, 0.0024, 0.0013, 0.001} {
		p99 := float64(4+s) / 1000
		table.Rows = append(table.Rows, []string{fmt.Sprint(s + 1), "200", report.FormatValue("http.latency.p50", lat), "3.1ms", fmt.Sprintf("%dms", 4+s), "0"})
		series.X = append(series.X, float64(s)+0.5)
		series.Lines[0].Values = append(series.Lines[0].Values, lat)
		series.Lines[1].Values = append(series.Lines[1].Values, 0.0031)
		series.Lines[2].Values = append(series.Lines[2].Values, p99)
	}
	r.Phases = append(r.Phases, plan.PhaseResult{
		Name:       "resilience",
		Status:     plan.StatusPass,
		Needs:      []string{"build"},
		StartedAt:  at(1, 3),
		FinishedAt: at(6, 30),
		Tasks: []plan.TaskResult{
			{
				Name: "api-load", Uses: "loadtest", Status: plan.StatusPass, Attempts: 1,
				StartedAt: at(1, 3), FinishedAt: at(1, 10),
				Metrics: map[string]float64{"http.latency.p95": 0.0031, "http.requests": 1200},
				Gates: []plan.GateResult{
					{Metric: "http.latency.p95", Value: value(0.0031), Pass: "< 50ms", Status: plan.StatusPass, Weight: 1},
				},
				Tables: []plan.Table{
					{Title: "Load test", Kind: plan.TableSummary, Columns: []string{"load", "requests", "p95"}, Rows: [][]string{{"200/s for 6s", "1200", "3.1ms"}}},
					table,
				},
				Series: []plan.Series{series},
				Artifacts: []plan.Artifact{
					{Name: "latency over time", Path: "artifacts/resilience/api-load/latency.svg", MediaType: "image/svg+xml"},
					{Name: "latency histogram", Path: "artifacts/resilience/api-load/latency-histogram.svg", MediaType: "image/svg+xml"},
				},
			},
			{
				Name: "db-restore", Uses: "restore-drill", Status: plan.StatusPass, Attempts: 1,
				StartedAt: at(1, 10), FinishedAt: at(5, 22),
				Metrics: map[string]float64{"restore.rto": 252, "restore.rpo": 61, "restore.rows": 120000},
				Gates: []plan.GateResult{
					{Metric: "restore.rto", Value: value(252), Pass: "< 15m", Warning: "< 30m", Status: plan.StatusPass, Weight: 3, Key: true},
				},
			},
			{
				Name: "sbom", Uses: "sbom-scan", Status: plan.StatusPass, Attempts: 1,
				StartedAt: at(5, 22), FinishedAt: at(6, 30),
				Metrics: map[string]float64{"vulns.critical": 0, "vulns.high": 1},
				Gates: []plan.GateResult{
					{Metric: "vulns.critical", Value: value(0), Pass: "== 0", Status: plan.StatusPass, Weight: 2, Key: true},
				},
				Tables: []plan.Table{{
					Title:   "Vulnerabilities",
					Kind:    plan.TableFindings,
					Columns: []string{"ID", "Aliases", "Package", "Installed → fixed", "Severity", "Summary"},
					Rows: [][]string{
						{"GO-2026-0001", "CVE-2026-1234", "golang.org/x/text", "v0.3.0 → v0.3.8", "HIGH 7.5", "Out-of-bounds <read> in language tags"},
					},
				}},
				Artifacts: []plan.Artifact{
					{Name: "sbom.cdx.json", Path: "resilience/sbom/sbom.cdx.json", MediaType: "application/vnd.cyclonedx+json"},
					{Name: "vulnerabilities.sarif", Path: "resilience/sbom/vulnerabilities.sarif", MediaType: "application/sarif+json"},
					{Name: "scan on the build server", Path: "https://ci.example.com/jobs/42/findings.json", MediaType: "application/json"},
				},
			},
		},
	})
	r.Score, r.Result, r.Error = plan.Score(r)
	return r
}

// fakeChart is an SVG a load test would have written.
const fakeChart = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`

func TestHTMLMatchesGoldenFile(t *testing.T) {
	MustMatchGolden(t, "report.html", MustRender(t, report.HTML, MustHTMLFixture(t)))
}

// The page must open anywhere without fetching a thing: no scripts, style
// sheets, fonts or images from elsewhere, and no link to another host.
func TestHTMLIsSelfContained(t *testing.T) {
	page := MustRender(t, report.HTML, MustHTMLFixture(t))
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var refs int
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if n.Data == "script" || n.Data == "link" || n.Data == "iframe" || n.Data == "object" {
			t.Errorf("page has a <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			switch strings.ToLower(a.Key) {
			case "src", "href", "xlink:href", "srcset", "action", "poster", "data":
				refs++
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "//") {
					t.Errorf("<%s %s=%q> refers to another host", n.Data, a.Key, a.Val)
				}
			}
		}
	}
	if refs == 0 {
		t.Error("no links at all: the artifacts should be linked")
	}
	for _, bad := range []string{"@import", "url(", "<script"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
	// The remote artifact is named, not linked.
	if !bytes.Contains(page, []byte("https://ci.example.com/jobs/42/findings.json")) {
		t.Error("the remote artifact is not shown")
	}
}

func TestHTMLShowsWhatTheRunProduced(t *testing.T) {
	r := MustHTMLFixture(t)
	page := string(MustRender(t, report.HTML, r))
	wants := []string{
		`<span id="result" class="result bg-fail" data-result="fail">FAIL</span>`,
		`id="score-gauge"`,
		fmt.Sprintf(`<text id="score" x="80" y="74" text-anchor="middle" font-size="26" font-weight="bold">%s</text>`, strings.TrimSuffix(fmt.Sprintf("%.1f", r.Score), ".0")),
		`class="bar phase-bar status-pass" data-name="build"`,
		`class="bar task-bar status-error" data-name="smoke/migrate"`,
		`<td><code>restore.rto</code></td>`,
		`class="series-chart"`,           // drawn from the series: no ReadArtifact
		`http.latency.p95 &lt; 50ms`,     // the gate's threshold, named (it is far above the data)
		`<div class="value">4m12s</div>`, // the drill's RTO
		`<code>restore.rpo</code></div><div class="value">1m1s</div>`,
		`Out-of-bounds &lt;read&gt; in language tags`,
		`<a href="resilience/sbom/sbom.cdx.json">sbom.cdx.json</a>`,
		`<span class="kind">SARIF</span> <a href="resilience/sbom/vulnerabilities.sarif">`,
		`ERROR: relation &#34;orders&#34; already exists &lt;orders&gt; &amp; co`,
	}
	for _, want := range wants {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	gates := 0
	for _, ph := range r.Phases {
		for _, tk := range ph.Tasks {
			gates += len(tk.Gates)
		}
	}
	if got := strings.Count(page, `<tr class="gate-row`); got != gates {
		t.Errorf("%d gate rows, want %d", got, gates)
	}
}

func TestHTMLInlinesChartArtifacts(t *testing.T) {
	read := func(path string) ([]byte, error) {
		if strings.HasSuffix(path, "/latency.svg") {
			return []byte(fakeChart), nil
		}
		return nil, errors.New("no such file")
	}
	var buf bytes.Buffer
	if err := report.HTMLWith(&buf, MustHTMLFixture(t), report.HTMLOptions{ReadArtifact: read}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.Contains(page, `<img src="data:image/svg`) {
		t.Error("the chart the task wrote is not inlined")
	}
	if strings.Count(page, "data:image/svg") != 1 {
		t.Error("want exactly the one readable chart inlined")
	}
	if strings.Contains(page, `class="series-chart"`) {
		t.Error("drew a chart though the task's own is inlined")
	}
}

// WriteDir writes report.html next to the others, with the load test's
// charts read from the artifact directory it links relative to itself.
func TestWriteDirWritesHTMLWithCharts(t *testing.T) {
	root := t.TempDir()
	artifacts := filepath.Join(root, "state", "artifacts", "load-1")
	dir := filepath.Join(root, "out")
	r := loadRun(artifacts)
	chart := r.Phases[0].Tasks[0].Artifacts[0].Path
	if err := os.MkdirAll(filepath.Dir(chart), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chart, []byte(fakeChart), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteDir(dir, r); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(`<img src="data:image/svg`)) {
		t.Errorf("report.html does not inline %s", chart)
	}
	if want := `href="../state/artifacts/load-1/perf/api/latency.svg"`; !bytes.Contains(page, []byte(want)) {
		t.Errorf("report.html lacks %s", want)
	}
}
