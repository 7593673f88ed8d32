package plan

import (
	"fmt"
	"math"
)

// EvaluateGates evaluates a task's gates against the metrics it reported.
// A task that failed (taskErr not empty) fails every gate, as does a metric
// the task did not report.
func EvaluateGates(gates []Gate, metrics map[string]float64, taskErr string) []GateResult {
	out := make([]GateResult, 0, len(gates))
	for _, g := range gates {
		r := GateResult{Metric: g.Metric, Pass: g.Pass.Text, Weight: g.Weight, Key: g.Key}
		if g.Warning != nil {
			r.Warning = g.Warning.Text
		}
		v, ok := metrics[g.Metric]
		if ok {
			r.Value = &v
		}
		r.Baseline = g.baselineUse()
		switch {
		case taskErr != "":
			r.Status, r.Reason = StatusFail, "task failed: "+taskErr
		case g.missingBaseline() != "":
			r.Status, r.Reason = StatusSkipped, g.missingBaseline()
		case !ok:
			r.Status, r.Reason = StatusFail, "metric not reported"
		case g.Pass.Holds(v):
			r.Status = StatusPass
		case g.Warning != nil && g.Warning.Holds(v):
			r.Status = StatusWarning
		default:
			r.Status = StatusFail
		}
		out = append(out, r)
	}
	return out
}

// FailGates returns the gates of a task that never ran, each failed with
// the reason given.
func FailGates(gates []Gate, reason string) []GateResult {
	out := EvaluateGates(gates, nil, reason)
	for i := range out {
		out[i].Reason = reason
	}
	return out
}

// SkipGates returns the gates of a task that was never reached (its phase
// was skipped): "not run", distinct from failed, with the reason given.
// The score counts them as earning nothing, and RunResult.NotRun says how
// much weight they carried.
func SkipGates(gates []Gate, reason string) []GateResult {
	out := FailGates(gates, reason)
	for i := range out {
		out[i].Status = StatusSkipped
	}
	return out
}

// TaskStatus is a finished task's status: error if it failed, otherwise the
// worst status of its gates (pass when it has none).
func TaskStatus(gates []GateResult, taskErr string) Status {
	if taskErr != "" {
		return StatusError
	}
	return worst(gates)
}

func worst(gates []GateResult) Status {
	s := StatusPass
	for _, g := range gates {
		switch g.Status {
		case StatusFail:
			return StatusFail
		case StatusWarning:
			s = StatusWarning
		}
	}
	return s
}

// Score computes a run's score and result the way Keptn's quality gates do:
// a passed gate earns its weight, a warning half of it, a failure nothing;
// score = 100 × earned / total weight (100 when there are no gates). The
// result is pass, warning or fail against the plan's scoring, except that a
// run fails whatever its score when a key gate failed, a task errored
// without gates to carry the failure, or an approval was rejected; and a
// run whose score passes is capped at warning when a key gate met only its
// warning threshold (Keptn lets such a run pass: a key gate is one the
// release must meet, and meeting its warning only is not meeting it).
// Reason says why the result is not what the score alone gives; it is
// empty otherwise. Gates that never ran (skipped) earn nothing. A
// relative gate that had no baseline (GateResult.NoBaseline) is left out
// altogether, earned by none and counted in no total, so that a plan's
// first run can pass and become the baseline.
//
// The score is always finite, whatever the weights: a weight that is not a
// positive number (validation refuses those) counts as 0, and when the
// weights are too large for the arithmetic, each is taken relative to the
// largest.
func Score(r *RunResult) (score float64, result Status, reason string) {
	for _, ph := range r.Phases {
		if ph.Status == StatusRejected && reason == "" {
			reason = fmt.Sprintf("phase %s was rejected", ph.Name)
		}
		for _, t := range ph.Tasks {
			if len(t.Gates) == 0 && (t.Status == StatusError || t.Status == StatusCancelled) && reason == "" {
				reason = fmt.Sprintf("task %s/%s failed: %s", ph.Name, t.Name, t.Error)
			}
			for _, g := range t.Gates {
				if g.Status == StatusFail && g.Key && reason == "" {
					reason = fmt.Sprintf("key gate %s of %s/%s failed", g.Metric, ph.Name, t.Name)
				}
			}
		}
	}
	score = percent(weights(r, 1))
	if math.IsNaN(score) || math.IsInf(score, 0) {
		largest := 0.0
		for _, ph := range r.Phases {
			for _, t := range ph.Tasks {
				for _, g := range t.Gates {
					largest = max(largest, weight(g.Weight))
				}
			}
		}
		score = percent(weights(r, largest))
	}
	switch {
	case reason != "":
		result = StatusFail
	case score >= r.Scoring.Pass:
		result = StatusPass
	case score >= r.Scoring.Warning:
		result = StatusWarning
	default:
		result = StatusFail
	}
	if result == StatusPass {
		if g, where, ok := keyWarning(r); ok {
			result, reason = StatusWarning, fmt.Sprintf("key gate %s of %s met only its warning threshold (%s)", g.Metric, where, g.Warning)
		}
	}
	return score, result, reason
}

