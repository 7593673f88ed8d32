package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"html/template"
	"io"
	"maps"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// HTMLFile is the name of the HTML report WriteDir writes.
const HTMLFile = "report.html"

// maxInlineImage bounds an SVG chart inlined into report.html; a bigger
// one is linked instead, so the report stays quick to open.
const maxInlineImage = 2 << 20

// HTMLOptions tunes HTMLWith.
type HTMLOptions struct {
	// ReadArtifact reads an artifact by its path as the RunResult (or
	// WriteDir, made relative) names it, so the SVG charts tasks drew can
	// be inlined. When it is nil or fails, a task's charts are drawn from
	// its series instead.
	ReadArtifact func(path string) ([]byte, error)
}

// HTML writes r as one self-contained HTML page: no scripts, styles,
// fonts or images are fetched from anywhere. See HTMLWith.
func HTML(w io.Writer, r *plan.RunResult) error { return HTMLWith(w, r, HTMLOptions{}) }

// HTMLWith writes r as one self-contained HTML page: a header with the
// result and a score gauge, a timeline of phases and tasks, the gates, the
// tasks' charts (their series, or the SVG charts they drew), recovery
// (RTO/RPO) figures, findings, then per phase its tasks' errors, tables
// and output, and the artifacts as relative links. Everything it shows
// comes from r.
func HTMLWith(w io.Writer, r *plan.RunResult, opts HTMLOptions) error {
	if r == nil {
		return errNoResult
	}
	v := buildHTMLView(r, opts)
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, v); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return writeAll(w, &b)
}

// htmlView is what the page template reads: text already formatted, SVG
// already drawn (with every piece of text escaped as it was drawn).
type htmlView struct {
	Run        *plan.RunResult
	Result     string
	Score      string
	Pass       string
	Warning    string
	Facts      []string
	Labels     []string
	Gauge      template.HTML
	Timeline   template.HTML
	Phases     []htmlPhase
	Gates      []htmlGate
	Charts     []htmlTaskCharts
	Recovery   []htmlRecovery
	Findings   []htmlTable
	Artifacts  []htmlArtifact
	GateCounts string
	// Reasons say why the run is not a clean pass, most important first.
	Reasons []string
	// Compared is what changed since the plan's previous run.
	Compared *htmlCompared
	// Trends are the plan's last runs, charted.
	Trends []TrendChart
}

type htmlCompared struct {
	Head         string
	Gates, Moves []string
	More         int
}

type htmlPhase struct {
	Name, Status, Tasks, Duration, Reason string
	Approval                              *htmlApproval
	Details                               []htmlTaskDetail
}

type htmlApproval struct{ Decision, By, At, Reason string }

type htmlTaskDetail struct {
	Name, Uses, Status, Error, Output string
	Tables                            []htmlTable
}

type htmlGate struct {
	Phase, Task, Metric, Value, Threshold, Status, Weight, Reason string
	// Previous is what the plan's previous run had (with a comparison).
	Previous string
	Key      bool
}

type htmlTable struct {
	Task    string
	Title   string
	Columns []string
	Rows    [][]string
}

// htmlTaskCharts is one task's charts, with its summary tables.
type htmlTaskCharts struct {
	Phase, Task string
	Summary     []htmlTable
	Charts      []htmlChart
}

type htmlChart struct {
	Name  string
	Image template.URL  // an inlined SVG artifact, as a data: URL
	SVG   template.HTML // or a chart drawn from one of the task's series
}

type htmlRecovery struct {
	Phase, Task, Status string
	Figures             []htmlFigure
}

type htmlFigure struct {
	Label, Value, Target, Status string
}

type htmlArtifact struct {
	Phase, Task, Name, MediaType, Kind string
	Href                               template.URL // empty: shown, not linked
	Path                               string
}

