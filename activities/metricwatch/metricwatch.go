// Package metricwatch is the metric-watch task type: it queries a metrics
// source (any Prometheus-compatible API) once, over a past window, or
// durably every interval for a duration, judges every sample, and gives
// the samples' statistics, an SLO's availability, error budget and burn
// rates as metrics, and the samples as a series and a table for the
// report. Its Workflow sleeps on workflow timers between samples (a
// sample is one short activity) and continues as new every
// SamplesPerRun samples, so a watch of days keeps a short history.
package metricwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/azmonitor"
	"github.com/shipshape-dev/shipshape/integrations/cloudwatch"
	"github.com/shipshape-dev/shipshape/integrations/prometheus"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/internal/httpclient"
	"github.com/shipshape-dev/shipshape/internal/secretref"
)

// The activities the Workflow calls.
const (
	SampleActivity = "metric-watch.sample"
	RangeActivity  = "metric-watch.range"
	SLOActivity    = "metric-watch.slo"
)

// Config is what the task type's activities share.
type Config struct {
	Logger *slog.Logger
	// Events publishes progress events; nil: none.
	Events taskrun.EventPublisher
	// Secrets opens the stores bearerToken and password name.
	Secrets secretref.Stores
	// HTTPClient queries the sources; nil: a default client.
	HTTPClient *http.Client
	// CloudWatch opens CloudWatch in a region; nil: cloudwatch.New (the
	// AWS SDK's default configuration and credentials).
	CloudWatch func(ctx context.Context, region string) (*cloudwatch.Client, error)
	// AzureMonitor opens Azure Monitor; nil: DefaultAzureCredential on
	// Azure's public cloud.
	AzureMonitor func() (*azmonitor.Client, error)
}

// Activities queries metrics sources.
type Activities struct {
	cfg Config
}

// New returns the task type's activities.
func New(cfg Config) *Activities {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Activities{cfg: cfg}
}

// Type is the task type: its declaration, workflow and activities.
func (a *Activities) Type() task.Type {
	return task.Type{Decl: Decl, Workflow: Workflow, Activities: map[string]any{
		SampleActivity: a.Sample,
		RangeActivity:  a.Range,
		SLOActivity:    a.SLO,
	}}
}

// SampleInput asks for one sample: the query evaluated at At.
type SampleInput struct {
	Task task.Input `json:"task"`
	At   time.Time  `json:"at"`
	// Seq and Total number the sample, for progress.
	Seq   int `json:"seq"`
	Total int `json:"total"`
	// Tolerate: a failed query is a Sample with Error (a watch counts
	// it), not an error of the activity (which would retry).
	Tolerate bool `json:"tolerate,omitempty"`
}

// Sample queries the source once.
func (a *Activities) Sample(ctx context.Context, in SampleInput) (Sample, error) {
	p := in.Task.Params
	src, err := a.source(ctx, p)
	if err != nil {
		return Sample{}, err
	}
	query := queryText(p)
	qctx, cancel := context.WithTimeout(ctx, p.Duration("queryTimeout"))
	defer cancel()
	s, err := src.instant(qctx, in.At)
	switch {
	case err != nil && !errors.Is(err, errUnavailable):
		return Sample{}, err
	case err != nil && !in.Tolerate:
		return Sample{}, task.Failed(task.Output{}, false, "query %q: %v", query, err)
	case err != nil:
		s = Sample{At: in.At, Error: strings.TrimPrefix(err.Error(), errUnavailable.Error()+": ")}
	}
	done := -1.0
	if in.Total > 0 {
		done = float64(in.Seq) / float64(in.Total)
	}
	msg := fmt.Sprintf("sample %d", in.Seq)
	if in.Total > 0 {
		msg += "/" + strconv.Itoa(in.Total)
	}
	progress := task.Progress{Done: done, Message: msg + ": " + describe(s) + " · " + query}
	if !s.Empty && s.Error == "" {
		progress.Metrics = map[string]float64{"watch.sample": s.Value}
	}
	taskrun.NewProgress(a.cfg.Events, a.cfg.Logger, in.Task).Report(ctx, progress)
	return s, nil
}

// describe writes a sample for messages.
func describe(s Sample) string {
	switch {
	case s.Error != "":
		return "query error: " + s.Error
	case s.Empty:
		return "no data"
	}
	return formatValue(s.Value)
}

// one reads a result that must be one number: no series is empty, NaN
// and ±Inf are no number.
func one(query string, at time.Time, series []prometheus.Series) (Sample, error) {
	s := Sample{At: at}
	switch len(series) {
	case 0:
		s.Empty = true
		return s, nil
	case 1:
	default:
		var names []string
		for i, e := range series {
			if i == 3 {
				names = append(names, "…")
				break
			}
			names = append(names, prometheus.FormatLabels(e.Labels))
		}
		return s, task.InvalidParams("query %q gives %d series (%s), not one number: aggregate them (sum, max, avg)", query, len(series), strings.Join(names, ", "))
	}
	if len(series[0].Points) == 0 {
		s.Empty = true
		return s, nil
	}
	v := series[0].Points[len(series[0].Points)-1].Value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		s.Empty = true
		return s, nil
	}
	s.Value = v
	return s, nil
}

// RangeInput asks for the window mode's samples: the query over the
// window that ends at End.
type RangeInput struct {
	Task task.Input `json:"task"`
	End  time.Time  `json:"end"`
}

// RangeResult is the window's samples, one per step, in order; a step
// without a point is an empty sample.
type RangeResult struct {
	Start   time.Time `json:"start"`
	Samples []Sample  `json:"samples"`
}

