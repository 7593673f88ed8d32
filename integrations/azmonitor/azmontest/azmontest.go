// Package azmontest is a protocol-level fake of Azure Monitor's Metrics
// API as Azure Resource Manager serves it (GET
// {resource}/providers/Microsoft.Insights/metrics, api-version
// 2023-10-01): an httptest TLS server the real azcore ARM pipeline can be
// pointed at. It is not Azure: metrics are the points a test puts.
//
// Semantics enforced (from the Metrics - List REST reference):
//   - bearer authentication (401 AuthenticationFailed without the token);
//   - api-version 2023-10-01; metricnames, aggregation (Average, Count,
//     Maximum, Minimum, Total), interval (PT1M, PT5M, PT15M, PT30M, PT1H,
//     PT6H, PT12H, P1D) and a timespan start/end with start before end
//     are required: else 400 BadRequest;
//   - a resource nobody registered is 404 ResourceNotFound, a metric the
//     resource does not have 400 BadRequest ("Failed to find metric
//     configuration");
//   - the answer has one time series per dimension value the $filter
//     (`Name eq 'value'` only, here) leaves, and one data entry per
//     interval from the timespan's start, holding the aggregation's
//     field (average, count, maximum, minimum, total) only when the
//     interval has points;
//   - Fail answers the next requests with a status (a 429, a 503).
package azmontest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/shipshape-dev/shipshape/internal/armhttp"
)

// Token is the bearer token Credential issues and the fake accepts.
const Token = "azmontest-token"

// Credential issues Token.
func Credential() armhttp.Token { return armhttp.Token(Token) }

// Point is one raw value of a metric, with its dimensions.
type Point struct {
	At         time.Time
	Value      float64
	Dimensions map[string]string
}

// Fake is the fake Azure Monitor.
type Fake struct {
	URL    string
	Client *http.Client

	mu        sync.Mutex
	resources map[string]map[string][]Point // resource ID (lower case) → metric → points
	fail      int
	status    int
	Requests  int
}

// New starts the fake, closed with the test.
func New(tb testing.TB) *Fake {
	tb.Helper()
	f := &Fake{resources: map[string]map[string][]Point{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(f.serve))
	tb.Cleanup(srv.Close)
	f.URL, f.Client = srv.URL, srv.Client()
	return f
}

// ClientOptions point an ARM client at the fake.
func (f *Fake) ClientOptions() *arm.ClientOptions {
	o := armhttp.ClientOptions(f.URL, f.Client)
	o.Retry.MaxRetryDelay = 10 * time.Millisecond
	o.Retry.RetryDelay = time.Millisecond
	return o
}

// AddResource registers a resource with the metrics it has.
func (f *Fake) AddResource(id string, metrics ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[string][]Point{}
	for _, name := range metrics {
		m[name] = nil
	}
	f.resources[strings.ToLower(id)] = m
}

// Put adds points to a resource's metric.
func (f *Fake) Put(id, metric string, points ...Point) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resources[strings.ToLower(id)][metric] = append(f.resources[strings.ToLower(id)][metric], points...)
}

// Fail answers the next times requests with status.
func (f *Fake) Fail(times, status int) {
	f.mu.Lock()
	f.fail, f.status = times, status
	f.mu.Unlock()
}

var grains = map[string]time.Duration{"PT1M": time.Minute, "PT5M": 5 * time.Minute, "PT15M": 15 * time.Minute, "PT30M": 30 * time.Minute,
	"PT1H": time.Hour, "PT6H": 6 * time.Hour, "PT12H": 12 * time.Hour, "P1D": 24 * time.Hour}