func buildHTMLView(r *plan.RunResult, opts HTMLOptions) *htmlView {
	v := &htmlView{
		Run:     r,
		Result:  string(r.Result),
		Score:   formatScore(r.Score),
		Pass:    formatScore(r.Scoring.Pass),
		Warning: formatScore(r.Scoring.Warning),
		Gauge:   scoreGauge(r),
	}
	v.Facts = append(v.Facts, "run "+r.RunID)
	if !r.StartedAt.IsZero() {
		v.Facts = append(v.Facts, "started "+formatTime(r.StartedAt))
	}
	if d, ok := elapsed(r.StartedAt, r.FinishedAt); ok {
		v.Facts = append(v.Facts, "took "+formatDuration(d))
	} else if !r.Result.Done() {
		v.Facts = append(v.Facts, "still "+string(r.Result))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
		v.Labels = append(v.Labels, k+"="+r.Labels[k])
	}
	v.Timeline = timeline(r)
	counts := map[plan.Status]int{}
	for i := range r.Phases {
		ph := &r.Phases[i]
		v.Phases = append(v.Phases, htmlPhaseOf(ph, opts))
		for _, t := range ph.Tasks {
			for _, g := range t.Gates {
				counts[g.Status]++
				hg := htmlGateOf(ph.Name, t.Name, g)
				hg.Previous = previousCell(r.Compared, ph.Name+"/"+t.Name, g.Metric)
				v.Gates = append(v.Gates, hg)
			}
			if c, ok := chartsOf(ph.Name, t, opts); ok {
				v.Charts = append(v.Charts, c)
			}
			if rec, ok := recoveryOf(ph.Name, t); ok {
				v.Recovery = append(v.Recovery, rec)
			}
			for _, tab := range t.Tables {
				if tab.Kind == plan.TableFindings {
					v.Findings = append(v.Findings, htmlTableOf(t.Name, tab))
				}
			}
			for _, a := range t.Artifacts {
				v.Artifacts = append(v.Artifacts, htmlArtifactOf(ph.Name, t.Name, a))
			}
		}
	}
	var parts []string
	for _, s := range []plan.Status{plan.StatusPass, plan.StatusWarning, plan.StatusFail, plan.StatusSkipped} {
		if counts[s] > 0 {
			label := string(s)
			if s == plan.StatusSkipped {
				label = "not run"
			}
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], label))
		}
	}
	v.GateCounts = strings.Join(parts, ", ")
	if r.Result.Done() {
		v.Reasons = Reasons(r)
	}
	if r.Compared != nil {
		c := &htmlCompared{}
		c.Head, c.Gates, c.Moves, c.More = comparedLines(r.Compared)
		v.Compared = c
	}
	v.Trends = TrendCharts(r.Trend)
	return v
}

func htmlPhaseOf(ph *plan.PhaseResult, opts HTMLOptions) htmlPhase {
	p := htmlPhase{Name: ph.Name, Status: string(ph.Status), Duration: phaseDuration(ph), Reason: ph.Reason, Tasks: "—"}
	switch {
	case isApproval(ph) && len(ph.Tasks) == 0:
		p.Tasks = "approval"
	case len(ph.Tasks) > 0:
		p.Tasks = taskCounts(ph.Tasks)
	}
	if a := ph.Approval; a != nil {
		p.Approval = &htmlApproval{Decision: string(a.Decision), By: a.By, Reason: a.Reason}
		if !a.At.IsZero() {
			p.Approval.At = formatTime(a.At)
		}
		if a.TimedOut && a.By == "" {
			p.Approval.By = "nobody (timed out)"
		}
		p.Reason = "" // the approval says it
	}
	for _, t := range ph.Tasks {
		d := htmlTaskDetail{Name: t.Name, Uses: t.Uses, Status: string(t.Status), Error: t.Error}
		if out := strings.TrimRight(t.Output, "\n"); out != "" {
			lines := strings.Split(out, "\n")
			if len(lines) > maxOutputLines {
				lines = lines[len(lines)-maxOutputLines:]
			}
			d.Output = strings.Join(lines, "\n")
		}
		_, charted := chartsOf(ph.Name, t, opts)
		for _, tab := range t.Tables {
			switch {
			case tab.Kind == plan.TableFindings:
				continue // with the findings
			case tab.Kind == plan.TableSeries && len(t.Series) > 0:
				continue // drawn, or drawn by the task: the charts show it
			case tab.Kind == plan.TableSummary && charted:
				continue // beside the charts
			}
			d.Tables = append(d.Tables, htmlTableOf(t.Name, tab))
		}
		if d.Error != "" || d.Output != "" || len(d.Tables) > 0 {
			p.Details = append(p.Details, d)
		}
	}
	return p
}

