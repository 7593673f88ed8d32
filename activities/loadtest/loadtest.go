package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/internal/httpclient"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the loadtest task type.
const Name = "loadtest"

const (
	// maxBodyFile bounds a target's bodyFile, which is held in memory.
	maxBodyFile = 10 << 20
	// minAbortSample is how many responses, and abortAfter how long a
	// measurement, an abortOnFail gate needs before it may stop a test:
	// the first few responses say little about a percentile or a ratio.
	minAbortSample = 20
	abortAfter     = time.Second
	// maxSeriesRows bounds the per-second table, which travels in the
	// activity result; longer tests get one row per few seconds.
	maxSeriesRows = 600
)

// Decl declares the loadtest task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Sends HTTP load with vegeta and measures latency (HDR histogram, microsecond precision), throughput and errors. " +
		"Open model: `rate` or `stages` start requests on a schedule whatever the responses do, so slow responses cannot hide latency (no coordinated omission). " +
		"Closed model: `users` each send their next request when the last one is answered, for maximum-throughput tests. " +
		"The hosts it may hit must be allowed by the plan ([Load safety](#load-safety)). " +
		"It reports progress every second, keeps a per-second table (requests, p50, p95, p99, errors) and, with an artifact directory, draws latency over time and a latency histogram as SVG. " +
		"A retried attempt runs the whole test again, and its output says so.",
	Params: []plan.Param{
		{Name: "targets", Type: plan.TypeObjectList, Required: true, Doc: "The requests to send, each in proportion to its weight.", Fields: []plan.Param{
			{Name: "url", Type: plan.TypeString, Required: true, Safety: plan.SafetyHost, Doc: "Absolute http:// or https:// URL."},
			{Name: "method", Type: plan.TypeString, Default: "GET", Doc: "HTTP method."},
			{Name: "headers", Type: plan.TypeStringMap, Doc: "Request headers (`Host` sets the virtual host)."},
			{Name: "body", Type: plan.TypeString, Doc: "Request body."},
			{Name: "bodyFile", Type: plan.TypeString, Doc: "File whose content is the request body (at most 10 MiB), relative to the worker's working directory; instead of body."},
			{Name: "weight", Type: plan.TypeNumber, Default: 1, Doc: "Share of the requests: a target of weight 3 gets three times the requests of one of weight 1. 0 sends it none."},
		}},
		{Name: "rate", Type: plan.TypeRate, Safety: plan.SafetyRate, Doc: "Open model: requests started per unit of time (`500/s`), for `duration`."},
		{Name: "stages", Type: plan.TypeObjectList, Doc: "Open model with a ramp, instead of rate: each stage takes the rate linearly from where the one before ended (0 for the first) to its target. The test lasts their total.", Fields: []plan.Param{
			{Name: "duration", Type: plan.TypeDuration, Required: true, Doc: "How long the stage lasts."},
			{Name: "target", Type: plan.TypeRate, Required: true, Safety: plan.SafetyRate, Doc: "The rate at the stage's end (`0` to ramp down)."},
		}},
		{Name: "users", Type: plan.TypeInt, Safety: plan.SafetyConcurrency, Doc: "Closed model, instead of rate: this many users, each sending its next request as soon as the last one is answered, for `duration`."},
		{Name: "duration", Type: plan.TypeDuration, Doc: "How long to measure, with rate or users (stages set their own)."},
		{Name: "warmup", Type: plan.TypeDuration, Default: "0s", Doc: "Load sent before measuring starts, at the starting rate (the first stage's target) or with all users, to warm connections and caches; not measured."},
		{Name: "timeout", Type: plan.TypeDuration, Default: "30s", Doc: "Limit for each request, until its body is read; a request that takes longer counts as an error."},
		{Name: "maxConnections", Type: plan.TypeInt, Default: 0, Doc: "Most connections per host; 0: no cap. With a cap, requests that wait for a connection count the wait in their latency."},
		{Name: "workers", Type: plan.TypeInt, Default: 10, Doc: "Workers the open model starts with; it adds workers whenever all are busy, so the schedule holds."},
		{Name: "keepAlive", Type: plan.TypeBool, Default: true, Doc: "Reuse connections; false opens one per request."},
		{Name: "http2", Type: plan.TypeBool, Default: true, Doc: "Let https targets negotiate HTTP/2; false keeps HTTP/1.1. (http:// targets use HTTP/1.1.)"},
		{Name: "client", Type: plan.TypeString, Default: "auto", Enum: []string{"auto", "net/http"}, Doc: "HTTP client. `auto`: a purpose-built HTTP/1.1 client (fasthttp) for http targets and https targets without HTTP/2, with no proxy from the environment: it costs a fraction of the CPU per request, so more of a small machine goes to the target; Go's `net/http` for the rest. `net/http`: always Go's client. Both measure the same way."},
		{Name: "insecureSkipVerify", Type: plan.TypeBool, Default: false, Doc: "Accept any TLS certificate."},
		{Name: "caFile", Type: plan.TypeString, Doc: "PEM file of CA certificates trusted on top of the system's, for targets behind a private CA."},
		{Name: "clientCert", Type: plan.TypeString, Doc: "PEM file of a client certificate presented to targets that ask for one (mutual TLS); with clientKey."},
		{Name: "clientKey", Type: plan.TypeString, Doc: "PEM file of clientCert's private key."},
		{Name: "allow", Type: plan.TypeStringList, Safety: plan.SafetyAllowHosts, Doc: "Hosts this task may load, on top of `spec.allowedHosts`, written the same way."},
	},
	Metrics: []plan.Metric{
		{Name: "http.requests", Unit: plan.UnitCount, Doc: "Responses measured (failed requests included; warmup not)."},
		{Name: "http.rps", Unit: plan.UnitCount, Doc: "Achieved rate: measured requests per second of the measured duration."},
		{Name: "http.latency.p50", Unit: plan.UnitSeconds, Doc: "Median latency, from sending the request until its body is read; failed requests included, so timeouts show."},
		{Name: "http.latency.p90", Unit: plan.UnitSeconds, Doc: "90th percentile latency."},
		{Name: "http.latency.p95", Unit: plan.UnitSeconds, Doc: "95th percentile latency."},
		{Name: "http.latency.p99", Unit: plan.UnitSeconds, Doc: "99th percentile latency."},
		{Name: "http.latency.max", Unit: plan.UnitSeconds, Doc: "Slowest response."},
		{Name: "http.latency.mean", Unit: plan.UnitSeconds, Doc: "Mean latency."},
		{Name: "http.errors.rate", Unit: plan.UnitRatio, Doc: "Failed requests / requests: no response in time, a connection error, or a status below 200 or from 400."},
		{Name: "http.errors.count", Unit: plan.UnitCount, Doc: "Failed requests."},
		{Name: "http.status.<code>", Unit: plan.UnitCount, Doc: "Responses with status <code> (`http.status.200`)."},
		{Name: "http.bytes.in", Unit: plan.UnitBytes, Doc: "Response body bytes received (no compression is asked for)."},
		{Name: "http.bytes.out", Unit: plan.UnitBytes, Doc: "Request body bytes sent."},
	},
	Timeout:     30 * time.Minute,
	Heartbeat:   10 * time.Second,
	MaxAttempts: 2,
	AbortOnFail: true,
	Check:       checkLoadTest,
}

