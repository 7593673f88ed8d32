package workflows

import (
	"errors"
	"fmt"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/plan/when"
)

// Defaults for plans that leave task policies out; the plan parser fills
// them from the task type, these only guard against zero values.
const (
	defaultConcurrency = 4
	defaultTimeout     = taskrun.DefaultTimeout
)

// phaseRun is the state of one ReadinessPhase execution.
type phaseRun struct {
	types  plan.Catalog
	in     PhaseInput
	result plan.PhaseResult
	pub    *taskrun.Lane
	// confirmed maps task → item → who confirmed it.
	confirmed map[string]map[string]string
	// restarted is set by a task's completion that started it again
	// instead (its worker was lost): the task is still in flight.
	restarted bool
	// lost counts, per task, the attempts lost with their worker.
	lost map[int]int
}

// selectOne waits for one task's completion and says whether a task
// finished (1) or was started again (0).
func (r *phaseRun) selectOne(sel workflow.Selector, wait workflow.Context) int {
	r.restarted = false
	sel.Select(wait)
	if r.restarted {
		return 0
	}
	return 1
}

// Phase runs the tasks of one phase, at most in.Concurrency at once, and
// evaluates their gates. Task failures are results, not errors: Phase only
// fails when it is cancelled, and then returns a CanceledError whose
// details hold the result.
func (e engine) Phase(ctx workflow.Context, in PhaseInput) (plan.PhaseResult, error) {
	ph := in.Phase
	r := &phaseRun{
		types:     e.types,
		in:        in,
		confirmed: map[string]map[string]string{},
		result: plan.PhaseResult{
			Name: ph.Name, Status: plan.StatusRunning, Needs: ph.Needs,
			StartedAt: workflow.Now(ctx).UTC(), Tasks: []plan.TaskResult{},
		},
	}
	for _, t := range ph.Tasks {
		r.result.Tasks = append(r.result.Tasks, plan.TaskResult{Name: t.Name, Uses: t.Uses, Status: plan.StatusPending, Gates: []plan.GateResult{}})
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (plan.PhaseResult, error) { return r.result, nil }); err != nil {
		return r.result, err
	}
	for _, c := range in.Confirmed {
		r.confirm(c)
	}
	confirms := workflow.GetSignalChannel(ctx, SignalConfirm)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var c ConfirmSignal
			if !confirms.Receive(ctx, &c) {
				return
			}
			r.confirm(c)
		}
	})

	r.pub = taskrun.NewLane(ctx, in.RunID, in.Plan)
	r.pub.Emit(ctx, events.PhaseStarted, ph.Name, events.PhaseData{Phase: ph.Name, Status: string(plan.StatusRunning)})

	// Waiting happens on a disconnected context: after cancellation the
	// futures of cancelled tasks still resolve and are recorded.
	wait, _ := workflow.NewDisconnectedContext(ctx)
	sel := workflow.NewSelector(ctx)
	limit := in.Concurrency
	if limit <= 0 {
		limit = defaultConcurrency
	}
	if byNeeds(ph) && workflow.GetVersion(ctx, "task-needs", workflow.DefaultVersion, 1) == 1 {
		r.runByNeeds(ctx, sel, wait, limit)
	} else {
		inflight := 0
		for i := range ph.Tasks {
			for inflight >= limit && ctx.Err() == nil {
				inflight -= r.selectOne(sel, wait)
			}
			if ctx.Err() != nil {
				break
			}
			r.startTask(ctx, sel, i)
			inflight++
		}
		for inflight > 0 {
			inflight -= r.selectOne(sel, wait)
		}
	}

	cancelled := ctx.Err() != nil
	for i, t := range ph.Tasks {
		if tr := &r.result.Tasks[i]; !tr.Status.Done() {
			tr.Status, tr.Error = plan.StatusCancelled, "run cancelled"
			tr.Gates = plan.FailGates(t.Gates, "run cancelled")
		}
	}
	r.result.FinishedAt = workflow.Now(wait).UTC()
	r.result.Status = plan.PhaseStatus(plan.Ran(r.result.Tasks))
	if cancelled {
		r.result.Status, r.result.Reason = plan.StatusCancelled, "run cancelled"
	} else if why := r.result.Blocks(); why != "" {
		r.result.Reason = why
	}
	r.pub.Emit(wait, events.PhaseFinished, ph.Name, events.PhaseData{Phase: ph.Name, Status: string(r.result.Status), Reason: r.result.Reason})
	r.pub.Close(wait)
	if cancelled {
		return r.result, temporal.NewCanceledError(r.result)
	}
	return r.result, nil
}

