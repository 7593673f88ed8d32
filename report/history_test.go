package report_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
)

// MustHistoryFixture is the fixture run with what the history attaches:
// a previous run in which the load test was faster and its gate passed,
// and a trend of three runs.
func MustHistoryFixture(tb testing.TB) *plan.RunResult {
	tb.Helper()
	r := MustFixture(tb)
	prev := MustFixture(tb)
	prev.RunID, prev.Score, prev.Result = "api-release-prev", r.Score+10, plan.StatusPass
	prev.StartedAt = r.StartedAt.Add(-24 * time.Hour)
	older := MustFixture(tb)
	older.RunID, older.StartedAt = "api-release-older", r.StartedAt.Add(-48*time.Hour)
	for _, p := range []*plan.RunResult{prev, older} {
		for i := range p.Phases {
			for j := range p.Phases[i].Tasks {
				t := &p.Phases[i].Tasks[j]
				metrics := map[string]float64{}
				for k, v := range t.Metrics {
					metrics[k] = v * 0.5
				}
				t.Metrics = metrics
				for k := range t.Gates {
					if t.Gates[k].Status == plan.StatusFail {
						t.Gates[k].Status = plan.StatusPass
					}
				}
			}
		}
	}
	cmp := plan.Compare(prev, r)
	r.Compared = &cmp
	r.Trend = plan.NewTrend([]*plan.RunResult{r, older, prev})
	return r
}