// checkLoadTest checks, at validation, what the declarations cannot: one
// load model, with a duration where it needs one.
func checkLoadTest(with map[string]any) []plan.ParamProblem {
	p := task.Params(with)
	var problems []plan.ParamProblem
	add := func(param, format string, args ...any) {
		problems = append(problems, plan.ParamProblem{Param: param, Msg: fmt.Sprintf(format, args...)})
	}
	_, hasRate := with["rate"]
	_, hasStages := with["stages"]
	_, hasUsers := with["users"]
	_, hasDuration := with["duration"]
	models := 0
	for _, set := range []bool{hasRate, hasStages, hasUsers} {
		if set {
			models++
		}
	}
	switch {
	case models == 0:
		add("", "give rate (open model, constant), stages (open model, ramp) or users (closed model)")
	case models > 1:
		add("", "give only one of rate, stages and users")
	case hasStages && hasDuration:
		add("duration", "stages set how long the test lasts: leave duration out")
	case !hasStages && !hasDuration:
		add("duration", "required with rate or users")
	}
	if hasDuration && p.Duration("duration") <= 0 {
		add("duration", "must be more than zero")
	}
	if hasRate {
		if r, _ := plan.ParseRate(p.String("rate")); r <= 0 {
			add("rate", "must be more than zero")
		}
	}
	if hasUsers && p.Int("users") < 1 {
		add("users", "must be at least 1")
	}
	if hasStages {
		var total time.Duration
		var most float64
		for _, s := range p.Objects("stages") {
			total += s.Duration("duration")
			r, _ := plan.ParseRate(s.String("target"))
			most = max(most, r)
		}
		if total <= 0 || most <= 0 {
			add("stages", "the stages send no request: give one a duration and a target above 0")
		}
	}
	if p.Int("workers") < 1 {
		add("workers", "must be at least 1")
	}
	if p.Int("maxConnections") < 0 {
		add("maxConnections", "must not be negative")
	}
	if p.Duration("timeout") <= 0 {
		add("timeout", "must be more than zero")
	}
	var weights float64
	for i, t := range p.Objects("targets") {
		if _, ok := t["body"]; ok && t.String("bodyFile") != "" {
			add("targets", "targets[%d]: give body or bodyFile, not both", i)
		}
		w := targetWeight(t)
		if w < 0 {
			add("targets", "targets[%d]: weight must not be negative", i)
		}
		weights += max(w, 0)
	}
	if weights <= 0 {
		add("targets", "the weights add up to 0: no target would get a request")
	}
	return problems
}

