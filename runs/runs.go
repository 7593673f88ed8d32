// Package runs starts, follows and steers readiness runs from outside
// Temporal: what the starter, CI pipelines and chat bridges do.
package runs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

// ErrNotFound means no run has that ID.
var ErrNotFound = errors.New("run not found")

// StartOptions tune a run.
type StartOptions struct {
	// RunID overrides the generated run ID (the workflow ID).
	RunID       string
	AutoApprove bool
	ArtifactDir string
}

// Start starts a run of p and returns its run ID.
func Start(ctx context.Context, c client.Client, p *plan.Plan, opts StartOptions) (string, error) {
	id := opts.RunID
	if id == "" {
		id = NewID(p.Metadata.Name)
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Where this client's process also runs a worker (run --dev), its
		// first workflow task comes back with the start instead of
		// through the task queue; elsewhere the option does nothing.
		EnableEagerStart: true,
		Memo:             map[string]any{"plan": p.Metadata.Name, "source": p.Source},
	}, workflows.ReadinessName, workflows.ReadinessInput{Plan: *p, AutoApprove: opts.AutoApprove, ArtifactDir: opts.ArtifactDir})
	if err != nil {
		return "", fmt.Errorf("start run of %s: %w", p.Metadata.Name, err)
	}
	return id, nil
}

// NewID returns a fresh run ID for a plan: <plan>-<UTC time>-<random>.
func NewID(planName string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return workflows.NewRunID(planName, time.Now(), hex.EncodeToString(b[:]))
}

// Live is a run's state as seen now.
type Live struct {
	Result plan.RunResult
	// Progress of running tasks that heartbeat, keyed "phase/task".
	Progress map[string]task.Progress
	// Closed is true once the run has finished.
	Closed bool
}

// Option tunes how runs talks to Temporal.
type Option func(*options)

type options struct{ dc converter.DataConverter }

// WithConverter decodes raw payloads (heartbeat progress) with dc: pass
// the client's converter when it encrypts payloads.
func WithConverter(dc converter.DataConverter) Option { return func(o *options) { o.dc = dc } }

func newOptions(opts []Option) options {
	o := options{dc: converter.GetDefaultDataConverter()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Status returns a run's live state: the run's own status, each running
// phase's task states, and the progress running tasks last reported.
func Status(ctx context.Context, c client.Client, runID string, opts ...Option) (*Live, error) {
	o := newOptions(opts)
	desc, err := c.DescribeWorkflowExecution(ctx, runID, "")
	if err != nil {
		return nil, notFound(runID, err)
	}
	if desc.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		res, err := Result(ctx, c, runID)
		if err != nil {
			return nil, err
		}
		return &Live{Result: *res, Closed: true}, nil
	}
	live := &Live{Progress: map[string]task.Progress{}}
	v, err := c.QueryWorkflow(ctx, runID, "", workflows.QueryStatus)
	if err != nil {
		return nil, fmt.Errorf("query run %s: %w", runID, err)
	}
	if err := v.Get(&live.Result); err != nil {
		return nil, fmt.Errorf("decode status of %s: %w", runID, err)
	}
	for i := range live.Result.Phases {
		ph := &live.Result.Phases[i]
		if ph.Status != plan.StatusRunning {
			continue
		}
		id := workflows.PhaseWorkflowID(runID, ph.Name)
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus); err == nil {
			var pr plan.PhaseResult
			if v.Get(&pr) == nil {
				*ph = pr
			}
		}
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			continue // the phase workflow may not have started yet
		}
		for _, pa := range d.GetPendingActivities() {
			if len(pa.GetHeartbeatDetails().GetPayloads()) == 0 {
				continue
			}
			var p task.Progress
			if o.dc.FromPayloads(pa.GetHeartbeatDetails(), &p) == nil {
				live.Progress[ph.Name+"/"+pa.GetActivityId()] = p
			}
		}
	}
	// The run's own query knows phases only once they finish: score again
	// with the running phases' finished tasks.
	live.Result.Score, _, _ = plan.Score(&live.Result)
	return live, nil
}

// Result waits for a run to finish and returns its result. A cancelled
// run returns its result too; Temporal errors are returned as errors.
func Result(ctx context.Context, c client.Client, runID string) (*plan.RunResult, error) {
	var res plan.RunResult
	err := c.GetWorkflow(ctx, runID, "").Get(ctx, &res)
	if err == nil {
		return &res, nil
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) && canceled.HasDetails() && canceled.Details(&res) == nil {
		return &res, nil
	}
	return nil, notFound(runID, err)
}

