// Package taskrun runs task types on Temporal: it registers their
// activities and workflows on a worker, turns task errors into Temporal
// application errors that carry what the task measured, reports progress
// as heartbeats and task.progress events, and gives every workflow (the
// engine's and the task types' own) a lane of numbered events. It is the
// Temporal side of the contract in package task, and links no task
// type's clients.
package taskrun

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/events"
)

// maxBatch bounds the events in one PublishEvents call, keeping payloads
// far below Temporal's limits.
const maxBatch = 200

// Lane is one workflow's lane of events: it numbers events in the
// order the workflow emits them and sends them in batches through the
// PublishEvents activity, one batch at a time so order is kept. Event IDs
// are <workflowID>/<runID>/<sequence>, so a retried batch is de-duplicated
// by JetStream. The workflow waits for it at most handoffWait, for
// run.started and when it closes; when NATS is down, the run goes on, and
// a workflow closing with events undelivered hands them, IDs unchanged, to
// an EventRelay workflow that outlives it.
type Lane struct {
	lane    string
	runID   string
	plan    string
	seq     int64
	batches int
	buf     []events.Event
	sending bool
	closed  bool
	// local sends batches as local activities: in the worker that runs
	// the workflow, with no task-queue round trip before each batch.
	local bool
}

// handoffWait is how long a lane waits for NATS before it goes on
// without it: the run before starting its phases, a closing workflow
// before handing its last events to an EventRelay.
const handoffWait = 10 * time.Second

// publishOptions are the PublishEvents activity's: NATS may be down for a
// while, so keep trying for a day, then give up on the batch rather than
// hold a workflow open forever.
var publishOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy:            publishRetry,
}

var publishRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    30 * time.Second,
}

// localPublishOptions are those of a batch's first try, a local
// activity: in the worker that runs the workflow, with no task-queue round
// trip. It is tried once; if it fails (NATS down or slow), the batch goes
// the durable way, as an ordinary activity retried by the server for a
// day (publishOptions), so a long outage adds no history and no worker
// holds a workflow task open for it. Publishing is idempotent (JetStream
// drops a repeated event ID), so a batch that is sent twice does no harm.
var localPublishOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout: 10 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
}

// errNotTried stands for a batch not yet sent.
var errNotTried = errors.New("not tried")

// localEventsVersion marks workflows whose lanes publish from local
// activities; histories from before it replay with ordinary ones.
const localEventsVersion = "events-local-activity"

func publishesLocally(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, localEventsVersion, workflow.DefaultVersion, 1) == 1
}

// NewLane starts the lane's sender on a disconnected context, so
// events emitted while a run is being cancelled are still delivered.
func NewLane(ctx workflow.Context, runID, planName string) *Lane {
	info := workflow.GetInfo(ctx)
	p := &Lane{
		lane:  info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID,
		runID: runID,
		plan:  planName,
		local: publishesLocally(ctx),
	}
	sendCtx, _ := workflow.NewDisconnectedContext(ctx)
	sendCtx = workflow.WithActivityOptions(sendCtx, publishOptions)
	workflow.Go(sendCtx, p.send)
	return p
}

func (p *Lane) send(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(p.buf) > 0 || p.closed }); err != nil {
			return
		}
		if len(p.buf) == 0 {
			return // closed and drained
		}
		n := min(len(p.buf), maxBatch)
		batch := p.buf[:n:n]
		p.sending = true
		p.batches++
		// An ID of our own: left empty, the SDK would number it like any
		// activity, and a task named "3" (a valid name) would collide
		// with the third one. No plan name contains '/'.
		var err error = errNotTried
		if p.local {
			lctx := workflow.WithLocalActivityOptions(ctx, localPublishOptions)
			err = workflow.ExecuteLocalActivity(lctx, PublishEventsName, PublishEventsInput{Events: batch}).Get(ctx, nil)
		}
		if err != nil {
			opts := workflow.GetActivityOptions(ctx)
			opts.ActivityID = fmt.Sprintf("events/%d", p.batches)
			actx := workflow.WithActivityOptions(ctx, opts)
			err = workflow.ExecuteActivity(actx, PublishEventsName, PublishEventsInput{Events: batch}).Get(ctx, nil)
		}
		p.buf = p.buf[n:]
		p.sending = false
		if err != nil {
			workflow.GetLogger(ctx).Error("events lost after retrying for a day", "first", batch[0].ID, "count", n, "error", err)
		}
	}
}

