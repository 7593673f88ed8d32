package report

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/shipshape-dev/shipshape/plan"
)

// TextOptions tunes TextWith.
type TextOptions struct {
	// Color marks statuses with ANSI colours, for a terminal.
	Color bool
}

// maxTextMetrics bounds the metrics listed for a task without gates.
const maxTextMetrics = 4

// maxTextTableRows is the most rows a task's table may have to be shown
// in the terminal: short tables are summaries (a load test's figures, a
// checklist); longer ones are breakdowns, left to report.md.
const maxTextTableRows = 5

// Text writes a compact summary of r for a terminal, without colours: each
// phase with its tasks, their status, time and the metrics their gates
// judged, every gate that failed or only warned, the tasks' short tables,
// then the score and result.
func Text(w io.Writer, r *plan.RunResult) error { return TextWith(w, r, TextOptions{}) }

// TextWith writes what Text does, as opts ask.
func TextWith(w io.Writer, r *plan.RunResult, opts TextOptions) error {
	if r == nil {
		return errNoResult
	}
	p := textPrinter{color: opts.Color}
	p.headline(r)
	p.verdict(r)
	p.phases(r)
	p.compared(r)
	p.result(r)
	return writeAll(w, &p.b)
}

type textPrinter struct {
	b     bytes.Buffer
	color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
)

// paint wraps s in an ANSI style when colours are on.
func (p *textPrinter) paint(style, s string) string {
	if !p.color || style == "" || s == "" {
		return s
	}
	return style + s + ansiReset
}

// status writes a status in its colour.
func (p *textPrinter) status(s plan.Status) string {
	style := ""
	switch s {
	case plan.StatusPass, plan.StatusApproved:
		style = ansiGreen
	case plan.StatusWarning:
		style = ansiYellow
	case plan.StatusFail, plan.StatusError, plan.StatusRejected:
		style = ansiRed
	case plan.StatusSkipped, plan.StatusCancelled:
		style = ansiDim
	}
	return p.paint(style, string(s))
}

func (p *textPrinter) headline(r *plan.RunResult) {
	parts := []string{p.paint(ansiBold, r.Plan), "run " + r.RunID}
	if !r.StartedAt.IsZero() {
		parts = append(parts, "started "+formatTime(r.StartedAt))
	}
	if d, ok := elapsed(r.StartedAt, r.FinishedAt); ok {
		parts = append(parts, "took "+formatDuration(d))
	}
	p.b.WriteString(strings.Join(parts, " · ") + "\n\n")
}

// verdict opens the report with the result and why: the gates that failed
// or warned, key gates first (Reasons), before any detail. A run still
// going has no verdict yet.
func (p *textPrinter) verdict(r *plan.RunResult) {
	if !r.Result.Done() {
		return
	}
	p.result(r)
	for _, why := range Reasons(r) {
		p.b.WriteString("  - " + why + "\n")
	}
	p.b.WriteString("\n")
}

// taskRow is one task line, cell by cell, before padding.
type taskRow struct {
	status  plan.Status
	name    string
	uses    string
	took    string
	details string
	gates   []string // lines under the task, one per gate that failed or warned
	tables  []string // lines of the task's short tables, under the gates
}

func (p *textPrinter) phases(r *plan.RunResult) {
	// Columns line up across the whole run, not just within a phase.
	var width struct{ status, name, uses, took int }
	rows := make([][]taskRow, len(r.Phases))
	for i, ph := range r.Phases {
		for _, t := range ph.Tasks {
			row := p.taskRow(t)
			width.status = max(width.status, utf8.RuneCountInString(string(row.status)))
			width.name = max(width.name, utf8.RuneCountInString(row.name))
			width.uses = max(width.uses, utf8.RuneCountInString(row.uses))
			width.took = max(width.took, utf8.RuneCountInString(row.took))
			rows[i] = append(rows[i], row)
		}
	}
	for i := range r.Phases {
		ph := &r.Phases[i]
		// The status, then why: the approval decision, or the phase's
		// reason (which the workflow often starts with the status).
		status, why := ph.Status, statusMessage(ph.Status, oneLine(ph.Reason))
		if a := ph.Approval; a != nil {
			status, why = a.Decision, decisionText(a)
		}
		parts := []string{p.paint(ansiBold, ph.Name), p.status(status) + strings.TrimPrefix(why, string(status))}
		if d, ok := elapsed(ph.StartedAt, ph.FinishedAt); ok && !isApproval(ph) {
			parts = append(parts, formatDuration(d))
		}
		p.b.WriteString(strings.Join(parts, " · ") + "\n")
		for _, row := range rows[i] {
			line := "  " + pad(p.status(row.status), string(row.status), width.status) +
				"  " + pad(row.name, row.name, width.name) +
				"  " + pad(row.uses, row.uses, width.uses) +
				"  " + padLeft(row.took, width.took) +
				"  " + row.details
			p.b.WriteString(strings.TrimRight(line, " ") + "\n")
			for _, g := range row.gates {
				p.b.WriteString(strings.Repeat(" ", 2+width.status+2) + g + "\n")
			}
			for _, l := range row.tables {
				p.b.WriteString(strings.TrimRight(strings.Repeat(" ", 2+width.status+2)+l, " ") + "\n")
			}
		}
	}
	if len(r.Phases) > 0 {
		p.b.WriteString("\n")
	}
}