// keyWarning finds the first key gate that met only its warning threshold.
func keyWarning(r *RunResult) (GateResult, string, bool) {
	for _, ph := range r.Phases {
		for _, t := range ph.Tasks {
			for _, g := range t.Gates {
				if g.Key && g.Status == StatusWarning {
					return g, ph.Name + "/" + t.Name, true
				}
			}
		}
	}
	return GateResult{}, "", false
}

// NotRun is the share of a run's gate weight whose gates never ran
// (skipped), 0 to 100.
func NotRun(r *RunResult) float64 {
	var skipped, total float64
	for _, ph := range r.Phases {
		for _, t := range ph.Tasks {
			for _, g := range t.Gates {
				if g.NoBaseline() {
					continue // measured, but with nothing to compare with
				}
				w := weight(g.Weight)
				total += w
				if g.Status == StatusSkipped {
					skipped += w
				}
			}
		}
	}
	if total <= 0 || math.IsInf(total, 0) || math.IsNaN(total) {
		return 0
	}
	return math.Round(100*skipped/total*100) / 100
}

// percent is 100 × earned / total, to two decimals; 100 when total is 0.
func percent(earned, total float64) float64 {
	if total <= 0 {
		return 100
	}
	return math.Round(100*earned/total*100) / 100
}

// weights sums the weight earned by a run's gates and their total weight,
// each weight divided by unit: a passed gate earns its weight, a warning
// half of it.
func weights(r *RunResult, unit float64) (earned, total float64) {
	for _, ph := range r.Phases {
		for _, t := range ph.Tasks {
			for _, g := range t.Gates {
				if g.NoBaseline() {
					continue // not judged: neither earned nor counted
				}
				w := weight(g.Weight) / unit
				total += w
				switch g.Status {
				case StatusPass:
					earned += w
				case StatusWarning:
					earned += w / 2
				}
			}
		}
	}
	return earned, total
}

// weight is a gate's weight for the score: at most math.MaxFloat64, and 0
// when it is not a positive number.
func weight(w float64) float64 {
	switch {
	case math.IsNaN(w) || w <= 0:
		return 0
	case math.IsInf(w, 1):
		return math.MaxFloat64
	}
	return w
}

// PhaseStatus is a finished phase's status from its tasks: cancelled or
// error if any task was, fail if a key gate failed, otherwise the worst
// task status.
func PhaseStatus(tasks []TaskResult) Status {
	s := StatusPass
	rank := map[Status]int{StatusPass: 0, StatusWarning: 1, StatusFail: 2, StatusSkipped: 3, StatusError: 4, StatusCancelled: 5}
	for _, t := range tasks {
		if rank[t.Status] > rank[s] {
			s = t.Status
		}
		for _, g := range t.Gates {
			if g.Key && g.Status == StatusFail && rank[StatusFail] > rank[s] {
				s = StatusFail
			}
		}
	}
	return s
}

// Blocks tells whether a finished phase stops the phases that need it, and
// why: a phase blocks when it was rejected, skipped or cancelled, a task
// errored, or a key gate failed. Ordinary gate failures only lower the
// score, as in Keptn, so dependents still run and the report is complete.
func (p PhaseResult) Blocks() string {
	switch p.Status {
	case StatusRejected, StatusSkipped, StatusCancelled:
		return fmt.Sprintf("phase %s was %s", p.Name, p.Status)
	}
	for _, t := range p.Tasks {
		if t.Status == StatusError || t.Status == StatusCancelled {
			return fmt.Sprintf("task %s/%s ended %s", p.Name, t.Name, t.Status)
		}
		for _, g := range t.Gates {
			if g.Key && g.Status == StatusFail {
				return fmt.Sprintf("key gate %s of %s/%s failed", g.Metric, p.Name, t.Name)
			}
		}
	}
	return ""
}
