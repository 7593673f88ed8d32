package metricwatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/azmonitor"
	"github.com/shipshape-dev/shipshape/integrations/cloudwatch"
	"github.com/shipshape-dev/shipshape/integrations/prometheus"
)

// errUnavailable marks a query that failed for a reason a watch
// tolerates (the source down, throttled, timing out), as opposed to a
// query the source refuses.
var errUnavailable = errors.New("source unavailable")

// source is one metrics source, queried for one number.
type source interface {
	// instant is the query's value at at: a Sample with a value, or
	// Empty. Errors are task.InvalidParams (the query is wrong) or wrap
	// errUnavailable.
	instant(ctx context.Context, at time.Time) (Sample, error)
	// points are the query's values from start to end, one per step.
	points(ctx context.Context, start, end time.Time, step time.Duration) ([]Sample, error)
	String() string
}

var (
	_ source = promSource{}
	_ source = cwSource{}
	_ source = azSource{}
)

// source opens the task's source.
func (a *Activities) source(ctx context.Context, p task.Params) (source, error) {
	switch p.String("source") {
	case SourceCloudWatch:
		return a.cloudWatch(ctx, p)
	case SourceAzure:
		return a.azureMonitor(p)
	}
	c, err := a.client(ctx, p)
	if err != nil {
		return nil, err
	}
	return promSource{client: c, query: p.String("query")}, nil
}

// promSource is a Prometheus-compatible API.
type promSource struct {
	client *prometheus.Client
	query  string
}

func (s promSource) String() string { return s.client.String() }

