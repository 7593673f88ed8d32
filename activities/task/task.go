// Package task is the contract between Shipshape's engine and its task
// types: what a task gets (Input, Params), what it gives back (Output:
// metrics in base units, tables and series for the report, artifacts),
// how it reports progress and fails, and how a task type declares itself
// (Type). It imports the plan and the standard library only, so the
// workflows, the run API, the report and the notifier can speak it
// without linking any task type's clients.
package task

import (
	"context"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// Input is the only argument of every task activity and task workflow.
type Input struct {
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
	// Gates are all the task's gates, for a task type that shows them
	// with what it measured (a load test marks its latency thresholds
	// across its latency series).
	Gates []plan.Gate `json:"gates,omitempty"`
	// Timeout is the task's timeout, set for task workflows, which bound
	// their own work by it and then still undo what they made.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Retry is the task's retry policy, set for task workflows, whose
	// activities retry by it.
	Retry plan.Retry `json:"retry,omitempty"`
	// AllowedHosts is the task's allow-list (spec.allowedHosts and its
	// own allow-hosts parameters) that the plan checked its URLs against;
	// a task that reaches further URLs on its own, such as redirect
	// targets, checks them with plan.URLAllowed.
	AllowedHosts []string `json:"allowedHosts,omitempty"`
}

// Output is the result of every task.
type Output struct {
	// Metrics in base units: seconds, bytes, ratios 0-1, counts.
	Metrics map[string]float64 `json:"metrics"`
	// Units say the unit of metrics whose type the declaration leaves
	// open (UnitAny: a command's own metrics), for the report.
	Units  map[string]plan.Unit `json:"units,omitempty"`
	Output string               `json:"output,omitempty"`
	// Tables are breakdowns the report renders as they are (per-package
	// coverage, verification per table, findings).
	Tables []plan.Table `json:"tables,omitempty"`
	// Series are numbers over time the report draws as charts (a load
	// test's latency per second, a watch's samples).
	Series    []plan.Series   `json:"series,omitempty"`
	Artifacts []plan.Artifact `json:"artifacts,omitempty"`
	// Attempt is the attempt that produced this output (set by the runner).
	Attempt int `json:"attempt,omitempty"`
}

// Progress is what long tasks report while they run: the starter shows it
// as a progress bar and task.progress events carry it.
type Progress struct {
	// Done is the fraction done, 0 to 1, when known (else -1).
	Done    float64            `json:"done"`
	Message string             `json:"message,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Reporter records a task's progress: the worker's heartbeats it and
// publishes it as task.progress events.
type Reporter interface {
	Report(ctx context.Context, p Progress)
}

type reporterKey struct{}

// WithReporter returns ctx carrying r, for Report.
func WithReporter(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, reporterKey{}, r)
}

// Report records p with the Reporter ctx carries; without one it does
// nothing (a task run outside a worker, in a unit test).
func Report(ctx context.Context, p Progress) {
	if r, ok := ctx.Value(reporterKey{}).(Reporter); ok {
		r.Report(ctx, p)
	}
}

// Type is one task type as the worker knows it: its declaration and the
// code that runs it. A task type is one of three kinds: Run set (one
// activity under the type's name), Workflow set (a child workflow under
// the type's name, with Decl.Workflow true, calling the Activities it
// lists), or neither (Decl.Manual: the engine waits for confirmations).
type Type struct {
	Decl plan.TaskType
	// Run runs one task as an activity.
	Run func(ctx context.Context, in Input) (Output, error)
	// Workflow is a workflow function func(workflow.Context, Input)
	// (Output, error), failing like Run does: with an error whose details
	// hold the Output measured.
	Workflow any
	// Activities are the activities Workflow calls, by registered name.
	Activities map[string]any
}

// Name is the task type's name, as plans write it in `uses`.
func (t Type) Name() string { return t.Decl.Name }

// Catalog returns the declarations of types, for plan validation and the
// plan reference.
func Catalog(types []Type) plan.Catalog {
	decls := make([]plan.TaskType, len(types))
	for i, t := range types {
		decls[i] = t.Decl
	}
	return plan.NewCatalog(decls...)
}