// targetWeight is a target's weight, 1 when not given.
func targetWeight(t task.Params) float64 {
	if _, ok := t["weight"]; !ok {
		return 1
	}
	return t.Number("weight")
}

// Tester runs loadtest tasks.
type Tester struct {
	logger *slog.Logger
	events taskrun.EventPublisher
}

// New returns a Tester that logs to logger (nil: slog's default) and
// publishes progress events to events (nil: none).
func New(logger *slog.Logger, events taskrun.EventPublisher) *Tester {
	if logger == nil {
		logger = slog.Default()
	}
	return &Tester{logger: logger, events: events}
}

// Type is the loadtest task type, run by t.
func (t *Tester) Type() task.Type { return task.Type{Decl: Decl, Run: t.LoadTest} }

// LoadTest sends the load a loadtest task describes and reports what it
// measured. The gates in in.AbortOn are checked every second and the
// first to fail stops the test; the metrics so far are reported and the
// gate fails in the workflow, like any other.
func (t *Tester) LoadTest(ctx context.Context, in task.Input) (task.Output, error) {
	cfg, err := loadTestConfig(in.Params)
	if err != nil {
		return task.Output{}, err
	}
	cfg.AllowedHosts = in.AllowedHosts
	info := activity.GetInfo(ctx)
	total := cfg.Warmup + cfg.Measured()
	if !info.Deadline.IsZero() {
		if left := time.Until(info.Deadline); left < total+cfg.Timeout {
			return task.Output{}, task.InvalidParams("warmup, duration and one request timeout take %s, more than the %s the task's timeout leaves: raise the task's timeout",
				total+cfg.Timeout, left.Round(time.Second))
		}
	}
	log := t.logger.With(slog.String("task", in.Phase+"/"+in.Task), slog.Int("attempt", int(info.Attempt)))
	log.InfoContext(ctx, "load test started", slog.String("load", describeLoad(cfg)), slog.Int("targets", len(cfg.Targets)))

	progress := taskrun.NewProgress(t.events, t.logger, in)
	res, err := Run(ctx, cfg, func(s Snapshot) string {
		progress.Report(ctx, loadProgress(s, total))
		if s.Warmup || s.Measured < abortAfter || s.Requests < minAbortSample {
			return ""
		}
		return failedGate(in.AbortOn, s)
	})
	if err != nil {
		if ctx.Err() != nil {
			log.InfoContext(ctx, "load test cancelled")
			return task.Output{}, fmt.Errorf("load test stopped: %w", ctx.Err())
		}
		return task.Output{}, task.InvalidParams("%v", err)
	}

	out := task.Output{Metrics: res.Metrics}
	out.Tables = loadTables(cfg, res)
	out.Series = []plan.Series{latencySeries(res.Series, maxSeriesRows, in.Gates)}
	var notes []string
	if info.Attempt > 1 {
		notes = append(notes, fmt.Sprintf("restarted: attempt %d ran the whole test again; what earlier attempts measured is discarded", info.Attempt))
	}
	if in.ArtifactDir != "" {
		artifacts, err := writeLoadCharts(in, res)
		if err != nil {
			// Charts are a view of data the result keeps: losing them is
			// not worth running the test again.
			log.WarnContext(ctx, "load test charts not written", slog.String("error", err.Error()))
			notes = append(notes, "charts not written: "+err.Error())
		}
		out.Artifacts = artifacts
	}
	out.Output = loadSummary(cfg, res, notes)
	log.InfoContext(ctx, "load test finished",
		slog.Float64("requests", res.Metrics["http.requests"]), slog.Float64("rps", res.Metrics["http.rps"]),
		slog.Float64("p95_seconds", res.Metrics["http.latency.p95"]), slog.Float64("errors", res.Metrics["http.errors.count"]),
		slog.String("stopped", res.Stopped))

	if n := res.Metrics["http.requests"]; n > 0 && res.Metrics["http.errors.count"] == n {
		// Nothing answered: a measurement of nothing, and a retry would
		// only send the same load at a target that is not there.
		return task.Output{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("every request failed (%s)", res.Errors[0].Error), task.ErrCheckFailed, nil, out)
	}
	return out, nil
}

