package metricwatch

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/plan"
)

// SamplesPerRun is how many samples one run of a watch takes before it
// continues as new, carrying its State: about 11 history events a sample
// (a timer, an activity, two workflow tasks) keep a run near 2,700
// events, far below Temporal's limits, whatever the watch's length.
const SamplesPerRun = 240

// State is what a watch carries across continue-as-new: its start, the
// next sample's slot and its statistics (bounded: see Stats).
type State struct {
	Started time.Time `json:"started"`
	// Next is the slot of the next sample: it is due at Started + Next ×
	// interval.
	Next  int   `json:"next"`
	Stats Stats `json:"stats"`
	// Runs counts the continue-as-new so far.
	Runs int `json:"runs"`
}

// Workflow runs a metric-watch task. A watch samples with one activity
// per sample and workflow timers in between, and continues as new every
// SamplesPerRun samples with its State as the second argument (the phase
// starts it with the task's Input alone: a zero State). A child that
// continues as new still completes its parent's future, with its last
// run's result.
func Workflow(ctx workflow.Context, in task.Input, carried State) (task.Output, error) {
	r, err := rulesOf(in)
	if err != nil {
		return task.Output{}, taskrun.AppError(err)
	}
	w := &watch{in: in, rules: r, State: carried}
	p := in.Params
	switch {
	case p.Object("slo") != nil:
		return w.slo(ctx)
	case p.String("mode") == ModeWindow:
		return w.window(ctx)
	case p.String("mode") == ModeWatch:
		return w.watch(ctx)
	}
	return w.now(ctx)
}

// rulesOf reads how samples are judged from the task's parameters and
// gates: threshold, else the gates on watch.last.
func rulesOf(in task.Input) (Rules, error) {
	p := in.Params
	r := Rules{OnEmpty: p.String("onEmpty"), FailureLimit: p.Int("failureLimit"),
		ConsecutiveLimit: p.Int("consecutiveFailureLimit"), ErrorLimit: p.Int("queryErrorLimit"), AbortOn: in.AbortOn}
	if t := p.String("threshold"); t != "" {
		th, err := plan.ParseThreshold(t, plan.Unit(p.String("unit")))
		if err != nil {
			return r, task.InvalidParams("threshold: %v", err)
		}
		r.Thresholds = []plan.Threshold{th}
	} else if p.String("mode") != ModeNow {
		// In mode now the one sample is watch.last: its gates judge it,
		// showing its value, rather than failing the task.
		for _, g := range in.Gates {
			if g.Metric == MetricLast {
				r.Thresholds = append(r.Thresholds, g.Pass)
			}
		}
	}
	return r, nil
}

// watch is one run of the workflow.
type watch struct {
	in    task.Input
	rules Rules
	State
}

// queryOptions are a query activity's: short, retried by the task's
// policy (a watch's samples by a tighter one, see sampleOptions).
func (w *watch) queryOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: w.in.Params.Duration("queryTimeout") + 30*time.Second,
		RetryPolicy:         taskrun.RetryPolicy(w.in.Retry),
	})
}

func (w *watch) now(ctx workflow.Context) (task.Output, error) {
	w.Started = workflow.Now(ctx)
	var s Sample
	err := workflow.ExecuteActivity(w.queryOptions(ctx), SampleActivity, SampleInput{Task: w.in, At: w.Started, Seq: 1, Total: 1}).Get(ctx, &s)
	if err != nil {
		return w.failed(ctx, err)
	}
	w.Stats.Add(s, 0, w.rules)
	return w.finish()
}

func (w *watch) window(ctx workflow.Context) (task.Output, error) {
	var res RangeResult
	err := workflow.ExecuteActivity(w.queryOptions(ctx), RangeActivity, RangeInput{Task: w.in, End: workflow.Now(ctx)}).Get(ctx, &res)
	if err != nil {
		return w.failed(ctx, err)
	}
	w.Started = res.Start
	for _, s := range res.Samples {
		w.Stats.Add(s, s.At.Sub(res.Start), w.rules)
	}
	return w.finish()
}

func (w *watch) watch(ctx workflow.Context) (task.Output, error) {
	p := w.in.Params
	interval, duration := p.Duration("interval"), p.Duration("duration")
	total := int(duration/interval) + 1
	if w.Started.IsZero() {
		w.Started = workflow.Now(ctx)
	}
	// An attempt gets the query's time and a little more: a worker lost
	// mid-sample is noticed then, and the sample is taken again by
	// another (up to three attempts). A sample that cannot be taken
	// within them is a query error, not a stalled watch.
	attempt := p.Duration("queryTimeout") + 5*time.Second
	if workflow.GetVersion(ctx, "metric-watch.sample-attempt", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		attempt += 25 * time.Second
	}
	sampling := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    attempt,
		ScheduleToCloseTimeout: max(interval, 3*attempt),
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 3},
	})
	taken := 0
	for w.Next < total {
		at := w.Started.Add(time.Duration(w.Next) * interval)
		now := workflow.Now(ctx)
		if wait := at.Sub(now); wait > 0 {
			if err := workflow.NewTimer(ctx, wait).Get(ctx, nil); err != nil {
				return w.failed(ctx, err)
			}
		} else if now.Sub(at) >= interval {
			// Behind (the workflow could not run for a while): the slots
			// missed are not sampled after the fact; go on from now's.
			w.Next = int(now.Sub(w.Started) / interval)
			if w.Next >= total {
				break
			}
			at = w.Started.Add(time.Duration(w.Next) * interval)
		}
		var s Sample
		err := workflow.ExecuteActivity(sampling, SampleActivity, SampleInput{Task: w.in, At: at, Seq: w.Next + 1, Total: total, Tolerate: true}).Get(ctx, &s)
		if err != nil {
			var appErr *temporal.ApplicationError
			if ctx.Err() != nil || errors.As(err, &appErr) && appErr.Type() == task.ErrInvalidParams {
				return w.failed(ctx, err)
			}
			s = Sample{At: at, Error: taskrun.CauseMessage(err)}
		}
		w.Stats.Add(s, at.Sub(w.Started), w.rules)
		w.Next++
		taken++
		if outcome, _ := w.Stats.Verdict(w.rules); outcome != Continue {
			break
		}
		if taken >= SamplesPerRun && w.Next < total {
			w.Runs++
			return task.Output{}, workflow.NewContinueAsNewError(ctx, Name, w.in, w.State)
		}
	}
	return w.finish()
}