// byNeeds says whether any task of the phase needs another or has a
// when: only then does the phase start tasks by their needs and
// conditions (a change of command order, behind the task-needs version).
func byNeeds(ph plan.Phase) bool {
	for _, t := range ph.Tasks {
		if len(t.Needs) > 0 || t.When != "" {
			return true
		}
	}
	return false
}

// runByNeeds starts each task once every task it needs has finished, in
// plan order, at most limit at once, and skips those a finished need
// blocks. It returns when no task is in flight and none can start.
func (r *phaseRun) runByNeeds(ctx workflow.Context, sel workflow.Selector, wait workflow.Context, limit int) {
	tasks := r.in.Phase.Tasks
	byName := make(map[string]int, len(tasks))
	for i, t := range tasks {
		byName[t.Name] = i
	}
	inflight := 0
	for {
		for progress := ctx.Err() == nil; progress; {
			progress = false
			for i, t := range tasks {
				if r.result.Tasks[i].Status != plan.StatusPending || inflight >= limit {
					continue
				}
				ready, blocked := true, ""
				for _, need := range t.Needs {
					j, ok := byName[need]
					if !ok {
						continue // checkPlan refuses unknown needs
					}
					nr := r.result.Tasks[j]
					if !nr.Status.Done() {
						ready = false
						break
					}
					if why := nr.Blocks(r.in.Phase.Name); why != "" && blocked == "" {
						blocked = why
					}
				}
				if !ready {
					continue
				}
				progress = true
				if blocked != "" {
					r.skipTask(ctx, i, "skipped: "+blocked)
					continue
				}
				if t.When != "" {
					scope := plan.WhenScope{}
					if r.in.Scope != nil {
						scope = *r.in.Scope
					}
					run, err := evalWhen(ctx, t.When, scope.ForTask(r.in.Phase, t.Name, r.result.Tasks))
					if err != nil {
						r.whenFailed(ctx, i, err)
						continue
					}
					if !run {
						r.skipTask(ctx, i, fmt.Sprintf("skipped: when %q is false", t.When))
						continue
					}
				}
				r.startTask(ctx, sel, i)
				inflight++
			}
		}
		if inflight == 0 {
			return
		}
		inflight -= r.selectOne(sel, wait)
	}
}

// whenFailed records a task whose when could not be evaluated: an
// error, not a silent skip.
func (r *phaseRun) whenFailed(ctx workflow.Context, i int, err error) {
	t := r.in.Phase.Tasks[i]
	tr := &r.result.Tasks[i]
	tr.Status, tr.Error = plan.StatusError, fmt.Sprintf("when %q: %v", t.When, err)
	tr.FinishedAt = workflow.Now(ctx).UTC()
	tr.Gates = plan.FailGates(t.Gates, tr.Error)
	r.pub.Emit(ctx, events.TaskFinished, r.in.Phase.Name+"/"+t.Name, events.TaskData{
		Phase: r.in.Phase.Name, Task: t.Name, Uses: t.Uses, Status: string(tr.Status), Error: tr.Error,
	})
}

// evalWhen evaluates a when condition once and records the answer in the
// history (a side effect), so that a replay, even by a worker with
// another CEL version, takes the same branch.
func evalWhen(ctx workflow.Context, expr string, scope plan.WhenScope) (bool, error) {
	type answer struct {
		Run bool   `json:"run"`
		Err string `json:"err,omitempty"`
	}
	var a answer
	err := workflow.SideEffect(ctx, func(workflow.Context) any {
		run, err := when.Eval(expr, scope)
		if err != nil {
			return answer{Err: err.Error()}
		}
		return answer{Run: run}
	}).Get(&a)
	if err != nil {
		return false, err
	}
	if a.Err != "" {
		return false, errors.New(a.Err)
	}
	return a.Run, nil
}

// skipTask marks a task of a running phase skipped: not run, its gates
// skipped, not failed.
func (r *phaseRun) skipTask(ctx workflow.Context, i int, reason string) {
	t := r.in.Phase.Tasks[i]
	tr := &r.result.Tasks[i]
	tr.Status, tr.SkippedInPhase, tr.Reason = plan.StatusSkipped, true, reason
	tr.Gates = plan.SkipGates(t.Gates, reason)
	r.pub.Emit(ctx, events.TaskFinished, r.in.Phase.Name+"/"+t.Name, events.TaskData{
		Phase: r.in.Phase.Name, Task: t.Name, Uses: t.Uses, Status: string(plan.StatusSkipped), Error: reason,
	})
}