func (p *textPrinter) taskRow(t plan.TaskResult) taskRow {
	row := taskRow{status: t.Status, name: t.Name, uses: t.Uses}
	if d, ok := elapsed(t.StartedAt, t.FinishedAt); ok {
		row.took = formatDuration(d)
	}
	switch {
	case t.Error != "":
		row.details = oneLine(t.Error)
		if t.Attempts > 1 {
			row.details += fmt.Sprintf(" (%d attempts)", t.Attempts)
		}
	case len(t.Gates) > 0:
		var shown []string
		seen := map[string]bool{}
		for _, g := range t.Gates {
			if g.Value != nil && !seen[g.Metric] {
				seen[g.Metric] = true
				shown = append(shown, g.Metric+" "+valueText(g))
			}
		}
		row.details = strings.Join(shown, ", ")
	default:
		names := slices.Sorted(maps.Keys(t.Metrics))
		var shown []string
		for _, m := range names[:min(len(names), maxTextMetrics)] {
			shown = append(shown, m+" "+FormatUnit(m, t.Units[m], t.Metrics[m]))
		}
		if len(names) > maxTextMetrics {
			shown = append(shown, fmt.Sprintf("and %d more", len(names)-maxTextMetrics))
		}
		row.details = strings.Join(shown, ", ")
	}
	for _, g := range t.Gates {
		// A skipped task's gates did not run, for the reason its phase
		// line already gives; repeating it per gate hides what did fail.
		if g.Status == plan.StatusPass || t.Status == plan.StatusSkipped {
			continue
		}
		var line string
		switch {
		case g.Reason != "":
			line = fmt.Sprintf("%s: %s", g.Metric, oneLine(g.Reason))
		case g.Status == plan.StatusWarning:
			line = fmt.Sprintf("%s is %s, want %s (meets warning %s)", g.Metric, valueText(g), passText(g), g.Warning)
		default:
			line = fmt.Sprintf("%s is %s, want %s", g.Metric, valueText(g), passText(g))
		}
		if g.Key {
			line += " [key]"
		}
		row.gates = append(row.gates, p.status(g.Status)+": "+line)
	}
	for _, tab := range t.Tables {
		if len(tab.Rows) > 0 && len(tab.Rows) <= maxTextTableRows {
			row.tables = append(row.tables, p.table(tab)...)
		}
	}
	return row
}

// table lays a task's table out in aligned columns under its title.
func (p *textPrinter) table(tab plan.Table) []string {
	width := len(tab.Columns)
	for _, r := range tab.Rows {
		width = max(width, len(r))
	}
	cell := func(cells []string, i int) string {
		if i < len(cells) {
			return oneLine(cells[i])
		}
		return ""
	}
	widths := make([]int, width)
	for _, cells := range append([][]string{tab.Columns}, tab.Rows...) {
		for i := range widths {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell(cells, i)))
		}
	}
	line := func(cells []string) string {
		var b strings.Builder
		for i, w := range widths {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(pad(cell(cells, i), cell(cells, i), w))
		}
		return "  " + strings.TrimRight(b.String(), " ")
	}
	lines := []string{p.paint(ansiDim, oneLine(tab.Title))}
	if len(tab.Columns) > 0 {
		lines = append(lines, p.paint(ansiDim, line(tab.Columns)))
	}
	for _, r := range tab.Rows {
		lines = append(lines, line(r))
	}
	return lines
}

// compared writes what changed since the plan's previous run.
func (p *textPrinter) compared(r *plan.RunResult) {
	if r.Compared == nil {
		return
	}
	head, gates, moves, more := comparedLines(r.Compared)
	p.b.WriteString("compared with the previous run: " + head + "\n")
	if len(gates) == 0 {
		p.b.WriteString("  no gate changed state\n")
	}
	for _, g := range gates {
		p.b.WriteString("  gate " + g + "\n")
	}
	for _, m := range moves {
		p.b.WriteString("  moved " + m + "\n")
	}
	if more > 0 {
		fmt.Fprintf(&p.b, "  and %d more metrics moved\n", more)
	}
	p.b.WriteString("\n")
}

func (p *textPrinter) result(r *plan.RunResult) {
	fmt.Fprintf(&p.b, "score %s / 100 (pass ≥ %s, warning ≥ %s)\n",
		formatScore(r.Score), formatScore(r.Scoring.Pass), formatScore(r.Scoring.Warning))
	line := strings.ToUpper(string(r.Result))
	switch r.Result {
	case plan.StatusPass:
		line = p.paint(ansiBold+ansiGreen, line)
	case plan.StatusWarning:
		line = p.paint(ansiBold+ansiYellow, line)
	case plan.StatusFail:
		line = p.paint(ansiBold+ansiRed, line)
	default:
		line = p.paint(ansiBold, line)
	}
	if r.Error != "" {
		line += ": " + oneLine(r.Error)
	}
	p.b.WriteString("result " + line + "\n")
}

// pad pads shown (which may carry colour codes) to width by the length of
// plain, its text without them.
func pad(shown, plain string, width int) string {
	return shown + strings.Repeat(" ", max(0, width-utf8.RuneCountInString(plain)))
}

// padLeft right-aligns s in width.
func padLeft(s string, width int) string {
	return strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s))) + s
}

// oneLine keeps a message on one terminal line: its first line, with a
// mark when more lines follow.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if first := firstLine(s); first != s {
		return strings.TrimSpace(first) + " …"
	}
	return s
}
