package plan

import "fmt"

// Blocks tells whether a finished task stops the tasks of its phase that
// need it, and why, by the rule PhaseResult.Blocks applies to phases: a
// task blocks when it ended error, cancelled or skipped, or a key gate of
// it failed.
func (t TaskResult) Blocks(phase string) string {
	switch t.Status {
	case StatusError, StatusCancelled, StatusSkipped:
		return fmt.Sprintf("task %s/%s ended %s", phase, t.Name, t.Status)
	}
	for _, g := range t.Gates {
		if g.Key && g.Status == StatusFail {
			return fmt.Sprintf("key gate %s of %s/%s failed", g.Metric, phase, t.Name)
		}
	}
	return ""
}

// Ran returns the tasks that ran or were meant to: those a phase skipped
// by itself (a need of theirs blocked them) are left out, so that they
// do not make a phase that ran look skipped.
func Ran(tasks []TaskResult) []TaskResult {
	out := make([]TaskResult, 0, len(tasks))
	for _, t := range tasks {
		if t.Status == StatusSkipped && t.SkippedInPhase {
			continue
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return tasks
	}
	return out
}
