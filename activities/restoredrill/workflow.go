package restoredrill

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
)

// drillStepHeartbeat is the heartbeat timeout of the drill's long steps,
// which report every few seconds: a dead worker is noticed within it.
const drillStepHeartbeat = 30 * time.Second

// teardownOptions: teardown must happen, so it retries for as long as the
// drill's grace allows, and runs even when the drill is cancelled.
var teardownOptions = workflow.ActivityOptions{
	ActivityID:             "teardown",
	StartToCloseTimeout:    5 * time.Minute,
	ScheduleToCloseTimeout: taskrun.UndoGrace - time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// cloudDrill says whether a drill's target is a cloud instance, whose
// provisioning and deletion take minutes.
func cloudDrill(in task.Input) bool {
	return cloudTarget(in.Params.Object("target").String("kind"))
}

// teardownFor is teardownOptions, with attempts long enough to wait for
// a cloud instance's deletion (heartbeating meanwhile).
func teardownFor(in task.Input) workflow.ActivityOptions {
	o := teardownOptions
	if cloudDrill(in) {
		o.StartToCloseTimeout, o.HeartbeatTimeout = 20*time.Minute, drillStepHeartbeat
	}
	return o
}

// drill is the state of one Workflow execution.
type drill struct {
	in      task.Input
	step    Step
	out     task.Output
	lines   []string
	started time.Time
}

// Workflow runs a restore-drill task: select the backup, provision a
// scratch target, fetch, restore, verify, and tear the target down. It is
// a saga: once provisioning has begun, teardown runs whatever happens
// after — success, a failed step, cancellation, the task's timeout — on a
// disconnected context with its own retries; and because teardown finds
// what it removes by the drill's ID, a worker that dies mid-drill leaves
// nothing behind once the run resumes on another.
func Workflow(ctx workflow.Context, in task.Input) (task.Output, error) {
	d := &drill{
		in:      in,
		step:    Step{Task: in, ID: workflow.GetInfo(ctx).WorkflowExecution.ID},
		out:     task.Output{Metrics: map[string]float64{}, Attempt: 1},
		started: workflow.Now(ctx),
	}
	kind := task.Params(in.Params).Object("target").String("kind")
	if kind == "" {
		kind = TargetLocal
	}
	pub := taskrun.NewLane(ctx, in.RunID, in.Plan)
	subject := in.Phase + "/" + in.Task
	pub.Emit(ctx, events.DrillStarted, subject, EventData{Phase: in.Phase, Task: in.Task, Target: kind,
		Database: Database(task.Params(in.Params))})

	// The task's timeout bounds the drill's work; teardown comes after.
	work, cancelWork := workflow.WithCancel(ctx)
	timedOut := false
	if in.Timeout > 0 {
		workflow.Go(work, func(c workflow.Context) {
			if workflow.NewTimer(c, in.Timeout).Get(c, nil) == nil {
				timedOut = true
				cancelWork()
			}
		})
	}

	failedStep, err := d.run(work)
	if err != nil && timedOut && ctx.Err() == nil {
		err = fmt.Errorf("the drill did not finish within its timeout (%s)", in.Timeout)
	}

	data := EventData{Phase: in.Phase, Task: in.Task, Target: kind, Database: d.step.Backup.Database, Backup: d.step.Backup.ID}
	if failedStep != "select" { // provisioning began: undo it
		cleanup, _ := workflow.NewDisconnectedContext(ctx)
		cleanup = workflow.WithActivityOptions(cleanup, teardownFor(d.in))
		var res Result
		if terr := workflow.ExecuteActivity(cleanup, Teardown, d.step).Get(cleanup, &res); terr != nil {
			d.note("teardown failed: " + taskrun.CauseMessage(terr) + " (run `starter drills cleanup`)")
			if err == nil {
				failedStep, err = "teardown", terr
			}
		} else {
			data.TornDown = true
			d.note(res.Message)
		}
	}

	if rto, ok := d.out.Metrics["drill.rto"]; ok {
		data.RTO = &rto
	}
	if rpo, ok := d.out.Metrics["drill.rpo"]; ok {
		data.RPO = &rpo
	}
	data.Mismatches = int(d.out.Metrics["drill.verify.mismatches"])
	data.Verified = err == nil
	data.Status = string(plan.StatusPass)
	if err != nil {
		data.Status, data.Step, data.Error = string(plan.StatusFail), failedStep, taskrun.CauseMessage(err)
	}
	closing, _ := workflow.NewDisconnectedContext(ctx)
	pub.Emit(closing, events.DrillFinished, subject, data)
	pub.Close(closing)

	d.out.Output = strings.Join(d.lines, "\n")
	switch {
	case ctx.Err() != nil:
		return d.out, temporal.NewCanceledError(d.out)
	case err != nil:
		return d.out, drillError(failedStep, err, d.out)
	}
	return d.out, nil
}

// run runs the drill's steps up to verification and says which failed.
func (d *drill) run(ctx workflow.Context) (string, error) {
	timeout := d.in.Timeout
	if timeout <= 0 {
		timeout = taskrun.DefaultTimeout
	}
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: min(timeout, 10*time.Minute),
		RetryPolicy:         taskrun.RetryPolicy(d.in.Retry),
		WaitForCancellation: true,
	})
	long := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		HeartbeatTimeout:    drillStepHeartbeat,
		RetryPolicy:         taskrun.RetryPolicy(d.in.Retry),
		WaitForCancellation: true,
	})

	if err := workflow.ExecuteActivity(short, Select, d.step).Get(ctx, &d.step.Backup); err != nil {
		return "select", err
	}
	b := d.step.Backup
	d.out.Metrics["drill.rpo"] = d.started.Sub(b.Finished).Seconds()
	d.note(fmt.Sprintf("backup %s of %q (finished %s, %d bytes)", b.ID, b.Database, b.Finished.Format(time.RFC3339), b.Size))

	// A cloud target takes minutes to restore: it heartbeats meanwhile.
	provision := short
	if cloudDrill(d.in) {
		provision = long
	}
	if err := workflow.ExecuteActivity(provision, Provision, d.step).Get(ctx, &d.step.Target); err != nil {
		return "provision", err
	}
	t := d.step.Target
	d.note(fmt.Sprintf("target %s: %s:%d/%s", t.Kind, t.Host, t.Port, t.Database))

	for _, s := range []struct{ name, activity string }{
		{"fetch", Fetch},
		{"restore", Restore},
		{"verify", Verify},
	} {
		var res Result
		err := workflow.ExecuteActivity(long, s.activity, d.step).Get(ctx, &res)
		if err != nil {
			if o, ok := taskrun.OutputOf(err); ok {
				d.merge(Result{Metrics: o.Metrics})
			}
			return s.name, err
		}
		d.merge(res)
		if s.name == "verify" {
			if !res.Verified {
				return "verify", errors.New(res.Message)
			}
			d.out.Metrics["drill.rto"] = workflow.Now(ctx).Sub(d.started).Seconds()
		}
	}
	return "", nil
}

