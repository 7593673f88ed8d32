package plan

import (
	"slices"
	"time"
)

// Trend is a plan's last runs, oldest first, with the values of the
// metrics its gates read: what the HTML report and `starter serve` draw.
type Trend struct {
	Metrics []TrendMetric `json:"metrics"`
	Runs    []TrendRun    `json:"runs"`
}

// TrendMetric is one metric a trend follows: a metric a gate of the
// latest run reads.
type TrendMetric struct {
	Task   string `json:"task"` // phase/task
	Metric string `json:"metric"`
	Unit   Unit   `json:"unit,omitempty"`
}

// TrendRun is one run of a trend. Values holds the value of each of the
// trend's Metrics in this run, in order: null when it did not report it.
type TrendRun struct {
	RunID     string     `json:"runId"`
	StartedAt time.Time  `json:"startedAt"`
	Result    Status     `json:"result"`
	Score     float64    `json:"score"`
	Values    []*float64 `json:"values"`
}

// NewTrend builds the trend of runs (in any order; the newest is the one
// whose gates choose the metrics).
func NewTrend(runs []*RunResult) *Trend {
	ordered := slices.Clone(runs)
	slices.SortStableFunc(ordered, func(a, b *RunResult) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return compareStrings(a.RunID, b.RunID)
	})
	tr := &Trend{Metrics: []TrendMetric{}, Runs: []TrendRun{}}
	if len(ordered) == 0 {
		return tr
	}
	latest := ordered[len(ordered)-1]
	seen := map[string]bool{}
	for _, ph := range latest.Phases {
		for _, t := range ph.Tasks {
			for _, g := range t.Gates {
				key := ph.Name + "/" + t.Name + "\x00" + g.Metric
				if seen[key] {
					continue
				}
				seen[key] = true
				unit := g.Unit
				if unit == "" {
					unit = t.Units[g.Metric]
				}
				tr.Metrics = append(tr.Metrics, TrendMetric{Task: ph.Name + "/" + t.Name, Metric: g.Metric, Unit: unit})
			}
		}
	}
	for _, r := range ordered {
		run := TrendRun{RunID: r.RunID, StartedAt: r.StartedAt, Result: r.Result, Score: r.Score, Values: make([]*float64, len(tr.Metrics))}
		tasks := map[string]*TaskResult{}
		for i := range r.Phases {
			for j := range r.Phases[i].Tasks {
				tasks[r.Phases[i].Name+"/"+r.Phases[i].Tasks[j].Name] = &r.Phases[i].Tasks[j]
			}
		}
		for i, m := range tr.Metrics {
			if t := tasks[m.Task]; t != nil {
				if v, ok := t.Metrics[m.Metric]; ok {
					run.Values[i] = &v
				}
			}
		}
		tr.Runs = append(tr.Runs, run)
	}
	return tr
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
