package metricwatch

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/azmonitor"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the task type's name, as plans write it in `uses`.
const Name = "metric-watch"

// Sources, modes and onEmpty policies.
const (
	SourcePrometheus = "prometheus"
	SourceCloudWatch = "cloudwatch"
	SourceAzure      = "azure-monitor"

	ModeNow    = "now"
	ModeWindow = "window"
	ModeWatch  = "watch"

	EmptyFail = "fail"
	EmptySkip = "skip"
	EmptyPass = "pass"
)

// WindowPlaceholder is what an SLO query writes where its window goes.
const WindowPlaceholder = "{{.window}}"

// Metric names.
const (
	MetricLast          = "watch.last"
	MetricMin           = "watch.min"
	MetricMax           = "watch.max"
	MetricMean          = "watch.mean"
	MetricP95           = "watch.p95"
	MetricSamples       = "watch.samples"
	MetricFailed        = "watch.samples_failed"
	MetricStreak        = "watch.failing_streak_max"
	MetricEmpty         = "watch.empty_results"
	MetricQueryErrors   = "watch.query_errors"
	MetricAvailability  = "slo.availability"
	MetricBudget        = "slo.error_budget_remaining"
	MetricBurnPrefix    = "slo.burn_rate."
	MetricBurnFastPair  = "slo.burn_rate.1h_5m"
	MetricBurnSlowPair  = "slo.burn_rate.6h_30m"
	defaultQueryTimeout = 30 * time.Second
)

