package loadtest

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Second is one row of the time series: the responses that arrived in one
// second of the measured run.
type Second struct {
	// At is the second's start, from the moment measuring began.
	At       time.Duration `json:"at"`
	Requests int64         `json:"requests"`
	Errors   int64         `json:"errors"`
	P50      time.Duration `json:"p50"`
	P95      time.Duration `json:"p95"`
	P99      time.Duration `json:"p99"`
}

// ErrorCount is how often one kind of error happened.
type ErrorCount struct {
	Error string `json:"error"`
	Count int64  `json:"count"`
}

// Bar is one bar of a latency histogram: Count responses took From to To.
type Bar struct {
	From, To time.Duration
	Count    int64
}

// maxErrorKinds bounds the distinct error messages kept; the rest count
// under "other errors".
const maxErrorKinds = 20

// recorder keeps the statistics of one run. Only the goroutine that reads
// the attack's results touches it.
type recorder struct {
	measureFrom time.Time // requests sent before are warmup
	seconds     int       // rows the series may have (whole seconds of the measured duration)
	highest     int64     // highest trackable latency, µs
	total       *hdrhistogram.Histogram
	current     *hdrhistogram.Histogram // of the second being filled
	row         Second
	rowIndex    int
	series      []Second

	requests, errors  int64
	warmup, cutOff    int64
	bytesIn, bytesOut uint64
	maxLatency        time.Duration
	codes             map[uint16]int64
	errorKinds        map[string]int64
	lastFull          Second // the last second completed, for progress
}

func newRecorder(measureFrom time.Time, measured, timeout time.Duration) *recorder {
	// Latencies are recorded in microseconds with three significant
	// digits, up to twice the request timeout (a response can end a little
	// after its deadline).
	highest := max(2*timeout, 10*time.Second).Microseconds()
	return &recorder{
		measureFrom: measureFrom,
		seconds:     int(math.Ceil(measured.Seconds())),
		highest:     highest,
		total:       hdrhistogram.New(1, highest, 3),
		current:     hdrhistogram.New(1, highest, 3),
		codes:       map[uint16]int64{},
		errorKinds:  map[string]int64{},
	}
}

// add records one result that arrived at now; bytesIn is its response
// body's size. cutOff is true once the run cancelled its requests in
// flight: those requests' errors are the run's doing, not the target's.
func (r *recorder) add(res *vegeta.Result, bytesIn int64, now time.Time, cutOff bool) {
	if res.Timestamp.Before(r.measureFrom) {
		r.warmup++
		return
	}
	if cutOff && res.Code == 0 && strings.Contains(res.Error, "context canceled") {
		r.cutOff++
		return
	}
	r.advance(now)
	us := min(max(res.Latency.Microseconds(), 1), r.highest)
	_ = r.total.RecordValue(us)
	_ = r.current.RecordValue(us)
	r.maxLatency = max(r.maxLatency, res.Latency)
	r.requests++
	r.row.Requests++
	r.bytesIn += uint64(max(bytesIn, 0))
	r.bytesOut += res.BytesOut
	if res.Code != 0 {
		r.codes[res.Code]++
	}
	if res.Error != "" {
		r.errors++
		r.row.Errors++
		r.countError(errorKind(res))
	}
}

// advance closes the seconds that ended before now. Rows are kept for the
// whole seconds of the measured duration; responses that arrive after it
// (requests still in flight at its end) count in its last second.
func (r *recorder) advance(now time.Time) {
	index := int(now.Sub(r.measureFrom) / time.Second)
	if r.seconds > 0 {
		index = min(index, r.seconds-1)
	}
	for r.rowIndex < index {
		r.closeRow()
	}
}

func (r *recorder) closeRow() {
	row := r.row
	row.At = time.Duration(r.rowIndex) * time.Second
	if r.current.TotalCount() > 0 {
		row.P50 = micros(r.current.ValueAtQuantile(50))
		row.P95 = micros(r.current.ValueAtQuantile(95))
		row.P99 = micros(r.current.ValueAtQuantile(99))
	}
	r.series = append(r.series, row)
	r.lastFull = row
	r.current.Reset()
	r.row = Second{}
	r.rowIndex++
}

