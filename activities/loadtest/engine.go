// Package loadtest is the loadtest task type and its engine. The engine
// (Run) sends HTTP load with vegeta and measures it with HDR histograms
// (microsecond precision); the task type (Tester) declares the type, turns
// a task's parameters into a Config, reports progress, stops on failing
// abortOnFail gates, and returns the metrics, tables, a latency series and
// SVG charts.
//
// Two models: open, where requests start on a schedule (a constant rate,
// or a ramp of stages) whatever the responses do, so a slow response never
// delays the next request and latency cannot hide behind it (no
// coordinated omission); and closed, where a fixed number of users each
// send their next request as soon as the last one is answered, for
// maximum-throughput tests.
//
// The engine does no Temporal: Run takes a Config and reports to a
// callback once a second (bench/loadgen runs it alone).
package loadtest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/shipshape-dev/shipshape/internal/httpclient"
)

// Target is one kind of request, sent in proportion to its Weight.
type Target struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	Weight float64
}

// Stage is one step of a ramp: the rate goes linearly, over Duration, from
// where the stage before ended (0 for the first) to Target per second.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Config is one load test. Exactly one of Rate, Stages and Users is set.
type Config struct {
	Targets []Target
	// Rate is the open model's constant rate, per second.
	Rate float64
	// Stages is the open model's ramp; the test lasts their total.
	Stages []Stage
	// Users is the closed model's number of concurrent users.
	Users int
	// Duration is how long requests are measured (not with Stages).
	Duration time.Duration
	// Warmup is sent before measuring starts, at the starting rate (the
	// first stage's target) or with all users; it is not measured.
	Warmup time.Duration
	// Timeout bounds each request, until its body is read.
	Timeout time.Duration
	// MaxConnections caps connections per host; 0 means no cap.
	MaxConnections int
	// Workers is how many workers the open model starts with; it adds
	// more when all are busy.
	Workers   int
	KeepAlive bool
	// HTTP2 lets https targets negotiate HTTP/2.
	HTTP2 bool
	// NetHTTP sends every request with Go's net/http client, even where
	// the fast client could (see fastUsable).
	NetHTTP            bool
	InsecureSkipVerify bool
	// TLS, when set, is the client's TLS configuration (a private CA's
	// roots, a client certificate); InsecureSkipVerify applies on top.
	TLS *tls.Config
	// AllowedHosts are the hosts redirects may lead to, on top of the
	// targets' own, written as spec.allowedHosts is; a redirect anywhere
	// else is not followed and counts as an error.
	AllowedHosts []string
}

// Measured is how long requests are measured: Duration, or the stages'
// total.
func (c Config) Measured() time.Duration {
	if len(c.Stages) == 0 {
		return c.Duration
	}
	var total time.Duration
	for _, s := range c.Stages {
		total += s.Duration
	}
	return total
}

// Check says what makes c unusable.
func (c Config) Check() error {
	models := 0
	for _, set := range []bool{c.Rate > 0, len(c.Stages) > 0, c.Users > 0} {
		if set {
			models++
		}
	}
	var weights float64
	for _, t := range c.Targets {
		if t.Weight < 0 {
			return fmt.Errorf("target %s %s: weight %v is negative", t.Method, t.URL, t.Weight)
		}
		weights += t.Weight
	}
	switch {
	case len(c.Targets) == 0:
		return errors.New("no targets")
	case weights <= 0:
		return errors.New("the targets' weights add up to 0")
	case models != 1:
		return errors.New("give exactly one of a rate, stages or users")
	case c.Rate < 0 || c.Users < 0:
		return errors.New("rate and users must not be negative")
	case len(c.Stages) == 0 && c.Duration <= 0:
		return errors.New("duration must be more than zero")
	case c.Measured() <= 0:
		return errors.New("the stages last no time")
	case c.Timeout <= 0:
		return errors.New("timeout must be more than zero")
	case c.Warmup < 0:
		return errors.New("warmup must not be negative")
	}
	for i, s := range c.Stages {
		if s.Duration < 0 || s.Target < 0 {
			return fmt.Errorf("stage %d: duration and target must not be negative", i+1)
		}
	}
	return nil
}

// Snapshot is the progress of a run, as the callback of Run sees it once a
// second.
type Snapshot struct {
	// Elapsed is the time since the run began, warmup included.
	Elapsed time.Duration
	// Warmup is true while the warmup is sent.
	Warmup bool
	// Measured is the time since measuring began.
	Measured time.Duration
	// Requests and Errors are the responses measured so far.
	Requests, Errors int64
	// Rate and P95 are those of the last whole second (before the first
	// one ends, of the measuring so far).
	Rate float64
	P95  time.Duration
	// Metrics are the run's metrics so far, as Result.Metrics.
	Metrics map[string]float64
}

