package loadtest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// clients are the two ways the engine sends requests; every test here
// runs with both and expects the same measurements.
var clients = map[string]bool{"fasthttp": false, "net/http": true}

func TestFastUsable(t *testing.T) {
	t.Setenv("HTTP_PROXY", "")
	t.Setenv("http_proxy", "")
	for _, tc := range []struct {
		c    Config
		want bool
	}{
		{Config{Targets: []Target{{URL: "http://127.0.0.1:8080/"}}}, true},
		{Config{Targets: []Target{{URL: "http://127.0.0.1:8080/"}}, HTTP2: true}, true}, // http:// is HTTP/1.1 anyway
		{Config{Targets: []Target{{URL: "https://127.0.0.1:8443/"}}}, true},
		{Config{Targets: []Target{{URL: "https://127.0.0.1:8443/"}}, HTTP2: true}, false},
		{Config{Targets: []Target{{URL: "http://127.0.0.1:8080/"}}, NetHTTP: true}, false},
		{Config{Targets: []Target{{URL: "http://u:p@127.0.0.1:8080/"}}}, false},
	} {
		if got, why := fastUsable(tc.c); got != tc.want {
			t.Errorf("fastUsable(%+v) = %v (%s), want %v", tc.c, got, why, tc.want)
		}
	}
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	if ok, _ := fastUsable(Config{Targets: []Target{{URL: "http://example.com/"}}}); ok {
		t.Error("a target behind a proxy from the environment went to the fast client")
	}
}

// TestClientsMeasureAlike: the fast client and net/http send exactly the
// schedule's requests and count statuses, bytes and errors the same way.
func TestClientsMeasureAlike(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		if r.Header.Get("X-Test") != "yes" {
			http.Error(w, "header missing", http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/fail" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("hello")) //nolint:errcheck
	}))
	defer srv.Close()
	for name, netHTTP := range clients {
		t.Run(name, func(t *testing.T) {
			got.Store(0)
			res, err := Run(context.Background(), Config{
				Targets: []Target{
					{Method: "POST", URL: srv.URL + "/ok", Header: http.Header{"X-Test": {"yes"}}, Body: []byte("abc"), Weight: 3},
					{Method: "GET", URL: srv.URL + "/fail", Header: http.Header{"X-Test": {"yes"}}, Weight: 1},
				},
				Rate: 200, Duration: time.Second, Timeout: 5 * time.Second, Workers: 4, KeepAlive: true, NetHTTP: netHTTP,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := res.Metrics
			if m["http.requests"] != 200 || got.Load() != 200 {
				t.Fatalf("requests measured %v, received %d, want 200", m["http.requests"], got.Load())
			}
			want := map[string]float64{
				"http.status.200": 150, "http.status.500": 50, "http.errors.count": 50, "http.errors.rate": 0.25,
				"http.bytes.out": 150 * 3, "http.bytes.in": 150*5 + 50*3, // "no\n"
			}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v", k, m[k], v)
				}
			}
			if len(res.Errors) != 1 || res.Errors[0].Error != "status 500 Internal Server Error" {
				t.Errorf("errors %+v, want one kind: status 500 Internal Server Error", res.Errors)
			}
		})
	}
}

// TestClientsNameErrorsAlike: a refused connection and a timeout are
// grouped under the same words by both clients.
func TestClientsNameErrorsAlike(t *testing.T) {
	// The slow server answers only after 10 s (or once the client gives
	// up), so that no response can beat the 100 ms timeout however late
	// a loaded machine fires its timer.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	refused := closed.URL
	closed.Close()
	for name, netHTTP := range clients {
		t.Run(name, func(t *testing.T) {
			// A refusal comes back at once: its timeout is long, so that
			// a loaded machine (the race detector, other packages' tests)
			// cannot turn a slow refusal into a timeout.
			for _, c := range []struct {
				url, want string
				timeout   time.Duration
			}{{slow.URL, "timeout: no complete response in time", 100 * time.Millisecond}, {refused, "connection refused", 5 * time.Second}} {
				url, want := c.url, c.want
				res, err := Run(context.Background(), Config{
					Targets: []Target{{Method: "GET", URL: url, Weight: 1}},
					Users:   2, Duration: 500 * time.Millisecond, Timeout: c.timeout, KeepAlive: true, NetHTTP: netHTTP,
				}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Metrics["http.errors.rate"] != 1 || len(res.Errors) != 1 || res.Errors[0].Error != want {
					t.Errorf("%s: error rate %v, kinds %+v, want all %q", url, res.Metrics["http.errors.rate"], res.Errors, want)
				}
			}
		})
	}
}

// TestClientsConnectionLimits: keepAlive false opens a connection per
// request, and maxConnections caps them, with both clients.
func TestClientsConnectionLimits(t *testing.T) {
	var conns, open, most atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns.Add(1)
			if n := open.Add(1); n > most.Load() {
				most.Store(n)
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	for name, netHTTP := range clients {
		t.Run(name, func(t *testing.T) {
			conns.Store(0)
			res, err := Run(context.Background(), Config{
				Targets: []Target{{Method: "GET", URL: srv.URL, Weight: 1}},
				Rate:    50, Duration: 400 * time.Millisecond, Timeout: 5 * time.Second, KeepAlive: false, NetHTTP: netHTTP,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := res.Metrics["http.requests"]; n != 20 || conns.Load() != 20 {
				t.Errorf("keepAlive false: %v requests over %d connections, want 20 over 20", n, conns.Load())
			}
			// The server sees the first run's connections close a little
			// after the client closes them: count from none open, so a
			// late close on a loaded machine is not taken for a third
			// connection.
			for deadline := time.Now().Add(5 * time.Second); open.Load() > 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			most.Store(open.Load())
			res, err = Run(context.Background(), Config{
				Targets: []Target{{Method: "GET", URL: srv.URL, Weight: 1}},
				Users:   8, Duration: 300 * time.Millisecond, Timeout: 5 * time.Second, KeepAlive: true, MaxConnections: 2, NetHTTP: netHTTP,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Metrics["http.errors.count"] != 0 || most.Load() > 2 {
				t.Errorf("maxConnections 2: %v errors, %d connections open at once", res.Metrics["http.errors.count"], most.Load())
			}
		})
	}
}
