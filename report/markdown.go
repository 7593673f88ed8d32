package report

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/plan"
)

// maxOutputLines bounds each output tail in report.md: a pull-request
// comment has a size limit (65536 characters on GitHub), and report.json
// keeps the whole tail anyway.
const maxOutputLines = 50

// Markdown writes r as a Markdown report fit for a pull-request comment: a
// headline with the result and score, a summary of phases, then per phase
// its approval decision, a table of tasks and their gates, errors, the
// tasks' tables, output tails (collapsed) and artifacts.
func Markdown(w io.Writer, r *plan.RunResult) error {
	if r == nil {
		return errNoResult
	}
	var b bytes.Buffer
	writeHeadline(&b, r)
	writePhaseSummary(&b, r)
	writeCompared(&b, r)
	for i := range r.Phases {
		writePhase(&b, &r.Phases[i], r.Compared)
	}
	return writeAll(w, &b)
}

func writeHeadline(b *bytes.Buffer, r *plan.RunResult) {
	fmt.Fprintf(b, "## Shipshape readiness: %s\n\n", escapeText(r.Plan))
	fmt.Fprintf(b, "**%s** · score %s / 100 (pass ≥ %s, warning ≥ %s)\n\n",
		strings.ToUpper(string(r.Result)), formatScore(r.Score),
		formatScore(r.Scoring.Pass), formatScore(r.Scoring.Warning))
	if r.Error != "" {
		fmt.Fprintf(b, "> %s\n\n", escapeText(r.Error))
	}
	if reasons := Reasons(r); len(reasons) > 0 && r.Result.Done() {
		b.WriteString("Why:\n\n")
		for _, why := range reasons {
			fmt.Fprintf(b, "- %s\n", escapeText(why))
		}
		b.WriteString("\n")
	}
	facts := []string{"Run " + codeSpan(r.RunID), "plan " + codeSpan(r.Plan)}
	if !r.StartedAt.IsZero() {
		facts = append(facts, "started "+formatTime(r.StartedAt))
	}
	if d, ok := elapsed(r.StartedAt, r.FinishedAt); ok {
		facts = append(facts, "took "+formatDuration(d))
	} else if !r.Result.Done() {
		facts = append(facts, "still "+string(r.Result))
	}
	if len(r.Labels) > 0 {
		var labels []string
		for _, k := range slices.Sorted(maps.Keys(r.Labels)) {
			labels = append(labels, codeSpan(k+"="+r.Labels[k]))
		}
		facts = append(facts, "labels "+strings.Join(labels, " "))
	}
	b.WriteString(strings.Join(facts, " · ") + "\n\n")
}

func writePhaseSummary(b *bytes.Buffer, r *plan.RunResult) {
	if len(r.Phases) == 0 {
		b.WriteString("No phases ran.\n")
		return
	}
	b.WriteString("| Phase | Status | Tasks | Duration |\n|---|---|---|---|\n")
	for i := range r.Phases {
		ph := &r.Phases[i]
		tasks := "—"
		switch {
		case isApproval(ph) && len(ph.Tasks) == 0:
			tasks = "approval"
		case len(ph.Tasks) > 0:
			tasks = taskCounts(ph.Tasks)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", codeCell(ph.Name), escapeText(string(ph.Status)), tasks, phaseDuration(ph))
	}
	b.WriteString("\n")
}

// writeCompared writes what changed since the plan's previous run.
func writeCompared(b *bytes.Buffer, r *plan.RunResult) {
	if r.Compared == nil {
		return
	}
	head, gates, moves, more := comparedLines(r.Compared)
	b.WriteString("### Compared with the previous run\n\n")
	b.WriteString(upperFirst(escapeText(head)) + "\n\n")
	if len(gates) == 0 {
		b.WriteString("No gate changed state.\n\n")
	} else {
		b.WriteString("Gates that changed:\n\n")
		for _, g := range gates {
			b.WriteString("- " + escapeText(g) + "\n")
		}
		b.WriteString("\n")
	}
	if len(moves) > 0 {
		b.WriteString("Metrics that moved:\n\n")
		for _, m := range moves {
			b.WriteString("- " + escapeText(m) + "\n")
		}
		if more > 0 {
			fmt.Fprintf(b, "- and %d more\n", more)
		}
		b.WriteString("\n")
	}
}

// statusOrder is the order in which status counts are listed.
var statusOrder = []plan.Status{
	plan.StatusPass, plan.StatusWarning, plan.StatusFail, plan.StatusError,
	plan.StatusCancelled, plan.StatusSkipped, plan.StatusApproved, plan.StatusRejected,
	plan.StatusRunning, plan.StatusWaiting, plan.StatusPending,
}

// taskCounts writes how many tasks ended in each status: "2 pass, 1 error".
func taskCounts(tasks []plan.TaskResult) string {
	counts := map[plan.Status]int{}
	for _, t := range tasks {
		counts[t.Status]++
	}
	var parts []string
	for _, s := range statusOrder {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
			delete(counts, s)
		}
	}
	// Statuses this package does not know yet still count.
	for _, s := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], escapeText(string(s))))
	}
	return strings.Join(parts, ", ")
}

