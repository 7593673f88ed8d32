package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
	"github.com/shipshape-dev/shipshape/runs"
)

// display prints a run's progress as a log of changes: one line when a
// phase or task changes state, and a progress bar line when a running
// task reports progress. A log (rather than a redrawn screen) reads the
// same in a terminal and in a CI job's output.
type display struct {
	w        io.Writer
	runID    string
	states   map[string]plan.Status
	progress map[string]string
}

func newDisplay(w io.Writer, runID string) *display {
	return &display{w: w, runID: runID, states: map[string]plan.Status{}, progress: map[string]string{}}
}

var marks = map[plan.Status]string{
	plan.StatusRunning: "▸", plan.StatusWaiting: "…", plan.StatusPass: "✓", plan.StatusWarning: "!",
	plan.StatusFail: "✗", plan.StatusError: "✗", plan.StatusSkipped: "-", plan.StatusCancelled: "✗",
	plan.StatusApproved: "✓", plan.StatusRejected: "✗",
}

func (d *display) update(st *runs.Live) {
	for _, ph := range st.Result.Phases {
		// A phase's start reads before its tasks, its end after them.
		if !ph.Status.Done() {
			d.phaseLine(ph)
		}
		for _, t := range ph.Tasks {
			key := ph.Name + "/" + t.Name
			if d.changed(key, t.Status) && t.Status != plan.StatusPending {
				fmt.Fprintf(d.w, "  %s %s %s%s\n", marks[t.Status], key, t.Status, taskDetail(t))
			}
			if p, ok := st.Progress[key]; ok && t.Status == plan.StatusRunning {
				bar := progressBar(p.Done) + " " + p.Message
				if d.progress[key] != bar {
					d.progress[key] = bar
					fmt.Fprintf(d.w, "    %s %s\n", key, bar)
				}
			}
		}
		if ph.Status.Done() {
			d.phaseLine(ph)
		}
	}
}

func (d *display) phaseLine(ph plan.PhaseResult) {
	if !d.changed(ph.Name, ph.Status) || ph.Status == plan.StatusPending {
		return
	}
	line := fmt.Sprintf("%s phase %s %s", marks[ph.Status], ph.Name, ph.Status)
	switch {
	case ph.Status == plan.StatusWaiting:
		line += fmt.Sprintf(" for approval: starter approve %s --phase %s --by NAME", d.runID, ph.Name)
	case ph.Reason != "":
		line += " (" + ph.Reason + ")"
	}
	fmt.Fprintln(d.w, line)
}

func (d *display) changed(key string, s plan.Status) bool {
	if d.states[key] == s {
		return false
	}
	d.states[key] = s
	return true
}

// taskDetail is a finished task's gate values, or its error.
func taskDetail(t plan.TaskResult) string {
	if !t.Status.Done() {
		return ""
	}
	if t.Error != "" {
		return ": " + t.Error
	}
	var parts []string
	for _, g := range t.Gates {
		v := "n/a"
		if g.Value != nil {
			v = report.FormatValue(g.Metric, *g.Value)
		}
		parts = append(parts, fmt.Sprintf("%s=%s (%s %s)", g.Metric, v, g.Pass, g.Status))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return ""
	}
	return "  " + strings.Join(parts, ", ")
}

func progressBar(done float64) string {
	if done < 0 || done > 1 {
		return "[working]"
	}
	const width = 20
	n := int(done * width)
	return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat("-", width-n), done*100)
}