func (d *drill) merge(res Result) {
	// Copying a map gives the same map in any order.
	//workflowcheck:ignore
	for k, v := range res.Metrics {
		d.out.Metrics[k] = v
	}
	d.out.Tables = append(d.out.Tables, res.Tables...)
	d.note(res.Message)
}

func (d *drill) note(line string) {
	if line != "" {
		d.lines = append(d.lines, line)
	}
}

// drillError fails the task with the output measured, as a failed task
// activity would: a verification that did not hold is a CheckFailed,
// anything else says which step failed.
func drillError(step string, err error, out task.Output) error {
	msg := step + ": " + taskrun.CauseMessage(err)
	if step == "verify" {
		return taskrun.AppError(task.CheckFailed(out, "%s", msg))
	}
	return temporal.NewNonRetryableApplicationError(msg, task.ErrTaskFailed, nil, out)
}

// EventData is the data of the drill.started and drill.finished events
// (events.DrillStarted, events.DrillFinished) a drill publishes on its
// run's lane, so DR dashboards need not parse task metrics.
type EventData struct {
	Phase string `json:"phase"`
	Task  string `json:"task"`
	// Target is the scratch target's kind (local, url, …).
	Target string `json:"target"`
	// Database and Backup name the backup restored, once chosen.
	Database string `json:"database,omitempty"`
	Backup   string `json:"backup,omitempty"`
	// The rest is set on drill.finished. Status is pass or fail.
	Status string `json:"status,omitempty"`
	// RTO and RPO are in seconds: drill start until verified, and drill
	// start minus the backup's end. RTO is absent when the drill did not
	// get as far as verifying.
	RTO        *float64 `json:"rto,omitempty"`
	RPO        *float64 `json:"rpo,omitempty"`
	Verified   bool     `json:"verified"`
	Mismatches int      `json:"mismatches"`
	// Step is the step that failed (select, provision, fetch, restore,
	// verify), and Error why.
	Step  string `json:"step,omitempty"`
	Error string `json:"error,omitempty"`
	// TornDown says the scratch target was removed.
	TornDown bool `json:"tornDown"`
}
