// Package activities holds Shipshape's task types: each is a Temporal
// activity that does the I/O of one kind of check and reports metrics.
// The registry (registry.go) declares every task type's parameters and
// metrics; the plan validates against those declarations.
package activities

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/plan"
)

// TaskInput is the only argument of every task activity.
type TaskInput struct {
	// RunID is the workflow ID of the run.
	RunID string `json:"runId"`
	Plan  string `json:"plan"`
	Phase string `json:"phase"`
	Task  string `json:"task"`
	Uses  string `json:"uses"`
	// Params are the task's validated parameters, defaults filled in.
	Params Params `json:"params"`
	// ArtifactDir, when set, is a directory where the task may write files
	// that are kept with the run.
	ArtifactDir string `json:"artifactDir,omitempty"`
	// AbortOn are the task's gates written with abortOnFail: a task type
	// that measures as it goes stops early once one of them fails.
	AbortOn []plan.Gate `json:"abortOn,omitempty"`
	// Timeout is the task's timeout, set for task workflows, which bound
	// their own work by it and then still undo what they made.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retry is the task's retry policy, set for task workflows, whose
	// activities retry by it.
	Retry plan.Retry `json:"retry,omitempty"`
}

// TaskOutput is the result of every task activity.
type TaskOutput struct {
	// Metrics in base units: seconds, bytes, ratios 0-1, counts.
	Metrics   map[string]float64 `json:"metrics"`
	Output    string             `json:"output,omitempty"`
	Tables    []plan.Table       `json:"tables,omitempty"`
	Artifacts []plan.Artifact    `json:"artifacts,omitempty"`
	// Attempt is the attempt that produced this output (set by the registry).
	Attempt int `json:"attempt,omitempty"`
}

// Progress is what long tasks record as heartbeat details, so the starter
// can show live progress and task.progress events can carry it.
type Progress struct {
	// Done is the fraction done, 0 to 1, when known (else -1).
	Done    float64            `json:"done"`
	Message string             `json:"message,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// ErrCheckFailed is the application error type of a task whose check ran
// but did not hold (an unexpected status, a missing header, a non-zero exit).
// Its details carry the TaskOutput, so the metrics measured survive the
// failure. It is retried like any other error, within the task's policy.
const ErrCheckFailed = "CheckFailed"

// ErrInvalidParams is the non-retryable application error type of a task
// whose parameters cannot work (a file that does not exist, a bad URL).
const ErrInvalidParams = "InvalidParams"

// ErrTaskFailed is the application error type of a task that failed for
// any other reason (a connection refused, a file unreadable): retried.
const ErrTaskFailed = "TaskFailed"

// CheckFailed returns the error of a task whose check did not hold, with
// the output it measured.
func CheckFailed(out TaskOutput, format string, args ...any) error {
	return temporal.NewApplicationError(fmt.Sprintf(format, args...), ErrCheckFailed, out)
}

// InvalidParams returns a non-retryable error for parameters that cannot work.
func InvalidParams(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrInvalidParams, nil)
}

// OutputOf extracts the TaskOutput a task error carries, if any: the
// metrics of a CheckFailed error, the attempt of every task error.
func OutputOf(err error) (TaskOutput, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.HasDetails() {
		return TaskOutput{}, false
	}
	var out TaskOutput
	if appErr.Details(&out) != nil {
		return TaskOutput{}, false
	}
	return out, true
}

// Params are a task's parameters as the plan validated them. Accessors
// return the zero value for a missing parameter; the plan has already
// checked types and filled in defaults.
type Params map[string]any

// String returns a string parameter.
func (p Params) String(name string) string {
	s, _ := p[name].(string)
	return s
}

// Bool returns a boolean parameter.
func (p Params) Bool(name string) bool {
	b, _ := p[name].(bool)
	return b
}

// Number returns a numeric parameter.
func (p Params) Number(name string) float64 {
	switch v := p[name].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	}
	return 0
}

// Int returns an integer parameter.
func (p Params) Int(name string) int { return int(p.Number(name)) }

// Duration returns a duration parameter ("30s").
func (p Params) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(p.String(name))
	return d
}

// Strings returns a list-of-strings parameter.
func (p Params) Strings(name string) []string {
	switch v := p[name].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// StringMap returns a map-of-strings parameter.
func (p Params) StringMap(name string) map[string]string {
	switch v := p[name].(type) {
	case map[string]string:
		return v
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, e := range v {
			if s, ok := e.(string); ok {
				out[k] = s
			}
		}
		return out
	}
	return nil
}

// Objects returns a list-of-objects parameter, each as Params.
func (p Params) Objects(name string) []Params {
	list, _ := p[name].([]any)
	out := make([]Params, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, Params(m))
		}
	}
	return out
}

// Object returns an object parameter as Params.
func (p Params) Object(name string) Params {
	m, _ := p[name].(map[string]any)
	return Params(m)
}
