// Package cwtest is a protocol-level fake of Amazon CloudWatch's
// GetMetricData: an httptest server speaking the Smithy RPC v2 CBOR
// protocol that aws-sdk-go-v2's cloudwatch client (v1.76) uses
// (POST /service/GraniteServiceVersion20100801/operation/GetMetricData,
// CBOR bodies, awsQuery-compatible error codes), so the real SDK client
// can be tested against it. It is not AWS: metrics are the points a test
// puts, and metric math is the subset described below.
//
// Semantics enforced (from the CloudWatch API reference):
//   - requests are signed (SigV4 for service "monitoring") and carry
//     Smithy-Protocol: rpc-v2-cbor and Content-Type application/cbor;
//   - StartTime must be before EndTime; 1 to 500 MetricDataQueries, each
//     with an Id of a lower-case letter then letters, digits and _,
//     unique, and exactly one of MetricStat and Expression; a MetricStat
//     needs a Namespace, MetricName, Stat and a Period of 1, 5, 10, 20,
//     30 or a multiple of 60 seconds: else InvalidParameterValue
//     (InvalidParameterCombination for both or neither);
//   - a metric nobody put (an unknown namespace, name or dimensions) is
//     no datapoints, not an error, as in CloudWatch;
//   - datapoints are the statistic (Average, Sum, Minimum, Maximum,
//     SampleCount) of the points in each period from StartTime;
//   - expressions: an Id, a number, or two of them joined by +, -, * or
//     /, evaluated at the timestamps both sides have; anything else is
//     InvalidParameterValue (a real expression CloudWatch would accept
//     may be refused here);
//   - results are paged by PageSize datapoints with an opaque NextToken;
//     an unknown token is InvalidNextToken;
//   - Fail answers the next requests with a status and error code (a
//     500 InternalFailure, a 400 Throttling).
package cwtest

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// Point is one raw value the fake aggregates.
type Point struct {
	At    time.Time
	Value float64
}

// Fake is the fake CloudWatch.
type Fake struct {
	URL string
	// PageSize is how many datapoints a page holds (default 5: tests
	// page).
	PageSize int

	mu       sync.Mutex
	metrics  map[string][]Point
	tokens   map[string][]cbor.Value
	next     int
	fail     *failure
	Requests int
}

type failure struct {
	status int
	code   string
	times  int
}

