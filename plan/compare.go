package plan

import (
	"maps"
	"math"
	"slices"
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
	RunID  string  `json:"runId"`
	Plan   string  `json:"plan"`
	Result Status  `json:"result"`
	Score  float64 `json:"score"`
}

// GateChange is a gate whose status differs between the runs.
type GateChange struct {
	Task   string `json:"task"` // phase/task
	Metric string `json:"metric"`
	Key    bool   `json:"key,omitempty"`
	Before Status `json:"before"`
	After  Status `json:"after"`
}

// MetricMove is a metric whose value moved between the runs.
type MetricMove struct {
	Task   string  `json:"task"`
	Metric string  `json:"metric"`
	Unit   Unit    `json:"unit,omitempty"`
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	// Change is (after − before) / |before|; ±Inf is written as null when
	// before is 0.
	Change *float64 `json:"change"`
}

// minimalMove is the relative change below which a metric is unchanged.
const minimalMove = 0.01

// Compare compares two runs of a plan, gate by gate and metric by metric,
// tasks matched by phase and name.
func Compare(before, after *RunResult) Comparison {
	c := Comparison{
		Before:      RunRef{before.RunID, before.Plan, before.Result, before.Score},
		After:       RunRef{after.RunID, after.Plan, after.Result, after.Score},
		ScoreDelta:  math.Round((after.Score-before.Score)*100) / 100,
		Gates:       []GateChange{},
		Metrics:     []MetricMove{},
		MinimalMove: minimalMove,
	}
	tasks := func(r *RunResult) map[string]TaskResult {
		m := map[string]TaskResult{}
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
		gates := map[string]GateResult{}
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
