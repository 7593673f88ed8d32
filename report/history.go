package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/internal/svgchart"
	"github.com/shipshape-dev/shipshape/plan"
)

// passText is a gate's pass threshold as written, with what a relative
// one came to: "<= baseline * 1.1 (= 220ms; baseline 200ms in run X)".
func passText(g plan.GateResult) string {
	b := g.Baseline
	if b == nil || b.Value == nil {
		return g.Pass
	}
	s := g.Pass + " ("
	if b.Pass != nil {
		s += "= " + FormatUnit(g.Metric, g.Unit, *b.Pass) + "; "
	}
	return s + "baseline " + FormatUnit(g.Metric, g.Unit, *b.Value) + " in run " + b.Run + ")"
}

// noBaselineReason says how many relative gates had no baseline, and why
// the first one had none, or "" when every gate had what it needed.
func noBaselineReason(r *plan.RunResult) string {
	n, why := 0, ""
	for _, ph := range r.Phases {
		for _, t := range ph.Tasks {
			for _, g := range t.Gates {
				if g.NoBaseline() {
					if n == 0 {
						why = g.Baseline.Missing
					}
					n++
				}
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d relative gate%s not run and left out of the score: %s", n, pluralS(n), why)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// maxMovesShown bounds the moved metrics a report lists.
const maxMovesShown = 10

// comparedLines is the "compared with the previous run" part of a
// report, as plain lines: the score, the gates that changed state, the
// metrics that moved most.
func comparedLines(c *plan.Comparison) (head string, gates, moves []string, more int) {
	head = fmt.Sprintf("score %s → %s (%+g points) since run %s (%s)",
		formatScore(c.Before.Score), formatScore(c.After.Score), c.ScoreDelta, c.Before.RunID, strings.ToUpper(string(c.Before.Result)))
	if c.Before.Result != c.After.Result {
		head += fmt.Sprintf("; result %s → %s", c.Before.Result, c.After.Result)
	}
	for _, g := range c.Gates {
		key := ""
		if g.Key {
			key = " (key)"
		}
		gates = append(gates, fmt.Sprintf("%s of %s%s: %s → %s", g.Metric, g.Task, key, g.Before, g.After))
	}
	for i, m := range c.Metrics {
		if i == maxMovesShown {
			more = len(c.Metrics) - i
			break
		}
		moves = append(moves, fmt.Sprintf("%s of %s: %s → %s (%s)", m.Metric, m.Task,
			FormatUnit(m.Metric, m.Unit, m.Before), FormatUnit(m.Metric, m.Unit, m.After), changeText(m)))
	}
	return head, gates, moves, more
}

func changeText(m plan.MetricMove) string {
	if m.Change == nil {
		return "from 0"
	}
	return fmt.Sprintf("%+.1f%%", *m.Change*100)
}

// nan is a missing value in a chart: no point drawn.
var nan = math.NaN()

// maxTrendCharts bounds the metric charts a trend draws.
const maxTrendCharts = 12

// TrendChart is one chart of a plan's trend.
type TrendChart struct {
	Name string
	SVG  template.HTML
}

// TrendCharts draws a trend: the score over the runs, then each metric
// the gates read that some run reported (at most 12), X being the runs, oldest first. A trend of
// fewer than two runs draws nothing.
func TrendCharts(tr *plan.Trend) []TrendChart {
	if tr == nil || len(tr.Runs) < 2 {
		return nil
	}
	x := make([]float64, len(tr.Runs))
	scores := make([]float64, len(tr.Runs))
	for i, r := range tr.Runs {
		x[i] = float64(i + 1)
		scores[i] = r.Score
	}
	runNumber := func(v float64) string {
		i := int(v) - 1
		if v != float64(int(v)) || i < 0 || i >= len(tr.Runs) {
			return ""
		}
		return "#" + fmt.Sprint(i+1)
	}
	draw := func(name string, values []float64, format func(float64) string) TrendChart {
		c := svgchart.LineChart{Label: name, Class: "trend-chart", XLabel: "run, oldest first (#" + fmt.Sprint(len(tr.Runs)) + " is this one)",
			X: x, Lines: []svgchart.Line{{Name: name, Values: values}}, FormatX: runNumber, FormatY: format, Empty: "no values"}
		return TrendChart{Name: name, SVG: template.HTML(c.SVG())} // svgchart escapes every piece of text
	}
	out := []TrendChart{draw("score", scores, formatNumber)}
	for i, m := range tr.Metrics {
		if len(out) > maxTrendCharts {
			break
		}
		values := make([]float64, len(tr.Runs))
		any := false
		for j, r := range tr.Runs {
			values[j] = nan
			if i < len(r.Values) && r.Values[i] != nil {
				values[j], any = *r.Values[i], true
			}
		}
		if !any {
			continue // never reported: nothing to draw
		}
		format := unitFormat(m.Unit)
		if m.Unit == "" {
			metric := m.Metric
			format = func(v float64) string { return FormatValue(metric, v) }
		}
		out = append(out, draw(m.Metric+" of "+m.Task, values, format))
	}
	return out
}

// TrendHTML writes a self-contained page of a plan's trend: its runs,
// newest first, and the charts TrendCharts draws. `starter serve` serves
// it for each plan.
func TrendHTML(w io.Writer, planName string, tr *plan.Trend) error {
	if tr == nil {
		tr = &plan.Trend{}
	}
	view := struct {
		Plan   string
		Runs   []plan.TrendRun
		Charts []TrendChart
	}{Plan: planName, Charts: TrendCharts(tr)}
	for i := len(tr.Runs) - 1; i >= 0; i-- {
		view.Runs = append(view.Runs, tr.Runs[i])
	}
	var buf bytes.Buffer
	if err := trendPage.Execute(&buf, view); err != nil {
		return err
	}
	return writeAll(w, &buf)
}

var trendPage = template.Must(template.New("trend.html").Funcs(template.FuncMap{
	"upper": strings.ToUpper, "score": formatScore, "time": formatTime,
	"status": func(s plan.Status) string { return string(s) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shipshape trend: {{.Plan}}</title>
<style>` + htmlStyle + `</style>
</head>
<body>
<main>
<header id="summary"><div><h1>Shipshape trend: {{.Plan}}</h1><p class="facts">the last {{len .Runs}} run(s) in the run history</p></div></header>
<section id="trend-runs">
<h2>Runs</h2>
{{if .Runs}}<table>
<thead><tr><th>Run</th><th>Started</th><th>Result</th><th>Score</th></tr></thead>
<tbody>
{{range .Runs}}<tr class="trend-run" data-run="{{.RunID}}"><td><a href="/runs/{{.RunID}}"><code>{{.RunID}}</code></a></td><td>{{time .StartedAt}}</td><td class="status status-{{status .Result}}">{{upper (status .Result)}}</td><td class="num">{{score .Score}}</td></tr>
{{end}}</tbody>
</table>{{else}}<p>No runs of this plan in the run history.</p>{{end}}
</section>
{{with .Charts}}<section id="trends">
<h2>Trends</h2>
<div class="trend-grid">
{{range .}}<figure class="trend">{{.SVG}}<figcaption>{{.Name}}</figcaption></figure>
{{end}}</div>
</section>
{{else}}<section id="trends"><h2>Trends</h2><p>A trend needs two runs.</p></section>
{{end}}</main>
</body>
</html>
`))

// previousCell is what the plan's previous run had for a gate, for the
// "Previous run" column: the metric's earlier value and its change, and
// the gate's earlier status when it changed; "unchanged", or "new task".
func previousCell(c *plan.Comparison, task, metric string) string {
	if c == nil {
		return ""
	}
	if slices.Contains(c.OnlyAfter, task) {
		return "new task"
	}
	var parts []string
	for _, m := range c.Metrics {
		if m.Task == task && m.Metric == metric {
			parts = append(parts, fmt.Sprintf("%s (%s)", FormatUnit(m.Metric, m.Unit, m.Before), changeText(m)))
		}
	}
	for _, g := range c.Gates {
		if g.Task == task && g.Metric == metric {
			parts = append(parts, fmt.Sprintf("was %s", g.Before))
		}
	}
	if len(parts) == 0 {
		return "unchanged"
	}
	return strings.Join(parts, "; ")
}