// New starts the fake, closed with the test.
func New(tb testing.TB) *Fake {
	tb.Helper()
	f := &Fake{PageSize: 5, metrics: map[string][]Point{}, tokens: map[string][]cbor.Value{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func key(namespace, name string, dims map[string]string) string {
	names := make([]string, 0, len(dims))
	for k := range dims {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(namespace + "|" + name)
	for _, k := range names {
		b.WriteString("|" + k + "=" + dims[k])
	}
	return b.String()
}

// Put adds raw points to a metric.
func (f *Fake) Put(namespace, name string, dims map[string]string, points ...Point) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key(namespace, name, dims)
	f.metrics[k] = append(f.metrics[k], points...)
}

// Fail answers the next times requests with status and error code.
func (f *Fake) Fail(times, status int, code string) {
	f.mu.Lock()
	f.fail = &failure{status, code, times}
	f.mu.Unlock()
}

const operationPath = "/service/GraniteServiceVersion20100801/operation/"

type apiError struct {
	status      int
	code, shape string
	msg         string
}

func invalid(format string, args ...any) *apiError {
	return &apiError{400, "InvalidParameterValue", "InvalidParameterValueException", fmt.Sprintf(format, args...)}
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Requests++
	body, _ := io.ReadAll(r.Body)
	if e := f.check(r); e != nil {
		writeError(w, e)
		return
	}
	if fl := f.fail; fl != nil && fl.times > 0 {
		fl.times--
		writeError(w, &apiError{fl.status, fl.code, fl.code, "injected failure"})
		return
	}
	op := strings.TrimPrefix(r.URL.Path, operationPath)
	if op != "GetMetricData" {
		writeError(w, &apiError{400, "InvalidAction", "InvalidAction", "the fake serves GetMetricData only, not " + op})
		return
	}
	v, err := cbor.Decode(body)
	in, ok := v.(cbor.Map)
	if err != nil || !ok {
		writeError(w, &apiError{400, "SerializationException", "SerializationException", "body is not a CBOR map"})
		return
	}
	out, e := f.getMetricData(in)
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	_, _ = w.Write(cbor.Encode(out))
}

var signature = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=[^/]+/\d{8}/[a-z0-9-]+/monitoring/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$`)

func (f *Fake) check(r *http.Request) *apiError {
	switch {
	case r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, operationPath):
		return &apiError{404, "UnknownOperationException", "UnknownOperationException", r.Method + " " + r.URL.Path}
	case r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor":
		return &apiError{400, "SerializationException", "SerializationException", "missing Smithy-Protocol: rpc-v2-cbor"}
	case r.Header.Get("Content-Type") != "application/cbor":
		return &apiError{400, "SerializationException", "SerializationException", "Content-Type must be application/cbor"}
	case !signature.MatchString(r.Header.Get("Authorization")):
		return &apiError{403, "MissingAuthenticationToken", "MissingAuthenticationToken", "request is not signed for monitoring"}
	}
	return nil
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	fault := "Sender"
	if e.status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("X-Amzn-Query-Error", e.code+";"+fault)
	w.WriteHeader(e.status)
	_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + e.shape), "message": cbor.String(e.msg)}))
}

var idRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

type query struct {
	id         string
	expression string
	returnData bool
	namespace  string
	name       string
	dims       map[string]string
	stat       string
	period     int
	label      string
}

func str(v cbor.Value) string {
	s, _ := v.(cbor.String)
	return string(s)
}

func asTime(v cbor.Value) (time.Time, bool) {
	t, err := cbor.AsTime(v)
	return t, err == nil
}

func asInt(v cbor.Value) int {
	n, err := cbor.AsInt64(v)
	if err != nil {
		return 0
	}
	return int(n)
}

func (f *Fake) getMetricData(in cbor.Map) (cbor.Map, *apiError) {
	start, ok1 := asTime(in["StartTime"])
	end, ok2 := asTime(in["EndTime"])
	if !ok1 || !ok2 {
		return nil, &apiError{400, "MissingParameter", "MissingRequiredParameterException", "StartTime and EndTime are required"}
	}
	if !start.Before(end) {
		return nil, invalid("The parameter StartTime must be less than the parameter EndTime.")
	}
	list, _ := in["MetricDataQueries"].(cbor.List)
	if len(list) == 0 || len(list) > 500 {
		return nil, invalid("MetricDataQueries must hold 1 to 500 queries, got %d", len(list))
	}
	var queries []query
	seen := map[string]bool{}
	for i, raw := range list {
		m, _ := raw.(cbor.Map)
		q := query{id: str(m["Id"]), expression: str(m["Expression"]), returnData: true, label: str(m["Label"])}
		if b, ok := m["ReturnData"].(cbor.Bool); ok {
			q.returnData = bool(b)
		}
		if !idRE.MatchString(q.id) {
			return nil, invalid("The value %s for parameter MetricDataQueries.member.%d.Id is not valid: it must start with a lower-case letter", q.id, i+1)
		}
		if seen[q.id] {
			return nil, invalid("The values for parameter id in MetricDataQueries are not unique.")
		}
		seen[q.id] = true
		stat, hasStat := m["MetricStat"].(cbor.Map)
		if hasStat == (q.expression != "") {
			return nil, &apiError{400, "InvalidParameterCombination", "InvalidParameterCombinationException",
				fmt.Sprintf("Exactly one of MetricStat and Expression must be given in MetricDataQueries.member.%d", i+1)}
		}
		if hasStat {
			metric, _ := stat["Metric"].(cbor.Map)
			q.namespace, q.name, q.stat = str(metric["Namespace"]), str(metric["MetricName"]), str(stat["Stat"])
			q.period = asInt(stat["Period"])
			q.dims = map[string]string{}
			dims, _ := metric["Dimensions"].(cbor.List)
			for _, d := range dims {
				dm, _ := d.(cbor.Map)
				q.dims[str(dm["Name"])] = str(dm["Value"])
			}
			if q.namespace == "" || q.name == "" || q.stat == "" {
				return nil, &apiError{400, "MissingParameter", "MissingRequiredParameterException", fmt.Sprintf("MetricDataQueries.member.%d.MetricStat needs Namespace, MetricName and Stat", i+1)}
			}
			if !validPeriod(q.period) {
				return nil, invalid("The parameter MetricDataQueries.member.%d.MetricStat.Period must be 1, 5, 10, 20, 30 or a multiple of 60.", i+1)
			}
			if !slices.Contains([]string{"Average", "Sum", "Minimum", "Maximum", "SampleCount"}, q.stat) {
				return nil, invalid("The fake supports the statistics Average, Sum, Minimum, Maximum and SampleCount, not %s", q.stat)
			}
		} else {
			q.period = asInt(m["Period"])
		}
		queries = append(queries, q)
	}

	// Evaluate every query into timestamp → value.
	values := map[string]map[int64]float64{}
	for _, q := range queries {
		if q.expression == "" {
			values[q.id] = f.aggregate(q, start, end)
		}
	}
	var results cbor.List
	for _, q := range queries {
		if q.expression != "" {
			v, e := evaluate(q.expression, values)
			if e != nil {
				return nil, e
			}
			values[q.id] = v
		}
		if !q.returnData {
			continue
		}
		times := make([]int64, 0, len(values[q.id]))
		for t := range values[q.id] {
			times = append(times, t)
		}
		slices.Sort(times)
		if str(in["ScanBy"]) != "TimestampAscending" {
			slices.Reverse(times)
		}
		label := q.label
		if label == "" {
			label = q.id
		}
		ts, vs := cbor.List{}, cbor.List{}
		for _, t := range times {
			ts = append(ts, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t))})
			vs = append(vs, cbor.Float64(values[q.id][t]))
		}
		results = append(results, cbor.Map{"Id": cbor.String(q.id), "Label": cbor.String(label),
			"Timestamps": ts, "Values": vs, "StatusCode": cbor.String("Complete")})
	}
	return f.page(in, results)
}

// page cuts the results into pages of PageSize datapoints: the first
// request computes them all and keeps the rest behind a token.
func (f *Fake) page(in cbor.Map, results cbor.List) (cbor.Map, *apiError) {
	var pages []cbor.Value
	if tok := str(in["NextToken"]); tok != "" {
		rest, ok := f.tokens[tok]
		if !ok {
			return nil, &apiError{400, "InvalidNextToken", "InvalidNextToken", "The service couldn't process the NextToken " + tok}
		}
		delete(f.tokens, tok)
		pages = rest
	} else {
		pages = split(results, max(f.PageSize, 1))
	}
	out := cbor.Map{"MetricDataResults": cbor.List{}}
	if len(pages) > 0 {
		out["MetricDataResults"] = pages[0]
		if len(pages) > 1 {
			f.next++
			tok := "token-" + strconv.Itoa(f.next)
			f.tokens[tok] = pages[1:]
			out["NextToken"] = cbor.String(tok)
			for _, r := range pages[0].(cbor.List) {
				r.(cbor.Map)["StatusCode"] = cbor.String("PartialData")
			}
		}
	}
	return out, nil
}

// split cuts results into pages of at most size datapoints in all.
func split(results cbor.List, size int) []cbor.Value {
	var pages []cbor.Value
	cur := cbor.List{}
	n := 0
	for _, raw := range results {
		r := raw.(cbor.Map)
		ts, vs := r["Timestamps"].(cbor.List), r["Values"].(cbor.List)
		for len(ts) > 0 {
			take := min(size-n, len(ts))
			part := cbor.Map{"Id": r["Id"], "Label": r["Label"], "Timestamps": ts[:take], "Values": vs[:take], "StatusCode": r["StatusCode"]}
			cur = append(cur, part)
			ts, vs, n = ts[take:], vs[take:], n+take
			if n == size {
				pages = append(pages, cur)
				cur, n = cbor.List{}, 0
			}
		}
		if len(r["Timestamps"].(cbor.List)) == 0 {
			cur = append(cur, r)
		}
	}
	if len(cur) > 0 || len(pages) == 0 {
		pages = append(pages, cur)
	}
	return pages
}

func validPeriod(p int) bool {
	return p > 0 && (p%60 == 0 || slices.Contains([]int{1, 5, 10, 20, 30}, p))
}

// aggregate is q's statistic per period from start.
func (f *Fake) aggregate(q query, start, end time.Time) map[int64]float64 {
	buckets := map[int64][]float64{}
	for _, p := range f.metrics[key(q.namespace, q.name, q.dims)] {
		if p.At.Before(start) || !p.At.Before(end) {
			continue
		}
		i := int64(p.At.Sub(start) / (time.Duration(q.period) * time.Second))
		t := start.Unix() + i*int64(q.period)
		buckets[t] = append(buckets[t], p.Value)
	}
	out := map[int64]float64{}
	for t, vs := range buckets {
		switch q.stat {
		case "Sum":
			out[t] = sum(vs)
		case "Minimum":
			out[t] = slices.Min(vs)
		case "Maximum":
			out[t] = slices.Max(vs)
		case "SampleCount":
			out[t] = float64(len(vs))
		default:
			out[t] = sum(vs) / float64(len(vs))
		}
	}
	return out
}

func sum(vs []float64) float64 {
	s := 0.0
	for _, v := range vs {
		s += v
	}
	return s
}

var exprRE = regexp.MustCompile(`^\s*([A-Za-z0-9_.]+)\s*(?:([-+*/])\s*([A-Za-z0-9_.]+)\s*)?$`)

// evaluate is the fake's metric math: an operand, or two joined by an
// operator.
func evaluate(expr string, values map[string]map[int64]float64) (map[int64]float64, *apiError) {
	m := exprRE.FindStringSubmatch(expr)
	if m == nil {
		return nil, invalid("Unsupported expression %q (the fake's metric math: ID, number, or two joined by + - * /)", expr)
	}
	left, e := operand(m[1], values)
	if e != nil {
		return nil, e
	}
	if m[2] == "" {
		return left.series, nil
	}
	right, e := operand(m[3], values)
	if e != nil {
		return nil, e
	}
	out := map[int64]float64{}
	times := map[int64]bool{}
	for t := range left.series {
		times[t] = true
	}
	for t := range right.series {
		times[t] = true
	}
	for t := range times {
		a, okA := left.at(t)
		b, okB := right.at(t)
		if !okA || !okB {
			continue
		}
		var v float64
		switch m[2] {
		case "+":
			v = a + b
		case "-":
			v = a - b
		case "*":
			v = a * b
		case "/":
			if b == 0 {
				continue // CloudWatch drops the point
			}
			v = a / b
		}
		if !math.IsNaN(v) {
			out[t] = v
		}
	}
	return out, nil
}

type term struct {
	series   map[int64]float64
	constant *float64
}

func (t term) at(ts int64) (float64, bool) {
	if t.constant != nil {
		return *t.constant, true
	}
	v, ok := t.series[ts]
	return v, ok
}

func operand(s string, values map[string]map[int64]float64) (term, *apiError) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return term{constant: &v}, nil
	}
	series, ok := values[s]
	if !ok {
		return term{}, invalid("Error in expression: Unrecognized identifier %s", s)
	}
	return term{series: series}, nil
}