func TestReportsCompareWithThePreviousRun(t *testing.T) {
	r := MustHistoryFixture(t)
	if len(r.Compared.Gates) == 0 || len(r.Compared.Metrics) == 0 {
		t.Fatalf("fixture comparison has no changes: %+v", r.Compared)
	}
	gate := r.Compared.Gates[0]
	wantGate := gate.Metric + " of " + gate.Task
	for name, render := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return report.Text(b, r) },
		"markdown": func(b *bytes.Buffer) error { return report.Markdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return report.HTML(b, r) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"ompared with the previous run", "since run api-release-prev (PASS)", "-10 points", wantGate, "pass → fail"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", name, want)
			}
		}
	}
	// Markdown and HTML have a "Previous run" column in the gate tables:
	// the gate that changed says what it was, a moved metric its earlier
	// value and change.
	var move *plan.MetricMove
	for i, m := range r.Compared.Metrics {
		phase, task, _ := strings.Cut(m.Task, "/")
		if tr := r.Task(phase, task); tr != nil && slices.ContainsFunc(tr.Gates, func(g plan.GateResult) bool { return g.Metric == m.Metric }) {
			move = &r.Compared.Metrics[i]
			break
		}
	}
	if move == nil {
		t.Fatalf("the fixture moves no gated metric: %+v", r.Compared.Metrics)
	}
	for name, render := range map[string]func(*bytes.Buffer) error{
		"markdown": func(b *bytes.Buffer) error { return report.Markdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return report.HTML(b, r) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"Previous run", "was " + string(gate.Before), report.FormatUnit(move.Metric, move.Unit, move.Before) + " ("} {
			if !strings.Contains(out, want) {
				t.Errorf("%s gate table lacks %q", name, want)
			}
		}
	}
	var plain bytes.Buffer
	if err := report.Markdown(&plain, MustFixture(t)); err != nil || strings.Contains(plain.String(), "Previous run") {
		t.Errorf("a run without a previous one has a Previous run column (%v)", err)
	}

	var b bytes.Buffer
	if err := report.JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Compared *plan.Comparison `json:"compared"`
		Trend    *plan.Trend      `json:"trend"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Compared == nil || doc.Compared.Before.RunID != "api-release-prev" || doc.Compared.ScoreDelta != -10 {
		t.Errorf("report.json compared = %+v", doc.Compared)
	}
	if doc.Trend == nil || len(doc.Trend.Runs) != 3 || doc.Trend.Runs[0].RunID != "api-release-older" || doc.Trend.Runs[2].RunID != r.RunID {
		t.Errorf("report.json trend = %+v, want three runs oldest first", doc.Trend)
	}
}

func TestHTMLDrawsTrends(t *testing.T) {
	r := MustHistoryFixture(t)
	var b bytes.Buffer
	if err := report.HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	charts := strings.Count(page, `class="trend-chart"`)
	reported := 0
	for i := range r.Trend.Metrics {
		for _, run := range r.Trend.Runs {
			if run.Values[i] != nil {
				reported++
				break
			}
		}
	}
	if want := 1 + min(reported, 12); charts != want {
		t.Errorf("%d trend charts, want %d (the score and each gated metric)", charts, want)
	}
	if !strings.Contains(page, `<figcaption>score</figcaption>`) {
		t.Error("no score trend")
	}
	one := *r
	one.Trend = plan.NewTrend([]*plan.RunResult{r})
	b.Reset()
	if err := report.HTML(&b, &one); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `id="trends"`) {
		t.Error("a trend of one run is drawn")
	}
}

func TestRelativeGatesShowTheirBaseline(t *testing.T) {
	base, pass := 0.2, 0.22
	r := &plan.RunResult{Plan: "api", RunID: "api-2", Result: plan.StatusFail, Score: 0, Scoring: plan.Scoring{Pass: 90, Warning: 75},
		Phases: []plan.PhaseResult{{Name: "perf", Status: plan.StatusFail, Tasks: []plan.TaskResult{{Name: "load", Status: plan.StatusFail,
			Metrics: map[string]float64{"load.latency.p95": 0.3, "load.errors": 2},
			Units:   map[string]plan.Unit{"load.latency.p95": plan.UnitSeconds},
			Gates: []plan.GateResult{
				{Metric: "load.latency.p95", Value: &[]float64{0.3}[0], Unit: plan.UnitSeconds, Pass: "<= baseline * 1.1", Status: plan.StatusFail, Weight: 1,
					Baseline: &plan.BaselineUse{Run: "api-1", Value: &base, Pass: &pass}},
				{Metric: "load.errors", Value: &[]float64{2}[0], Pass: "<= baseline", Status: plan.StatusSkipped, Weight: 1,
					Reason: "no baseline: plan api has no passing run yet", Baseline: &plan.BaselineUse{Missing: "no baseline: plan api has no passing run yet"}},
			}}}}}}
	for name, render := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return report.Text(b, r) },
		"markdown": func(b *bytes.Buffer) error { return report.Markdown(b, r) },
		"html":     func(b *bytes.Buffer) error { return report.HTML(b, r) },
		"junit":    func(b *bytes.Buffer) error { return report.JUnit(b, r) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		out := strings.ReplaceAll(b.String(), "&lt;", "<")
		if name == "junit" {
			if want := "<= baseline * 1.1 (= 220ms; baseline 200ms in run api-1)"; !strings.Contains(out, want) {
				t.Errorf("junit.xml lacks %q", want)
			}
			continue
		}
		for _, want := range []string{"<= baseline * 1.1 (= 220ms; baseline 200ms in run api-1)", "1 relative gate not run and left out of the score: no baseline: plan api has no passing run yet"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", name, want)
			}
		}
	}
}

func TestTrendHTML(t *testing.T) {
	r := MustHistoryFixture(t)
	var b bytes.Buffer
	if err := report.TrendHTML(&b, r.Plan, r.Trend); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, `class="trend-run"`); n != 3 {
		t.Errorf("%d runs listed, want 3", n)
	}
	if first := strings.Index(page, `data-run="`+r.RunID+`"`); first < 0 || first > strings.Index(page, `data-run="api-release-older"`) {
		t.Error("runs are not listed newest first")
	}
	if !strings.Contains(page, `class="trend-chart"`) || strings.Contains(page, "<script") {
		t.Error("no trend chart, or a script, on the trend page")
	}
}
