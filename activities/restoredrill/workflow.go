package restoredrill

import (
	"errors"
	"fmt"
	"strconv"
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

	// Only a plan that asks for a validation window records the change's
	// marker: other drills issue the commands they always did.
	window := keepFor(in.Params)
	if window > 0 && workflow.GetVersion(ctx, keepForChange, workflow.DefaultVersion, 1) != 1 {
		window = 0
	}
	var failedStep string
	var err error
	if window > 0 {
		if err = checkWindowFits(ctx, in, window); err != nil {
			failedStep = "validate"
		}
	}
	if err == nil {
		failedStep, err = d.run(work)
	}
	if err != nil && timedOut && ctx.Err() == nil {
		err = fmt.Errorf("the drill did not finish within its timeout (%s)", in.Timeout)
	}

	data := EventData{Phase: in.Phase, Task: in.Task, Target: kind, Database: d.step.Backup.Database, Backup: d.step.Backup.ID}
	// The window runs on the drill's own context, past the work's
	// timeout (the declaration's Linger grants it); teardown follows.
	if err == nil && window > 0 {
		failedStep, err = d.keep(ctx, window, pub, subject, data)
	}
	if failedStep != "select" && failedStep != "validate" { // provisioning began: undo it
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
	if !b.Point.IsZero() { // a recovery point in the past: the data lost recovering to it
		d.out.Metrics["drill.rpo"] = b.Point.Sub(b.Finished).Seconds()
		d.note("recovery point " + b.Point.Format(time.RFC3339))
	}

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
	// Only a plan that asks for a rehearsal records the change's marker:
	// other drills issue the commands they always did.
	if steps := d.in.Params.Objects("rehearse"); len(steps) > 0 &&
		workflow.GetVersion(ctx, rehearseChange, workflow.DefaultVersion, 1) == 1 {
		return d.rehearse(ctx, short, steps)
	}
	return "", nil
}

// checkError is a drill step's check that did not hold, as opposed to a
// step that could not run.
type checkError struct{ msg string }

func (e checkError) Error() string { return e.msg }

// rehearse runs the plan's rehearsal steps on the verified scratch
// database, between two reads of its catalog. A command that fails
// stops the rehearsal; the report's table shows how far it got.
func (d *drill) rehearse(ctx, short workflow.Context, steps []task.Params) (string, error) {
	var res Result
	if err := workflow.ExecuteActivity(short, Schema, SchemaStep{Step: d.step}).Get(ctx, &res); err != nil {
		return "rehearse", err
	}
	d.merge(res)
	table := plan.Table{Title: "Rehearsal on the restored copy", Columns: []string{"step", "duration", "exit", "lock max", "result"}}
	failed, stopped, lockMax := 0, false, 0.0
	var failures []string
	for i, st := range steps {
		name := st.String("name")
		if stopped {
			failed++
			table.Rows = append(table.Rows, []string{name, "—", "—", "—", "not run"})
			continue
		}
		step := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: stepTimeout(st) + time.Minute,
			HeartbeatTimeout:    drillStepHeartbeat,
			// A migration is not retried on a copy it may have half changed.
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
			WaitForCancellation: true,
		})
		var r StepResult
		if err := workflow.ExecuteActivity(step, Rehearse, RehearseStep{Step: d.step, Index: i}).Get(ctx, &r); err != nil {
			if ctx.Err() != nil {
				return "rehearse", err
			}
			failed, stopped = failed+1, true
			failures = append(failures, name+": "+taskrun.CauseMessage(err))
			table.Rows = append(table.Rows, []string{name, "—", "—", "—", "error: " + taskrun.CauseMessage(err)})
			continue
		}
		d.merge(r.Result)
		lockMax = max(lockMax, r.LockMax)
		result := "pass"
		if r.Failed {
			failed++
			result = "fail"
			failures = append(failures, strings.TrimPrefix(r.Message, "rehearse "))
			stopped = st.String("sql") == ""
		}
		lock := fmt.Sprintf("%.1f s", r.LockMax)
		if st.String("sql") != "" {
			lock = "—"
		}
		table.Rows = append(table.Rows, []string{name, fmt.Sprintf("%.1f s", r.Duration), strconv.Itoa(r.Exit), lock, result})
	}
	d.out.Metrics["rehearse.lock_max"] = lockMax
	d.out.Metrics["rehearse.failed"] = float64(failed)
	d.out.Tables = append(d.out.Tables, table)
	var after Result
	if err := workflow.ExecuteActivity(short, Schema, SchemaStep{Step: d.step, After: true}).Get(ctx, &after); err != nil {
		if failed == 0 {
			return "rehearse", err
		}
		d.note("schema after the rehearsal not read: " + taskrun.CauseMessage(err))
	} else {
		d.merge(after)
	}
	if failed > 0 {
		return "rehearse", checkError{fmt.Sprintf("%d of %d steps failed: %s", failed, len(steps), strings.Join(failures, "; "))}
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
	var check checkError
	if step == "verify" || errors.As(err, &check) {
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
	// Step is the step that failed (validate, select, provision, fetch,
	// restore, verify, rehearse, ready, teardown), and Error why.
	Step  string `json:"step,omitempty"`
	Error string `json:"error,omitempty"`
	// TornDown says the scratch target was removed.
	TornDown bool `json:"tornDown"`
	// Connection, KeepFor (seconds) and Until are set on drill.ready
	// only: how outside checks reach the scratch database (the password
	// by reference) and until when it stays up.
	Connection *Connection `json:"connection,omitempty"`
	KeepFor    float64     `json:"keepFor,omitempty"`
	Until      *time.Time  `json:"until,omitempty"`
}