func (r *phaseRun) startTask(ctx workflow.Context, sel workflow.Selector, i int) {
	t := r.in.Phase.Tasks[i]
	tr := &r.result.Tasks[i]
	tr.Status = plan.StatusRunning
	tr.StartedAt = workflow.Now(ctx).UTC()
	r.pub.Emit(ctx, events.TaskStarted, r.in.Phase.Name+"/"+t.Name, events.TaskData{
		Phase: r.in.Phase.Name, Task: t.Name, Uses: t.Uses, Status: string(plan.StatusRunning),
	})
	in := task.Input{
		RunID: r.in.RunID, Plan: r.in.Plan, Phase: r.in.Phase.Name, Task: t.Name, Uses: t.Uses,
		Params: task.Params(t.With), ArtifactDir: r.in.ArtifactDir, AbortOn: abortOn(t.Gates), Gates: t.Gates,
		AllowedHosts: t.AllowedHosts,
	}
	var fut workflow.Future
	switch {
	case r.types[t.Uses].Manual:
		tr.Status = plan.StatusWaiting
		fut = r.checklist(ctx, t)
	case r.types[t.Uses].Workflow:
		in.Timeout, in.Retry = taskTimeout(t), t.Retry
		fut = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, r.childOptions(t)), t.Uses, in)
	default:
		fut = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activityOptions(t)), t.Uses, in)
	}
	r.await(ctx, sel, i, in, fut)
}

// lostWorkerRetries is how many times a task activity whose worker was
// lost (its heartbeat stopped) runs again beyond its own attempts: a
// worker lost is not a task that failed, so even a task of one attempt
// survives a worker crash.
const lostWorkerRetries = 3

// await records a task's result when fut completes; an activity lost with
// its worker after its last attempt starts again, at most
// lostWorkerRetries times.
func (r *phaseRun) await(ctx workflow.Context, sel workflow.Selector, i int, in task.Input, fut workflow.Future) {
	sel.AddFuture(fut, func(f workflow.Future) {
		var out task.Output
		err := f.Get(ctx, &out)
		t := r.in.Phase.Tasks[i]
		if workerLost(err) && ctx.Err() == nil && r.lost[i] < lostWorkerRetries &&
			!r.types[t.Uses].Manual && !r.types[t.Uses].Workflow &&
			workflow.GetVersion(ctx, "lost-worker-retry", workflow.DefaultVersion, 1) == 1 {
			if r.lost == nil {
				r.lost = map[int]int{}
			}
			r.lost[i]++
			opts := activityOptions(t)
			// A new activity: its own ID, so events and heartbeats of
			// the lost one never mix with it.
			opts.ActivityID = fmt.Sprintf("%s/lost-worker-%d", t.Name, r.lost[i])
			workflow.GetLogger(ctx).Warn("task's worker lost: starting it again", "task", t.Name, "restart", r.lost[i])
			r.restarted = true
			r.await(ctx, sel, i, in, workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), t.Uses, in))
			return
		}
		r.finishTask(ctx, i, out, err)
	})
}

// workerLost says whether an activity failed because it stopped
// heartbeating (its worker died) or because its worker gave it up (it lost
// Temporal for longer than the heartbeat timeout).
func workerLost(err error) bool {
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return timeout.TimeoutType() == enums.TIMEOUT_TYPE_HEARTBEAT
	}
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == taskrun.ErrWorkerLost
}

// abortOn returns the gates a task should check as it runs, if any.
func abortOn(gates []plan.Gate) []plan.Gate {
	var out []plan.Gate
	for _, g := range gates {
		if g.AbortOnFail {
			out = append(out, g)
		}
	}
	return out
}

func taskTimeout(t plan.Task) time.Duration {
	if d := t.Timeout.Std(); d > 0 {
		return d
	}
	return defaultTimeout
}

// childOptions run a task workflow. The task's timeout (in its input)
// bounds its work, which it then undoes; the server's execution timeout
// comes taskrun.UndoGrace later. A cancelled or closing phase asks it to cancel
// and waits, so it always gets to undo what it made (tear down a scratch
// database, roll back a half-done rotation). It is not retried as a
// whole: its activities retry on their own.
func (r *phaseRun) childOptions(t plan.Task) workflow.ChildWorkflowOptions {
	return workflow.ChildWorkflowOptions{
		WorkflowID:               TaskWorkflowID(r.in.RunID, r.in.Phase.Name, t.Name),
		WorkflowExecutionTimeout: taskTimeout(t) + r.linger(t) + taskrun.UndoGrace,
		WaitForCancellation:      true,
		ParentClosePolicy:        enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
	}
}

// linger is how long past its timeout a task workflow's type lets it run.
func (r *phaseRun) linger(t plan.Task) time.Duration {
	if l := r.types[t.Uses].Linger; l != nil {
		return l(t.With)
	}
	return 0
}