func (w *watch) slo(ctx workflow.Context) (task.Output, error) {
	w.Started = workflow.Now(ctx)
	var res SLOResult
	if err := workflow.ExecuteActivity(w.queryOptions(ctx), SLOActivity, SLOInput{Task: w.in, At: w.Started}).Get(ctx, &res); err != nil {
		return w.failed(ctx, err)
	}
	out := task.Output{Metrics: res.Metrics, Attempt: 1,
		Output: strings.Join(res.Notes, "\n") + "\nqueries:\n  " + strings.Join(res.Queries, "\n  ")}
	out.Metrics[MetricSamples] = 1
	out.Metrics[MetricEmpty] = 0
	if res.Empty {
		out.Metrics[MetricEmpty] = 1
		if w.rules.OnEmpty == EmptyFail {
			return out, taskrun.AppError(task.CheckFailed(out, "slo: no events over %s (onEmpty fail)", w.in.Params.Object("slo").String("window")))
		}
	}
	return out, nil
}

// output is what the watch measured so far.
func (w *watch) output() task.Output {
	p := w.in.Params
	out := task.Output{Metrics: w.Stats.Metrics(), Attempt: 1}
	if u := plan.Unit(p.String("unit")); u != plan.UnitAny {
		out.Units = map[string]plan.Unit{}
		for _, m := range []string{MetricLast, MetricMin, MetricMax, MetricMean, MetricP95} {
			out.Units[m] = u
		}
	}
	if w.Stats.Samples > 0 {
		out.Series = []plan.Series{w.Stats.Series(queryText(p), plan.Unit(p.String("unit")), w.rules.Thresholds, w.in.Gates)}
		out.Tables = []plan.Table{w.Stats.Table(w.Started)}
	}
	st := w.Stats
	lines := []string{
		"query: " + queryText(p) + " (" + sourceName(p) + ")",
		fmt.Sprintf("%d samples: %d failed (longest streak %d), %d empty, %d query errors", st.Samples, st.Failed, st.LongestStreak, st.Empty, st.Errors),
	}
	if st.N > 0 {
		m := out.Metrics
		lines = append(lines, fmt.Sprintf("last %s, min %s, mean %s, p95 %s, max %s", formatValue(m[MetricLast]), formatValue(m[MetricMin]),
			formatValue(m[MetricMean]), formatValue(m[MetricP95]), formatValue(m[MetricMax])))
	}
	if w.Runs > 0 {
		lines = append(lines, fmt.Sprintf("continued as new %d times", w.Runs))
	}
	out.Output = strings.Join(lines, "\n")
	return out
}

// finish returns the output, failing the task when its own limits
// decide so. A gate that stopped the watch fails on its own, showing its
// value, as the other gates show theirs.
func (w *watch) finish() (task.Output, error) {
	out := w.output()
	outcome, why := w.Stats.Verdict(w.rules)
	switch outcome {
	case LimitBroken:
		if w.Stats.Empty > 0 && w.rules.OnEmpty == EmptyFail && w.in.Params.String("source") == SourceCloudWatch {
			why += ": CloudWatch answers a namespace, metric name or dimension that does not exist with no data, so check them"
		}
		return out, taskrun.AppError(task.CheckFailed(out, "query %q: %s", queryText(w.in.Params), why))
	case TooManyErrors:
		return out, taskrun.AppError(task.Failed(out, true, "query %q on %s: %s", queryText(w.in.Params), sourceName(w.in.Params), why))
	case GateSettled:
		out.Output += "\n" + why
	}
	return out, nil
}

// failed ends the task on an activity's or a timer's error, with what it
// measured so far.
func (w *watch) failed(ctx workflow.Context, err error) (task.Output, error) {
	out := w.output()
	if ctx.Err() != nil {
		return out, temporal.NewCanceledError(out)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return out, temporal.NewApplicationErrorWithOptions(appErr.Message(), appErr.Type(), temporal.ApplicationErrorOptions{
			NonRetryable: true, Details: []any{out}})
	}
	return out, taskrun.AppError(task.Failed(out, true, "%s", taskrun.CauseMessage(err)))
}

// sourceName names the task's source, for messages.
func sourceName(p task.Params) string {
	switch p.String("source") {
	case SourceAzure:
		return "Azure Monitor"
	case SourceCloudWatch:
		if r := p.Object("cloudwatch").String("region"); r != "" {
			return "CloudWatch in " + r
		}
		return "CloudWatch"
	}
	return p.String("url")
}
