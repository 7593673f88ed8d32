package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
)

// AutoApprover is the name recorded for decisions made by AutoApprove.
const AutoApprover = "shipshape (auto-approve)"

// run is the state of one Readiness execution.
type run struct {
	in      ReadinessInput
	result  plan.RunResult
	pub     *taskrun.Lane
	running map[string]workflow.ChildWorkflowFuture // phase workflows in flight
	waiting map[string]workflow.Future              // approval phases: their timeout timers
	cancels map[string]workflow.CancelFunc
	// confirmed holds checklist confirmations for phases not yet started.
	confirmed map[string][]ConfirmSignal
}

// Readiness runs a plan: phases as a DAG (each after all of its needs,
// independent phases in parallel), each phase of tasks as a ReadinessPhase
// child workflow, approval phases waiting for a signal. It returns the
// scored result; a cancelled run returns a CanceledError whose details
// hold the result.
func Readiness(ctx workflow.Context, in ReadinessInput) (ReadinessResult, error) {
	p := in.Plan
	if err := checkPlan(p); err != nil {
		return ReadinessResult{}, temporal.NewNonRetryableApplicationError("invalid plan: "+err.Error(), ErrInvalidPlan, nil)
	}
	info := workflow.GetInfo(ctx)
	r := &run{
		in:        in,
		running:   map[string]workflow.ChildWorkflowFuture{},
		waiting:   map[string]workflow.Future{},
		cancels:   map[string]workflow.CancelFunc{},
		confirmed: map[string][]ConfirmSignal{},
		result: plan.RunResult{
			Plan:      p.Metadata.Name,
			RunID:     info.WorkflowExecution.ID,
			Labels:    p.Metadata.Labels,
			Result:    plan.StatusRunning,
			Scoring:   p.Spec.Scoring,
			StartedAt: workflow.Now(ctx).UTC(),
		},
	}
	for _, ph := range p.Spec.Phases {
		pr := plan.PhaseResult{Name: ph.Name, Status: plan.StatusPending, Needs: ph.Needs, Tasks: []plan.TaskResult{}}
		for _, t := range ph.Tasks {
			pr.Tasks = append(pr.Tasks, plan.TaskResult{Name: t.Name, Uses: t.Uses, Status: plan.StatusPending, Gates: []plan.GateResult{}})
		}
		r.result.Phases = append(r.result.Phases, pr)
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (plan.RunResult, error) {
		s := r.result
		if s.Result == plan.StatusRunning {
			s.Score, _, _ = plan.Score(&s)
		}
		return s, nil
	}); err != nil {
		return r.result, fmt.Errorf("set status query: %w", err)
	}

	r.pub = taskrun.NewLane(ctx, r.result.RunID, r.result.Plan)
	r.pub.Emit(ctx, events.RunStarted, "", events.RunData{
		Plan: r.result.Plan, RunID: r.result.RunID, Labels: p.Metadata.Labels,
		Phases: len(p.Spec.Phases), Tasks: p.TaskCount(),
	})
	// run.started reaches the stream before any phase's events (phases
	// publish on lanes of their own), unless NATS is down: then the run
	// goes on after handoffWait and the lanes catch up when it is back.
	r.pub.Flush(ctx)

	sel := workflow.NewSelector(ctx)
	approve := workflow.GetSignalChannel(ctx, SignalApprove)
	reject := workflow.GetSignalChannel(ctx, SignalReject)
	confirm := workflow.GetSignalChannel(ctx, SignalConfirm)
	sel.AddReceive(approve, func(c workflow.ReceiveChannel, _ bool) {
		var s ApprovalSignal
		c.Receive(ctx, &s)
		r.decide(ctx, s, plan.StatusApproved, false)
	})
	sel.AddReceive(reject, func(c workflow.ReceiveChannel, _ bool) {
		var s ApprovalSignal
		c.Receive(ctx, &s)
		r.decide(ctx, s, plan.StatusRejected, false)
	})
	sel.AddReceive(confirm, func(c workflow.ReceiveChannel, _ bool) {
		var s ConfirmSignal
		c.Receive(ctx, &s)
		r.forwardConfirm(ctx, s)
	})
	// Cancellation must end the loop by itself: a phase workflow that
	// cannot settle (its events stuck behind a NATS outage) would
	// otherwise hold Select, and the run, far beyond waitTimeout.
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})

	for ctx.Err() == nil {
		r.startReady(ctx, sel)
		if len(r.running) == 0 && len(r.waiting) == 0 {
			break
		}
		sel.Select(ctx)
	}

	if ctx.Err() == nil && p.Spec.OnFailure != nil && workflow.GetVersion(ctx, "on-failure", workflow.DefaultVersion, 1) == 1 {
		r.onFailure(ctx, *p.Spec.OnFailure)
	}

	// Cleanup runs on a disconnected context so a cancelled run still
	// settles its state and publishes its last events.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	cancelled := ctx.Err() != nil
	if cancelled {
		// Phase workflows were cancelled with the run: let them cancel their
		// tasks and report, within a bound. A selector of its own: sel's
		// ctx.Done case is ready for good now.
		settle := workflow.NewSelector(dctx)
		expired := false
		settle.AddFuture(workflow.NewTimer(dctx, waitTimeout), func(workflow.Future) { expired = true })
		for _, ph := range r.allPhases() {
			if fut := r.running[ph.Name]; fut != nil {
				settle.AddFuture(fut, func(f workflow.Future) { r.phaseDone(dctx, ph, f) })
			}
		}
		for len(r.running) > 0 && !expired {
			settle.Select(dctx)
		}
		r.settleCancelled(dctx)
	}
	r.finish(dctx, cancelled)
	if cancelled {
		return r.result, temporal.NewCanceledError(r.result)
	}
	return r.result, nil
}