// finish closes the last row, if it has anything in it.
func (r *recorder) finish(now time.Time) {
	r.advance(now)
	if r.row.Requests > 0 {
		r.closeRow()
	}
}

func (r *recorder) countError(kind string) {
	if _, known := r.errorKinds[kind]; !known && len(r.errorKinds) >= maxErrorKinds {
		kind = "other errors"
	}
	r.errorKinds[kind]++
}

// metrics returns the run's metrics so far, in base units. measured is how
// long requests were sent for, after warmup.
func (r *recorder) metrics(measured time.Duration) map[string]float64 {
	m := map[string]float64{
		"http.requests":     float64(r.requests),
		"http.errors.count": float64(r.errors),
		"http.bytes.in":     float64(r.bytesIn),
		"http.bytes.out":    float64(r.bytesOut),
		"http.rps":          0,
	}
	if measured > 0 {
		m["http.rps"] = float64(r.requests) / measured.Seconds()
	}
	for code, n := range r.codes {
		m["http.status."+strconv.Itoa(int(code))] = float64(n)
	}
	if r.requests == 0 {
		return m
	}
	m["http.errors.rate"] = float64(r.errors) / float64(r.requests)
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}} {
		m["http.latency."+q.name] = micros(r.total.ValueAtQuantile(q.q)).Seconds()
	}
	m["http.latency.max"] = r.maxLatency.Seconds()
	m["http.latency.mean"] = r.total.Mean() / 1e6
	return m
}

// errorList returns the kinds of errors, most frequent first.
func (r *recorder) errorList() []ErrorCount {
	out := make([]ErrorCount, 0, len(r.errorKinds))
	for kind, n := range r.errorKinds {
		out = append(out, ErrorCount{Error: kind, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Error < out[j].Error
	})
	return out
}

// bars returns the latency histogram in at most n bars of equal width on a
// logarithmic scale, from the fastest response to the slowest.
func (r *recorder) bars(n int) []Bar {
	if r.total.TotalCount() == 0 || n <= 0 {
		return nil
	}
	lo := float64(max(r.total.Min(), 1))
	hi := float64(max(r.total.Max(), int64(lo)+1))
	step := math.Log(hi/lo) / float64(n)
	out := make([]Bar, n)
	for i := range out {
		out[i].From = micros(int64(math.Round(lo * math.Exp(step*float64(i)))))
		out[i].To = micros(int64(math.Round(lo * math.Exp(step*float64(i+1)))))
	}
	for _, b := range r.total.Distribution() {
		if b.Count == 0 {
			continue
		}
		mid := float64(b.From+b.To) / 2
		i := 0
		if mid > lo {
			i = min(int(math.Log(mid/lo)/step), n-1)
		}
		out[i].Count += b.Count
	}
	return out
}

func micros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// requestPrefix is what net/http puts before a transport error:
// `Get "http://host/path": `.
var requestPrefix = regexp.MustCompile(`^[A-Z]+ "[^"]*": `)

// errorKind names a failed result's error without what varies between
// requests (the URL, the local port), so that equal errors count together.
func errorKind(res *vegeta.Result) string {
	if res.Code != 0 {
		return "status " + res.Error
	}
	msg := requestPrefix.ReplaceAllString(res.Error, "")
	switch {
	case strings.Contains(msg, "context deadline exceeded"), strings.Contains(msg, "Client.Timeout"):
		return "timeout: no complete response in time"
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "connection reset by peer"):
		return "connection reset by peer"
	case strings.Contains(msg, "EOF"):
		return "connection closed before the response (EOF)"
	}
	// "dial tcp 127.0.0.1:51234->…" carries a local port: drop it.
	return localAddr.ReplaceAllString(msg, "")
}

var localAddr = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+->`)