// Decl declares the task type: its parameters, metrics and checks.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Queries a metrics source and gates on what production does: once (`mode: now`), over a past range (`window`), or by sampling every `interval` for `duration` (`watch`, durable: workflow timers between samples, continue-as-new on long watches, minutes to days). " +
		"Source `prometheus` is any Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics, Grafana Cloud); source `cloudwatch` is Amazon CloudWatch's GetMetricData with metric math; source `azure-monitor` is a resource's Azure Monitor platform metric (through Azure Resource Manager, DefaultAzureCredential). " +
		"Each sample is checked against `threshold` (or the task's gates on `watch.last`); `failureLimit` and `consecutiveFailureLimit` say how many failed samples fail the task, and a gate written with abortOnFail stops a watch as soon as it can no longer pass (a maximum, a minimum or a count that already broke it), and fails with its value. " +
		"An empty result follows `onEmpty` (default: it fails the sample: an empty query never passes silently); query errors are counted apart. " +
		"With `slo` it measures availability, the error budget left and multi-window burn rates instead. " +
		"The resolved query and every sampled value travel in task.progress events; the report draws the samples with the gates' thresholds.",
	Params: []plan.Param{
		{Name: "source", Type: plan.TypeString, Default: SourcePrometheus, Enum: []string{SourcePrometheus, SourceCloudWatch, SourceAzure}, Doc: "Where the metrics are: `prometheus`, any Prometheus-compatible HTTP API (`/api/v1/query`, `/api/v1/query_range`); `cloudwatch`, Amazon CloudWatch's GetMetricData (with the worker's AWS credentials, the SDK's default chain); `azure-monitor`, a resource's Azure Monitor platform metric (through Azure Resource Manager, with DefaultAzureCredential)."},
		{Name: "url", Type: plan.TypeString, Doc: "source prometheus: the API's base URL, the part before `/api/v1/` (`http://prometheus:9090`, `https://mimir.example.com/prometheus`). Required."},
		{Name: "query", Type: plan.TypeString, Doc: "source prometheus: the PromQL expression sampled; it must give one number, a scalar or a vector of one series (aggregate with `sum`, `max`… otherwise). source cloudwatch: a metric math expression over `cloudwatch.metrics` by their IDs (`errors / requests`, or one ID). Required unless `slo`."},
		{Name: "mode", Type: plan.TypeString, Default: ModeNow, Enum: []string{ModeNow, ModeWindow, ModeWatch}, Doc: "`now`: one instant query. `window`: the query over the past `window` at every `step` (a range query), each point a sample. `watch`: one instant query every `interval` for `duration`, durably (the task's timeout must exceed `duration`)."},
		{Name: "window", Type: plan.TypeDuration, Default: "1h", Doc: "mode window: how far back the range query reaches."},
		{Name: "step", Type: plan.TypeDuration, Default: "1m", Doc: "mode window: the range query's resolution (one sample per step)."},
		{Name: "interval", Type: plan.TypeDuration, Default: "1m", Doc: "mode watch: time between samples."},
		{Name: "duration", Type: plan.TypeDuration, Default: "10m", Doc: "mode watch: how long to watch; the first sample is taken at once, the last at `duration`."},
		{Name: "threshold", Type: plan.TypeString, Doc: "What every sample must meet, in the query's `unit` (`< 0.01`, `<= 500ms`, `>= 99.9%`). Empty: in modes window and watch, the task's gates on `watch.last` (every sample must meet them); without either, no sample fails on its value. Failed samples beyond the limits fail the task's own check."},
		{Name: "unit", Type: plan.TypeString, Default: string(plan.UnitAny), Enum: []string{string(plan.UnitAny), string(plan.UnitSeconds), string(plan.UnitBytes), string(plan.UnitRatio), string(plan.UnitCount)}, Doc: "The unit of the query's values, for `threshold` and the report: `seconds`, `bytes`, `ratio` (0-1), `count` or `any`."},
		{Name: "onEmpty", Type: plan.TypeString, Default: EmptyFail, Enum: []string{EmptyFail, EmptySkip, EmptyPass}, Doc: "What an empty result (no series, or NaN) is: `fail`: a failed sample; `skip`: not a sample (only counted in `watch.empty_results`); `pass`: a sample that passes. An empty result is never silently a value."},
		{Name: "failureLimit", Type: plan.TypeInt, Default: 0, Doc: "Failed samples tolerated: one more fails the task (and stops a watch)."},
		{Name: "consecutiveFailureLimit", Type: plan.TypeInt, Default: 0, Doc: "With n > 0: n failed samples in a row fail the task (and stop a watch), whatever failureLimit allows."},
		{Name: "queryErrorLimit", Type: plan.TypeInt, Default: 3, Doc: "mode watch: queries that fail (source down, timeout, 5xx) tolerated; one more fails the task, naming the source and its last error. They are not failed samples. An invalid query fails the task at once."},
		{Name: "queryTimeout", Type: plan.TypeDuration, Default: "30s", Doc: "How long one query may take."},
		{Name: "bearerTokenEnv", Type: plan.TypeString, Doc: "Environment variable of the worker holding a bearer token sent with every query. Its value never appears in events, reports or logs."},
		{Name: "bearerToken", Type: plan.TypeString, Doc: "A secret reference (`local://NAME`, `aws-sm://REGION/NAME`, `azkv://VAULT/NAME`) holding the bearer token; instead of bearerTokenEnv."},
		{Name: "username", Type: plan.TypeString, Doc: "Basic authentication's user name; the password from passwordEnv or password."},
		{Name: "passwordEnv", Type: plan.TypeString, Doc: "Environment variable of the worker holding the basic authentication password."},
		{Name: "password", Type: plan.TypeString, Doc: "A secret reference holding the basic authentication password; instead of passwordEnv."},
		{Name: "caFile", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "PEM file of CA certificates trusted on top of the system's, for a source behind a private CA."},
		{Name: "cloudwatch", Type: plan.TypeObject, Doc: "source cloudwatch: the metrics `query` computes with, and how they are read.", Fields: []plan.Param{
			{Name: "region", Type: plan.TypeString, Doc: "The AWS region (default: AWS_REGION or the AWS config)."},
			{Name: "metrics", Type: plan.TypeObjectList, Doc: "The metrics the expression names.", Fields: []plan.Param{
				{Name: "id", Type: plan.TypeString, Required: true, Doc: "The metric's ID in the expression: a lower-case letter, then letters, digits and _."},
				{Name: "namespace", Type: plan.TypeString, Required: true, Doc: "Its namespace (`AWS/ApplicationELB`). CloudWatch answers an unknown namespace, name or dimension with no data: onEmpty decides."},
				{Name: "metric", Type: plan.TypeString, Required: true, Doc: "Its name (`HTTPCode_Target_5XX_Count`)."},
				{Name: "dimensions", Type: plan.TypeStringMap, Doc: "Its dimensions (`{LoadBalancer: app/web/123}`)."},
				{Name: "stat", Type: plan.TypeString, Default: "Average", Doc: "The statistic: Average, Sum, Minimum, Maximum, SampleCount, p99, tm90…"},
			}},
			{Name: "period", Type: plan.TypeDuration, Default: "1m", Doc: "modes now and watch: the period of the datapoints (1s, 5s, 10s, 20s, 30s or a multiple of 1m); mode window uses `step`."},
			{Name: "lookback", Type: plan.TypeDuration, Default: "10m", Doc: "modes now and watch: a sample is the newest datapoint this far back (CloudWatch's datapoints arrive minutes late)."},
		}},
		{Name: "azureMonitor", Type: plan.TypeObject, Doc: "source azure-monitor: the metric sampled (`query` is not used).", Fields: []plan.Param{
			{Name: "resource", Type: plan.TypeString, Required: true, Doc: "The resource's ID, `/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Web/sites/NAME`."},
			{Name: "metric", Type: plan.TypeString, Required: true, Doc: "The metric's name (`Http5xx`, `requests/failed`)."},
			{Name: "namespace", Type: plan.TypeString, Doc: "The metric's namespace, when not the resource type's default."},
			{Name: "aggregation", Type: plan.TypeString, Default: "Average", Enum: []string{"Average", "Total", "Maximum", "Minimum", "Count"}, Doc: "The aggregation per interval."},
			{Name: "filter", Type: plan.TypeString, Doc: "An OData filter on the metric's dimensions (`StatusCode eq '500'`); the time series it leaves are summed."},
			{Name: "interval", Type: plan.TypeDuration, Default: "1m", Doc: "modes now and watch: the time grain (1m, 5m, 15m, 30m, 1h, 6h, 12h, 24h); mode window uses `step`."},
			{Name: "lookback", Type: plan.TypeDuration, Default: "10m", Doc: "modes now and watch: a sample is the newest interval with a value this far back."},
		}},
		{Name: "slo", Type: plan.TypeObject, Doc: "Instead of query (mode now): a service level objective measured from a good-events and a total-events query, each written with `{{.window}}` where its range goes (`sum(rate(http_requests_total{code!~\"5..\"}[{{.window}}]))`).", Fields: []plan.Param{
			{Name: "good", Type: plan.TypeString, Required: true, Doc: "Good events over `{{.window}}`."},
			{Name: "total", Type: plan.TypeString, Required: true, Doc: "All events over `{{.window}}`."},
			{Name: "objective", Type: plan.TypeString, Required: true, Doc: "The target availability, a percentage (`99.9%`) or a ratio (`0.999`)."},
			{Name: "window", Type: plan.TypeString, Default: "30d", Doc: "The SLO's window, in Prometheus's duration syntax (`30d`, `4w`, `24h`)."},
		}},
	},
	Metrics: []plan.Metric{
		{Name: MetricLast, Unit: plan.UnitAny, Doc: "The last sample's value (in the query's `unit`)."},
		{Name: MetricMin, Unit: plan.UnitAny, Doc: "The smallest sampled value."},
		{Name: MetricMax, Unit: plan.UnitAny, Doc: "The largest sampled value."},
		{Name: MetricMean, Unit: plan.UnitAny, Doc: "The mean of the sampled values."},
		{Name: MetricP95, Unit: plan.UnitAny, Doc: "The 95th percentile of the sampled values (nearest rank; within 0.5 % of it on watches of thousands of samples, which keep a sketch)."},
		{Name: MetricSamples, Unit: plan.UnitCount, Doc: "Samples taken, empty results and query errors included."},
		{Name: MetricFailed, Unit: plan.UnitCount, Doc: "Samples that failed: their value broke the threshold, or they were empty with onEmpty fail."},
		{Name: MetricStreak, Unit: plan.UnitCount, Doc: "The longest run of consecutive failed samples."},
		{Name: MetricEmpty, Unit: plan.UnitCount, Doc: "Samples whose query returned no data (or NaN)."},
		{Name: MetricQueryErrors, Unit: plan.UnitCount, Doc: "Queries that failed (source down, timeout, server error); not counted as failed samples."},
		{Name: MetricAvailability, Unit: plan.UnitRatio, Doc: "slo: good over total events across the SLO's window."},
		{Name: MetricBudget, Unit: plan.UnitRatio, Doc: "slo: the error budget left over the window, 1 - (1 - availability) / (1 - objective); negative once overspent."},
		{Name: MetricBurnPrefix + "<window>", Unit: plan.UnitAny, Doc: "slo: how fast the budget burns over the last 5m, 30m, 1h and 6h: the error ratio over the objective's (1: the budget lasts exactly the window)."},
		{Name: MetricBurnFastPair, Unit: plan.UnitAny, Doc: "slo: the SRE workbook's fast pair, the smaller of the 1h and 5m burn rates (both must burn for it to rise): `< 14.4` is the paging rule."},
		{Name: MetricBurnSlowPair, Unit: plan.UnitAny, Doc: "slo: the slow pair, the smaller of the 6h and 30m burn rates: `< 6` is the paging rule."},
	},
	Timeout:     10 * time.Minute,
	MaxAttempts: 3,
	Workflow:    true,
	AbortOnFail: true,
	Check:       check,
	Runs:        runs,
}

