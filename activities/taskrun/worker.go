package taskrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/events"
)

// ErrWorkerLost is the application error type of a task its worker gave
// up without the run asking: it lost Temporal for longer than the task's
// heartbeat timeout, or stopped. The phase starts such a task again, as
// one whose heartbeat timed out.
const ErrWorkerLost = "WorkerLost"

// PublishEventsName is the activity that sends a batch of events.
const PublishEventsName = "PublishEvents"

// EventPublisher sends messages to the event stream. msgID de-duplicates:
// a message whose ID the stream has already stored is dropped.
type EventPublisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// BatchPublisher is an EventPublisher that can send a batch in one round
// trip, keeping its order (natsevents.Client does).
type BatchPublisher interface {
	PublishBatch(ctx context.Context, subjects, msgIDs []string, data [][]byte) error
}

// PublishEventsInput is a batch of events in the order they happened.
type PublishEventsInput struct {
	Events []events.Event `json:"events"`
}

// ActivityRegistry is where activities are registered: a worker or an
// activity test environment.
type ActivityRegistry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// WorkflowRegistry is where workflows are registered: a worker, a
// replayer or a workflow test environment.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Registry is a worker: both.
type Registry interface {
	ActivityRegistry
	WorkflowRegistry
}

// Options are what Register's activities share.
type Options struct {
	// Events publishes event batches and progress events; nil: none.
	Events EventPublisher
	Logger *slog.Logger
	// FileRoots, when set, are the only directories task file parameters
	// (plan.SafetyFile) may name files below: a shared worker's guard
	// against plans that read its other files.
	FileRoots []string
}

// Register registers every task type's workflow and activities, and the
// PublishEvents activity (RegisterWorkflows and RegisterActivities).
func Register(r Registry, types []task.Type, opts Options) {
	RegisterWorkflows(r, types)
	RegisterActivities(r, types, opts)
}

// RegisterWorkflows registers the workflow of every task type that has
// one, under the type's name.
func RegisterWorkflows(r WorkflowRegistry, types []task.Type) {
	for _, t := range types {
		if t.Workflow != nil {
			r.RegisterWorkflowWithOptions(t.Workflow, workflow.RegisterOptions{Name: t.Name()})
		}
	}
}

// RegisterActivities registers, for every task type, its activity (under
// the type's name) or the activities its workflow calls; and the
// PublishEvents activity.
func RegisterActivities(r ActivityRegistry, types []task.Type, opts Options) {
	for _, t := range types {
		if t.Run != nil {
			r.RegisterActivityWithOptions(activityOf(t, opts), activity.RegisterOptions{Name: t.Name()})
		}
		for name, fn := range t.Activities {
			r.RegisterActivityWithOptions(returningAppErrors(fn), activity.RegisterOptions{Name: name})
		}
	}
	p := &publisher{events: opts.Events}
	r.RegisterActivityWithOptions(p.PublishEvents, activity.RegisterOptions{Name: PublishEventsName})
}

// activityOf wraps a task type's Run as the activity the engine calls:
// progress reported through the context, the attempt recorded in the
// output and the error.
func activityOf(t task.Type, opts Options) func(context.Context, task.Input) (task.Output, error) {
	return func(ctx context.Context, in task.Input) (task.Output, error) {
		attempt := int(activity.GetInfo(ctx).Attempt)
		if err := checkFiles(t.Decl, in.Params, opts.FileRoots); err != nil {
			return task.Output{Attempt: attempt}, withAttempt(ctx, err, attempt)
		}
		ctx = task.WithReporter(ctx, &Progress{events: opts.Events, logger: opts.Logger, in: in})
		out, err := t.Run(ctx, in)
		out.Attempt = attempt
		return out, withAttempt(ctx, err, attempt)
	}
}

// returningAppErrors wraps an activity function so that a *task.Error it
// returns reaches its workflow as an application error of the same type,
// retryability and output (AppError), whatever the function's signature.
func returningAppErrors(fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func || t.NumOut() == 0 || t.Out(t.NumOut()-1) != reflect.TypeFor[error]() {
		return fn
	}
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		out := v.Call(args)
		last := len(out) - 1
		if err, ok := out[last].Interface().(error); ok && err != nil {
			out[last] = reflect.ValueOf(AppError(err)).Convert(t.Out(last))
		}
		return out
	}).Interface()
}

// withAttempt makes every task error an application error that carries
// the attempt (and, for CheckFailed, the metrics measured) in its details,
// so the report says how often a failed task was tried. Its type and
// retryability are the original error's; cancellation passes unchanged.
func withAttempt(ctx context.Context, err error, attempt int) error {
	if err == nil {
		return err
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// The task stopped because its context ended. When the run asked
		// for it, the SDK reports a cancellation (the cause is still
		// context.Canceled); when it did not — the worker lost Temporal
		// for longer than the heartbeat timeout and gave the task up, or
		// is shutting down — it is a task lost with its worker, not a
		// failed one, and the phase starts it again (ErrWorkerLost).
		return temporal.NewApplicationErrorWithOptions("the worker gave the task up: "+err.Error(), ErrWorkerLost,
			temporal.ApplicationErrorOptions{Cause: err})
	}
	failed, _ := OutputOf(err)
	failed.Attempt = attempt
	typ, nonRetryable, msg := task.ErrTaskFailed, false, err.Error()
	var appErr *temporal.ApplicationError
	if te, ok := task.AsError(err); ok {
		typ, nonRetryable, msg = te.Type, te.NonRetryable, te.Message
	} else if errors.As(err, &appErr) {
		typ, nonRetryable, msg = appErr.Type(), appErr.NonRetryable(), appErr.Message()
	}
	return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
		NonRetryable: nonRetryable,
		Details:      []any{failed},
	})
}