func phaseDuration(ph *plan.PhaseResult) string {
	if d, ok := elapsed(ph.StartedAt, ph.FinishedAt); ok {
		return formatDuration(d)
	}
	return "—"
}

func writePhase(b *bytes.Buffer, ph *plan.PhaseResult, compared *plan.Comparison) {
	fmt.Fprintf(b, "### %s · %s\n\n", codeSpan(ph.Name), escapeText(string(ph.Status)))
	var facts []string
	if len(ph.Needs) > 0 {
		var needs []string
		for _, n := range ph.Needs {
			needs = append(needs, codeSpan(n))
		}
		facts = append(facts, "after "+strings.Join(needs, ", "))
	}
	if !ph.StartedAt.IsZero() {
		facts = append(facts, "started "+formatTime(ph.StartedAt))
	}
	if d, ok := elapsed(ph.StartedAt, ph.FinishedAt); ok {
		facts = append(facts, "took "+formatDuration(d))
	}
	if len(facts) > 0 {
		b.WriteString(upperFirst(strings.Join(facts, " · ")) + "\n\n")
	}
	// An approval's decision, reason included, is in its table.
	if ph.Reason != "" && ph.Approval == nil {
		fmt.Fprintf(b, "> %s\n\n", escapeText(ph.Reason))
	}
	if isApproval(ph) {
		writeApproval(b, ph)
	}
	if len(ph.Tasks) > 0 {
		writeTaskTable(b, ph.Name, ph.Tasks, compared)
		writeErrors(b, ph.Tasks)
		writeTables(b, ph.Tasks)
		writeOutputs(b, ph.Tasks)
		writeArtifacts(b, ph.Tasks)
	}
}

func writeApproval(b *bytes.Buffer, ph *plan.PhaseResult) {
	a := ph.Approval
	if a == nil {
		if ph.Status == plan.StatusWaiting {
			b.WriteString("Waiting for a decision.\n\n")
		} else {
			fmt.Fprintf(b, "Approval %s; no decision recorded.\n\n", ph.Status)
		}
		return
	}
	by, at, timedOut := "—", "—", "no"
	if a.By != "" {
		by = escapeText(a.By)
	}
	if !a.At.IsZero() {
		at = formatTime(a.At)
	}
	if a.TimedOut {
		timedOut = "yes"
	}
	b.WriteString("| Decision | By | At | Timed out | Reason |\n|---|---|---|---|---|\n")
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n\n", escapeText(string(a.Decision)), by, at, timedOut, escapeText(a.Reason))
}

func writeTaskTable(b *bytes.Buffer, phase string, tasks []plan.TaskResult, compared *plan.Comparison) {
	// With a previous run to compare with, each gate says what it had.
	prev, prevHead, prevRule, noGates := "", "", "", "| | | | | |"
	if compared != nil {
		prevHead, prevRule, noGates = " Previous run |", "---|", "| | | | | | |"
	}
	b.WriteString("| Task | Status | Metric | Value | Threshold | Gate | Weight | Key |" + prevHead + "\n")
	b.WriteString("|---|---|---|---|---|---|---|---|" + prevRule + "\n")
	for _, t := range tasks {
		name := codeCell(t.Name)
		if t.Uses != "" {
			name += " (" + escapeText(t.Uses) + ")"
		}
		status := escapeText(string(t.Status))
		if t.Attempts > 1 {
			status += fmt.Sprintf(", %d attempts", t.Attempts)
		}
		if len(t.Gates) == 0 {
			fmt.Fprintf(b, "| %s | %s | no gates %s\n", name, status, noGates)
			continue
		}
		for i, g := range t.Gates {
			if i > 0 {
				name, status = "", ""
			}
			gate := escapeText(string(g.Status))
			reason := g.Reason
			if g.Status == plan.StatusSkipped {
				// A skipped gate did not run: it neither passed nor failed.
				gate, reason = "not run", strings.TrimPrefix(reason, "skipped: ")
			}
			if reason != "" {
				gate += ": " + escapeText(reason)
			}
			key := ""
			if g.Key {
				key = "key"
			}
			threshold := codeCell(passText(g))
			if g.Warning != "" {
				threshold += " (warning " + codeCell(g.Warning) + ")"
			}
			if compared != nil {
				prev = " " + escapeText(previousCell(compared, phase+"/"+t.Name, g.Metric)) + " |"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |%s\n",
				name, status, codeCell(g.Metric), escapeText(valueText(g)),
				threshold, gate, formatNumber(g.Weight), key, prev)
		}
	}
	b.WriteString("\n")
}

func writeErrors(b *bytes.Buffer, tasks []plan.TaskResult) {
	for _, t := range tasks {
		if t.Error == "" {
			continue
		}
		what := "errored"
		if t.Status == plan.StatusCancelled {
			what = "was cancelled"
		}
		if t.Attempts > 1 {
			what += fmt.Sprintf(" after %d attempts", t.Attempts)
		}
		fmt.Fprintf(b, "**%s %s:**\n\n", codeSpan(t.Name), what)
		writeCodeBlock(b, t.Error)
		b.WriteString("\n")
	}
}