func (s promSource) classify(err error) error {
	switch {
	case errors.Is(err, prometheus.ErrBadQuery):
		return task.InvalidParams("query %q: %v", s.query, err)
	case errors.Is(err, prometheus.ErrUnavailable):
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return task.Failed(task.Output{}, false, "query %q on %s: %v", s.query, s.client, err)
}

func (s promSource) instant(ctx context.Context, at time.Time) (Sample, error) {
	series, err := s.client.Query(ctx, s.query, at)
	if err != nil {
		return Sample{}, s.classify(err)
	}
	return one(s.query, at, series)
}

func (s promSource) points(ctx context.Context, start, end time.Time, step time.Duration) ([]Sample, error) {
	series, err := s.client.QueryRange(ctx, s.query, start, end, step)
	if err != nil {
		return nil, s.classify(err)
	}
	if len(series) > 1 {
		if _, err := one(s.query, end, series); err != nil {
			return nil, err
		}
	}
	var out []Sample
	if len(series) == 1 {
		for _, p := range series[0].Points {
			out = append(out, Sample{At: p.At, Value: p.Value})
		}
	}
	return out, nil
}

// cwSource is CloudWatch: the query is a metric math expression over
// cloudwatch.metrics.
type cwSource struct {
	client   *cloudwatch.Client
	query    cloudwatch.Query
	lookback time.Duration
}

func (a *Activities) cloudWatch(ctx context.Context, p task.Params) (source, error) {
	cw := p.Object("cloudwatch")
	open := a.cfg.CloudWatch
	if open == nil {
		open = cloudwatch.New
	}
	c, err := open(ctx, cw.String("region"))
	if err != nil {
		return nil, task.InvalidParams("cloudwatch: %v", err)
	}
	q := cloudwatch.Query{Expression: p.String("query"), Period: cw.Duration("period")}
	if q.Period <= 0 {
		q.Period = time.Minute
	}
	lookback := cw.Duration("lookback")
	if lookback <= 0 {
		lookback = 10 * time.Minute
	}
	for _, m := range cw.Objects("metrics") {
		stat := m.String("stat")
		if stat == "" {
			stat = "Average"
		}
		q.Metrics = append(q.Metrics, cloudwatch.Metric{ID: m.String("id"), Namespace: m.String("namespace"),
			Name: m.String("metric"), Dimensions: m.StringMap("dimensions"), Stat: stat})
	}
	return cwSource{client: c, query: q, lookback: max(lookback, q.Period)}, nil
}

func (s cwSource) String() string { return s.client.String() }

func (s cwSource) classify(err error) error {
	if errors.Is(err, cloudwatch.ErrBadQuery) {
		return task.InvalidParams("query %q (%s): %v", s.query.Expression, s.metrics(), err)
	}
	if errors.Is(err, cloudwatch.ErrUnavailable) {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return task.Failed(task.Output{}, false, "query %q on %s: %v", s.query.Expression, s.client, err)
}

// metrics names the query's metrics, for messages.
func (s cwSource) metrics() string {
	var names []string
	for _, m := range s.query.Metrics {
		names = append(names, m.ID+" = "+m.Namespace+" "+m.Name)
	}
	return strings.Join(names, ", ")
}

func (s cwSource) instant(ctx context.Context, at time.Time) (Sample, error) {
	q := s.query
	q.End = at.Truncate(q.Period)
	q.Start = q.End.Add(-s.lookback)
	pts, err := s.client.Points(ctx, q)
	if err != nil {
		return Sample{}, s.classify(err)
	}
	if len(pts) == 0 {
		return Sample{At: at, Empty: true}, nil
	}
	v := pts[len(pts)-1].Value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Sample{At: at, Empty: true}, nil
	}
	return Sample{At: at, Value: v}, nil
}

func (s cwSource) points(ctx context.Context, start, end time.Time, step time.Duration) ([]Sample, error) {
	q := s.query
	q.Start, q.End, q.Period = start, end.Add(step), step
	pts, err := s.client.Points(ctx, q)
	if err != nil {
		return nil, s.classify(err)
	}
	out := make([]Sample, 0, len(pts))
	for _, p := range pts {
		out = append(out, Sample{At: p.At, Value: p.Value})
	}
	return out, nil
}

// azSource is one Azure Monitor metric of one resource.
type azSource struct {
	client   *azmonitor.Client
	query    azmonitor.Query
	lookback time.Duration
}

func (a *Activities) azureMonitor(p task.Params) (source, error) {
	az := p.Object("azureMonitor")
	open := a.cfg.AzureMonitor
	if open == nil {
		open = func() (*azmonitor.Client, error) {
			cred, err := azidentity.NewDefaultAzureCredential(nil)
			if err != nil {
				return nil, err
			}
			return azmonitor.New(cred, nil)
		}
	}
	c, err := open()
	if err != nil {
		return nil, task.InvalidParams("azureMonitor: %v", err)
	}
	q := azmonitor.Query{Resource: az.String("resource"), Namespace: az.String("namespace"), Metric: az.String("metric"),
		Aggregation: az.String("aggregation"), Filter: az.String("filter"), Interval: az.Duration("interval")}
	if q.Aggregation == "" {
		q.Aggregation = "Average"
	}
	if q.Interval <= 0 {
		q.Interval = time.Minute
	}
	lookback := az.Duration("lookback")
	if lookback <= 0 {
		lookback = 10 * time.Minute
	}
	return azSource{client: c, query: q, lookback: max(lookback, q.Interval)}, nil
}

func (s azSource) String() string { return "Azure Monitor" }

func (s azSource) classify(err error) error {
	if errors.Is(err, azmonitor.ErrBadQuery) {
		return task.InvalidParams("metric %s of %s: %v", s.query.Metric, s.query.Resource, err)
	}
	if errors.Is(err, azmonitor.ErrUnavailable) {
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return task.Failed(task.Output{}, false, "metric %s of %s: %v", s.query.Metric, s.query.Resource, err)
}

func (s azSource) instant(ctx context.Context, at time.Time) (Sample, error) {
	q := s.query
	q.End = at.Truncate(q.Interval)
	q.Start = q.End.Add(-s.lookback)
	pts, err := s.client.Points(ctx, q)
	if err != nil {
		return Sample{}, s.classify(err)
	}
	if len(pts) == 0 {
		return Sample{At: at, Empty: true}, nil
	}
	return Sample{At: at, Value: pts[len(pts)-1].Value}, nil
}

func (s azSource) points(ctx context.Context, start, end time.Time, step time.Duration) ([]Sample, error) {
	q := s.query
	q.Start, q.End, q.Interval = start, end.Add(step), step
	pts, err := s.client.Points(ctx, q)
	if err != nil {
		return nil, s.classify(err)
	}
	out := make([]Sample, 0, len(pts))
	for _, p := range pts {
		out = append(out, Sample{At: p.At, Value: p.Value})
	}
	return out, nil
}