// loadTestConfig turns a loadtest task's parameters into a run's Config,
// reading body files.
func loadTestConfig(p task.Params) (Config, error) {
	for _, problem := range checkLoadTest(p) {
		if problem.Param != "" {
			return Config{}, task.InvalidParams("%s: %s", problem.Param, problem.Msg)
		}
		return Config{}, task.InvalidParams("%s", problem.Msg)
	}
	cfg := Config{
		Duration:           p.Duration("duration"),
		Warmup:             p.Duration("warmup"),
		Timeout:            p.Duration("timeout"),
		Users:              p.Int("users"),
		MaxConnections:     p.Int("maxConnections"),
		Workers:            p.Int("workers"),
		KeepAlive:          p.Bool("keepAlive"),
		HTTP2:              p.Bool("http2"),
		NetHTTP:            p.String("client") == "net/http",
		InsecureSkipVerify: p.Bool("insecureSkipVerify"),
	}
	files := httpclient.TLSFiles{CA: p.String("caFile"), Cert: p.String("clientCert"), Key: p.String("clientKey")}
	if !files.Empty() {
		tlsConfig, err := files.Apply(nil)
		if errors.Is(err, httpclient.ErrFile) {
			return cfg, task.InvalidParams("%v", err)
		}
		if err != nil {
			return cfg, err
		}
		cfg.TLS = tlsConfig
	}
	if text := p.String("rate"); text != "" {
		rate, err := plan.ParseRate(text)
		if err != nil {
			return cfg, task.InvalidParams("rate: %v", err)
		}
		cfg.Rate = rate
	}
	for i, s := range p.Objects("stages") {
		target, err := plan.ParseRate(s.String("target"))
		if err != nil {
			return cfg, task.InvalidParams("stages[%d].target: %v", i, err)
		}
		cfg.Stages = append(cfg.Stages, Stage{Duration: s.Duration("duration"), Target: target})
	}
	for i, t := range p.Objects("targets") {
		target := Target{
			Method: strings.ToUpper(strings.TrimSpace(t.String("method"))),
			URL:    t.String("url"),
			Header: http.Header{},
			Body:   []byte(t.String("body")),
			Weight: targetWeight(t),
		}
		if target.Method == "" {
			target.Method = http.MethodGet
		}
		if _, err := http.NewRequest(target.Method, target.URL, nil); err != nil {
			return cfg, task.InvalidParams("targets[%d]: %v", i, err)
		}
		headers := t.StringMap("headers")
		for _, k := range slices.Sorted(maps.Keys(headers)) {
			target.Header.Set(k, headers[k])
		}
		if file := t.String("bodyFile"); file != "" {
			body, err := readBodyFile(file)
			if err != nil {
				return cfg, task.InvalidParams("targets[%d].bodyFile: %v", i, err)
			}
			target.Body = body
		}
		cfg.Targets = append(cfg.Targets, target)
	}
	if err := cfg.Check(); err != nil {
		return cfg, task.InvalidParams("%v", err)
	}
	return cfg, nil
}

func readBodyFile(file string) ([]byte, error) {
	st, err := os.Stat(file)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, err
	case err != nil:
		return nil, err
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory", file)
	case st.Size() > maxBodyFile:
		return nil, fmt.Errorf("%s is larger than %d bytes", file, maxBodyFile)
	}
	return os.ReadFile(file)
}

