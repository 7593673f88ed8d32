package notify

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/slack"
	"github.com/shipshape-dev/shipshape/report"
)

// Run is what the notifier knows of a run from its events so far: enough
// to route its messages (labels) and to sum it up when it asks for an
// approval.
type Run struct {
	Plan   string
	ID     string
	Labels map[string]string
	Phases int
	Tasks  int
	// Finished lists the phases finished so far, in the order they did.
	Finished []PhaseOutcome
	// FailedGates counts the gates that failed so far.
	FailedGates int
}

// PhaseOutcome is a finished phase.
type PhaseOutcome struct{ Phase, Status string }

// Observe updates the run with an event of it. It returns an error only
// when the event's data cannot be decoded.
func (r *Run) Observe(ev events.Event) error {
	if r.Plan == "" {
		r.Plan, r.ID = ev.Plan, ev.RunID
	}
	switch ev.Type {
	case events.RunStarted:
		var d events.RunData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		r.Labels, r.Phases, r.Tasks = d.Labels, d.Phases, d.Tasks
	case events.PhaseFinished:
		var d events.PhaseData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		r.Finished = append(r.Finished, PhaseOutcome{d.Phase, d.Status})
	case events.GateEvaluated:
		var d events.GateData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		if d.Status == "fail" {
			r.FailedGates++
		}
	}
	return nil
}

// Message is the Slack message for an event of run (as run stands after
// observing it), or false for events that are not worth one: task and
// phase starts, progress, gates that did not fail.
func Message(ev events.Event, run *Run) (slack.Message, bool, error) {
	runRef := fmt.Sprintf("%s · `%s`", escape(ev.Plan), escape(ev.RunID))
	switch ev.Type {
	case events.RunStarted:
		var d events.RunData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return slack.Message{}, false, fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		m := slack.Message{
			Text: fmt.Sprintf("Shipshape run %s of %s started", ev.RunID, ev.Plan),
			Blocks: []slack.Block{
				header(fmt.Sprintf(":rocket: %s: run started", ev.Plan)),
				{Type: "section", Fields: []slack.Text{
					mrkdwn("*Run*\n`" + escape(ev.RunID) + "`"),
					mrkdwn("*Plan*\n" + escape(ev.Plan)),
					mrkdwn("*Phases*\n" + strconv.Itoa(d.Phases)),
					mrkdwn("*Tasks*\n" + strconv.Itoa(d.Tasks)),
				}},
			},
		}
		if len(d.Labels) > 0 {
			var labels []string
			for _, k := range slices.Sorted(maps.Keys(d.Labels)) {
				labels = append(labels, "`"+escape(k+"="+d.Labels[k])+"`")
			}
			m.Blocks = append(m.Blocks, contextBlock("Labels "+strings.Join(labels, " ")))
		}
		return m, true, nil

	case events.PhaseFinished:
		var d events.PhaseData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return slack.Message{}, false, fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		line := fmt.Sprintf("%s Phase *%s* finished: *%s*", emoji(d.Status), escape(d.Phase), escape(d.Status))
		if d.Reason != "" {
			line += "\n>" + escape(oneLine(d.Reason))
		}
		return slack.Message{
			Text:   fmt.Sprintf("%s: phase %s finished %s", ev.Plan, d.Phase, d.Status),
			Blocks: []slack.Block{section(line), contextBlock(runRef)},
		}, true, nil

	case events.GateEvaluated:
		var d events.GateData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return slack.Message{}, false, fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		if d.Status != "fail" {
			return slack.Message{}, false, nil
		}
		what := "not reported"
		if d.Value != nil {
			what = "is " + report.FormatValue(d.Metric, *d.Value)
		}
		line := fmt.Sprintf(":x: Gate failed in *%s/%s*: `%s` %s, want `%s`", escape(d.Phase), escape(d.Task), escape(d.Metric), escape(what), escape(d.Pass))
		if d.Reason != "" {
			line += "\n>" + escape(oneLine(d.Reason))
		}
		if d.Key {
			line += "\n*Key gate*: the run fails whatever its score."
		}
		return slack.Message{
			Text:   fmt.Sprintf("%s: gate %s of %s/%s failed", ev.Plan, d.Metric, d.Phase, d.Task),
			Blocks: []slack.Block{section(line), contextBlock(runRef)},
		}, true, nil

	case events.ApprovalRequested:
		var d events.ApprovalData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return slack.Message{}, false, fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		wait := fmt.Sprintf("Run `%s` waits for a decision on phase *%s*", escape(ev.RunID), escape(d.Phase))
		if d.Timeout != "" {
			wait += " (rejected if none within " + escape(d.Timeout) + ")"
		}
		m := slack.Message{
			Text: fmt.Sprintf("%s: approval needed for phase %s of run %s", ev.Plan, d.Phase, ev.RunID),
			Blocks: []slack.Block{
				header(fmt.Sprintf(":hourglass_flowing_sand: %s: approval needed for %s", ev.Plan, d.Phase)),
				section(wait + "."),
				section(summary(run)),
				contextBlock(fmt.Sprintf("Decide with `starter approve %s --phase %s --by NAME` (or `starter reject … --reason WHY`), or have the chat bot publish to `shipshape.approvals.%s`.",
					escape(ev.RunID), escape(d.Phase), escape(ev.RunID))),
			},
		}
		return m, true, nil

	case events.RunFinished:
		var d events.RunData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return slack.Message{}, false, fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		score := formatScore(d.Score)
		m := slack.Message{
			Text: fmt.Sprintf("Shipshape run %s of %s finished: %s, score %s", ev.RunID, ev.Plan, d.Result, score),
			Blocks: []slack.Block{
				header(fmt.Sprintf("%s %s: %s, score %s / 100", emoji(d.Result), ev.Plan, strings.ToUpper(d.Result), score)),
				{Type: "section", Fields: []slack.Text{
					mrkdwn("*Result*\n" + escape(d.Result)),
					mrkdwn("*Score*\n" + score + " / 100"),
					mrkdwn("*Run*\n`" + escape(ev.RunID) + "`"),
					mrkdwn("*Phases*\n" + strconv.Itoa(d.Phases)),
				}},
			},
		}
		if d.Error != "" {
			m.Blocks = append(m.Blocks, section(">"+escape(oneLine(d.Error))))
		}
		m.Blocks = append(m.Blocks, contextBlock(fmt.Sprintf("Report: `starter report %s --format html --out report.html`", escape(ev.RunID))))
		return m, true, nil

	case events.ApprovalRefused:
		var d events.ApprovalRefusedData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return slack.Message{}, false, fmt.Errorf("decode %s: %w", ev.Type.Short(), err)
		}
		line := fmt.Sprintf(":no_entry: %s's %s of phase *%s* refused: %s", escape(d.Approver), escape(d.Decision), escape(d.Phase), escape(oneLine(d.Why)))
		return slack.Message{
			Text:   fmt.Sprintf("%s: %s's %s of phase %s refused", ev.Plan, d.Approver, d.Decision, d.Phase),
			Blocks: []slack.Block{section(line), contextBlock(runRef)},
		}, true, nil
	}
	return slack.Message{}, false, nil
}