// startReady starts every pending phase whose needs have all finished, in
// plan order, and skips those a finished need blocks.
func (r *run) startReady(ctx workflow.Context, sel workflow.Selector) {
	for progress := true; progress; {
		progress = false
		for i, ph := range r.in.Plan.Spec.Phases {
			pr := &r.result.Phases[i]
			if pr.Status != plan.StatusPending {
				continue
			}
			ready, blocked := r.needsState(ph)
			if !ready {
				continue
			}
			progress = true
			if blocked != "" {
				r.skip(ctx, pr, ph, blocked)
				continue
			}
			if ph.When != "" && workflow.GetVersion(ctx, "phase-when", workflow.DefaultVersion, 1) == 1 {
				run, err := evalWhen(ctx, ph.When, r.in.Plan.WhenScopeOf(r.result.Phases, ph.Name))
				if err != nil {
					r.whenFailed(ctx, pr, ph, err)
					continue
				}
				if !run {
					r.skip(ctx, pr, ph, fmt.Sprintf("when %q is false", ph.When))
					continue
				}
			}
			if ph.Approval != nil {
				r.requestApproval(ctx, sel, pr, ph)
			} else {
				r.startPhase(ctx, sel, pr, ph)
			}
		}
	}
}

// needsState reports whether all needs of a phase are done and, if one of
// them blocks it, why.
func (r *run) needsState(ph plan.Phase) (ready bool, blocked string) {
	for _, need := range ph.Needs {
		nr := r.result.Phase(need)
		if nr == nil || !nr.Status.Done() {
			return false, ""
		}
		if why := nr.Blocks(); why != "" && blocked == "" {
			blocked = why
		}
	}
	return true, blocked
}

func (r *run) skip(ctx workflow.Context, pr *plan.PhaseResult, ph plan.Phase, why string) {
	pr.Status = plan.StatusSkipped
	pr.Reason = "skipped: " + why
	for j, t := range ph.Tasks {
		tr := &pr.Tasks[j]
		tr.Status = plan.StatusSkipped
		tr.Gates = plan.SkipGates(t.Gates, pr.Reason)
	}
	r.pub.Emit(ctx, events.PhaseFinished, ph.Name, events.PhaseData{Phase: ph.Name, Status: string(pr.Status), Reason: pr.Reason})
}

