package alertdrill

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
)

// resolveOptions: resolving must happen, so it retries for as long as
// the task's grace allows, and runs even when the drill is cancelled.
var resolveOptions = workflow.ActivityOptions{
	ActivityID:             "resolve",
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: taskrun.UndoGrace - time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// maxPollFailures is how many polls in a row may fail (each after its
// own retries) before the drill gives up: an Alertmanager that is briefly
// away does not end a drill, one that is gone does.
const maxPollFailures = 5

// drill is the state of one Workflow execution.
type drill struct {
	step      Step
	out       task.Output
	lines     []string
	receivers []string
	how       string
	ack       *Ack
	refused   []string
	// pub publishes the drill's alert.* events; nil in histories from
	// before them.
	pub     *taskrun.Lane
	subject string
}

// eventsChange is the workflow.GetVersion change ID of the drill's
// alert.* events: histories from before them replay without a lane.
const eventsChange = "alert-drill.events"

// EventData is the data of the alert.fired, alert.acknowledged and
// alert.refused events (events.AlertFired, …) a drill publishes on its
// run's lane, so a chat bot can follow the drill without parsing task
// progress.
type EventData struct {
	Phase string `json:"phase"`
	Task  string `json:"task"`
	// Drill is the value of the alert's shipshape_drill label.
	Drill     string `json:"drill"`
	Alertname string `json:"alertname"`
	// FiredAt is when the alert fired (RFC 3339).
	FiredAt time.Time `json:"firedAt"`
	// Responder and Via say who acknowledged (alert.acknowledged) or
	// whose acknowledgement was refused (alert.refused), and how:
	// "silence" or "nats"; Silence names the silence.
	Responder string `json:"responder,omitempty"`
	Via       string `json:"via,omitempty"`
	Silence   string `json:"silence,omitempty"`
	// TTA is the time to acknowledge in seconds (alert.acknowledged).
	TTA *float64 `json:"tta,omitempty"`
	// Why says why an acknowledgement was refused (alert.refused).
	Why string `json:"why,omitempty"`
}

// emit publishes one of the drill's events, when it has a lane.
func (d *drill) emit(ctx workflow.Context, typ events.Type, data EventData) {
	if d.pub == nil {
		return
	}
	in := d.step.Task
	data.Phase, data.Task, data.Drill = in.Phase, in.Task, d.step.Drill
	data.Alertname, data.FiredAt = task.Params(in.Params).String("alertname"), d.step.FiredAt
	d.pub.Emit(ctx, typ, d.subject, data)
}

// Workflow runs an alert-drill task: fire the alert, then poll — on
// workflow timers, so a wait of hours costs the worker nothing between
// polls and survives restarts — until an allowed responder acknowledges
// it or ackTimeout passes; then resolve it. Resolving runs on a
// disconnected context whatever happened after firing: acknowledged,
// not, failed, cancelled, the task's timeout.
func Workflow(ctx workflow.Context, in task.Input) (task.Output, error) {
	d := &drill{
		step:    Step{Task: in, Drill: in.RunID + "/" + in.Phase + "/" + in.Task},
		out:     task.Output{Metrics: map[string]float64{"alert.delivered": 0, "alert.acknowledged": 0, "alert.refused": 0}, Attempt: 1},
		subject: in.Phase + "/" + in.Task,
	}
	if workflow.GetVersion(ctx, eventsChange, workflow.DefaultVersion, 1) == 1 {
		d.pub = taskrun.NewLane(ctx, in.RunID, in.Plan)
	}

	// The task's timeout bounds the drill's work; resolving comes after.
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
		err = fmt.Errorf("the drill did not finish within the task's timeout (%s)", in.Timeout)
	}

	if failedStep != "fire" { // the alert may be firing: resolve it
		cleanup, _ := workflow.NewDisconnectedContext(ctx)
		cleanup = workflow.WithActivityOptions(cleanup, resolveOptions)
		var res ResolveResult
		if rerr := workflow.ExecuteActivity(cleanup, Resolve, d.step).Get(cleanup, &res); rerr != nil {
			d.note("resolve failed: " + taskrun.CauseMessage(rerr) + " (the alert resolves by itself when its endsAt passes)")
			if err == nil {
				failedStep, err = "resolve", rerr
			}
		} else {
			d.note(res.Message)
		}
	}

	if d.pub != nil {
		closing, _ := workflow.NewDisconnectedContext(ctx)
		d.pub.Close(closing)
	}
	d.table()
	d.out.Output = strings.Join(d.lines, "\n")
	switch {
	case ctx.Err() != nil:
		return d.out, temporal.NewCanceledError(d.out)
	case err != nil:
		var nack notAcknowledged
		if errors.As(err, &nack) {
			return d.out, taskrun.AppError(task.CheckFailed(d.out, "%s", err.Error()))
		}
		return d.out, temporal.NewNonRetryableApplicationError(failedStep+": "+taskrun.CauseMessage(err), task.ErrTaskFailed, nil, d.out)
	}
	return d.out, nil
}

// notAcknowledged is a drill nobody (allowed) acknowledged in time.
type notAcknowledged struct{ msg string }

func (e notAcknowledged) Error() string { return e.msg }

