package report

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// The JUnit XML schema that CI systems (Jenkins, GitLab, GitHub test
// reporters) read: one testsuites holding a testsuite per phase.
type (
	junitTestsuites struct {
		XMLName  xml.Name         `xml:"testsuites"`
		Name     string           `xml:"name,attr"`
		Tests    int              `xml:"tests,attr"`
		Failures int              `xml:"failures,attr"`
		Errors   int              `xml:"errors,attr"`
		Skipped  int              `xml:"skipped,attr"`
		Time     string           `xml:"time,attr"`
		Suites   []junitTestsuite `xml:"testsuite"`
	}
	junitTestsuite struct {
		Name      string          `xml:"name,attr"`
		Tests     int             `xml:"tests,attr"`
		Failures  int             `xml:"failures,attr"`
		Errors    int             `xml:"errors,attr"`
		Skipped   int             `xml:"skipped,attr"`
		Time      string          `xml:"time,attr"`
		Timestamp string          `xml:"timestamp,attr,omitempty"`
		Cases     []junitTestcase `xml:"testcase"`
	}
	junitTestcase struct {
		Classname string        `xml:"classname,attr"`
		Name      string        `xml:"name,attr"`
		Time      string        `xml:"time,attr"`
		Skipped   *junitSkipped `xml:"skipped"`
		Failure   *junitProblem `xml:"failure"`
		Error     *junitProblem `xml:"error"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr,omitempty"`
	}
)

// JUnit writes r as JUnit XML for CI test views: a testsuite per phase and
// a testcase per gate (classname "phase.task", name "metric threshold").
// Failed gates are failures carrying the value and the reason; warnings
// pass with a note in system-out. A task without gates is one testcase named
// "run": an error when the task errored or was cancelled, skipped when it
// did not run. An approval phase is one testcase named "approval", failed
// when rejected. Times are in seconds: a testcase takes its task's time, a
// testsuite its phase's, the whole file the run's.
func JUnit(w io.Writer, r *plan.RunResult) error {
	if r == nil {
		return errNoResult
	}
	doc := junitTestsuites{
		Name: "shipshape " + r.Plan + " " + r.RunID,
		Time: seconds(r.StartedAt, r.FinishedAt),
	}
	for i := range r.Phases {
		s := junitPhase(&r.Phases[i])
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode junit xml of run %s: %w", r.RunID, err)
	}
	buf.WriteString("\n")
	return writeAll(w, &buf)
}

func junitPhase(ph *plan.PhaseResult) junitTestsuite {
	s := junitTestsuite{Name: ph.Name, Time: seconds(ph.StartedAt, ph.FinishedAt)}
	if !ph.StartedAt.IsZero() {
		s.Timestamp = ph.StartedAt.UTC().Format(time.RFC3339)
	}
	if isApproval(ph) {
		s.Cases = append(s.Cases, approvalCase(ph))
	}
	for _, t := range ph.Tasks {
		s.Cases = append(s.Cases, taskCases(ph, t)...)
	}
	if len(s.Cases) == 0 {
		// A phase with nothing in it still shows, so a skipped or
		// cancelled phase is not silently missing from the CI view.
		c := junitTestcase{Classname: ph.Name, Name: "phase", Time: s.Time}
		setOutcome(&c, ph.Status, statusMessage(ph.Status, ph.Reason), ph.Reason)
		s.Cases = append(s.Cases, c)
	}
	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	return s
}

func approvalCase(ph *plan.PhaseResult) junitTestcase {
	c := junitTestcase{Classname: ph.Name, Name: "approval", Time: seconds(ph.StartedAt, ph.FinishedAt)}
	if a := ph.Approval; a != nil {
		setOutcome(&c, a.Decision, decisionText(a), a.Reason)
	} else {
		setOutcome(&c, ph.Status, statusMessage(ph.Status, ph.Reason), ph.Reason)
	}
	return c
}

// decisionText says who decided an approval and why: "approved by alice:
// looks good", "rejected (timed out): no decision within 4h".
func decisionText(a *plan.ApprovalResult) string {
	s := string(a.Decision)
	if a.By != "" {
		s += " by " + a.By
	}
	if a.TimedOut {
		s += " (timed out)"
	}
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s
}

