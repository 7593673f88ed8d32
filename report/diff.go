package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/shipshape-dev/shipshape/plan"
)

// Comparison is what changed from one run (Before) to another (After) of
// a plan: the result and score, the gates whose status changed, and the
// metrics that moved.
type Comparison struct {
	Before      RunRef       `json:"before"`
	After       RunRef       `json:"after"`
	ScoreDelta  float64      `json:"scoreDelta"`
	Gates       []GateChange `json:"gates"`
	Metrics     []MetricMove `json:"metrics"`
	OnlyBefore  []string     `json:"onlyBefore,omitempty"` // tasks (phase/task) only the earlier run has
	OnlyAfter   []string     `json:"onlyAfter,omitempty"`
	Unchanged   int          `json:"unchangedMetrics"`
	MinimalMove float64      `json:"minimalMove"` // the relative change below which a metric counts as unchanged
}

// RunRef names a compared run.
type RunRef struct {
	RunID  string      `json:"runId"`
	Plan   string      `json:"plan"`
	Result plan.Status `json:"result"`
	Score  float64     `json:"score"`
}

// GateChange is a gate whose status differs between the runs.
type GateChange struct {
	Task   string      `json:"task"` // phase/task
	Metric string      `json:"metric"`
	Key    bool        `json:"key,omitempty"`
	Before plan.Status `json:"before"`
	After  plan.Status `json:"after"`
}

// MetricMove is a metric whose value moved between the runs.
type MetricMove struct {
	Task   string    `json:"task"`
	Metric string    `json:"metric"`
	Unit   plan.Unit `json:"unit,omitempty"`
	Before float64   `json:"before"`
	After  float64   `json:"after"`
	// Change is (after − before) / |before|; ±Inf is written as null when
	// before is 0.
	Change *float64 `json:"change"`
}

// minimalMove is the relative change below which a metric is unchanged.
const minimalMove = 0.01

// Compare compares two runs of a plan, gate by gate and metric by metric,
// tasks matched by phase and name.
func Compare(before, after *plan.RunResult) Comparison {
	c := Comparison{
		Before:      RunRef{before.RunID, before.Plan, before.Result, before.Score},
		After:       RunRef{after.RunID, after.Plan, after.Result, after.Score},
		ScoreDelta:  math.Round((after.Score-before.Score)*100) / 100,
		Gates:       []GateChange{},
		Metrics:     []MetricMove{},
		MinimalMove: minimalMove,
	}
	tasks := func(r *plan.RunResult) map[string]plan.TaskResult {
		m := map[string]plan.TaskResult{}
		for _, ph := range r.Phases {
			for _, t := range ph.Tasks {
				m[ph.Name+"/"+t.Name] = t
			}
		}
		return m
	}
	b, a := tasks(before), tasks(after)
	for _, name := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[name]; !ok {
			c.OnlyBefore = append(c.OnlyBefore, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a)) {
		tb, ok := b[name]
		if !ok {
			c.OnlyAfter = append(c.OnlyAfter, name)
			continue
		}
		ta := a[name]
		gates := map[string]plan.GateResult{}
		for _, g := range tb.Gates {
			gates[g.Metric+"\x00"+g.Pass] = g
		}
		for _, g := range ta.Gates {
			if old, ok := gates[g.Metric+"\x00"+g.Pass]; ok && old.Status != g.Status {
				c.Gates = append(c.Gates, GateChange{Task: name, Metric: g.Metric, Key: g.Key, Before: old.Status, After: g.Status})
			}
		}
		for _, m := range slices.Sorted(maps.Keys(ta.Metrics)) {
			vb, ok := tb.Metrics[m]
			if !ok {
				continue
			}
			va := ta.Metrics[m]
			move := MetricMove{Task: name, Metric: m, Unit: ta.Units[m], Before: vb, After: va}
			switch {
			case vb == va:
				c.Unchanged++
				continue
			case vb != 0:
				ch := (va - vb) / math.Abs(vb)
				if math.Abs(ch) < minimalMove {
					c.Unchanged++
					continue
				}
				move.Change = &ch
			}
			c.Metrics = append(c.Metrics, move)
		}
	}
	// Biggest moves first; moves from zero (no ratio) after them.
	slices.SortStableFunc(c.Metrics, func(x, y MetricMove) int {
		switch {
		case x.Change == nil && y.Change == nil:
			return 0
		case x.Change == nil:
			return 1
		case y.Change == nil:
			return -1
		}
		return -cmpFloat(math.Abs(*x.Change), math.Abs(*y.Change))
	})
	return c
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

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