// runs is how long a task runs at least: a watch its duration.
func runs(with map[string]any) (time.Duration, string) {
	p := task.Params(with)
	if p.String("mode") != ModeWatch {
		return 0, ""
	}
	return p.Duration("duration"), "duration"
}

func check(with map[string]any) []plan.ParamProblem {
	p := task.Params(with)
	var problems []plan.ParamProblem
	add := func(param, format string, args ...any) {
		problems = append(problems, plan.ParamProblem{Param: param, Msg: fmt.Sprintf(format, args...)})
	}
	slo := p.Object("slo")
	switch p.String("source") {
	case SourceCloudWatch:
		checkCloudWatch(p, add)
		if slo != nil {
			add("slo", "is for source prometheus only")
		}
	case SourceAzure:
		checkAzure(p, add)
		if slo != nil {
			add("slo", "is for source prometheus only")
		}
	default:
		if p.String("url") == "" {
			add("url", "is required for source %s: the API's base URL (http://prometheus:9090)", p.String("source"))
		} else if err := checkURL(p.String("url")); err != nil {
			add("url", "%v", err)
		}
		if p.Object("cloudwatch") != nil {
			add("cloudwatch", "is for source cloudwatch only")
		}
	}
	switch {
	case slo != nil && p.String("query") != "":
		add("query", "give query or slo, not both")
	case p.String("source") == SourceAzure:
		if p.String("query") != "" {
			add("query", "is not used by source azure-monitor: name the metric in azureMonitor")
		}
	case slo == nil && strings.TrimSpace(p.String("query")) == "":
		add("query", "is required: the PromQL expression to sample (or give slo)")
	}
	if slo != nil {
		if p.String("mode") != ModeNow {
			add("mode", "slo measures its windows at once: use mode now (or a query of the burn rate to watch it)")
		}
		for _, f := range []string{"good", "total"} {
			if !strings.Contains(slo.String(f), WindowPlaceholder) {
				add("slo."+f, "must write %s where its range goes (sum(rate(http_requests_total[%s])))", WindowPlaceholder, WindowPlaceholder)
			}
		}
		if _, err := parseObjective(slo.String("objective")); err != nil {
			add("slo.objective", "%v", err)
		}
		if _, err := parsePromDuration(slo.String("window")); err != nil {
			add("slo.window", "%v", err)
		}
	}
	if t := p.String("threshold"); t != "" {
		if _, err := plan.ParseThreshold(t, plan.Unit(p.String("unit"))); err != nil {
			add("threshold", "%v", err)
		}
	}
	switch p.String("mode") {
	case ModeWatch:
		interval, duration := p.Duration("interval"), p.Duration("duration")
		if interval < time.Second {
			add("interval", "must be at least 1s, got %s", p.String("interval"))
		}
		if duration <= 0 {
			add("duration", "must be positive for mode watch")
		} else if interval > duration {
			add("interval", "is %s, longer than duration (%s): a watch takes at least two samples", interval, duration)
		}
	case ModeWindow:
		window, step := p.Duration("window"), p.Duration("step")
		if window <= 0 {
			add("window", "must be positive for mode window")
		}
		if step < time.Second {
			add("step", "must be at least 1s, got %s", p.String("step"))
		} else if window > 0 && window/step > maxRangePoints {
			add("step", "%s over a %s window is %d points, more than the %d one range query gives: raise step", step, window, window/step, maxRangePoints)
		} else if step > window {
			add("step", "is %s, longer than window (%s)", step, window)
		}
	}
	for _, n := range []string{"failureLimit", "consecutiveFailureLimit", "queryErrorLimit"} {
		if p.Int(n) < 0 {
			add(n, "must not be negative, got %d", p.Int(n))
		}
	}
	if p.Duration("queryTimeout") <= 0 {
		add("queryTimeout", "must be positive")
	}
	if p.String("bearerTokenEnv") != "" && p.String("bearerToken") != "" {
		add("bearerToken", "give bearerToken or bearerTokenEnv, not both")
	}
	if p.String("passwordEnv") != "" && p.String("password") != "" {
		add("password", "give password or passwordEnv, not both")
	}
	hasPassword := p.String("passwordEnv") != "" || p.String("password") != ""
	if hasPassword != (p.String("username") != "") {
		add("username", "basic authentication needs username and a password (passwordEnv or password)")
	}
	if hasPassword && (p.String("bearerTokenEnv") != "" || p.String("bearerToken") != "") {
		add("bearerToken", "give a bearer token or basic authentication, not both")
	}
	for _, n := range []string{"bearerToken", "password"} {
		if ref := p.String(n); ref != "" {
			if _, err := secretstore.ParseRef(ref); err != nil {
				add(n, "%v (a secret reference, never the secret itself)", err)
			}
		}
	}
	return problems
}