func taskCases(ph *plan.PhaseResult, t plan.TaskResult) []junitTestcase {
	class := ph.Name + "." + t.Name
	took := seconds(t.StartedAt, t.FinishedAt)
	if len(t.Gates) == 0 {
		c := junitTestcase{Classname: class, Name: "run", Time: took, SystemOut: t.Output}
		text := t.Error
		if t.Attempts > 1 && text != "" {
			text += fmt.Sprintf("\n(after %d attempts)", t.Attempts)
		}
		note := firstLine(t.Error)
		if note == "" && t.Status == plan.StatusSkipped {
			note = ph.Reason
		}
		setOutcome(&c, t.Status, statusMessage(t.Status, note), text)
		return []junitTestcase{c}
	}
	cases := make([]junitTestcase, 0, len(t.Gates))
	for _, g := range t.Gates {
		c := junitTestcase{Classname: class, Name: g.Metric + " " + g.Pass, Time: took}
		switch {
		case t.Status == plan.StatusSkipped:
			// The workflow fails the gates of a task it skipped, for the
			// score; in a test view they did not run, and the failure that
			// stopped them is a testcase of its own.
			c.Skipped = &junitSkipped{Message: statusMessage(t.Status, cmp.Or(g.Reason, ph.Reason))}
		case g.Status == plan.StatusPass:
		case g.Status == plan.StatusWarning:
			c.SystemOut = fmt.Sprintf("warning: %s is %s, which misses %s but meets the warning threshold %s",
				g.Metric, valueText(g), passText(g), g.Warning)
		case g.Status == plan.StatusFail:
			c.Failure = &junitProblem{Message: gateFailureMessage(g), Type: "gate", Text: gateDetails(g, t)}
			if g.Key {
				c.Failure.Type = "key gate"
			}
		default:
			// Not evaluated (the task never ran): nothing passed or failed.
			msg := "gate not evaluated"
			if t.Status != "" {
				msg += ": task " + string(t.Status)
			}
			c.Skipped = &junitSkipped{Message: msg}
		}
		cases = append(cases, c)
	}
	return cases
}

// setOutcome marks a testcase from the status of what it stands for, with
// a one-line message and, for failures and errors, a longer text.
func setOutcome(c *junitTestcase, status plan.Status, message, text string) {
	switch status {
	case plan.StatusPass, plan.StatusApproved, plan.StatusWarning:
		if message != string(status) {
			c.SystemOut = strings.TrimLeft(c.SystemOut+"\n"+message, "\n")
		}
	case plan.StatusFail, plan.StatusRejected:
		c.Failure = &junitProblem{Message: message, Type: string(status), Text: text}
	case plan.StatusError, plan.StatusCancelled:
		c.Error = &junitProblem{Message: message, Type: string(status), Text: text}
	default: // skipped, and pending, running or waiting in a run not done
		c.Skipped = &junitSkipped{Message: message}
	}
}

// statusMessage is "status: note", or the status alone, or the note alone
// when it starts with the status already (the workflow writes reasons such
// as "skipped: …" and "rejected: …").
func statusMessage(status plan.Status, note string) string {
	switch {
	case note == "":
		return string(status)
	case strings.HasPrefix(note, string(status)):
		return note
	}
	return string(status) + ": " + note
}

func gateFailureMessage(g plan.GateResult) string {
	if g.Reason != "" {
		return fmt.Sprintf("%s: %s", g.Metric, g.Reason)
	}
	return fmt.Sprintf("%s is %s, want %s", g.Metric, valueText(g), passText(g))
}

// gateDetails is the body of a gate's failure: everything a reader needs
// without opening report.json.
func gateDetails(g plan.GateResult, t plan.TaskResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "metric: %s\n", g.Metric)
	if g.Value != nil {
		fmt.Fprintf(&b, "value: %s (%s in base units)\n", valueText(g), strconv.FormatFloat(*g.Value, 'g', -1, 64))
	} else {
		b.WriteString("value: not reported\n")
	}
	fmt.Fprintf(&b, "pass: %s\n", passText(g))
	if g.Warning != "" {
		fmt.Fprintf(&b, "warning: %s\n", g.Warning)
	}
	fmt.Fprintf(&b, "weight: %s\n", formatNumber(g.Weight))
	if g.Key {
		b.WriteString("key: true (a failure fails the run)\n")
	}
	if g.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", g.Reason)
	}
	fmt.Fprintf(&b, "task: %s (%s), %s", t.Name, t.Uses, t.Status)
	return b.String()
}

// seconds is the time between two instants in seconds with millisecond
// precision, "0" when either is unknown.
func seconds(start, end time.Time) string {
	d, ok := elapsed(start, end)
	if !ok {
		return "0"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// firstLine is s up to its first line break.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
