package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/shipshape-dev/shipshape/plan"
)

// JSON writes r as report.json: the JSON form its struct tags define,
// indented, with map keys sorted. Collections the contract always carries
// (phases, tasks, metrics, gates) are written as [] or {} when empty, never
// null, so consumers can iterate them without a check. HTML characters are
// not escaped: thresholds read "< 200ms", not "\u003c 200ms".
func JSON(w io.Writer, r *plan.RunResult) error {
	if r == nil {
		return errNoResult
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(withEmptyCollections(r)); err != nil {
		return fmt.Errorf("encode run %s: %w", r.RunID, err)
	}
	return writeAll(w, &buf)
}

// withEmptyCollections returns a copy of r whose nil phases, tasks, metrics
// and gates are empty instead. r itself is left alone.
func withEmptyCollections(r *plan.RunResult) *plan.RunResult {
	out := *r
	out.Phases = make([]plan.PhaseResult, len(r.Phases))
	for i, ph := range r.Phases {
		tasks := make([]plan.TaskResult, len(ph.Tasks))
		for j, t := range ph.Tasks {
			if t.Metrics == nil {
				t.Metrics = map[string]float64{}
			}
			if t.Gates == nil {
				t.Gates = []plan.GateResult{}
			}
			tasks[j] = t
		}
		ph.Tasks = tasks
		out.Phases[i] = ph
	}
	return &out
}