// Result is what a run measured.
type Result struct {
	// Metrics, in base units: http.requests, http.rps, http.latency.p50,
	// p90, p95, p99, max and mean (seconds), http.errors.rate and count,
	// http.status.<code>, http.bytes.in and out.
	Metrics map[string]float64
	// Series has a row per second of the measured run.
	Series []Second
	// Errors are the kinds of errors, most frequent first.
	Errors []ErrorCount
	// Histogram is the latency distribution in log-spaced bars.
	Histogram []Bar
	// Stopped says why the run ended early; empty when it ran its course.
	Stopped string
	// Measured is how long requests were measured for.
	Measured time.Duration
	// Warmup counts the warmup's responses; CutOff the requests in flight
	// when an early stop cancelled them (neither is measured).
	Warmup, CutOff int64
}

// stopGrace is how long requests in flight may finish after an early stop
// before they are cancelled.
const stopGrace = time.Second

// histogramBars is how many bars Result.Histogram has.
const histogramBars = 40

// Run sends the load c describes and measures it. Once a second it calls
// every (when not nil) with a Snapshot; a non-empty return stops the run
// early, and is Result.Stopped. Cancelling ctx stops sending at once,
// cancels the requests in flight and returns ctx's error.
func Run(ctx context.Context, c Config, every func(Snapshot) string) (*Result, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	requests, cancelRequests := context.WithCancel(ctx)
	defer cancelRequests()

	measured := c.Measured()
	var (
		results <-chan *vegeta.Result
		// stop stops sending; giveUp ends the requests in flight and
		// returns how many it cut off that will not be in results.
		stop    func()
		giveUp  func() int64
		bytesIn func(*vegeta.Result) int64
	)
	var pacer vegeta.Pacer = vegeta.ConstantPacer{} // closed: as fast as the users go
	if c.Users == 0 {
		pacer = newSchedule(c.Warmup, c.Rate, c.Duration, c.Stages)
	}
	began := time.Now()
	if ok, _ := fastUsable(c); ok {
		fast := newFastAttack(c)
		defer fast.closeIdle()
		results = fast.attack(pacer, c.Warmup+measured)
		stop, giveUp = fast.stop, fast.abandon
		bytesIn = func(r *vegeta.Result) int64 { return int64(r.BytesIn) }
	} else {
		meter := &meter{ctx: requests, timeout: c.Timeout, sizes: map[uint64]int64{}}
		meter.base = newTransport(c)
		defer meter.base.CloseIdleConnections()
		opts := []func(*vegeta.Attacker){
			vegeta.Client(&http.Client{Transport: meter, CheckRedirect: httpclient.CheckRedirect(c.redirectHosts())}),
			vegeta.MaxBody(0), // bodies are counted by the meter, never kept
		}
		if c.Users > 0 {
			opts = append(opts, vegeta.Workers(uint64(c.Users)), vegeta.MaxWorkers(uint64(c.Users)))
		} else {
			opts = append(opts, vegeta.Workers(uint64(max(c.Workers, 1))))
		}
		attacker := vegeta.NewAttacker(opts...)
		results = attacker.Attack(newTargeter(c.Targets), pacer, c.Warmup+measured, "")
		stop = func() { attacker.Stop() }
		giveUp = func() int64 { cancelRequests(); return 0 }
		bytesIn = func(r *vegeta.Result) int64 { return meter.take(r.Seq) }
	}
	measureFrom := began.Add(c.Warmup)
	rec := newRecorder(measureFrom, measured, c.Timeout)

	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var (
		stopped   string
		stoppedAt time.Time
		grace     <-chan time.Time
		cutOff    bool
	)
	for results != nil {
		select {
		case res, ok := <-results:
			if !ok {
				results = nil
				continue
			}
			rec.add(res, bytesIn(res), time.Now(), cutOff)
		case <-ticker.C:
			if every == nil || stopped != "" {
				continue
			}
			now := time.Now()
			rec.advance(now)
			snap := Snapshot{
				Elapsed:  now.Sub(began),
				Warmup:   now.Before(measureFrom),
				Measured: min(max(now.Sub(measureFrom), 0), measured),
				Requests: rec.requests,
				Errors:   rec.errors,
				Rate:     float64(rec.lastFull.Requests),
				P95:      rec.lastFull.P95,
			}
			snap.Metrics = rec.metrics(snap.Measured)
			if rec.rowIndex == 0 && rec.requests > 0 {
				// No whole second yet: the figures so far.
				snap.Rate = snap.Metrics["http.rps"]
				snap.P95 = time.Duration(snap.Metrics["http.latency.p95"] * float64(time.Second))
			}
			if why := every(snap); why != "" {
				stopped, stoppedAt = why, now
				stop()
				grace = time.After(stopGrace)
			}
		case <-grace:
			grace, cutOff = nil, true
			if n := giveUp(); n > 0 {
				// The fast client cannot cancel its requests: stop
				// waiting for them and count them as cut off.
				rec.cutOff += n
				results = nil
			}
		case <-ctx.Done():
			stop()
			if giveUp() == 0 {
				// The attacker closes results once its workers return,
				// which the cancelled requests make immediate; drain
				// them so none blocks.
				go func() {
					for range results {
					}
				}()
			}
			return nil, ctx.Err()
		}
	}
	end := time.Now()
	rec.finish(end)
	if stopped != "" {
		measured = min(measured, max(stoppedAt.Sub(measureFrom), 0))
	}
	return &Result{
		Metrics:   rec.metrics(measured),
		Series:    rec.series,
		Errors:    rec.errorList(),
		Histogram: rec.bars(histogramBars),
		Stopped:   stopped,
		Measured:  measured,
		Warmup:    rec.warmup,
		CutOff:    rec.cutOff,
	}, nil
}