func (r *run) startPhase(ctx workflow.Context, sel workflow.Selector, pr *plan.PhaseResult, ph plan.Phase) {
	pr.Status = plan.StatusRunning
	pr.StartedAt = workflow.Now(ctx).UTC()
	cctx, cancel := workflow.WithCancel(ctx)
	r.cancels[ph.Name] = cancel
	cctx = workflow.WithChildOptions(cctx, workflow.ChildWorkflowOptions{
		WorkflowID: PhaseWorkflowID(r.result.RunID, ph.Name),
		TaskQueue:  workflow.GetInfo(ctx).TaskQueueName,
		// A cancelled run waits for its phases to cancel their tasks and
		// return their results (bounded by waitTimeout), rather than
		// settle them blind.
		WaitForCancellation: true,
	})
	fut := workflow.ExecuteChildWorkflow(cctx, PhaseName, PhaseInput{
		RunID:       r.result.RunID,
		Plan:        r.result.Plan,
		Phase:       ph,
		Concurrency: r.in.Plan.Spec.Concurrency,
		AutoApprove: r.in.AutoApprove,
		ArtifactDir: r.in.ArtifactDir,
		Confirmed:   r.confirmed[ph.Name],
		Scope:       r.taskScope(ph),
	})
	r.running[ph.Name] = fut
	delete(r.confirmed, ph.Name)
	sel.AddFuture(fut, func(f workflow.Future) { r.phaseDone(ctx, ph, f) })
}

// onFailure runs the plan's onFailure phase when the run, all its phases
// ended, has failed. The phase is added to the result as its last phase;
// its tasks have no gates, so the verdict stays what it was.
func (r *run) onFailure(ctx workflow.Context, ph plan.Phase) {
	if _, result, _ := plan.Score(&r.result); result != plan.StatusFail {
		return
	}
	pr := plan.PhaseResult{Name: ph.Name, Status: plan.StatusPending, Tasks: []plan.TaskResult{}}
	for _, t := range ph.Tasks {
		pr.Tasks = append(pr.Tasks, plan.TaskResult{Name: t.Name, Uses: t.Uses, Status: plan.StatusPending, Gates: []plan.GateResult{}})
	}
	r.result.Phases = append(r.result.Phases, pr)
	sel := workflow.NewSelector(ctx)
	r.startPhase(ctx, sel, &r.result.Phases[len(r.result.Phases)-1], ph)
	for len(r.running) > 0 && ctx.Err() == nil {
		sel.Select(ctx)
	}
}

// allPhases are the plan's phases and, once it has started, the
// onFailure phase, in the order of the result's phases.
func (r *run) allPhases() []plan.Phase {
	phases := r.in.Plan.Spec.Phases
	if of := r.in.Plan.Spec.OnFailure; of != nil && len(r.result.Phases) > len(phases) {
		phases = append(append([]plan.Phase(nil), phases...), *of)
	}
	return phases
}

// taskScope is what the whens of a phase's tasks may see, or nil when
// none has a when.
func (r *run) taskScope(ph plan.Phase) *plan.WhenScope {
	for _, t := range ph.Tasks {
		if t.When != "" {
			s := r.in.Plan.WhenScopeOf(r.result.Phases, ph.Name)
			return &s
		}
	}
	return nil
}

// whenFailed records a phase whose when could not be evaluated.
func (r *run) whenFailed(ctx workflow.Context, pr *plan.PhaseResult, ph plan.Phase, err error) {
	pr.Status = plan.StatusError
	pr.Reason = fmt.Sprintf("when %q: %v", ph.When, err)
	pr.FinishedAt = workflow.Now(ctx).UTC()
	for j, t := range ph.Tasks {
		tr := &pr.Tasks[j]
		tr.Status, tr.Error = plan.StatusError, pr.Reason
		tr.Gates = plan.FailGates(t.Gates, pr.Reason)
	}
	r.pub.Emit(ctx, events.PhaseFinished, ph.Name, events.PhaseData{Phase: ph.Name, Status: string(pr.Status), Reason: pr.Reason})
}