func writeTables(b *bytes.Buffer, tasks []plan.TaskResult) {
	for _, t := range tasks {
		for _, tab := range t.Tables {
			fmt.Fprintf(b, "**%s · %s**\n\n", codeSpan(t.Name), escapeText(tab.Title))
			writeTable(b, tab)
		}
	}
}

// writeTable writes a task's table. Rows shorter than the header are padded
// and longer ones get blank headers, so no cell is lost.
func writeTable(b *bytes.Buffer, tab plan.Table) {
	width := len(tab.Columns)
	for _, row := range tab.Rows {
		width = max(width, len(row))
	}
	if width == 0 {
		b.WriteString("(empty)\n\n")
		return
	}
	line := func(cells []string) {
		b.WriteString("|")
		for i := range width {
			c := ""
			if i < len(cells) {
				c = escapeText(cells[i])
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	line(tab.Columns)
	b.WriteString("|" + strings.Repeat("---|", width) + "\n")
	for _, row := range tab.Rows {
		line(row)
	}
	b.WriteString("\n")
}

func writeOutputs(b *bytes.Buffer, tasks []plan.TaskResult) {
	for _, t := range tasks {
		out := strings.TrimRight(t.Output, "\n")
		if out == "" {
			continue
		}
		lines := strings.Split(out, "\n")
		shown := fmt.Sprintf("last %d lines", len(lines))
		if len(lines) == 1 {
			shown = "last line"
		}
		if len(lines) > maxOutputLines {
			shown = fmt.Sprintf("last %d of %d lines; all in report.json", maxOutputLines, len(lines))
			lines = lines[len(lines)-maxOutputLines:]
		}
		fmt.Fprintf(b, "<details><summary>Output of <code>%s</code> (%s)</summary>\n\n", html.EscapeString(t.Name), shown)
		writeCodeBlock(b, strings.Join(lines, "\n"))
		b.WriteString("\n</details>\n\n")
	}
}

// writeArtifacts shows images (charts) inline, each under its task's name,
// and links every other artifact.
func writeArtifacts(b *bytes.Buffer, tasks []plan.TaskResult) {
	var lines []string
	var images []string
	for _, t := range tasks {
		for _, a := range t.Artifacts {
			name := a.Name
			if name == "" {
				name = a.Path
			}
			if isImage(a) {
				images = append(images, fmt.Sprintf("%s · %s\n\n![%s](%s)", codeSpan(t.Name), escapeText(name), escapeText(name), linkTarget(a.Path)))
				continue
			}
			line := fmt.Sprintf("- [%s](%s) · %s", escapeText(name), linkTarget(a.Path), codeSpan(t.Name))
			if a.MediaType != "" {
				line += " · " + escapeText(a.MediaType)
			}
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 && len(images) == 0 {
		return
	}
	b.WriteString("**Artifacts**\n\n")
	for _, img := range images {
		b.WriteString(img + "\n\n")
	}
	if len(lines) > 0 {
		b.WriteString(strings.Join(lines, "\n") + "\n\n")
	}
}

// imageExtensions are the files a Markdown viewer shows as images.
var imageExtensions = []string{".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp"}

// isImage reports whether an artifact is an image, by media type or, when
// it has none, by its file's extension.
func isImage(a plan.Artifact) bool {
	if a.MediaType != "" {
		return strings.HasPrefix(a.MediaType, "image/")
	}
	ext := strings.ToLower(path.Ext(a.Path))
	return slices.Contains(imageExtensions, ext)
}

// writeCodeBlock fences s with more backticks than it contains in a row, the
// only way to keep backticks inside a Markdown code block literal.
func writeCodeBlock(b *bytes.Buffer, s string) {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	fmt.Fprintf(b, "%stext\n%s\n%s\n", fence, strings.TrimRight(s, "\n"), fence)
}

// codeSpan writes s as inline code, delimited by more backticks than s
// holds in a row (padded with spaces where s starts or ends with one).
func codeSpan(s string) string {
	if s == "" {
		return `""`
	}
	s = strings.ReplaceAll(s, "\n", " ")
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// codeCell is a codeSpan for a table cell, where a pipe ends the cell even
// inside code unless escaped.
func codeCell(s string) string { return strings.ReplaceAll(codeSpan(s), "|", `\|`) }

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// markdownEscaper backslash-escapes what Markdown or HTML would otherwise
// interpret in running text: emphasis, code, links, HTML tags, entities,
// table pipes.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "&", `\&`, "|", `\|`, "~", `\~`,
	"\r\n", "<br>", "\n", "<br>",
)

// escapeText escapes s for Markdown text on one line or in a table cell.
// A leading character that would start a heading or a list is escaped too.
func escapeText(s string) string {
	s = markdownEscaper.Replace(s)
	if s != "" && strings.ContainsRune("#-+=", rune(s[0])) {
		s = `\` + s
	}
	return s
}

// linkEscaper percent-encodes what would end or break a Markdown link target.
var linkEscaper = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "\n", "%0A")

func linkTarget(path string) string { return linkEscaper.Replace(path) }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