// loadProgress is what a second of a run looks like in heartbeats and
// task.progress events.
func loadProgress(s Snapshot, total time.Duration) task.Progress {
	done := 1.0
	if total > 0 {
		done = min(s.Elapsed.Seconds()/total.Seconds(), 1)
	}
	elapsed := s.Elapsed.Round(time.Second)
	if s.Warmup {
		return task.Progress{Done: done, Message: fmt.Sprintf("%s of %s: warming up", elapsed, total)}
	}
	msg := fmt.Sprintf("%s of %s · %d requests · %s/s · p95 %s · %d errors",
		elapsed, total, s.Requests, strconv.FormatFloat(s.Rate, 'f', 0, 64), FormatLatency(s.P95), s.Errors)
	return task.Progress{Done: done, Message: msg, Metrics: map[string]float64{
		"elapsed":           s.Elapsed.Seconds(),
		"http.requests":     float64(s.Requests),
		"http.rps":          s.Rate,
		"http.latency.p95":  s.P95.Seconds(),
		"http.errors.count": float64(s.Errors),
	}}
}

// failedGate returns why the first abort gate that fails on the results
// so far stops the test, or "".
func failedGate(gates []plan.Gate, s Snapshot) string {
	for _, r := range plan.EvaluateGates(gates, s.Metrics, "") {
		if r.Status == plan.StatusFail && r.Value != nil {
			return fmt.Sprintf("gate %s %s failed after %s of measuring (%s), and it has abortOnFail",
				r.Metric, r.Pass, s.Measured.Round(time.Second), formatLoadMetric(r.Metric, *r.Value))
		}
	}
	return ""
}