func htmlGateOf(phase, task string, g plan.GateResult) htmlGate {
	threshold := passText(g)
	if g.Warning != "" {
		threshold += " (warning " + g.Warning + ")"
	}
	return htmlGate{
		Phase: phase, Task: task, Metric: g.Metric, Value: valueText(g), Threshold: threshold,
		Status: string(g.Status), Weight: formatNumber(g.Weight), Key: g.Key, Reason: g.Reason,
	}
}

func htmlTableOf(task string, tab plan.Table) htmlTable {
	width := len(tab.Columns)
	for _, row := range tab.Rows {
		width = max(width, len(row))
	}
	pad := func(cells []string) []string {
		out := make([]string, width)
		copy(out, cells)
		return out
	}
	t := htmlTable{Task: task, Title: tab.Title, Columns: pad(tab.Columns)}
	for _, row := range tab.Rows {
		t.Rows = append(t.Rows, pad(row))
	}
	return t
}

// chartsOf gathers a task's charts and summary tables: the SVG charts it
// drew (its SVG artifacts) inlined when they can be read, else its series
// drawn. A task with neither has no charts.
func chartsOf(phase string, t plan.TaskResult, opts HTMLOptions) (htmlTaskCharts, bool) {
	c := htmlTaskCharts{Phase: phase, Task: t.Name}
	for _, a := range t.Artifacts {
		if !isSVG(a) || opts.ReadArtifact == nil || isURL(a.Path) {
			continue
		}
		data, err := opts.ReadArtifact(a.Path)
		if err != nil || len(data) == 0 || len(data) > maxInlineImage {
			continue
		}
		c.Charts = append(c.Charts, htmlChart{
			Name: a.Name,
			// As an image, an SVG can neither run scripts nor load anything.
			Image: template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(data)),
		})
	}
	if len(c.Charts) == 0 {
		for _, s := range t.Series {
			c.Charts = append(c.Charts, htmlChart{Name: s.Title, SVG: seriesChart(s)})
		}
	}
	if len(c.Charts) == 0 {
		return c, false
	}
	for _, tab := range t.Tables {
		if tab.Kind == plan.TableSummary {
			c.Summary = append(c.Summary, htmlTableOf(t.Name, tab))
		}
	}
	return c, true
}

func isSVG(a plan.Artifact) bool {
	return a.MediaType == "image/svg+xml" || (a.MediaType == "" && strings.EqualFold(filepath.Ext(a.Path), ".svg"))
}

func isURL(p string) bool {
	u, err := url.Parse(p)
	return err == nil && u.Scheme != "" && len(u.Scheme) > 1 // not a Windows drive letter
}

// recoveryOf gathers the RTO and RPO a drill measured, or its gates on
// them: any metric whose last word is rto or rpo.
func recoveryOf(phase string, t plan.TaskResult) (htmlRecovery, bool) {
	rec := htmlRecovery{Phase: phase, Task: t.Name, Status: string(t.Status)}
	seen := map[string]bool{}
	for _, g := range t.Gates {
		if !isRecoveryMetric(g.Metric) {
			continue
		}
		seen[g.Metric] = true
		target := g.Pass
		if g.Warning != "" {
			target += " (warning " + g.Warning + ")"
		}
		rec.Figures = append(rec.Figures, htmlFigure{Label: g.Metric, Value: valueText(g), Target: target, Status: string(g.Status)})
	}
	for _, m := range slices.Sorted(maps.Keys(t.Metrics)) {
		if isRecoveryMetric(m) && !seen[m] {
			rec.Figures = append(rec.Figures, htmlFigure{Label: m, Value: FormatUnit(m, t.Units[m], t.Metrics[m])})
		}
	}
	return rec, len(rec.Figures) > 0
}

func isRecoveryMetric(m string) bool {
	m = strings.ToLower(m)
	i := strings.LastIndexAny(m, "._-")
	last := m[i+1:]
	return last == "rto" || last == "rpo"
}

