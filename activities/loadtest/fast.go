package loadtest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/http/httpproxy"

	"github.com/shipshape-dev/shipshape/internal/httpclient"
	"github.com/shipshape-dev/shipshape/plan"
)

// The fast client. Most of a load generator's CPU goes to its HTTP client,
// and on a small machine the generator shares the cores with what it
// measures: Go's net/http client (a read and a write goroutine per
// connection, a hand-off to each per request) reached 0.45 × wrk's rate.
// fasthttp's client does a request on the goroutine that asks for it, with
// pooled buffers, so plain HTTP/1.1 targets (http, and https without
// HTTP/2) and targets no proxy stands in front of go through it; HTTP/2
// and proxies keep net/http (vegeta). Both produce the same results,
// measured the same way.

// fastUsable says whether c's targets can all go through the fast client,
// and if not, why not.
func fastUsable(c Config) (bool, string) {
	if c.NetHTTP {
		return false, "net/http asked for"
	}
	// The environment as it is now (net/http reads it once per process).
	proxy := httpproxy.FromEnvironment().ProxyFunc()
	for _, t := range c.Targets {
		u, err := url.Parse(t.URL)
		if err != nil {
			return false, err.Error()
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return false, "scheme " + u.Scheme
		}
		if u.Scheme == "https" && c.HTTP2 {
			return false, "HTTP/2 allowed for an https target"
		}
		if u.User != nil {
			return false, "credentials in the URL"
		}
		if p, err := proxy(u); err != nil || p != nil {
			return false, "a proxy from the environment"
		}
	}
	return true, ""
}

// fastAttack sends the load of one run with fasthttp: the closed model's
// users each loop on their own goroutine; the open model's schedule hands
// due requests to workers, adding one whenever all are busy, as vegeta's
// attacker does.
type fastAttack struct {
	c       Config
	targets func() *Target
	began   time.Time
	seq     atomic.Uint64
	out     chan *vegeta.Result
	stopped chan struct{}
	once    sync.Once
	// gone is closed when the run stops reading results: requests still
	// in flight then end without a reader.
	gone     chan struct{}
	goneOnce sync.Once
	// inFlight counts requests sent and not yet answered, so a run that
	// gives up on them can count them as cut off.
	inFlight atomic.Int64

	mu      sync.Mutex
	clients map[string]*fasthttp.HostClient
	allowed []string
}

func newFastAttack(c Config) *fastAttack {
	return &fastAttack{
		c:       c,
		targets: weighted(c.Targets),
		out:     make(chan *vegeta.Result, 1024),
		stopped: make(chan struct{}),
		gone:    make(chan struct{}),
		clients: map[string]*fasthttp.HostClient{},
		allowed: c.redirectHosts(),
	}
}

// stop stops sending; requests in flight end within their timeout.
func (a *fastAttack) stop() { a.once.Do(func() { close(a.stopped) }) }

func (a *fastAttack) isStopped() bool {
	select {
	case <-a.stopped:
		return true
	default:
		return false
	}
}

// abandon stops sending and tells the requests in flight that no one
// reads their results, and returns how many there were.
func (a *fastAttack) abandon() int64 {
	a.stop()
	a.goneOnce.Do(func() { close(a.gone) })
	return a.inFlight.Load()
}

// send passes a result to the run unless it gave up reading.
func (a *fastAttack) send(r *vegeta.Result) {
	select {
	case a.out <- r:
	case <-a.gone:
	}
}

// closeIdle closes the connections of the run's clients.
func (a *fastAttack) closeIdle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, hc := range a.clients {
		hc.CloseIdleConnections()
	}
}

// attack starts sending for du and returns the results, closed when every
// request sent has been answered.
func (a *fastAttack) attack(pacer vegeta.Pacer, du time.Duration) <-chan *vegeta.Result {
	a.began = time.Now()
	var wg sync.WaitGroup
	if a.c.Users > 0 {
		end := a.began.Add(du)
		for range a.c.Users {
			wg.Go(func() {
				for !a.isStopped() && time.Now().Before(end) {
					a.send(a.hit())
				}
			})
		}
		go func() {
			wg.Wait()
			close(a.out)
		}()
		return a.out
	}
	ticks := make(chan struct{})
	worker := func() {
		for range ticks {
			a.send(a.hit())
		}
	}
	for range max(a.c.Workers, 1) {
		wg.Go(worker)
	}
	go func() {
		defer func() {
			close(ticks)
			wg.Wait()
			close(a.out)
		}()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for count := uint64(0); ; {
			// The schedule ends itself: a request due before its end
			// leaves even when the loop runs late (a loaded machine), so
			// the count is exact.
			elapsed := time.Since(a.began)
			wait, stop := pacer.Pace(elapsed, count)
			if stop {
				return
			}
			if wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-a.stopped:
					return
				}
				continue
			}
			select {
			case ticks <- struct{}{}:
				count++
				continue
			case <-a.stopped:
				return
			default:
				// Every worker is busy: one more, so the request still
				// leaves when it is due.
				wg.Go(worker)
			}
			select {
			case ticks <- struct{}{}:
				count++
			case <-a.stopped:
				return
			}
		}
	}()
	return a.out
}

