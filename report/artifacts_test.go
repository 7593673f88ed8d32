package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
)

// loadRun is a run whose load test drew charts into an artifact directory
// next to the report directory, and keeps a short summary table and a
// long per-second one.
func loadRun(artifacts string) *plan.RunResult {
	series := plan.Table{Title: "Per second", Columns: []string{"second", "requests/s"}}
	for i := range 10 {
		series.Rows = append(series.Rows, []string{string(rune('1' + i)), "200"})
	}
	return &plan.RunResult{
		Plan: "load", RunID: "load-1", Result: plan.StatusPass, Score: 100,
		Phases: []plan.PhaseResult{{Name: "perf", Status: plan.StatusPass, Tasks: []plan.TaskResult{{
			Name: "api", Uses: "loadtest", Status: plan.StatusPass, Metrics: map[string]float64{"http.requests": 2000},
			Tables: []plan.Table{
				{Title: "Load test", Columns: []string{"load", "requests", "p95"}, Rows: [][]string{{"200/s for 10s", "2000", "1.2ms"}}},
				series,
			},
			Artifacts: []plan.Artifact{
				{Name: "latency over time", Path: filepath.Join(artifacts, "perf", "api", "latency.svg"), MediaType: "image/svg+xml"},
				{Name: "flame graph", Path: "https://example.com/flame.png"},
				{Name: "raw results", Path: filepath.Join(artifacts, "perf", "api", "results.bin"), MediaType: "application/octet-stream"},
			},
		}}}},
	}
}

func TestMarkdownShowsImagesInline(t *testing.T) {
	md := string(MustRender(t, report.Markdown, loadRun("/runs/artifacts")))
	for _, want := range []string{
		"`api` · latency over time\n\n![latency over time](/runs/artifacts/perf/api/latency.svg)",
		"![flame graph](https://example.com/flame.png)",
		"- [raw results](/runs/artifacts/perf/api/results.bin) · `api` · application/octet-stream",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}

// WriteDir's report.md points at artifacts relative to itself, so the
// images show wherever the directories are opened; report.json keeps the
// paths as the run recorded them.
func TestWriteDirLinksArtifactsRelativeToTheReport(t *testing.T) {
	root := t.TempDir()
	artifacts := filepath.Join(root, "state", "artifacts", "load-1")
	dir := filepath.Join(root, "out")
	r := loadRun(artifacts)
	if err := report.WriteDir(dir, r); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, report.MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "![latency over time](../state/artifacts/load-1/perf/api/latency.svg)"; !strings.Contains(string(md), want) {
		t.Errorf("report.md lacks %q:\n%s", want, md)
	}
	js, err := os.ReadFile(filepath.Join(dir, report.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), filepath.Join(artifacts, "perf", "api", "latency.svg")) {
		t.Errorf("report.json does not keep the artifact's path:\n%s", js)
	}
	if got := r.Phases[0].Tasks[0].Artifacts[0].Path; !filepath.IsAbs(got) {
		t.Errorf("WriteDir changed the result it was given: %s", got)
	}
}

func TestTextShowsShortTables(t *testing.T) {
	txt := string(MustRender(t, report.Text, loadRun("/a")))
	want := "" +
		"  pass  api  loadtest    http.requests 2000\n" +
		"        Load test\n" +
		"          load           requests  p95\n" +
		"          200/s for 10s  2000      1.2ms\n"
	if !strings.Contains(txt, want) {
		t.Errorf("text lacks the summary table:\n%s", txt)
	}
	if strings.Contains(txt, "Per second") {
		t.Errorf("text shows a 10-row table:\n%s", txt)
	}
}
