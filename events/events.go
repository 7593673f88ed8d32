// Package events is the public contract of Shipshape's event stream: every
// state change of a run is a CloudEvents 1.0 JSON message on NATS JetStream
// stream SHIPSHAPE, subject shipshape.run.<plan>.<event>. docs/events.md
// documents each type and its data.
//
// The package is pure data: workflows build events, the PublishEvents
// activity sends them, consumers decode them.
package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Stream and subjects.
const (
	Stream        = "SHIPSHAPE"
	SubjectPrefix = "shipshape"
	// SubjectAll matches every Shipshape subject.
	SubjectAll = SubjectPrefix + ".>"
	// SpecVersion is the CloudEvents version.
	SpecVersion = "1.0"
	// ContentType is the datacontenttype of every event.
	ContentType = "application/json"
	typePrefix  = "dev.shipshape."
)

// Type is a CloudEvents type.
type Type string

// Event types.
const (
	RunStarted        Type = typePrefix + "run.started"
	RunFinished       Type = typePrefix + "run.finished"
	PhaseStarted      Type = typePrefix + "phase.started"
	PhaseFinished     Type = typePrefix + "phase.finished"
	TaskStarted       Type = typePrefix + "task.started"
	TaskProgress      Type = typePrefix + "task.progress"
	TaskFinished      Type = typePrefix + "task.finished"
	GateEvaluated     Type = typePrefix + "gate.evaluated"
	ApprovalRequested Type = typePrefix + "approval.requested"
	ApprovalResolved  Type = typePrefix + "approval.resolved"
	// ApprovalRefused: the approval bridge refused a decision sent by chat
	// (not an approver of the phase, the phase not waiting, …).
	ApprovalRefused Type = typePrefix + "approval.refused"
	// DrillStarted and DrillFinished bracket a restore drill (task type
	// restore-drill), so DR dashboards need not parse task metrics; their
	// data is the drill's own (restoredrill.EventData).
	DrillStarted  Type = typePrefix + "drill.started"
	DrillFinished Type = typePrefix + "drill.finished"
	// DrillReady: a restore drill with a validation window (keepFor)
	// verified its scratch database and keeps it up for outside checks;
	// its data carries the connection, the password by reference.
	DrillReady Type = typePrefix + "drill.ready"
	// AlertFired, AlertAcknowledged and AlertRefused follow an alert
	// drill (task type alert-drill): its synthetic alert fired, an
	// allowed responder acknowledged it, or an acknowledgement was
	// refused (its responder not allowed), as approval.refused does for
	// approvals; their data is the drill's own (alertdrill.EventData).
	AlertFired        Type = typePrefix + "alert.fired"
	AlertAcknowledged Type = typePrefix + "alert.acknowledged"
	AlertRefused      Type = typePrefix + "alert.refused"
)

// Types lists every event type in documentation order.
var Types = []Type{RunStarted, RunFinished, PhaseStarted, PhaseFinished, TaskStarted,
	TaskProgress, TaskFinished, GateEvaluated, ApprovalRequested, ApprovalResolved, ApprovalRefused, DrillStarted, DrillReady, DrillFinished,
	AlertFired, AlertAcknowledged, AlertRefused}

// Short is the type without its "dev.shipshape." prefix, e.g. "task.finished".
func (t Type) Short() string { return strings.TrimPrefix(string(t), typePrefix) }

// Event is one CloudEvents 1.0 message in JSON structured mode.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            Type      `json:"type"`
	Subject         string    `json:"subject,omitempty"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	// RunID (extension "runid") is the Shipshape run: the Readiness
	// workflow ID, the same for every event of a run.
	RunID string `json:"runid"`
	// Plan (extension "plan") is the plan's metadata.name.
	Plan string `json:"plan"`
	// Sequence (extension "sequence") orders the events one workflow
	// emitted: the run's own, or one phase's.
	Sequence int64 `json:"sequence"`
	// TraceParent (extension "traceparent", CloudEvents distributed
	// tracing) is the W3C trace context of the worker span that published
	// the event, when the worker traces: every event of a run carries the
	// run's trace ID.
	TraceParent string          `json:"traceparent,omitempty"`
	Data        json.RawMessage `json:"data"`
}

// NATSSubject is the subject the event is published on.
func (e Event) NATSSubject() string {
	return fmt.Sprintf("%s.run.%s.%s", SubjectPrefix, e.Plan, e.Type.Short())
}

// RunData is the data of run.started and run.finished.
type RunData struct {
	Plan   string            `json:"plan"`
	RunID  string            `json:"runId"`
	Labels map[string]string `json:"labels,omitempty"`
	Phases int               `json:"phases"`
	Tasks  int               `json:"tasks"`
	// Result, Score and Error are set on run.finished.
	Result string  `json:"result,omitempty"`
	Score  float64 `json:"score,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// PhaseData is the data of phase.started and phase.finished.
type PhaseData struct {
	Phase  string `json:"phase"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// TaskData is the data of task.started, task.progress and task.finished.
type TaskData struct {
	Phase    string             `json:"phase"`
	Task     string             `json:"task"`
	Uses     string             `json:"uses"`
	Status   string             `json:"status"`
	Attempt  int                `json:"attempt,omitempty"`
	Error    string             `json:"error,omitempty"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Done     *float64           `json:"done,omitempty"` // progress 0-1, on task.progress
	Message  string             `json:"message,omitempty"`
	Duration float64            `json:"duration,omitempty"` // seconds, on task.finished
}

// GateData is the data of gate.evaluated.
type GateData struct {
	Phase   string   `json:"phase"`
	Task    string   `json:"task"`
	Metric  string   `json:"metric"`
	Value   *float64 `json:"value"`
	Pass    string   `json:"pass"`
	Warning string   `json:"warning,omitempty"`
	Status  string   `json:"status"`
	Weight  float64  `json:"weight"`
	Key     bool     `json:"key"`
	Reason  string   `json:"reason,omitempty"`
}

// ApprovalData is the data of approval.requested and approval.resolved.
type ApprovalData struct {
	Phase    string `json:"phase"`
	Timeout  string `json:"timeout,omitempty"`  // on requested
	Decision string `json:"decision,omitempty"` // approved or rejected, on resolved
	By       string `json:"by,omitempty"`
	Reason   string `json:"reason,omitempty"`
	TimedOut bool   `json:"timedOut,omitempty"`
}

// ApprovalRefusedData is the data of approval.refused: a decision sent on
// shipshape.approvals.<run> that the approval bridge did not pass on.
type ApprovalRefusedData struct {
	Phase    string `json:"phase"`
	Approver string `json:"approver"`
	Decision string `json:"decision"`         // approve or reject, as sent
	Reason   string `json:"reason,omitempty"` // the approver's, as sent
	// Why says why the bridge refused it.
	Why string `json:"why"`
}