// htmlArtifactOf links an artifact relative to the report, or by a file
// URL when its path is absolute. A URL elsewhere is shown but not linked:
// the page refers to nothing outside the run's files.
func htmlArtifactOf(phase, task string, a plan.Artifact) htmlArtifact {
	out := htmlArtifact{Phase: phase, Task: task, Name: a.Name, MediaType: a.MediaType, Path: a.Path, Kind: artifactKind(a)}
	if out.Name == "" {
		out.Name = a.Path
	}
	switch {
	case isURL(a.Path):
	case filepath.IsAbs(a.Path) || strings.HasPrefix(a.Path, "/"):
		out.Href = template.URL((&url.URL{Scheme: "file", Path: filepath.ToSlash(a.Path)}).String())
	default:
		out.Href = template.URL((&url.URL{Path: filepath.ToSlash(a.Path)}).String())
	}
	return out
}

func artifactKind(a plan.Artifact) string {
	mt, name := strings.ToLower(a.MediaType), strings.ToLower(filepath.Base(a.Path))
	switch {
	case strings.Contains(mt, "sarif") || strings.HasSuffix(name, ".sarif"):
		return "SARIF"
	case strings.Contains(mt, "cyclonedx") || strings.Contains(mt, "spdx") || strings.Contains(name, ".cdx.") || strings.Contains(name, "sbom"):
		return "SBOM"
	case isImage(a):
		return "chart"
	}
	return ""
}

// statusColor is the colour of a status in the page and its charts.
func statusColor(s plan.Status) string {
	switch s {
	case plan.StatusPass, plan.StatusApproved:
		return "#2f855a"
	case plan.StatusWarning, plan.StatusWaiting:
		return "#c05621"
	case plan.StatusFail, plan.StatusError, plan.StatusRejected:
		return "#c53030"
	case plan.StatusRunning:
		return "#2b6cb0"
	}
	return "#a0aec0" // skipped, cancelled, pending
}

