// Package plan is Shipshape's plan language: the schema of a readiness plan,
// decoding YAML with positions, validation against the declared task types,
// variable resolution, thresholds with units, and Keptn-style scoring.
//
// It is pure: no I/O beyond reading the plan file, no Temporal, no NATS.
package plan

import "time"

// APIVersion and Kind identify a readiness plan document.
const (
	APIVersion = "shipshape.dev/v1"
	Kind       = "ReadinessPlan"
)

// Plan is a validated readiness plan with its variables resolved.
// It travels as the workflow input, so it holds plain data only.
type Plan struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`
	// Source is the file the plan was read from, for messages and reports.
	Source string `json:"source,omitempty"`
}

// Metadata names a plan. Name is used in event subjects and workflow IDs,
// so it is restricted to lower-case letters, digits and dashes.
type Metadata struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// Spec is the body of a plan.
type Spec struct {
	Vars    map[string]string `json:"vars,omitempty"`
	Scoring Scoring           `json:"scoring"`
	// Concurrency bounds how many tasks of one phase run at once (default 4).
	Concurrency int `json:"concurrency"`
	// AllowedHosts are the hosts that parameters declared with SafetyHost
	// (a load test's targets) may name; a task may add its own.
	AllowedHosts []string `json:"allowedHosts,omitempty"`
	// Limits cap what parameters declared with SafetyRate and
	// SafetyConcurrency may ask for.
	Limits Limits `json:"limits,omitzero"`
	// Schedule is when the plan runs on its own, for `starter schedule`.
	Schedule *Schedule `json:"schedule,omitempty"`
	// Baseline names the run relative thresholds compare with when their
	// gate names none; empty: the plan's last passing run.
	Baseline string `json:"baseline,omitempty"`
	// BaselineAt is where Baseline is written, for errors.
	BaselineAt Position `json:"-"`
	Phases     []Phase  `json:"phases"`
	// OnFailure runs once the run has failed (not when it passes, warns
	// or is cancelled): notify, open a ticket, roll back. Its tasks have
	// no gates, so it cannot change the verdict.
	OnFailure *Phase `json:"onFailure,omitempty"`
}

// Limits cap the load a plan may generate; zero means no cap.
type Limits struct {
	// MaxRate is the highest request rate, per second, a task may ask for.
	MaxRate float64 `json:"maxRate,omitempty"`
	// MaxConcurrency is the most concurrent requests a task may ask for.
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
}

// Scoring holds the score a run needs to pass or to earn a warning.
type Scoring struct {
	Pass    float64 `json:"pass"`
	Warning float64 `json:"warning"`
}

// Phase is a node of the plan's DAG: it runs after all of its Needs, then
// either runs its tasks in parallel or, with Approval, waits for a decision.
type Phase struct {
	Name  string   `json:"name"`
	Needs []string `json:"needs,omitempty"`
	// When is a CEL expression: the phase runs only when it is true.
	When     string    `json:"when,omitempty"`
	Tasks    []Task    `json:"tasks,omitempty"`
	Approval *Approval `json:"approval,omitempty"`
}

// Approval makes a phase wait for an approve or reject signal.
// A timeout is a rejection.
type Approval struct {
	Required bool     `json:"required"`
	Timeout  Duration `json:"timeout"`
	// Approvers, when set, are the only names whose decisions count;
	// others are refused (an approval.refused event). Empty: anyone who
	// may signal the run.
	Approvers []string `json:"approvers,omitempty"`
}

// Task is one unit of work: a task type (Uses) with parameters (With) and
// the gates evaluated on the metrics it emits.
type Task struct {
	Name string `json:"name"`
	Uses string `json:"uses"`
	// Needs names tasks of the same phase that must finish first.
	Needs []string `json:"needs,omitempty"`
	// When is a CEL expression: the task runs only when it is true.
	When string `json:"when,omitempty"`
	// With holds the parameters after validation: defaults filled in, vars
	// resolved, values normalised to JSON types (string, float64, bool,
	// []any, map[string]any). Durations and byte sizes stay as their text.
	With  map[string]any `json:"with,omitempty"`
	Gates []Gate         `json:"gates,omitempty"`
	// Timeout is the start-to-close timeout of one attempt.
	Timeout Duration `json:"timeout"`
	// Heartbeat is the heartbeat timeout; zero means the task does not heartbeat.
	Heartbeat Duration `json:"heartbeat,omitempty"`
	Retry     Retry    `json:"retry"`
	// AllowedHosts is the task's allow-list, resolved: spec.allowedHosts
	// and the task's own allow-hosts parameters. The plan checks the URLs
	// and addresses declared with SafetyHost against it; the task checks
	// what it reaches on its own (a redirect's target) with URLAllowed.
	AllowedHosts []string `json:"allowedHosts,omitempty"`
}

// Retry is a task's retry policy.
type Retry struct {
	MaxAttempts     int      `json:"maxAttempts"`
	InitialInterval Duration `json:"initialInterval"`
	MaxInterval     Duration `json:"maxInterval"`
	Backoff         float64  `json:"backoff"`
}

// Gate is a threshold on one metric of a task. A gate that meets Pass earns
// its Weight, one that meets only Warning earns half, others earn nothing.
type Gate struct {
	Metric  string     `json:"metric"`
	Pass    Threshold  `json:"pass"`
	Warning *Threshold `json:"warning,omitempty"`
	Weight  float64    `json:"weight"`
	// Key fails the whole run when this gate fails, whatever the score.
	Key bool `json:"key,omitempty"`
	// AbortOnFail asks a task type that measures as it goes to stop early
	// once this gate fails on the results so far.
	AbortOnFail bool `json:"abortOnFail,omitempty"`
	// BaselineRun names the run whose metric a relative threshold is
	// relative to (gates[].baseline); empty: spec.baseline, else the
	// plan's last passing run.
	BaselineRun string `json:"baselineRun,omitempty"`
	// Pos is where the gate's baseline is named (or the gate), for errors.
	Pos Position `json:"-"`
}

// Duration is a time.Duration that reads and writes as text ("1m30s").
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d the way time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Go duration ("90s", "24h").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Task returns the phase and task named, or false.
func (p *Plan) Task(phase, task string) (Phase, Task, bool) {
	for _, ph := range p.Spec.Phases {
		if ph.Name != phase {
			continue
		}
		for _, t := range ph.Tasks {
			if t.Name == task {
				return ph, t, true
			}
		}
	}
	return Phase{}, Task{}, false
}

// TaskCount is the number of tasks across all phases.
func (p *Plan) TaskCount() int {
	n := 0
	for _, ph := range p.Spec.Phases {
		n += len(ph.Tasks)
	}
	return n
}