var cloudWatchID = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// validPeriod says whether CloudWatch accepts d as a period.
func validPeriod(d time.Duration) bool {
	s := d / time.Second
	return d%time.Second == 0 && s > 0 && (s%60 == 0 || s == 1 || s == 5 || s == 10 || s == 20 || s == 30)
}

func checkCloudWatch(p task.Params, add func(param, format string, args ...any)) {
	cw := p.Object("cloudwatch")
	if cw == nil {
		add("cloudwatch", "is required for source cloudwatch: the metrics the query names")
		return
	}
	metrics := cw.Objects("metrics")
	if len(metrics) == 0 {
		add("cloudwatch.metrics", "name at least one metric")
	}
	seen := map[string]bool{}
	for i, m := range metrics {
		id := m.String("id")
		if !cloudWatchID.MatchString(id) {
			add(fmt.Sprintf("cloudwatch.metrics[%d].id", i), "%q must start with a lower-case letter, then letters, digits and _", id)
		}
		if seen[id] {
			add(fmt.Sprintf("cloudwatch.metrics[%d].id", i), "%q is used twice", id)
		}
		seen[id] = true
	}
	if cw.String("period") != "" && !validPeriod(cw.Duration("period")) {
		add("cloudwatch.period", "CloudWatch periods are 1s, 5s, 10s, 20s, 30s or a multiple of 1m, got %s", cw.String("period"))
	}
	if p.String("mode") == ModeWindow && !validPeriod(p.Duration("step")) {
		add("step", "is the period of CloudWatch's datapoints: 1s, 5s, 10s, 20s, 30s or a multiple of 1m, got %s", p.String("step"))
	}
	if cw.String("lookback") != "" && cw.Duration("lookback") < cw.Duration("period") {
		add("cloudwatch.lookback", "must be at least period (%s)", cw.String("period"))
	}
}

func checkAzure(p task.Params, add func(param, format string, args ...any)) {
	az := p.Object("azureMonitor")
	if az == nil {
		add("azureMonitor", "is required for source azure-monitor: the resource and metric")
		return
	}
	if r := az.String("resource"); !strings.HasPrefix(r, "/subscriptions/") || !strings.Contains(r, "/providers/") {
		add("azureMonitor.resource", "want a resource ID, /subscriptions/SUB/resourceGroups/RG/providers/…, got %q", r)
	}
	if az.String("interval") != "" {
		if _, ok := azmonitor.Intervals[az.Duration("interval")]; !ok {
			add("azureMonitor.interval", "Azure Monitor's time grains are 1m, 5m, 15m, 30m, 1h, 6h, 12h and 24h, got %s", az.String("interval"))
		}
	}
	if p.String("mode") == ModeWindow {
		if _, ok := azmonitor.Intervals[p.Duration("step")]; !ok {
			add("step", "is Azure Monitor's time grain: 1m, 5m, 15m, 30m, 1h, 6h, 12h or 24h, got %s", p.String("step"))
		}
	}
}