// phaseDone records the result of a phase workflow that ended: what it
// returned, or what its CanceledError carries.
func (r *run) phaseDone(ctx workflow.Context, ph plan.Phase, f workflow.Future) {
	delete(r.running, ph.Name)
	delete(r.cancels, ph.Name)
	var res plan.PhaseResult
	err := f.Get(ctx, &res)
	pr := r.result.Phase(ph.Name)
	if err != nil {
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) && canceled.HasDetails() && canceled.Details(&res) == nil {
			*pr = res
			return
		}
		r.failPhase(ctx, pr, ph, err)
		return
	}
	*pr = res
}

// failPhase records a phase workflow that failed as a whole (it should
// not: task failures are results, not errors).
func (r *run) failPhase(ctx workflow.Context, pr *plan.PhaseResult, ph plan.Phase, err error) {
	status := plan.StatusError
	if temporal.IsCanceledError(err) {
		status = plan.StatusCancelled
	}
	pr.Status = status
	pr.Reason = err.Error()
	pr.FinishedAt = workflow.Now(ctx).UTC()
	for j, t := range ph.Tasks {
		tr := &pr.Tasks[j]
		if !tr.Status.Done() {
			tr.Status = status
			tr.Error = pr.Reason
			tr.Gates = plan.FailGates(t.Gates, pr.Reason)
		}
	}
}

func (r *run) requestApproval(ctx workflow.Context, sel workflow.Selector, pr *plan.PhaseResult, ph plan.Phase) {
	pr.Status = plan.StatusWaiting
	pr.StartedAt = workflow.Now(ctx).UTC()
	timeout := ph.Approval.Timeout.Std()
	r.pub.Emit(ctx, events.PhaseStarted, ph.Name, events.PhaseData{Phase: ph.Name, Status: string(pr.Status)})
	r.pub.Emit(ctx, events.ApprovalRequested, ph.Name, events.ApprovalData{Phase: ph.Name, Timeout: timeout.String()})
	if r.in.AutoApprove || !ph.Approval.Required {
		r.resolve(ctx, pr, plan.StatusApproved, AutoApprover, "auto-approved", false)
		return
	}
	tctx, cancel := workflow.WithCancel(ctx)
	r.cancels[ph.Name] = cancel
	timer := workflow.NewTimer(tctx, timeout)
	r.waiting[ph.Name] = timer
	name := ph.Name
	sel.AddFuture(timer, func(f workflow.Future) {
		if f.Get(ctx, nil) != nil { // cancelled: decided by a signal
			return
		}
		r.decide(ctx, ApprovalSignal{Phase: name, Reason: fmt.Sprintf("no decision within %s", timeout)}, plan.StatusRejected, true)
	})
}

// decide applies an approval decision to a waiting phase; decisions for
// phases that are not waiting are logged and ignored.
func (r *run) decide(ctx workflow.Context, s ApprovalSignal, decision plan.Status, timedOut bool) {
	pr := r.result.Phase(s.Phase)
	if pr == nil || pr.Status != plan.StatusWaiting || r.waiting[s.Phase] == nil {
		workflow.GetLogger(ctx).Warn("approval decision ignored: phase is not waiting", "phase", s.Phase, "decision", decision, "by", s.By)
		if s.Via != "" {
			r.refuse(ctx, s, decision, fmt.Sprintf("phase %q is not waiting for a decision", s.Phase))
		}
		return
	}
	if ph := r.phase(s.Phase); !timedOut && ph != nil && ph.Approval != nil && len(ph.Approval.Approvers) > 0 && !slices.Contains(ph.Approval.Approvers, s.By) {
		r.refuse(ctx, s, decision, fmt.Sprintf("%q is not an approver of phase %q", s.By, s.Phase))
		return
	}
	delete(r.waiting, s.Phase)
	if cancel := r.cancels[s.Phase]; cancel != nil {
		cancel()
		delete(r.cancels, s.Phase)
	}
	r.resolve(ctx, pr, decision, s.By, s.Reason, timedOut)
}