var filterRE = regexp.MustCompile(`^\s*(\w+)\s+eq\s+'([^']*)'\s*$`)

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Requests++
	if r.Header.Get("Authorization") != "Bearer "+Token {
		armhttp.Error(w, 401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing or invalid.")
		return
	}
	if f.fail > 0 {
		f.fail--
		armhttp.Error(w, f.status, "ServiceUnavailable", "injected failure")
		return
	}
	resource, ok := strings.CutSuffix(r.URL.Path, "/providers/Microsoft.Insights/metrics")
	if r.Method != http.MethodGet || !ok {
		armhttp.Error(w, 404, "NotFound", "the fake serves Metrics - List only")
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2023-10-01" {
		armhttp.Error(w, 400, "BadRequest", "unsupported api-version %s", q.Get("api-version"))
		return
	}
	metrics, known := f.resources[strings.ToLower(resource)]
	if !known {
		armhttp.Error(w, 404, "ResourceNotFound", "The Resource '%s' was not found.", resource)
		return
	}
	name, agg, grainText := q.Get("metricnames"), q.Get("aggregation"), q.Get("interval")
	field := map[string]string{"Average": "average", "Count": "count", "Maximum": "maximum", "Minimum": "minimum", "Total": "total"}[agg]
	grain, grainOK := grains[grainText]
	span := strings.Split(q.Get("timespan"), "/")
	var start, end time.Time
	var err1, err2 error
	if len(span) == 2 {
		start, err1 = time.Parse(time.RFC3339, span[0])
		end, err2 = time.Parse(time.RFC3339, span[1])
	}
	switch {
	case name == "":
		armhttp.Error(w, 400, "BadRequest", "metricnames is required")
		return
	case field == "":
		armhttp.Error(w, 400, "BadRequest", "Invalid aggregation %s", agg)
		return
	case !grainOK:
		armhttp.Error(w, 400, "BadRequest", "Invalid interval %s", grainText)
		return
	case len(span) != 2 || err1 != nil || err2 != nil || !start.Before(end):
		armhttp.Error(w, 400, "BadRequest", "Invalid timespan %s", q.Get("timespan"))
		return
	}
	points, has := metrics[name]
	if !has {
		armhttp.Error(w, 400, "BadRequest", "Failed to find metric configuration for provider: resource: %s, metric: %s", resource, name)
		return
	}
	dim, want := "", ""
	if filter := q.Get("$filter"); filter != "" {
		m := filterRE.FindStringSubmatch(filter)
		if m == nil {
			armhttp.Error(w, 400, "BadRequest", "The fake supports filters of the form Name eq 'value', not %s", filter)
			return
		}
		dim, want = m[1], m[2]
	}
	series := map[string][]Point{}
	for _, p := range points {
		if dim != "" && p.Dimensions[dim] != want {
			continue
		}
		series[p.Dimensions[dim]] = append(series[p.Dimensions[dim]], p)
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var timeseries []any
	for _, k := range keys {
		var data []map[string]any
		for t := start; t.Before(end); t = t.Add(grain) {
			var vs []float64
			for _, p := range series[k] {
				if !p.At.Before(t) && p.At.Before(t.Add(grain)) {
					vs = append(vs, p.Value)
				}
			}
			d := map[string]any{"timeStamp": t.UTC().Format(time.RFC3339)}
			if len(vs) > 0 {
				total := 0.0
				for _, v := range vs {
					total += v
				}
				d[field] = map[string]float64{"average": total / float64(len(vs)), "count": float64(len(vs)),
					"maximum": slices.Max(vs), "minimum": slices.Min(vs), "total": total}[field]
			}
			data = append(data, d)
		}
		timeseries = append(timeseries, map[string]any{"metadatavalues": []any{}, "data": data})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"timespan": q.Get("timespan"), "interval": grainText, "namespace": q.Get("metricnamespace"), "resourceregion": "westeurope",
		"value": []any{map[string]any{"id": resource + "/providers/Microsoft.Insights/metrics/" + name, "type": "Microsoft.Insights/metrics",
			"name": map[string]string{"value": name, "localizedValue": name}, "unit": "Count", "timeseries": timeseries, "errorCode": "Success"}},
	})
}
