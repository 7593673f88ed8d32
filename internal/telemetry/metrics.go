// Package telemetry is what the worker tells operators about itself:
// Prometheus metrics (Temporal SDK's and Shipshape's own) on a registry
// the caller owns, the /metrics, /healthz and /readyz endpoints, and
// OpenTelemetry tracing configured from the standard OTEL_* variables.
//
// Shipshape's metrics come from an activity interceptor: task activities
// are timed per attempt, and the event batches PublishEvents sends are
// counted, with runs and gates read from the run.finished and
// gate.evaluated events in them. Workflows stay free of I/O.
package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
)

// Metric names Shipshape exports (besides the Temporal SDK's, prefixed
// temporal_). docs/operations.md describes each.
const (
	MetricRuns                = "shipshape_runs_total"
	MetricTaskDuration        = "shipshape_task_duration_seconds"
	MetricTasksRunning        = "shipshape_tasks_running"
	MetricGates               = "shipshape_gates_total"
	MetricEventsPublished     = "shipshape_events_published_total"
	MetricEventBatchesRetried = "shipshape_event_batches_retried_total"
	MetricEventBatchFailures  = "shipshape_event_batch_failures_total"
)

// Task attempt results, the result label of MetricTaskDuration.
const (
	TaskPassed        = "pass"
	TaskCheckFailed   = "check_failed"
	TaskInvalidParams = "invalid_params"
	TaskError         = "error"
	TaskCanceled      = "canceled"
)

// TaskDurationBuckets span a quick HTTP check to an hour-long drill.
var TaskDurationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// Metrics are Shipshape's own metrics. Build them with NewMetrics and
// give Interceptor() to the worker.
type Metrics struct {
	runs           *prometheus.CounterVec
	taskDuration   *prometheus.HistogramVec
	tasksRunning   *prometheus.GaugeVec
	gates          *prometheus.CounterVec
	eventsSent     *prometheus.CounterVec
	batchesRetried prometheus.Counter
	batchFailures  prometheus.Counter
	taskTypes      map[string]bool
}

// NewMetrics registers Shipshape's metrics on reg. Every task type of
// types starts at zero, so dashboards show them before the
// first run.
func NewMetrics(reg prometheus.Registerer, types plan.Catalog) (*Metrics, error) {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRuns, Help: "Runs finished, by plan and result (pass, warning, fail, error, cancelled), counted when their run.finished event is published.",
		}, []string{"plan", "result"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricTaskDuration, Help: "Duration of task attempts on this worker, by task type and result.",
			Buckets: TaskDurationBuckets,
		}, []string{"task_type", "result"}),
		tasksRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: MetricTasksRunning, Help: "Task attempts running on this worker, by task type.",
		}, []string{"task_type"}),
		gates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricGates, Help: "Gates evaluated, by status (pass, warning, fail, …), counted when their gate.evaluated event is published.",
		}, []string{"status"}),
		eventsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricEventsPublished, Help: "Events published to the event stream, by type.",
		}, []string{"type"}),
		batchesRetried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricEventBatchesRetried, Help: "Event batches sent again after a failed attempt (JetStream drops the duplicates).",
		}),
		batchFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricEventBatchFailures, Help: "Attempts to publish an event batch that failed (NATS down, permission denied); Temporal retries them.",
		}),
		taskTypes: map[string]bool{},
	}
	for _, c := range []prometheus.Collector{m.runs, m.taskDuration, m.tasksRunning, m.gates, m.eventsSent, m.batchesRetried, m.batchFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, t := range types {
		m.taskTypes[t.Name] = true
		m.tasksRunning.WithLabelValues(t.Name)
	}
	for _, t := range events.Types {
		m.eventsSent.WithLabelValues(t.Short())
	}
	return m, nil
}

// Interceptor records the metrics of the activities a worker runs.
func (m *Metrics) Interceptor() interceptor.WorkerInterceptor {
	return &workerInterceptor{m: m}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	m *Metrics
}

func (w *workerInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityInterceptor{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, m: w.m}
}

type activityInterceptor struct {
	interceptor.ActivityInboundInterceptorBase
	m *Metrics
}

func (a *activityInterceptor) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	name := info.ActivityType.Name
	switch {
	case name == taskrun.PublishEventsName:
		if info.Attempt > 1 {
			a.m.batchesRetried.Inc()
		}
		out, err := a.Next.ExecuteActivity(ctx, in)
		if err != nil {
			a.m.batchFailures.Inc()
			return out, err
		}
		if len(in.Args) == 1 {
			if batch, ok := in.Args[0].(taskrun.PublishEventsInput); ok {
				a.m.countEvents(batch.Events)
			}
		}
		return out, nil
	case a.m.taskTypes[name]:
		running := a.m.tasksRunning.WithLabelValues(name)
		running.Inc()
		defer running.Dec()
		start := time.Now()
		out, err := a.Next.ExecuteActivity(ctx, in)
		a.m.taskDuration.WithLabelValues(name, taskResult(ctx, err)).Observe(time.Since(start).Seconds())
		return out, err
	}
	return a.Next.ExecuteActivity(ctx, in)
}

func (m *Metrics) countEvents(batch []events.Event) {
	for _, e := range batch {
		m.eventsSent.WithLabelValues(e.Type.Short()).Inc()
		switch e.Type {
		case events.RunFinished:
			var d events.RunData
			if json.Unmarshal(e.Data, &d) == nil && d.Result != "" {
				m.runs.WithLabelValues(e.Plan, d.Result).Inc()
			}
		case events.GateEvaluated:
			var d events.GateData
			if json.Unmarshal(e.Data, &d) == nil && d.Status != "" {
				m.gates.WithLabelValues(d.Status).Inc()
			}
		}
	}
}

func taskResult(ctx context.Context, err error) string {
	if err == nil {
		return TaskPassed
	}
	if ctx.Err() != nil || temporal.IsCanceledError(err) || errors.Is(err, context.Canceled) {
		return TaskCanceled
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case task.ErrCheckFailed:
			return TaskCheckFailed
		case task.ErrInvalidParams:
			return TaskInvalidParams
		}
	}
	return TaskError
}