// hit sends one request, following redirects the allow-list permits, and
// returns its result as vegeta would have.
func (a *fastAttack) hit() *vegeta.Result {
	a.inFlight.Add(1)
	defer a.inFlight.Add(-1)
	t := a.targets()
	res := &vegeta.Result{Method: t.Method, URL: t.URL, Seq: a.seq.Add(1) - 1}
	res.Timestamp = a.began.Add(time.Since(a.began))
	deadline := res.Timestamp.Add(a.c.Timeout)

	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.DisableNormalizing()
	req.SetRequestURI(t.URL)
	req.Header.SetMethod(t.Method)
	for k, vs := range t.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if !a.c.KeepAlive {
		req.SetConnectionClose()
	}
	if len(t.Body) > 0 {
		req.SetBodyRaw(t.Body)
	}
	res.BytesOut = uint64(len(t.Body))

	err := a.do(req, resp, t.URL, deadline)
	res.Latency = time.Since(res.Timestamp)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.BytesIn = uint64(len(resp.Body()))
	if res.Code = uint16(resp.StatusCode()); res.Code < 200 || res.Code >= 400 {
		res.Error = fmt.Sprintf("%d %s", res.Code, http.StatusText(int(res.Code)))
	}
	return res
}

// do sends req and follows up to httpclient.MaxRedirects redirects to
// allowed hosts, as the net/http path's CheckRedirect does.
func (a *fastAttack) do(req *fasthttp.Request, resp *fasthttp.Response, rawURL string, deadline time.Time) error {
	for redirects := 0; ; redirects++ {
		hc, err := a.client(req.URI())
		if err != nil {
			return err
		}
		if err := hc.DoDeadline(req, resp, deadline); err != nil {
			return fastError(err)
		}
		code := resp.StatusCode()
		loc := resp.Header.Peek("Location")
		if !fasthttp.StatusCodeIsRedirect(code) || len(loc) == 0 {
			return nil
		}
		base, err := url.Parse(rawURL)
		if err != nil {
			return err
		}
		next, err := base.Parse(string(loc))
		if err != nil {
			return fmt.Errorf("redirect to %q: %w", loc, err)
		}
		if redirects+1 > httpclient.MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", httpclient.MaxRedirects)
		}
		if (next.Scheme != "http" && next.Scheme != "https") || !plan.URLAllowed(next, a.allowed) {
			return &httpclient.RedirectRefused{URL: next}
		}
		rawURL = next.String()
		req.SetRequestURI(rawURL)
		if code == http.StatusSeeOther || ((code == http.StatusMovedPermanently || code == http.StatusFound) && string(req.Header.Method()) == http.MethodPost) {
			req.Header.SetMethod(http.MethodGet)
			req.SetBodyRaw(nil)
		}
		resp.Reset()
	}
}

// client returns the run's client for the host of u.
func (a *fastAttack) client(u *fasthttp.URI) (*fasthttp.HostClient, error) {
	scheme, host := string(u.Scheme()), string(u.Host())
	key := scheme + "://" + host
	a.mu.Lock()
	defer a.mu.Unlock()
	if hc, ok := a.clients[key]; ok {
		return hc, nil
	}
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		port := "80"
		if scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	dialer := &fasthttp.TCPDialer{Concurrency: 0}
	timeout := a.c.Timeout
	hc := &fasthttp.HostClient{
		Addr:                          addr,
		IsTLS:                         scheme == "https",
		NoDefaultUserAgentHeader:      false,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		MaxConns:                      1 << 30,
		MaxIdleConnDuration:           30 * time.Second,
		// Bodies are counted as they come: no decompression.
		Dial: func(addr string) (net.Conn, error) { return dialer.DialDualStackTimeout(addr, timeout) },
	}
	if a.c.MaxConnections > 0 {
		hc.MaxConns = a.c.MaxConnections
		hc.MaxConnWaitTimeout = timeout
	}
	if hc.IsTLS {
		if a.c.TLS != nil {
			hc.TLSConfig = a.c.TLS.Clone()
		} else {
			hc.TLSConfig = newTransport(Config{Timeout: timeout}).TLSClientConfig
		}
		hc.TLSConfig.InsecureSkipVerify = a.c.InsecureSkipVerify //nolint:gosec // the plan asks for it
		hc.TLSConfig.NextProtos = []string{"http/1.1"}
	}
	a.clients[key] = hc
	return hc, nil
}

// fastError words fasthttp's errors as net/http's, so that errorKind
// groups them the same whichever client sent the request.
func fastError(err error) error {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return fmt.Errorf("context deadline exceeded (%w)", err)
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return fmt.Errorf("EOF: %w", err)
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return fmt.Errorf("context deadline exceeded: no free connection within the timeout (%w)", err)
	}
	return err
}

// weighted picks targets by smooth weighted round robin: exactly in
// proportion to their weights, interleaved rather than in runs.
func weighted(targets []Target) func() *Target {
	var mu sync.Mutex
	current := make([]float64, len(targets))
	var total float64
	for _, t := range targets {
		total += t.Weight
	}
	return func() *Target {
		mu.Lock()
		defer mu.Unlock()
		best := -1
		for i, t := range targets {
			current[i] += t.Weight
			if best < 0 || current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		return &targets[best]
	}
}