// activityOptions are a task's timeouts and retry policy, from the plan.
func activityOptions(t plan.Task) workflow.ActivityOptions {
	timeout := t.Timeout.Std()
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	retry := taskrun.RetryPolicy(t.Retry)
	return workflow.ActivityOptions{
		ActivityID:          t.Name,
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    t.Heartbeat.Std(),
		// Only a heartbeating activity learns it was cancelled; wait for
		// those to clean up, don't wait for the others.
		WaitForCancellation: t.Heartbeat > 0,
		RetryPolicy:         retry,
	}
}

func (r *phaseRun) finishTask(ctx workflow.Context, i int, out task.Output, err error) {
	t := r.in.Phase.Tasks[i]
	tr := &r.result.Tasks[i]
	now := workflow.Now(ctx).UTC()
	tr.FinishedAt = now
	msg := ""
	if err != nil {
		if o, ok := taskrun.OutputOf(err); ok {
			out = o
		}
		msg = taskrun.CauseMessage(err)
	}
	if out.Metrics == nil {
		out.Metrics = map[string]float64{}
	}
	tr.Metrics, tr.Output, tr.Tables, tr.Series, tr.Artifacts, tr.Attempts = out.Metrics, out.Output, out.Tables, out.Series, out.Artifacts, out.Attempt
	tr.Error = msg
	tr.Gates = plan.EvaluateGates(t.Gates, out.Metrics, msg)
	if len(out.Units) > 0 {
		tr.Units = out.Units
		for i := range tr.Gates {
			tr.Gates[i].Unit = out.Units[tr.Gates[i].Metric]
		}
	}
	tr.Status = plan.TaskStatus(tr.Gates, msg)
	if err != nil && temporal.IsCanceledError(err) {
		tr.Status, tr.Error = plan.StatusCancelled, "run cancelled"
		tr.Gates = plan.FailGates(t.Gates, "run cancelled")
	}
	phase := r.in.Phase.Name
	for _, g := range tr.Gates {
		r.pub.Emit(ctx, events.GateEvaluated, phase+"/"+t.Name, events.GateData{
			Phase: phase, Task: t.Name, Metric: g.Metric, Value: g.Value, Pass: g.Pass, Warning: g.Warning,
			Status: string(g.Status), Weight: g.Weight, Key: g.Key, Reason: g.Reason,
		})
	}
	r.pub.Emit(ctx, events.TaskFinished, phase+"/"+t.Name, events.TaskData{
		Phase: phase, Task: t.Name, Uses: t.Uses, Status: string(tr.Status), Attempt: tr.Attempts,
		Error: tr.Error, Metrics: tr.Metrics, Duration: now.Sub(tr.StartedAt).Seconds(),
	})
}

func (r *phaseRun) confirm(c ConfirmSignal) {
	if c.Phase != "" && c.Phase != r.in.Phase.Name {
		return
	}
	for _, t := range r.in.Phase.Tasks {
		if t.Name != c.Task || !r.types[t.Uses].Manual {
			continue
		}
		if r.confirmed[t.Name] == nil {
			r.confirmed[t.Name] = map[string]string{}
		}
		for _, item := range task.Params(t.With).Strings("items") {
			if c.Item == "" || c.Item == item {
				if _, done := r.confirmed[t.Name][item]; !done {
					r.confirmed[t.Name][item] = c.By
				}
			}
		}
	}
}

// checklist waits, in workflow code, until every item of a manual task
// (a task type declared Manual, such as checklist) is confirmed or its
// timeout passes, and reports the ratio confirmed as <uses>.done_ratio
// and the number of items as <uses>.items.
func (r *phaseRun) checklist(ctx workflow.Context, t plan.Task) workflow.Future {
	fut, settle := workflow.NewFuture(ctx)
	params := task.Params(t.With)
	items := params.Strings("items")
	timeout := params.Duration("timeout")
	if timeout <= 0 {
		timeout = 24 * time.Hour
	}
	if r.in.AutoApprove {
		r.confirm(ConfirmSignal{Phase: r.in.Phase.Name, Task: t.Name, By: AutoApprover})
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		done := func() int { return len(r.confirmed[t.Name]) }
		_, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool { return done() >= len(items) })
		table := plan.Table{Title: "Checklist", Columns: []string{"item", "confirmed by"}}
		for _, item := range items {
			table.Rows = append(table.Rows, []string{item, r.confirmed[t.Name][item]})
		}
		ratio := 1.0
		if len(items) > 0 {
			ratio = float64(done()) / float64(len(items))
		}
		out := task.Output{
			Metrics: map[string]float64{t.Uses + ".done_ratio": ratio, t.Uses + ".items": float64(len(items))},
			Tables:  []plan.Table{table},
			Attempt: 1,
		}
		if err != nil {
			settle.Set(out, err)
			return
		}
		settle.Set(out, nil)
	})
	return fut
}