// EncodeError is the data of an event whose own data could not be
// encoded (a number JSON cannot carry, such as +Inf).
type EncodeError struct {
	Error string `json:"error"`
}

// Emit numbers an event and queues it. Data that cannot be encoded does
// not stop the workflow: the event is sent with an EncodeError as its
// data instead, and the problem is logged.
func (p *Lane) Emit(ctx workflow.Context, typ events.Type, subject string, data any) {
	// encoding/json iterates maps but sorts their keys: its output is
	// deterministic, which workflowcheck cannot see.
	raw, err := json.Marshal(data) //workflowcheck:ignore
	if err != nil {
		// Panicking would fail every workflow task of the run, forever.
		msg := fmt.Sprintf("encode %s event: %v", typ, err)
		workflow.GetLogger(ctx).Error("event data replaced by an error", "type", typ, "subject", subject, "error", msg)
		raw, _ = json.Marshal(EncodeError{Error: msg}) //workflowcheck:ignore
	}
	p.seq++
	p.buf = append(p.buf, events.Event{
		SpecVersion:     events.SpecVersion,
		ID:              fmt.Sprintf("%s/%d", p.lane, p.seq),
		Source:          "/shipshape/runs/" + p.runID,
		Type:            typ,
		Subject:         subject,
		Time:            workflow.Now(ctx).UTC(),
		DataContentType: events.ContentType,
		RunID:           p.runID,
		Plan:            p.plan,
		Sequence:        p.seq,
		Data:            raw,
	})
}

func (p *Lane) delivered() bool { return len(p.buf) == 0 && !p.sending }

// Flush waits until every event emitted so far has been published, or
// handoffWait has passed, and reports whether they were.
func (p *Lane) Flush(ctx workflow.Context) bool {
	if p.delivered() {
		return true
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	ok, _ := workflow.AwaitWithTimeout(ctx, handoffWait, p.delivered)
	return ok
}

// Close stops the lane before its workflow closes. Events it could not
// deliver within handoffWait go to an EventRelay workflow, which is left
// running when this one closes. Events of a batch still being retried are
// included: if that attempt succeeds after all, JetStream drops the
// relay's copies by their IDs.
func (p *Lane) Close(ctx workflow.Context) {
	p.closed = true
	if p.Flush(ctx) {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	info := workflow.GetInfo(ctx)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        info.WorkflowExecution.ID + "/events-relay",
		TaskQueue:         info.TaskQueueName,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	relay := workflow.ExecuteChildWorkflow(cctx, EventRelayName, EventRelayInput{Events: p.buf})
	// The relay only outlives this workflow once it has started.
	if err := relay.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("events lost: relay did not start", "first", p.buf[0].ID, "count", len(p.buf), "error", err)
		return
	}
	workflow.GetLogger(ctx).Warn("event stream unavailable; undelivered events handed to a relay", "count", len(p.buf))
}

// EventRelayName is the registered name of the workflow that delivers
// events a closed workflow could not (NATS was down).
const EventRelayName = "EventRelay"

// EventRelayInput holds the events a closed workflow could not deliver.
type EventRelayInput struct {
	Events []events.Event `json:"events"`
}

// EventRelay publishes events that a workflow could not deliver before it
// closed, in order and with their original IDs, retrying for a day.
func EventRelay(ctx workflow.Context, in EventRelayInput) error {
	p := &Lane{buf: in.Events, local: publishesLocally(ctx)}
	actx := workflow.WithActivityOptions(ctx, publishOptions)
	workflow.Go(actx, p.send)
	p.closed = true
	return workflow.Await(ctx, p.delivered)
}