// formatLoadMetric writes a metric of the loadtest type in its unit.
func formatLoadMetric(name string, v float64) string {
	m, _ := Decl.Metric(name)
	switch m.Unit {
	case plan.UnitSeconds:
		return FormatLatency(time.Duration(v * float64(time.Second)))
	case plan.UnitRatio:
		pct := strconv.FormatFloat(v*100, 'f', 2, 64)
		return strings.TrimSuffix(strings.TrimRight(strings.TrimRight(pct, "0"), "."), ".") + "%"
	case plan.UnitBytes:
		return formatSize(v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func formatSize(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// describeLoad says what load a run sends: "200/s for 3s".
func describeLoad(c Config) string {
	var s string
	switch {
	case c.Users > 0:
		s = fmt.Sprintf("%d users for %s", c.Users, c.Duration)
	case len(c.Stages) > 0:
		parts := make([]string, len(c.Stages))
		for i, st := range c.Stages {
			parts[i] = fmt.Sprintf("%s to %s", st.Duration, rateText(st.Target))
		}
		s = "ramp " + strings.Join(parts, ", then ")
	default:
		s = fmt.Sprintf("%s for %s", rateText(c.Rate), c.Duration)
	}
	if c.Warmup > 0 {
		s += fmt.Sprintf(", after %s of warmup", c.Warmup)
	}
	return s
}

func rateText(perSecond float64) string {
	return strconv.FormatFloat(perSecond, 'f', -1, 64) + "/s"
}

// loadTables are the summary, the per-second series and the errors.
func loadTables(c Config, res *Result) []plan.Table {
	m := res.Metrics
	latency := func(name string) string {
		v, ok := m[name]
		if !ok {
			return "—"
		}
		return FormatLatency(time.Duration(v * float64(time.Second)))
	}
	errs := strconv.FormatFloat(m["http.errors.count"], 'f', 0, 64)
	if rate, ok := m["http.errors.rate"]; ok {
		errs += " (" + strconv.FormatFloat(rate*100, 'f', 2, 64) + "%)"
	}
	summary := plan.Table{
		Title:   "Load test",
		Kind:    plan.TableSummary,
		Columns: []string{"load", "requests", "achieved", "p50", "p90", "p95", "p99", "max", "errors"},
		Rows: [][]string{{
			describeLoad(c), strconv.FormatFloat(m["http.requests"], 'f', 0, 64),
			strconv.FormatFloat(m["http.rps"], 'f', 1, 64) + "/s",
			latency("http.latency.p50"), latency("http.latency.p90"), latency("http.latency.p95"),
			latency("http.latency.p99"), latency("http.latency.max"), errs,
		}},
	}
	tables := []plan.Table{summary, seriesTable(res.Series)}
	if len(res.Errors) > 0 {
		t := plan.Table{Title: "Errors", Columns: []string{"error", "count"}}
		for _, e := range res.Errors {
			t.Rows = append(t.Rows, []string{e.Error, strconv.FormatInt(e.Count, 10)})
		}
		tables = append(tables, t)
	}
	return tables
}

// seriesTable is the per-second time series; beyond maxSeriesRows seconds,
// consecutive seconds are merged, and a merged row shows the worst of its
// seconds' percentiles. It is the text form of latencySeries (Kind
// series), for reports that draw no charts.
func seriesTable(series []Second) plan.Table {
	groups := groupSeconds(series, maxSeriesRows)
	t := plan.Table{Title: "Per second", Kind: plan.TableSeries, Columns: []string{"second", "requests/s", "p50", "p95", "p99", "errors"}}
	if len(groups) > 0 && groups[0].seconds > 1 {
		t.Title = fmt.Sprintf("Per %d seconds (percentiles: the worst second)", groups[0].seconds)
	}
	for _, g := range groups {
		t.Rows = append(t.Rows, []string{
			strconv.Itoa(int(g.from.Seconds()) + 1),
			strconv.FormatFloat(float64(g.merged.Requests)/float64(g.seconds), 'f', -1, 64),
			FormatLatency(g.merged.P50), FormatLatency(g.merged.P95), FormatLatency(g.merged.P99),
			strconv.FormatInt(g.merged.Errors, 10),
		})
	}
	return t
}

// writeLoadCharts keeps the two SVG charts with the run, in the task's
// artifact folder.
func writeLoadCharts(in task.Input, res *Result) ([]plan.Artifact, error) {
	charts := []struct {
		name, file string
		svg        []byte
	}{
		{"latency over time", "latency.svg", LatencyChart(in.Task+": latency per second", res.Series, in.Gates)},
		{"latency histogram", "latency-histogram.svg", HistogramChart(in.Task+": latency distribution", res.Histogram)},
	}
	var out []plan.Artifact
	for _, c := range charts {
		rel, err := in.KeepFile(c.file, c.svg)
		if err != nil {
			return out, err
		}
		out = append(out, plan.Artifact{Name: c.name, Path: rel, MediaType: "image/svg+xml"})
	}
	return out, nil
}

// loadSummary is the task's output: what was sent, what came back.
func loadSummary(c Config, res *Result, notes []string) string {
	m := res.Metrics
	var b strings.Builder
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	for _, t := range c.Targets {
		fmt.Fprintf(&b, "target %s %s (weight %s)\n", t.Method, t.URL, strconv.FormatFloat(t.Weight, 'f', -1, 64))
	}
	fmt.Fprintf(&b, "load %s: %.0f requests in %s, %.1f/s achieved", describeLoad(c), m["http.requests"], res.Measured.Round(time.Millisecond), m["http.rps"])
	if res.Warmup > 0 {
		fmt.Fprintf(&b, " (and %d warmup requests, not measured)", res.Warmup)
	}
	b.WriteString("\n")
	if res.Stopped != "" {
		fmt.Fprintf(&b, "stopped early: %s", res.Stopped)
		if res.CutOff > 0 {
			fmt.Fprintf(&b, "; %d requests still in flight were cancelled and not measured", res.CutOff)
		}
		b.WriteString("\n")
	}
	if _, ok := m["http.latency.p50"]; ok {
		fmt.Fprintf(&b, "latency p50 %s · p90 %s · p95 %s · p99 %s · max %s · mean %s\n",
			formatLoadMetric("http.latency.p50", m["http.latency.p50"]), formatLoadMetric("http.latency.p90", m["http.latency.p90"]),
			formatLoadMetric("http.latency.p95", m["http.latency.p95"]), formatLoadMetric("http.latency.p99", m["http.latency.p99"]),
			formatLoadMetric("http.latency.max", m["http.latency.max"]), formatLoadMetric("http.latency.mean", m["http.latency.mean"]))
	}
	var codes []string
	for name, v := range m {
		if code, ok := strings.CutPrefix(name, "http.status."); ok {
			codes = append(codes, fmt.Sprintf("%s × %.0f", code, v))
		}
	}
	sort.Strings(codes)
	fmt.Fprintf(&b, "errors %.0f (%s)", m["http.errors.count"], formatLoadMetric("http.errors.rate", m["http.errors.rate"]))
	if len(codes) > 0 {
		b.WriteString(" · status " + strings.Join(codes, ", "))
	}
	fmt.Fprintf(&b, " · %s in, %s out", formatSize(m["http.bytes.in"]), formatSize(m["http.bytes.out"]))
	return b.String()
}