// summary sums up a run for an approver: its phases so far and its failed
// gates.
func summary(run *Run) string {
	if run == nil || (len(run.Finished) == 0 && run.FailedGates == 0) {
		return "*So far*: no phase has finished."
	}
	var b strings.Builder
	b.WriteString("*So far*")
	if run.Phases > 0 {
		fmt.Fprintf(&b, " (%d of %d phases finished)", len(run.Finished), run.Phases)
	}
	for _, p := range run.Finished {
		fmt.Fprintf(&b, "\n%s %s: %s", emoji(p.Status), escape(p.Phase), escape(p.Status))
	}
	switch run.FailedGates {
	case 0:
		b.WriteString("\nNo gate failed.")
	case 1:
		b.WriteString("\n1 gate failed.")
	default:
		fmt.Fprintf(&b, "\n%d gates failed.", run.FailedGates)
	}
	return b.String()
}

func emoji(status string) string {
	switch status {
	case "pass", "approved":
		return ":white_check_mark:"
	case "warning":
		return ":warning:"
	case "fail", "error", "rejected":
		return ":x:"
	}
	return ":heavy_minus_sign:" // skipped, cancelled
}

// formatScore writes a score with one decimal, rounded down, as the
// reports do: a score never seems to reach a threshold it missed.
func formatScore(v float64) string {
	return strconv.FormatFloat(math.Floor(v*10+1e-9)/10, 'f', -1, 64)
}

func header(s string) slack.Block {
	// Header blocks take plain text of at most 150 characters.
	if r := []rune(s); len(r) > 150 {
		s = string(r[:149]) + "…"
	}
	return slack.Block{Type: "header", Text: &slack.Text{Type: "plain_text", Text: s}}
}

func section(s string) slack.Block {
	return slack.Block{Type: "section", Text: &slack.Text{Type: "mrkdwn", Text: clip(s, 3000)}}
}

func contextBlock(s string) slack.Block {
	return slack.Block{Type: "context", Elements: []slack.Text{mrkdwn(s)}}
}

func mrkdwn(s string) slack.Text { return slack.Text{Type: "mrkdwn", Text: clip(s, 2000)} }

// clip keeps a text within a Block Kit limit.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// escaper escapes what Slack's mrkdwn reads as markup: &, < and >.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escape(s string) string { return escaper.Replace(s) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
