package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/shipshape-dev/shipshape/plan"
)

// Comparison is what changed from one run to another of a plan; see
// plan.Comparison (plan computes it, so that a report can carry it).
type Comparison = plan.Comparison

// RunRef names a compared run.
type RunRef = plan.RunRef

// GateChange is a gate whose status differs between the runs.
type GateChange = plan.GateChange

// MetricMove is a metric whose value moved between the runs.
type MetricMove = plan.MetricMove

// Compare compares two runs of a plan, gate by gate and metric by metric.
func Compare(before, after *plan.RunResult) Comparison { return plan.Compare(before, after) }

// DiffJSON writes c as indented JSON.
func DiffJSON(w io.Writer, c Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// DiffText writes c for a terminal or a pull-request comment (Markdown
// lists read the same in both).
func DiffText(w io.Writer, c Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s (score %s) → %s %s (score %s), %+g points\n\n",
		c.After.Plan, c.Before.RunID, strings.ToUpper(string(c.Before.Result)), formatScore(c.Before.Score),
		c.After.RunID, strings.ToUpper(string(c.After.Result)), formatScore(c.After.Score), c.ScoreDelta)
	if len(c.Gates) > 0 {
		b.WriteString("Gates that changed:\n")
		for _, g := range c.Gates {
			key := ""
			if g.Key {
				key = " (key)"
			}
			fmt.Fprintf(&b, "- %s of %s%s: %s → %s\n", g.Metric, g.Task, key, g.Before, g.After)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("No gate changed state.\n\n")
	}
	if len(c.Metrics) > 0 {
		b.WriteString("Metrics that moved:\n")
		for _, m := range c.Metrics {
			change := "from 0"
			if m.Change != nil {
				change = fmt.Sprintf("%+.1f%%", *m.Change*100)
			}
			fmt.Fprintf(&b, "- %s of %s: %s → %s (%s)\n", m.Metric, m.Task,
				FormatUnit(m.Metric, m.Unit, m.Before), FormatUnit(m.Metric, m.Unit, m.After), change)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%d metrics moved less than %.0f%%.\n", c.Unchanged, c.MinimalMove*100)
	for _, t := range c.OnlyBefore {
		fmt.Fprintf(&b, "Only in %s: %s\n", c.Before.RunID, t)
	}
	for _, t := range c.OnlyAfter {
		fmt.Fprintf(&b, "Only in %s: %s\n", c.After.RunID, t)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