// Range queries the source over the window.
func (a *Activities) Range(ctx context.Context, in RangeInput) (RangeResult, error) {
	p := in.Task.Params
	src, err := a.source(ctx, p)
	if err != nil {
		return RangeResult{}, err
	}
	query := queryText(p)
	step, window := p.Duration("step"), p.Duration("window")
	end := in.End.Truncate(step)
	start := end.Add(-window)
	qctx, cancel := context.WithTimeout(ctx, p.Duration("queryTimeout"))
	defer cancel()
	points, err := src.points(qctx, start, end, step)
	if errors.Is(err, errUnavailable) {
		return RangeResult{}, task.Failed(task.Output{}, false, "query %q: %v", query, err)
	}
	if err != nil {
		return RangeResult{}, err
	}
	out := RangeResult{Start: start}
	i, data := 0, 0
	for at := start; !at.After(end); at = at.Add(step) {
		s := Sample{At: at, Empty: true}
		for i < len(points) && points[i].At.Before(at) {
			i++
		}
		if i < len(points) && points[i].At.Equal(at) {
			if v := points[i].Value; !math.IsNaN(v) && !math.IsInf(v, 0) {
				s = Sample{At: at, Value: v}
				data++
			}
		}
		out.Samples = append(out.Samples, s)
	}
	taskrun.NewProgress(a.cfg.Events, a.cfg.Logger, in.Task).Report(ctx, task.Progress{Done: 1,
		Message: fmt.Sprintf("%d points over %s (%d with data) · %s", len(out.Samples), window, data, query)})
	return out, nil
}

// client builds the source's client from the task's parameters, its
// credentials resolved from the worker's environment or a secret store.
func (a *Activities) client(ctx context.Context, p task.Params) (*prometheus.Client, error) {
	var auth prometheus.Auth
	var err error
	if auth.BearerToken, err = a.credential(ctx, p, "bearerTokenEnv", "bearerToken"); err != nil {
		return nil, err
	}
	if auth.Password, err = a.credential(ctx, p, "passwordEnv", "password"); err != nil {
		return nil, err
	}
	auth.Username = p.String("username")
	hc := a.cfg.HTTPClient
	if ca := p.String("caFile"); ca != "" {
		tlsCfg, err := httpclient.TLSFiles{CA: ca}.Apply(nil)
		if err != nil {
			return nil, task.InvalidParams("%v", err)
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsCfg
		hc = &http.Client{Transport: transport}
	}
	c, err := prometheus.New(prometheus.Config{URL: p.String("url"), Auth: auth, HTTPClient: hc})
	if err != nil {
		return nil, task.InvalidParams("url: %v", err)
	}
	return c, nil
}

// credential reads a secret from the environment variable envParam
// names or the secret reference refParam holds; empty when neither.
func (a *Activities) credential(ctx context.Context, p task.Params, envParam, refParam string) (string, error) {
	if name := p.String(envParam); name != "" {
		v := os.Getenv(name)
		if v == "" {
			return "", task.InvalidParams("%s: the worker's environment variable %s is empty or unset", envParam, name)
		}
		return v, nil
	}
	text := p.String(refParam)
	if text == "" {
		return "", nil
	}
	ref, err := secretstore.ParseRef(text)
	if err != nil {
		return "", task.InvalidParams("%s: %v", refParam, err)
	}
	store, err := a.cfg.Secrets.Open(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("%s: open %s: %w", refParam, ref, err)
	}
	v, _, err := store.Get(ctx, ref.Name, secretstore.Current)
	if errors.Is(err, secretstore.ErrNotFound) {
		return "", task.InvalidParams("%s: %s has no current value", refParam, ref)
	}
	if err != nil {
		return "", fmt.Errorf("%s: read %s: %w", refParam, ref, err)
	}
	return strings.TrimSpace(string(v)), nil
}

// checkURL checks a source URL's form.
func checkURL(s string) error {
	_, err := prometheus.New(prometheus.Config{URL: s})
	return err
}

// queryText is what the task queries, for messages and the report: the
// query, or an Azure Monitor metric.
func queryText(p task.Params) string {
	if p.String("source") == SourceAzure {
		az := p.Object("azureMonitor")
		text := az.String("aggregation") + " " + az.String("metric") + " of " + az.String("resource")
		if f := az.String("filter"); f != "" {
			text += " where " + f
		}
		return strings.TrimSpace(text)
	}
	if p.String("source") == SourceCloudWatch {
		// The expression names metric IDs: say what each one is, so an
		// empty result (CloudWatch's answer to a namespace, metric or
		// dimension that does not exist) names what was asked for.
		var defs []string
		for _, m := range p.Object("cloudwatch").Objects("metrics") {
			def := m.String("id") + " = " + m.String("namespace") + " " + m.String("metric")
			// The dimensions are sorted: the same text on every replay.
			def += dimensionsText(m) //workflowcheck:ignore
			stat := m.String("stat")
			if stat == "" {
				stat = "Average"
			}
			defs = append(defs, def+" "+stat)
		}
		if len(defs) > 0 {
			return p.String("query") + " where " + strings.Join(defs, "; ")
		}
	}
	return p.String("query")
}

// dimensionsText writes a CloudWatch metric's dimensions, sorted:
// " {LoadBalancer=app/web/1}", or "" without any.
func dimensionsText(m task.Params) string {
	dims := m.StringMap("dimensions")
	if len(dims) == 0 {
		return ""
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		kv = append(kv, k+"="+dims[k])
	}
	return " {" + strings.Join(kv, ", ") + "}"
}