// scoreGauge draws the score as a half-circle gauge with ticks at the
// warning and pass thresholds.
func scoreGauge(r *plan.RunResult) template.HTML {
	const cx, cy, radius = 80.0, 80.0, 64.0
	point := func(score, rad float64) (float64, float64) {
		a := math.Pi * (1 - math.Max(0, math.Min(100, score))/100)
		return cx + rad*math.Cos(a), cy - rad*math.Sin(a)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="score-gauge" class="gauge" width="160" height="100" viewBox="0 0 160 100" role="img" aria-label="score %s of 100">`, formatScore(r.Score))
	arc := fmt.Sprintf("M%g %g A%g %g 0 0 1 %g %g", cx-radius, cy, radius, radius, cx+radius, cy)
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#e2e8f0" stroke-width="14"/>`, arc)
	if r.Score > 0 {
		fmt.Fprintf(&b, `<path class="gauge-value" d="%s" fill="none" stroke="%s" stroke-width="14" pathLength="100" stroke-dasharray="%s 100"/>`,
			arc, statusColor(r.Result), trimFloat(math.Min(100, r.Score)))
	}
	for _, th := range []struct {
		name  string
		value float64
	}{{"warning", r.Scoring.Warning}, {"pass", r.Scoring.Pass}} {
		x1, y1 := point(th.value, radius-10)
		x2, y2 := point(th.value, radius+10)
		fmt.Fprintf(&b, `<line class="gauge-%s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#1a202c" stroke-width="2"><title>%s ≥ %s</title></line>`,
			th.name, x1, y1, x2, y2, th.name, formatScore(th.value))
	}
	fmt.Fprintf(&b, `<text id="score" x="%g" y="%g" text-anchor="middle" font-size="26" font-weight="bold">%s</text>`, cx, cy-6, formatScore(r.Score))
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" font-size="11" fill="#4a5568">/ 100</text>`, cx, cy+12)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Timeline geometry, in SVG user units.
const (
	tlLabel   = 200.0
	tlWidth   = 640.0
	tlPhaseH  = 24.0
	tlTaskH   = 18.0
	tlAxis    = 24.0
	tlPadding = 8.0
)

// timeline draws a Gantt chart: a row per phase and, under it, a thinner
// row per task, each a bar from its start to its finish on the run's time
// axis, coloured by status. Phases and tasks that never started have a row
// without a bar.
func timeline(r *plan.RunResult) template.HTML {
	start, end := timeSpan(r)
	span := end.Sub(start).Seconds()
	x := func(t time.Time) float64 { return tlLabel + tlWidth*t.Sub(start).Seconds()/span }
	height := tlAxis + tlPadding
	for _, ph := range r.Phases {
		height += tlPhaseH + tlTaskH*float64(len(ph.Tasks))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="timeline" class="timeline" width="%g" height="%g" viewBox="0 0 %g %g" role="img" aria-label="timeline of phases and tasks">`,
		tlLabel+tlWidth+tlPadding, height, tlLabel+tlWidth+tlPadding, height)
	// The axis: five ticks from the run's start.
	for i := 0; i <= 4; i++ {
		tx := tlLabel + tlWidth*float64(i)/4
		anchor := "middle"
		if i == 4 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#e2e8f0"/>`, tx, tlAxis-4, tx, height)
		fmt.Fprintf(&b, `<text x="%.1f" y="14" text-anchor="%s" font-size="11" fill="#4a5568">+%s</text>`, tx, anchor,
			html.EscapeString(formatSeconds(span*float64(i)/4)))
	}
	y := tlAxis
	bar := func(class, name string, status plan.Status, from, to time.Time, top, h float64) {
		if from.IsZero() {
			return
		}
		if to.IsZero() || to.Before(from) {
			to = end // still going
		}
		x1, x2 := x(from), x(to)
		w := math.Max(x2-x1, 2) // an instant still shows
		fmt.Fprintf(&b, `<rect class="bar %s status-%s" data-name="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3" fill="%s"><title>%s: %s, %s</title></rect>`,
			class, html.EscapeString(string(status)), html.EscapeString(name), x1, top, w, h, statusColor(status),
			html.EscapeString(name), html.EscapeString(string(status)), html.EscapeString(durationText(from, to)))
	}
	for _, ph := range r.Phases {
		fmt.Fprintf(&b, `<text class="row-label" x="4" y="%.1f" font-size="12" font-weight="bold">%s</text>`, y+tlPhaseH/2+4, html.EscapeString(clip(ph.Name, 28)))
		bar("phase-bar", ph.Name, ph.Status, ph.StartedAt, ph.FinishedAt, y+3, tlPhaseH-6)
		if ph.StartedAt.IsZero() {
			fmt.Fprintf(&b, `<text x="%g" y="%.1f" font-size="11" fill="#718096">%s</text>`, tlLabel+4, y+tlPhaseH/2+4, html.EscapeString(string(ph.Status)))
		}
		y += tlPhaseH
		for _, t := range ph.Tasks {
			fmt.Fprintf(&b, `<text class="row-label" x="16" y="%.1f" font-size="11" fill="#4a5568">%s</text>`, y+tlTaskH/2+4, html.EscapeString(clip(t.Name, 28)))
			bar("task-bar", ph.Name+"/"+t.Name, t.Status, t.StartedAt, t.FinishedAt, y+4, tlTaskH-8)
			y += tlTaskH
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timeSpan is the time the timeline covers: from the run's start (or the
// first thing that started) to its finish (or the last thing that did).
func timeSpan(r *plan.RunResult) (time.Time, time.Time) {
	start, end := r.StartedAt, r.FinishedAt
	see := func(from, to time.Time) {
		if !from.IsZero() && (start.IsZero() || from.Before(start)) {
			start = from
		}
		for _, t := range []time.Time{from, to} {
			if !t.IsZero() && t.After(end) {
				end = t
			}
		}
	}
	for _, ph := range r.Phases {
		see(ph.StartedAt, ph.FinishedAt)
		for _, t := range ph.Tasks {
			see(t.StartedAt, t.FinishedAt)
		}
	}
	if !end.After(start) {
		end = start.Add(time.Second)
	}
	return start, end
}

func durationText(from, to time.Time) string {
	if d, ok := elapsed(from, to); ok {
		return formatDuration(d)
	}
	return "—"
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// htmlStyle is the page's only style sheet, inline.
const htmlStyle = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a202c;background:#f7fafc}
main{max-width:1100px;margin:0 auto;padding:24px}
header{display:flex;align-items:center;gap:24px;background:#fff;border-radius:8px;padding:16px 24px;box-shadow:0 1px 3px rgba(0,0,0,.1)}
header h1{margin:0 0 6px;font-size:22px}
.result{display:inline-block;padding:4px 12px;border-radius:4px;color:#fff;font-weight:bold;text-transform:uppercase;letter-spacing:.05em}
.facts{color:#4a5568;font-size:13px;margin:6px 0 0}
.label{display:inline-block;background:#edf2f7;border-radius:3px;padding:0 6px;margin-right:4px;font-family:ui-monospace,monospace;font-size:12px}
.error{background:#fff5f5;border-left:4px solid #c53030;padding:8px 12px;margin:8px 0;white-space:pre-wrap}
section{background:#fff;border-radius:8px;padding:16px 24px;margin-top:16px;box-shadow:0 1px 3px rgba(0,0,0,.1);overflow-x:auto}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%;font-size:13px;margin-bottom:8px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{background:#edf2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
pre{background:#1a202c;color:#e2e8f0;padding:8px 12px;border-radius:4px;overflow-x:auto;white-space:pre-wrap}
.status{font-weight:600}
.status-pass,.status-approved{color:#2f855a}.status-warning,.status-waiting{color:#c05621}
.status-fail,.status-error,.status-rejected{color:#c53030}.status-skipped,.status-cancelled,.status-pending{color:#718096}
.bg-pass{background:#2f855a}.bg-warning{background:#c05621}.bg-fail{background:#c53030}.bg-running{background:#2b6cb0}
.figures{display:flex;flex-wrap:wrap;gap:12px}
.figure{border:1px solid #e2e8f0;border-radius:6px;padding:8px 16px;min-width:160px}
.figure .value{font-size:24px;font-weight:bold}
.figure .target{color:#4a5568;font-size:12px}
figure{margin:8px 0}
figcaption{color:#4a5568;font-size:12px}
.kind{font-size:11px;background:#ebf8ff;color:#2b6cb0;border-radius:3px;padding:0 4px}
.trend-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:8px 16px}
.trend-grid svg{width:100%;height:auto}
`

var htmlPage = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shipshape readiness: {{.Run.Plan}} · {{upper .Result}} · {{.Score}}</title>
<style>` + htmlStyle + `</style>
</head>
<body>
<main>
<header id="summary">
{{.Gauge}}
<div>
<h1>Shipshape readiness: {{.Run.Plan}}</h1>
<span id="result" class="result bg-{{.Result}}" data-result="{{.Result}}">{{upper .Result}}</span>
<span class="facts">score <strong id="score-value">{{.Score}}</strong> / 100 · pass ≥ {{.Pass}}, warning ≥ {{.Warning}}{{with .GateCounts}} · gates: {{.}}{{end}}</span>
<p class="facts">{{range $i, $f := .Facts}}{{if $i}} · {{end}}{{$f}}{{end}}</p>
{{with .Labels}}<p class="facts">{{range .}}<span class="label">{{.}}</span>{{end}}</p>{{end}}
{{with .Run.Error}}<div class="error" id="run-error">{{.}}</div>{{end}}
{{with .Reasons}}<ul id="verdict-reasons" class="reasons">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
</div>
</header>

{{with .Compared}}<section id="compared">
<h2>Compared with the previous run</h2>
<p id="compared-head">{{.Head}}</p>
{{if .Gates}}<h3>Gates that changed</h3><ul id="compared-gates">{{range .Gates}}<li>{{.}}</li>{{end}}</ul>{{else}}<p>No gate changed state.</p>{{end}}
{{with .Moves}}<h3>Metrics that moved</h3><ul id="compared-metrics">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}{{with .More}}<p>and {{.}} more</p>{{end}}
</section>

{{end}}<section id="phases">
<h2>Timeline</h2>
{{.Timeline}}
<table id="phase-table">
<thead><tr><th>Phase</th><th>Status</th><th>Tasks</th><th>Duration</th><th>Notes</th></tr></thead>
<tbody>
{{range .Phases}}<tr class="phase-row" data-phase="{{.Name}}"><td><code>{{.Name}}</code></td><td class="status status-{{.Status}}">{{.Status}}</td><td>{{.Tasks}}</td><td class="num">{{.Duration}}</td><td>{{with .Approval}}{{.Decision}}{{with .By}} by {{.}}{{end}}{{with .At}} at {{.}}{{end}}{{with .Reason}}: {{.}}{{end}}{{end}}{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
</section>

<section id="gates">
<h2>Gates</h2>
{{if .Gates}}<table id="gates-table">
<thead><tr><th>Phase</th><th>Task</th><th>Metric</th><th>Value</th><th>Threshold</th><th>Status</th><th>Weight</th><th>Key</th><th>Reason</th>{{if .Compared}}<th>Previous run</th>{{end}}</tr></thead>
<tbody>
{{range .Gates}}<tr class="gate-row status-row-{{.Status}}"><td><code>{{.Phase}}</code></td><td><code>{{.Task}}</code></td><td><code>{{.Metric}}</code></td><td class="num">{{.Value}}</td><td><code>{{.Threshold}}</code></td><td class="status status-{{.Status}}">{{.Status}}</td><td class="num">{{.Weight}}</td><td>{{if .Key}}key{{end}}</td><td>{{.Reason}}</td>{{if $.Compared}}<td class="previous">{{.Previous}}</td>{{end}}</tr>
{{end}}</tbody>
</table>{{else}}<p>No gates.</p>{{end}}
</section>
{{with .Charts}}
<section id="charts">
<h2>Charts</h2>
{{range .}}<div class="task-charts" data-task="{{.Phase}}/{{.Task}}">
<h3><code>{{.Phase}}/{{.Task}}</code></h3>
{{range .Summary}}{{template "table" .}}{{end}}
{{range .Charts}}<figure class="chart">{{if .Image}}<img src="{{.Image}}" alt="{{.Name}}">{{else}}{{.SVG}}{{end}}<figcaption>{{.Name}}</figcaption></figure>
{{end}}</div>
{{end}}</section>
{{end}}{{with .Trends}}
<section id="trends">
<h2>Trends</h2>
<div class="trend-grid">
{{range .}}<figure class="trend">{{.SVG}}<figcaption>{{.Name}}</figcaption></figure>
{{end}}</div>
</section>
{{end}}{{with .Recovery}}
<section id="recovery">
<h2>Recovery</h2>
{{range .}}<h3><code>{{.Phase}}/{{.Task}}</code> · <span class="status status-{{.Status}}">{{.Status}}</span></h3>
<div class="figures">{{range .Figures}}<div class="figure"><div class="target"><code>{{.Label}}</code></div><div class="value">{{.Value}}</div>{{with .Target}}<div class="target">target <code>{{.}}</code></div>{{end}}{{with .Status}}<div class="status status-{{.}}">{{.}}</div>{{end}}</div>{{end}}</div>
{{end}}</section>
{{end}}{{with .Findings}}
<section id="findings">
<h2>Findings</h2>
{{range .}}{{template "table" .}}{{end}}</section>
{{end}}
<section id="details">
<h2>Phases</h2>
{{range .Phases}}<h3><code>{{.Name}}</code> · <span class="status status-{{.Status}}">{{.Status}}</span></h3>
{{with .Reason}}<p>{{.}}</p>{{end}}{{with .Approval}}<p>{{.Decision}}{{with .By}} by {{.}}{{end}}{{with .At}} at {{.}}{{end}}{{with .Reason}}: {{.}}{{end}}</p>{{end}}
{{range .Details}}<h4><code>{{.Name}}</code> ({{.Uses}}) · <span class="status status-{{.Status}}">{{.Status}}</span></h4>
{{with .Error}}<div class="error">{{.}}</div>{{end}}
{{range .Tables}}{{template "table" .}}{{end}}
{{with .Output}}<details><summary>Output</summary><pre>{{.}}</pre></details>{{end}}
{{end}}{{end}}</section>
{{with .Artifacts}}
<section id="artifacts">
<h2>Artifacts</h2>
<table>
<thead><tr><th>Artifact</th><th>Task</th><th>Type</th></tr></thead>
<tbody>
{{range .}}<tr class="artifact-row"><td>{{with .Kind}}<span class="kind">{{.}}</span> {{end}}{{if .Href}}<a href="{{.Href}}">{{.Name}}</a>{{else}}{{.Name}} <code>{{.Path}}</code>{{end}}</td><td><code>{{.Phase}}/{{.Task}}</code></td><td>{{.MediaType}}</td></tr>
{{end}}</tbody>
</table>
</section>
{{end}}
</main>
</body>
</html>
{{define "table"}}<table class="task-table">
<caption>{{.Title}}</caption>
<thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{end}}`))