// redirectHosts are the hosts redirects may lead to: AllowedHosts and
// the targets' own.
func (c Config) redirectHosts() []string {
	hosts := slices.Clone(c.AllowedHosts)
	for _, t := range c.Targets {
		if u, err := url.Parse(t.URL); err == nil && u.Hostname() != "" {
			hosts = append(hosts, u.Hostname())
		}
	}
	return hosts
}

// newTransport is the HTTP transport of one run: its own connection pool,
// so that runs do not share connections with each other or the worker.
func newTransport(c Config) *http.Transport {
	dialer := &net.Dialer{Timeout: c.Timeout, KeepAlive: 30 * time.Second}
	if !c.KeepAlive {
		dialer.KeepAlive = -1
	}
	idle := 10_000
	if c.MaxConnections > 0 {
		idle = c.MaxConnections
	}
	t := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: idle,
		MaxConnsPerHost:     c.MaxConnections,
		DisableKeepAlives:   !c.KeepAlive,
		// Bodies are counted as they come over the wire.
		DisableCompression:  true,
		TLSHandshakeTimeout: c.Timeout,
		ForceAttemptHTTP2:   c.HTTP2,
	}
	if c.TLS != nil {
		t.TLSClientConfig = c.TLS.Clone()
	} else {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.InsecureSkipVerify = c.InsecureSkipVerify //nolint:gosec // the plan asks for it
	if !c.HTTP2 {
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return t
}

// meter is the attacker's RoundTripper: it gives each request the run's
// context (so a stop cancels requests in flight) and its timeout, and
// counts each response body's bytes under the request's sequence number,
// which vegeta sends as X-Vegeta-Seq and puts in the result.
type meter struct {
	base    *http.Transport
	ctx     context.Context
	timeout time.Duration

	mu    sync.Mutex
	sizes map[uint64]int64
}

func (m *meter) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(m.ctx, m.timeout)
	resp, err := m.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	seq, _ := strconv.ParseUint(req.Header.Get("X-Vegeta-Seq"), 10, 64)
	resp.Body = &countedBody{ReadCloser: resp.Body, done: func(n int64) {
		cancel()
		m.mu.Lock()
		m.sizes[seq] += n
		m.mu.Unlock()
	}}
	return resp, nil
}

// take returns and forgets the body size counted for a request.
func (m *meter) take(seq uint64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.sizes[seq]
	delete(m.sizes, seq)
	return n
}

// countedBody counts what is read of a body and reports it when closed.
type countedBody struct {
	io.ReadCloser
	n    int64
	once sync.Once
	done func(int64)
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.done(b.n) })
	return err
}

// newTargeter is vegeta's view of weighted.
func newTargeter(targets []Target) vegeta.Targeter {
	next := weighted(targets)
	return func(out *vegeta.Target) error {
		t := next()
		*out = vegeta.Target{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body}
		return nil
	}
}