// run fires the alert and waits for its acknowledgement; it says which
// step failed.
func (d *drill) run(ctx workflow.Context) (string, error) {
	p := d.step.Task.Params
	timeout := d.step.Task.Timeout
	if timeout <= 0 {
		timeout = taskrun.DefaultTimeout
	}
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: min(timeout, time.Minute),
		RetryPolicy:         taskrun.RetryPolicy(d.step.Task.Retry),
		WaitForCancellation: true,
	})
	if err := workflow.ExecuteActivity(short, Fire, d.step).Get(ctx, &d.step); err != nil {
		return "fire", err
	}
	fired := workflow.Now(ctx)
	d.emit(ctx, events.AlertFired, EventData{})
	d.note(fmt.Sprintf("fired %s (%s=%s) at %s", p.String("alertname"), DrillLabel, d.step.Drill, d.step.FiredAt.Format(time.RFC3339)))

	ackTimeout, interval := p.Duration("ackTimeout"), max(p.Duration("interval"), time.Second)
	deadline := fired.Add(ackTimeout)
	failures := 0
	for {
		var r PollResult
		if err := workflow.ExecuteActivity(short, Poll, d.step).Get(ctx, &r); err != nil {
			if ctx.Err() != nil {
				return "poll", err
			}
			if failures++; failures >= maxPollFailures || isInvalid(err) {
				return "poll", err
			}
			d.note("poll failed: " + taskrun.CauseMessage(err))
		} else {
			failures = 0
			d.merge(ctx, r)
		}
		if d.ack != nil {
			break
		}
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			break
		}
		if err := workflow.NewTimer(ctx, min(interval, left)).Get(ctx, nil); err != nil {
			return "wait", err
		}
	}
	if d.ack == nil {
		msg := fmt.Sprintf("not acknowledged within %s", ackTimeout)
		if len(d.refused) > 0 {
			msg += "; ignored (not allowed responders): " + strings.Join(d.refused, ", ")
		}
		d.note(msg)
		return "acknowledge", notAcknowledged{msg}
	}
	if d.ack.Via == ViaNATS && p.Bool("silenceOnAck") {
		d.step.Ack = d.ack
		var id string
		if err := workflow.ExecuteActivity(short, Silence, d.step).Get(ctx, &id); err != nil {
			d.note("silencing the acknowledged alert failed: " + taskrun.CauseMessage(err))
		} else {
			d.note("silenced the acknowledged alert (silence " + id + ")")
		}
	}
	return "", nil
}

func isInvalid(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == task.ErrInvalidParams
}

func (d *drill) merge(ctx workflow.Context, r PollResult) {
	for _, rc := range r.Receivers {
		if !slices.Contains(d.receivers, rc) {
			d.receivers = append(d.receivers, rc)
		}
	}
	if r.Delivered && !d.step.Delivered {
		d.step.Delivered, d.how = true, r.How
		d.out.Metrics["alert.delivered"] = 1
		d.note("delivered: " + r.How)
	}
	for _, ref := range r.Refused {
		if !slices.Contains(d.refused, ref) {
			d.refused = append(d.refused, ref)
			d.note("acknowledgement ignored: " + ref + " is not an allowed responder")
			who, how, _ := strings.Cut(ref, " (")
			via, silence, _ := strings.Cut(strings.TrimSuffix(how, ")"), " ")
			d.emit(ctx, events.AlertRefused, EventData{Responder: who, Via: via, Silence: silence,
				Why: who + " is not in allowedResponders"})
		}
	}
	d.out.Metrics["alert.refused"] = float64(len(d.refused))
	if r.Ack != nil && d.ack == nil {
		d.ack = r.Ack
		tta := max(r.Ack.At.Sub(d.step.FiredAt), 0)
		d.out.Metrics["alert.acknowledged"] = 1
		d.out.Metrics["alert.tta"] = tta.Seconds()
		how := "NATS"
		if r.Ack.Via == ViaSilence {
			how = "silence " + r.Ack.Silence
		}
		d.note(fmt.Sprintf("acknowledged by %s (%s) after %s", r.Ack.By, how, tta.Round(time.Millisecond)))
		secs := tta.Seconds()
		d.emit(ctx, events.AlertAcknowledged, EventData{Responder: r.Ack.By, Via: r.Ack.Via, Silence: r.Ack.Silence, TTA: &secs})
	}
}

// table is the drill's summary for the report.
func (d *drill) table() {
	t := plan.Table{Title: "Alert drill", Columns: []string{"drill", "delivered", "receivers", "acknowledged by", "via", "time to acknowledge", "ignored"}}
	delivered, by, via, tta := "no", "—", "—", "—"
	if d.step.Delivered {
		delivered = "yes: " + d.how
	}
	if d.ack != nil {
		by, via = d.ack.By, d.ack.Via
		if d.ack.Silence != "" {
			via += " " + d.ack.Silence
		}
		tta = (time.Duration(d.out.Metrics["alert.tta"] * float64(time.Second))).Round(time.Millisecond).String()
	}
	receivers, ignored := strings.Join(d.receivers, ", "), strings.Join(d.refused, ", ")
	if receivers == "" {
		receivers = "—"
	}
	if ignored == "" {
		ignored = "—"
	}
	t.Rows = [][]string{{d.step.Drill, delivered, receivers, by, via, tta, ignored}}
	d.out.Tables = append(d.out.Tables, t)
}

func (d *drill) note(line string) {
	if line != "" {
		d.lines = append(d.lines, line)
	}
}