// Approve approves a waiting approval phase.
func Approve(ctx context.Context, c client.Client, runID string, s workflows.ApprovalSignal) error {
	return decide(ctx, c, runID, workflows.SignalApprove, s)
}

// Reject rejects a waiting approval phase.
func Reject(ctx context.Context, c client.Client, runID string, s workflows.ApprovalSignal) error {
	return decide(ctx, c, runID, workflows.SignalReject, s)
}

// decide checks that the phase is waiting, so a typo or a late decision
// gets an error instead of a silently ignored signal.
func decide(ctx context.Context, c client.Client, runID, signal string, s workflows.ApprovalSignal) error {
	live, err := Status(ctx, c, runID)
	if err != nil {
		return err
	}
	ph := live.Result.Phase(s.Phase)
	switch {
	case ph == nil:
		return fmt.Errorf("run %s has no phase %q", runID, s.Phase)
	case ph.Status != plan.StatusWaiting:
		return fmt.Errorf("phase %s of run %s is %s, not waiting for approval", s.Phase, runID, ph.Status)
	}
	if err := c.SignalWorkflow(ctx, runID, "", signal, s); err != nil {
		return fmt.Errorf("%s phase %s of %s: %w", signal, s.Phase, runID, err)
	}
	return nil
}

// Confirm confirms a checklist item (all items when s.Item is empty).
func Confirm(ctx context.Context, c client.Client, runID string, s workflows.ConfirmSignal) error {
	if err := c.SignalWorkflow(ctx, runID, "", workflows.SignalConfirm, s); err != nil {
		return fmt.Errorf("confirm %s/%s of %s: %w", s.Phase, s.Task, runID, notFound(runID, err))
	}
	return nil
}

// Cancel cancels a run; its tasks are cancelled and it still reports.
func Cancel(ctx context.Context, c client.Client, runID string) error {
	if err := c.CancelWorkflow(ctx, runID, ""); err != nil {
		return notFound(runID, err)
	}
	return nil
}

func notFound(runID string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("%w: %s", ErrNotFound, runID)
	}
	return fmt.Errorf("run %s: %w", runID, err)
}

// Summary is a run as Temporal's visibility lists it.
type Summary struct {
	ID      string    `json:"id"`
	Plan    string    `json:"plan,omitempty"`
	Status  string    `json:"status"` // running, completed, failed, canceled, terminated, timed_out
	Started time.Time `json:"started"`
	Closed  time.Time `json:"closed,omitzero"`
}

// List returns the most recent runs, newest first, at most limit.
func List(ctx context.Context, c client.Client, limit int, opts ...Option) ([]Summary, error) {
	o := newOptions(opts)
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: "WorkflowType = '" + workflows.ReadinessName + "'", PageSize: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]Summary, 0, len(resp.GetExecutions()))
	for _, e := range resp.GetExecutions() {
		s := Summary{ID: e.GetExecution().GetWorkflowId(), Started: e.GetStartTime().AsTime(),
			Status: strings.ToLower(strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))}
		if e.GetCloseTime() != nil {
			s.Closed = e.GetCloseTime().AsTime()
		}
		s.Plan, _ = o.memoString(e.GetMemo().GetFields()["plan"])
		out = append(out, s)
		if len(out) == limit {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Summary) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// Input returns the input a run was started with: the plan as it ran
// (vars resolved, defaults filled in), read from the first event of the
// run's history and decoded as the client decodes payloads.
func Input(ctx context.Context, c client.Client, runID string, opts ...Option) (*workflows.ReadinessInput, error) {
	o := newOptions(opts)
	it := c.GetWorkflowHistory(ctx, runID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, notFound(runID, fmt.Errorf("no history"))
	}
	first, err := it.Next()
	if err != nil {
		return nil, notFound(runID, err)
	}
	started := first.GetWorkflowExecutionStartedEventAttributes()
	if started == nil {
		return nil, fmt.Errorf("run %s: history does not start with its start", runID)
	}
	var in workflows.ReadinessInput
	if err := o.dc.FromPayloads(started.GetInput(), &in); err != nil {
		return nil, fmt.Errorf("decode the input of %s: %w", runID, err)
	}
	return &in, nil
}
