package plan

import "time"

// Status is the state of a run, phase, task or gate.
type Status string

// Statuses. Gates end pass, warning or fail; tasks and phases may also end
// error, skipped or cancelled; approval phases end approved or rejected.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusWaiting   Status = "waiting" // for an approval or checklist confirmations
	StatusPass      Status = "pass"
	StatusWarning   Status = "warning"
	StatusFail      Status = "fail"
	StatusError     Status = "error"
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
	StatusApproved  Status = "approved"
	StatusRejected  Status = "rejected"
)

// Done reports whether s is final.
func (s Status) Done() bool {
	switch s {
	case StatusPending, StatusRunning, StatusWaiting:
		return false
	}
	return true
}

// RunResult is everything a run produced: the single value the Readiness
// workflow returns and every report is rendered from. docs/report.md
// documents its JSON form as a public contract.
type RunResult struct {
	Plan       string            `json:"plan"`
	RunID      string            `json:"runId"`
	Labels     map[string]string `json:"labels,omitempty"`
	Result     Status            `json:"result"` // pass, warning, fail; running while in progress
	Score      float64           `json:"score"`
	Scoring    Scoring           `json:"scoring"`
	StartedAt  time.Time         `json:"startedAt"`
	FinishedAt time.Time         `json:"finishedAt,omitzero"`
	// Error explains a run that ended without a verdict of its gates
	// (cancelled, a key gate failed, a phase rejected).
	Error string `json:"error,omitempty"`
	// NotRun is the share of the gates' weight that never ran (their task
	// was skipped or cancelled), 0 to 100: the score counts it as earned
	// by none, and says how much of it there was.
	NotRun float64       `json:"notRun,omitempty"`
	Phases []PhaseResult `json:"phases"`
	// Compared is what changed since the plan's previous run, and Trend
	// the plan's last runs: both attached from the run history (package
	// history) when a report is written, never by the workflow, and not
	// kept in the history itself.
	Compared *Comparison `json:"compared,omitempty"`
	Trend    *Trend      `json:"trend,omitempty"`
}

// PhaseResult is the outcome of one phase.
type PhaseResult struct {
	Name       string          `json:"name"`
	Status     Status          `json:"status"`
	Needs      []string        `json:"needs,omitempty"`
	StartedAt  time.Time       `json:"startedAt,omitzero"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
	Reason     string          `json:"reason,omitempty"`
	Approval   *ApprovalResult `json:"approval,omitempty"`
	Tasks      []TaskResult    `json:"tasks"`
}

// ApprovalResult records who decided an approval phase, and why.
type ApprovalResult struct {
	Decision Status    `json:"decision"` // approved or rejected
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at,omitzero"`
	TimedOut bool      `json:"timedOut,omitempty"`
}

// TaskResult is the outcome of one task.
type TaskResult struct {
	Name   string `json:"name"`
	Uses   string `json:"uses"`
	Status Status `json:"status"`
	Error  string `json:"error,omitempty"`
	// SkippedInPhase marks a task its phase skipped (a need blocked it,
	// or its when was false) while the phase ran; Reason says why.
	SkippedInPhase bool      `json:"skippedInPhase,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	Attempts       int       `json:"attempts,omitempty"`
	StartedAt      time.Time `json:"startedAt,omitzero"`
	FinishedAt     time.Time `json:"finishedAt,omitzero"`
	// Metrics maps metric names to values in base units (seconds, bytes,
	// ratios from 0 to 1, counts).
	Metrics map[string]float64 `json:"metrics"`
	// Units are the units of metrics whose task said them (a command's
	// own metrics); reports show those values in their unit.
	Units map[string]Unit `json:"units,omitempty"`
	Gates []GateResult    `json:"gates"`
	// Output is the tail of what the task printed, when it prints.
	Output string `json:"output,omitempty"`
	// Tables are breakdowns for the report (per-package coverage, …).
	Tables []Table `json:"tables,omitempty"`
	// Series are numbers over time the report draws as charts.
	Series    []Series   `json:"series,omitempty"`
	Artifacts []Artifact `json:"artifacts,omitempty"`
}

// GateResult is one gate evaluated against its task's metrics.
type GateResult struct {
	Metric  string   `json:"metric"`
	Value   *float64 `json:"value"` // null when the task did not report the metric
	Pass    string   `json:"pass"`
	Warning string   `json:"warning,omitempty"`
	// Unit is the metric's unit when its task said it.
	Unit   Unit    `json:"unit,omitempty"`
	Status Status  `json:"status"`
	Weight float64 `json:"weight"`
	Key    bool    `json:"key"`
	Reason string  `json:"reason,omitempty"`
	// Baseline is where a relative threshold's baseline came from, or
	// why there was none (the gate is then skipped and left out of the
	// score).
	Baseline *BaselineUse `json:"baseline,omitempty"`
}

// Table is a small table a task adds to the report.
type Table struct {
	Title string `json:"title"`
	// Kind says what the table is, so that a report can place it without
	// knowing the task type: one of the Table… kinds, or empty for a
	// breakdown shown with its task.
	Kind    string     `json:"kind,omitempty"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Kinds of Table.
const (
	// TableSummary is a task's headline figures, shown beside its charts.
	TableSummary = "summary"
	// TableSeries is one of the task's Series written out as text, for
	// reports that draw no charts; a report that draws the series leaves
	// the table out.
	TableSeries = "series"
	// TableFindings lists findings (vulnerabilities, policy violations),
	// one per row, most severe first, with a column named "Severity" whose
	// cells start with CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN. Reports
	// gather the findings of every task in one place.
	TableFindings = "findings"
)

// Series is numbers over time that the report draws as a chart: one line
// per Line against X, with Marks (thresholds) drawn across. Values are in
// Unit, the base unit of the metric they sample.
type Series struct {
	Title string `json:"title"`
	// XLabel names X ("seconds since start").
	XLabel string    `json:"xLabel"`
	X      []float64 `json:"x"`
	Unit   Unit      `json:"unit"`
	Lines  []Line    `json:"lines"`
	Marks  []Mark    `json:"marks,omitempty"`
}

// Line is one named line of a Series: a value for each X.
type Line struct {
	Name   string    `json:"name"`
	Values []float64 `json:"values"`
}

// Mark is a horizontal line across a Series: a threshold.
type Mark struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Artifact is a file a task produced, kept with the run.
type Artifact struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	MediaType string `json:"mediaType,omitempty"`
}

// Task returns a pointer to the named task's result, or nil.
func (r *RunResult) Task(phase, task string) *TaskResult {
	for i := range r.Phases {
		if r.Phases[i].Name != phase {
			continue
		}
		for j := range r.Phases[i].Tasks {
			if r.Phases[i].Tasks[j].Name == task {
				return &r.Phases[i].Tasks[j]
			}
		}
	}
	return nil
}

// Phase returns a pointer to the named phase's result, or nil.
func (r *RunResult) Phase(name string) *PhaseResult {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}