type publisher struct{ events EventPublisher }

// PublishEvents sends a batch of events in order, each with its ID as the
// de-duplication ID, so a retried batch never duplicates an event.
func (p *publisher) PublishEvents(ctx context.Context, in PublishEventsInput) error {
	return PublishEvents(ctx, p.events, in)
}

// PublishEvents sends a batch of events through pub (see the activity of
// the same name); a nil pub drops them.
func PublishEvents(ctx context.Context, pub EventPublisher, in PublishEventsInput) error {
	if pub == nil {
		return nil // no event stream configured
	}
	traceParent := traceParent(ctx)
	subjects, ids, bodies := make([]string, len(in.Events)), make([]string, len(in.Events)), make([][]byte, len(in.Events))
	for i, e := range in.Events {
		e.TraceParent = traceParent
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		subjects[i], ids[i], bodies[i] = e.NATSSubject(), e.ID, data
	}
	if batch, ok := pub.(BatchPublisher); ok {
		if err := batch.PublishBatch(ctx, subjects, ids, bodies); err != nil {
			return fmt.Errorf("publish events %s…: %w", ids[0], err)
		}
		return nil
	}
	for i := range subjects {
		if err := pub.Publish(ctx, subjects[i], ids[i], bodies[i]); err != nil {
			return fmt.Errorf("publish event %s: %w", ids[i], err)
		}
	}
	return nil
}

// traceParent is the W3C traceparent of the span in ctx (the activity's,
// when the worker traces), or "".
func traceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return fmt.Sprintf("00-%s-%s-%s", sc.TraceID(), sc.SpanID(), sc.TraceFlags())
}

// progressEventInterval bounds how often one task publishes task.progress
// events; heartbeats themselves are throttled by the SDK. A task that
// reports once a second on a ticker reports a hair early now and then: the
// slack keeps those reports.
const (
	progressEventInterval = time.Second
	progressEventSlack    = 100 * time.Millisecond
)

// Progress reports a long task's progress: as the heartbeat details (which
// `starter run` shows as a progress bar) and as a task.progress event.
// Progress events are best effort: published from the activity with IDs
// unique to the attempt, and a failure to publish one is logged, never
// fatal, so a slow or absent NATS cannot slow a task down.
type Progress struct {
	events EventPublisher
	logger *slog.Logger
	in     task.Input
	seq    int
	last   time.Time
}

// NewProgress returns the reporter of one task run (activities of task
// workflows make their own; task activities get one in their context).
func NewProgress(events EventPublisher, logger *slog.Logger, in task.Input) *Progress {
	return &Progress{events: events, logger: logger, in: in}
}

// Report heartbeats p and, at most once per progressEventInterval,
// publishes it.
func (r *Progress) Report(ctx context.Context, p task.Progress) {
	activity.RecordHeartbeat(ctx, p)
	if r.events == nil || time.Since(r.last) < progressEventInterval-progressEventSlack {
		return
	}
	r.last = time.Now()
	r.seq++
	info := activity.GetInfo(ctx)
	data := events.TaskData{
		Phase: r.in.Phase, Task: r.in.Task, Uses: r.in.Uses, Status: "running",
		Attempt: int(info.Attempt), Metrics: p.Metrics, Message: p.Message,
	}
	if p.Done >= 0 && p.Done <= 1 {
		done := p.Done
		data.Done = &done
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return
	}
	e := events.Event{
		SpecVersion: events.SpecVersion,
		// Unique per attempt and report: <phase workflow>/<run>/<task>/<attempt>/progress/<n>.
		ID: fmt.Sprintf("%s/%s/%s/%d/progress/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID,
			info.ActivityID, info.Attempt, r.seq),
		Source:          "/shipshape/runs/" + r.in.RunID,
		Type:            events.TaskProgress,
		Subject:         r.in.Phase + "/" + r.in.Task,
		Time:            time.Now().UTC(),
		DataContentType: events.ContentType,
		RunID:           r.in.RunID,
		Plan:            r.in.Plan,
		Sequence:        int64(r.seq),
		Data:            raw,
	}
	body, err := json.Marshal(e)
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.events.Publish(pctx, e.NATSSubject(), e.ID, body); err != nil && r.logger != nil {
		r.logger.Debug("progress event not published", "task", r.in.Phase+"/"+r.in.Task, "error", err)
	}
}

// Every reports now() every interval, until the returned stop is called
// (stop waits for a report under way).
func (r *Progress) Every(ctx context.Context, interval time.Duration, now func() task.Progress) (stop func()) {
	return every(ctx, interval, func() { r.Report(ctx, now()) })
}

// Every reports now() through ctx's reporter every interval, until the
// returned stop is called (stop waits for a report under way).
func Every(ctx context.Context, interval time.Duration, now func() task.Progress) (stop func()) {
	return every(ctx, interval, func() { task.Report(ctx, now()) })
}

func every(ctx context.Context, interval time.Duration, report func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				report()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
