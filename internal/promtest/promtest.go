// Package promtest starts a real Prometheus (the Debian package's
// /usr/bin/prometheus) on loopback for tests, scraping every second an
// exporter whose values the test drives. Tests only.
package promtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/testenv"
)

// Exporter serves gauges and counters in Prometheus's text format; the
// test sets them as it goes.
type Exporter struct {
	URL    string
	mu     sync.Mutex
	values map[string]float64
}

// NewExporter starts an exporter on loopback, closed with the test.
func NewExporter(tb testing.TB) *Exporter {
	tb.Helper()
	e := &Exporter{values: map[string]float64{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		e.mu.Lock()
		defer e.mu.Unlock()
		keys := make([]string, 0, len(e.values))
		for k := range e.values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s %g\n", k, e.values[k])
		}
	}))
	tb.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}

// Set sets series (a name with labels: `requests_total{code="500"}`).
func (e *Exporter) Set(series string, v float64) {
	e.mu.Lock()
	e.values[series] = v
	e.mu.Unlock()
}

// Add adds d to series.
func (e *Exporter) Add(series string, d float64) {
	e.mu.Lock()
	e.values[series] += d
	e.mu.Unlock()
}

// Traffic makes counters grow as a service's would: every 100 ms, each
// series in perTick grows by its value (series that do not exist yet
// start at 0), until the test ends.
func (e *Exporter) Traffic(tb testing.TB, perTick map[string]float64) {
	tb.Helper()
	for series := range perTick {
		e.Add(series, 0)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for series, d := range perTick {
					e.Add(series, d)
				}
			}
		}
	}()
	tb.Cleanup(func() { close(stop); <-done })
}

// Delete removes series: it goes stale in Prometheus.
func (e *Exporter) Delete(series string) {
	e.mu.Lock()
	delete(e.values, series)
	e.mu.Unlock()
}

// Server is a running Prometheus.
type Server struct {
	// URL is its API's base URL.
	URL string
}

// Binary returns the prometheus binary, or skips tb (fails it under
// CI=true) when there is none.
func Binary(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	testenv.Missing(tb, "prometheus", "apt-get install prometheus")
	return ""
}

// Start starts Prometheus scraping targets (exporter base URLs) every
// second, and waits until it is ready; it stops with the test.
func Start(tb testing.TB, targets ...string) *Server {
	tb.Helper()
	bin := Binary(tb)
	dir := tb.TempDir()
	var hosts []string
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil {
			tb.Fatal(err)
		}
		hosts = append(hosts, fmt.Sprintf("%q", u.Host))
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: exporter
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: [%s]
`, strings.Join(hosts, ", "))
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	addr := freeAddr(tb)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		cancel()
		<-exited
	})
	s := &Server{URL: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			tb.Fatalf("prometheus exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("prometheus not ready after 30s: %s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitFor waits until an instant query of expr returns data.
func (s *Server) WaitFor(tb testing.TB, expr string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/api/v1/query?query=" + url.QueryEscape(expr))
		if err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			if strings.Contains(b.String(), `"value"`) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("prometheus has no data for %s after 30s", expr)
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