// refuse reports a decision that does not count; the phase keeps waiting.
func (r *run) refuse(ctx workflow.Context, s ApprovalSignal, decision plan.Status, why string) {
	workflow.GetLogger(ctx).Warn("approval decision refused", "phase", s.Phase, "by", s.By, "why", why)
	verb := "approve"
	if decision == plan.StatusRejected {
		verb = "reject"
	}
	r.pub.Emit(ctx, events.ApprovalRefused, s.Phase, events.ApprovalRefusedData{
		Phase: s.Phase, Approver: s.By, Decision: verb, Reason: s.Reason, Why: why,
	})
}

// phase returns the plan's phase of that name, or nil.
func (r *run) phase(name string) *plan.Phase {
	for i := range r.in.Plan.Spec.Phases {
		if r.in.Plan.Spec.Phases[i].Name == name {
			return &r.in.Plan.Spec.Phases[i]
		}
	}
	return nil
}

func (r *run) resolve(ctx workflow.Context, pr *plan.PhaseResult, decision plan.Status, by, reason string, timedOut bool) {
	now := workflow.Now(ctx).UTC()
	pr.Status = decision
	pr.FinishedAt = now
	pr.Approval = &plan.ApprovalResult{Decision: decision, By: by, Reason: reason, At: now, TimedOut: timedOut}
	if decision == plan.StatusRejected {
		pr.Reason = "rejected: " + reason
		if by != "" {
			pr.Reason = fmt.Sprintf("rejected by %s: %s", by, reason)
		}
	}
	r.pub.Emit(ctx, events.ApprovalResolved, pr.Name, events.ApprovalData{
		Phase: pr.Name, Decision: string(decision), By: by, Reason: reason, TimedOut: timedOut,
	})
	r.pub.Emit(ctx, events.PhaseFinished, pr.Name, events.PhaseData{Phase: pr.Name, Status: string(decision), Reason: pr.Reason})
}

// forwardConfirm sends a checklist confirmation to its phase, or keeps it
// until the phase starts.
func (r *run) forwardConfirm(ctx workflow.Context, s ConfirmSignal) {
	pr := r.result.Phase(s.Phase)
	switch {
	case pr == nil:
		workflow.GetLogger(ctx).Warn("confirmation ignored: no such phase", "phase", s.Phase)
	case pr.Status == plan.StatusPending:
		r.confirmed[s.Phase] = append(r.confirmed[s.Phase], s)
	case r.running[s.Phase] != nil:
		// Through the child's future, which waits until the phase workflow
		// has started: a signal to a child that is initiated but not yet
		// started fails, and the confirmation would be lost. Fire and
		// forget: a phase that finished meanwhile has no use for it.
		fut := r.running[s.Phase]
		workflow.Go(ctx, func(ctx workflow.Context) {
			if err := fut.SignalChildWorkflow(ctx, SignalConfirm, s).Get(ctx, nil); err != nil {
				workflow.GetLogger(ctx).Warn("confirmation not delivered", "phase", s.Phase, "task", s.Task, "error", err)
			}
		})
	default:
		workflow.GetLogger(ctx).Warn("confirmation ignored: phase is done", "phase", s.Phase)
	}
}

// settleCancelled marks whatever had not finished when the run was
// cancelled. Phase workflows were cancelled with the run and settle their
// own tasks; their results arrive through their futures before this runs
// only if they finished, so anything still open is marked here.
func (r *run) settleCancelled(ctx workflow.Context) {
	for i, ph := range r.allPhases() {
		if i >= len(r.result.Phases) {
			break
		}
		pr := &r.result.Phases[i]
		if pr.Status.Done() {
			continue
		}
		if pr.Status == plan.StatusWaiting {
			r.pub.Emit(ctx, events.ApprovalResolved, ph.Name, events.ApprovalData{Phase: ph.Name, Decision: string(plan.StatusCancelled), Reason: "run cancelled"})
		}
		if pr.Status != plan.StatusPending {
			r.pub.Emit(ctx, events.PhaseFinished, ph.Name, events.PhaseData{Phase: ph.Name, Status: string(plan.StatusCancelled), Reason: "run cancelled"})
		}
		pr.Status = plan.StatusCancelled
		pr.Reason = "run cancelled"
		for j, t := range ph.Tasks {
			tr := &pr.Tasks[j]
			if !tr.Status.Done() {
				tr.Status = plan.StatusCancelled
				tr.Error = "run cancelled"
				tr.Gates = plan.FailGates(t.Gates, "run cancelled")
			}
		}
	}
}

