package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities"
	"github.com/shipshape-dev/shipshape/events"
)

// maxBatch bounds the events in one PublishEvents call, keeping payloads
// far below Temporal's limits.
const maxBatch = 200

// publisher is one workflow's lane of events: it numbers events in the
// order the workflow emits them and sends them in batches through the
// PublishEvents activity, one batch at a time so order is kept. Event IDs
// are <workflowID>/<runID>/<sequence>, so a retried batch is de-duplicated
// by JetStream. The workflow waits for it only at flush (the run, for
// run.started) and at drain: when NATS is down, the run goes on and the
// lane catches up when NATS is back.
type publisher struct {
	lane    string
	runID   string
	plan    string
	seq     int64
	batches int
	buf     []events.Event
	sending bool
	closed  bool
}

// newPublisher starts the lane's sender on a disconnected context, so
// events emitted while a run is being cancelled are still delivered.
func newPublisher(ctx workflow.Context, runID, planName string) *publisher {
	info := workflow.GetInfo(ctx)
	p := &publisher{
		lane:  info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID,
		runID: runID,
		plan:  planName,
	}
	sendCtx, _ := workflow.NewDisconnectedContext(ctx)
	sendCtx = workflow.WithActivityOptions(sendCtx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// NATS may be down for a while; keep trying for a day, then give up
		// on this batch rather than hold the run open forever.
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
	workflow.Go(sendCtx, p.send)
	return p
}

func (p *publisher) send(ctx workflow.Context) {
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
		opts := workflow.GetActivityOptions(ctx)
		opts.ActivityID = fmt.Sprintf("events/%d", p.batches)
		actx := workflow.WithActivityOptions(ctx, opts)
		err := workflow.ExecuteActivity(actx, activities.PublishEventsName, activities.PublishEventsInput{Events: batch}).Get(ctx, nil)
		p.buf = p.buf[n:]
		p.sending = false
		if err != nil {
			workflow.GetLogger(ctx).Error("events lost after retrying for a day", "first", batch[0].ID, "count", n, "error", err)
		}
	}
}

// emit numbers an event and queues it.
func (p *publisher) emit(ctx workflow.Context, typ events.Type, subject string, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		// Data types are ours and always encode; this is a programming error.
		panic(fmt.Sprintf("encode %s event: %v", typ, err))
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

// flush waits until every event emitted so far has been published.
func (p *publisher) flush(ctx workflow.Context) {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	_ = workflow.Await(ctx, func() bool { return len(p.buf) == 0 && !p.sending })
}

// drain publishes everything emitted and stops the sender.
func (p *publisher) drain(ctx workflow.Context) {
	p.closed = true
	p.flush(ctx)
}
