// Package workflows holds Shipshape's Temporal workflows: Readiness runs a
// plan's phases as a DAG, one ReadinessPhase child workflow per phase of
// tasks, so a plan of a thousand tasks keeps each history small.
//
// Deterministic orchestration only: no I/O, no time.Now, no goroutines, no
// map iteration for order. Activities do the work.
package workflows

import (
	"fmt"
	"time"

	"github.com/shipshape-dev/shipshape/activities/taskrun"

	"github.com/shipshape-dev/shipshape/plan"
)

// Names shared by the worker, the starter and bots.
const (
	// TaskQueue is the task queue every Shipshape worker polls.
	TaskQueue = "shipshape"
	// ReadinessName is the registered name of the Readiness workflow.
	ReadinessName = "Readiness"
	// PhaseName is the registered name of the per-phase child workflow.
	PhaseName = "ReadinessPhase"
	// EventRelayName is the registered name of the workflow that delivers
	// events a closed workflow could not (NATS was down).
	EventRelayName = taskrun.EventRelayName
	// SignalApprove and SignalReject decide an approval phase
	// (payload ApprovalSignal).
	SignalApprove = "approve"
	SignalReject  = "reject"
	// SignalConfirm confirms one item of a checklist task (payload
	// ConfirmSignal). Send it to the run; it is forwarded to the phase.
	SignalConfirm = "confirm"
	// QueryStatus returns the live plan.RunResult of a run (or the
	// plan.PhaseResult of a phase workflow).
	QueryStatus = "status"
)

// ErrInvalidPlan is the type of the non-retryable application error a run
// fails with, before it starts anything, when its plan cannot run: a phase
// needs one that does not exist or needs itself through a cycle, or a name
// repeats.
const ErrInvalidPlan = "InvalidPlan"

// ReadinessInput is the input of the Readiness workflow.
type ReadinessInput struct {
	Plan plan.Plan `json:"plan"`
	// AutoApprove approves every approval phase and confirms every
	// checklist item as soon as it is reached (demo, --approve-all).
	AutoApprove bool `json:"autoApprove,omitempty"`
	// ArtifactDir is where tasks may write files kept with the run.
	ArtifactDir string `json:"artifactDir,omitempty"`
}

// ReadinessResult is what a run returns: the single value every report is
// rendered from.
type ReadinessResult = plan.RunResult

// ApprovalSignal approves or rejects an approval phase.
type ApprovalSignal struct {
	Phase  string `json:"phase"`
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	// Via names the channel a decision came through ("chat" for the
	// approval bridge); decisions with one are answered by an
	// approval.refused event when they do not count.
	Via string `json:"via,omitempty"`
}

// ConfirmSignal confirms one checklist item; an empty Item confirms all.
type ConfirmSignal struct {
	Phase string `json:"phase"`
	Task  string `json:"task"`
	Item  string `json:"item,omitempty"`
	By    string `json:"by"`
}

// PhaseInput is the input of the ReadinessPhase child workflow.
type PhaseInput struct {
	RunID       string          `json:"runId"`
	Plan        string          `json:"plan"`
	Phase       plan.Phase      `json:"phase"`
	Concurrency int             `json:"concurrency"`
	AutoApprove bool            `json:"autoApprove,omitempty"`
	ArtifactDir string          `json:"artifactDir,omitempty"`
	Confirmed   []ConfirmSignal `json:"confirmed,omitempty"`
	// Scope is what the when conditions of the phase's tasks may see:
	// the plan's vars and the results of the phases it needs. Set only
	// when a task has a when.
	Scope *plan.WhenScope `json:"scope,omitempty"`
}

// NewRunID returns a run ID (the Readiness workflow ID) for a plan started
// at t; suffix makes concurrent starts distinct.
func NewRunID(planName string, t time.Time, suffix string) string {
	return fmt.Sprintf("%s-%s-%s", planName, t.UTC().Format("20060102-150405"), suffix)
}

// PhaseWorkflowID is the workflow ID of a run's phase workflow.
func PhaseWorkflowID(runID, phase string) string {
	return runID + "/phase/" + phase
}