func (r *run) finish(ctx workflow.Context, cancelled bool) {
	res := &r.result
	res.FinishedAt = workflow.Now(ctx).UTC()
	score, result, reason := plan.Score(res)
	res.Score, res.Result, res.Error = score, result, reason
	res.NotRun = plan.NotRun(res)
	if cancelled {
		res.Result, res.Error = plan.StatusFail, "run cancelled"
	}
	tasks := r.in.Plan.TaskCount()
	r.pub.Emit(ctx, events.RunFinished, "", events.RunData{
		Plan: res.Plan, RunID: res.RunID, Labels: res.Labels, Phases: len(res.Phases), Tasks: tasks,
		Result: string(res.Result), Score: res.Score, Error: res.Error,
	})
	r.pub.Close(ctx)
}

// checkTaskNeeds rejects task needs that name no task of the phase or
// form a cycle: their tasks would never start.
func checkTaskNeeds(ph plan.Phase) error {
	index := map[string]int{}
	for i, t := range ph.Tasks {
		index[t.Name] = i
	}
	for _, t := range ph.Tasks {
		for _, need := range t.Needs {
			if _, ok := index[need]; !ok {
				return fmt.Errorf("task %q of phase %q needs %q, which is not a task of the phase", t.Name, ph.Name, need)
			}
		}
	}
	reached := make([]bool, len(ph.Tasks))
	for progress := true; progress; {
		progress = false
		for i, t := range ph.Tasks {
			if reached[i] {
				continue
			}
			ready := true
			for _, need := range t.Needs {
				ready = ready && reached[index[need]]
			}
			if ready {
				reached[i], progress = true, true
			}
		}
	}
	for i, t := range ph.Tasks {
		if !reached[i] {
			return fmt.Errorf("task %q of phase %q needs itself through a cycle of needs", t.Name, ph.Name)
		}
	}
	return nil
}

// waitTimeout is how long a cancelled run waits for its phases to settle.
const waitTimeout = time.Minute

// checkPlan rejects the plans a run cannot carry out. plan.Load already
// refuses them; a run started by other means would otherwise leave phases
// pending forever and still report a verdict, or collide activity IDs.
func checkPlan(p plan.Plan) error {
	phases := p.Spec.Phases
	index := map[string]int{}
	for i, ph := range phases {
		if _, dup := index[ph.Name]; dup {
			return fmt.Errorf("phase %q appears twice", ph.Name)
		}
		index[ph.Name] = i
		tasks := map[string]bool{}
		for _, t := range ph.Tasks {
			if tasks[t.Name] {
				return fmt.Errorf("task %q appears twice in phase %q", t.Name, ph.Name)
			}
			tasks[t.Name] = true
		}
		if err := checkTaskNeeds(ph); err != nil {
			return err
		}
	}
	for _, ph := range phases {
		for _, need := range ph.Needs {
			if _, ok := index[need]; !ok {
				return fmt.Errorf("phase %q needs %q, which is not a phase of the plan", ph.Name, need)
			}
		}
	}
	// Mark phases reachable the way the run starts them; any left over
	// waits on a cycle.
	reached := make([]bool, len(phases))
	for progress := true; progress; {
		progress = false
		for i, ph := range phases {
			if reached[i] {
				continue
			}
			ready := true
			for _, need := range ph.Needs {
				ready = ready && reached[index[need]]
			}
			if ready {
				reached[i], progress = true, true
			}
		}
	}
	for i, ph := range phases {
		if !reached[i] {
			return fmt.Errorf("phase %q needs itself through a cycle of needs", ph.Name)
		}
	}
	return nil
}
