package devenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// DefaultDemoAddr is where the demo service listens in dev mode; the
// example plans' URL vars default to it.
const DefaultDemoAddr = "127.0.0.1:18080"

// Demo is the small service the example plans check in dev mode:
//
//	/health  200, JSON {"status":"ok"}, with security headers
//	/slow    200 after a delay (?ms=300 by default)
//	/fail    500
type Demo struct {
	srv *http.Server
	ln  net.Listener
}

// StartDemo serves the demo service on addr ("127.0.0.1:0" for any port).
func StartDemo(addr string) (*Demo, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo service on %s: %w (is another dev run using it? pass --demo-addr)", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("Content-Security-Policy", "default-src 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","checks":{"db":"up"}}`))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		delay := 300 * time.Millisecond
		if ms, err := strconv.Atoi(r.URL.Query().Get("ms")); err == nil && ms >= 0 && ms <= 60_000 {
			delay = time.Duration(ms) * time.Millisecond
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","slow":true}`))
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"error"}`, http.StatusInternalServerError)
	})
	d := &Demo{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener was closed under us; nothing to report to
		}
	}()
	return d, nil
}

// URL is the service's base URL.
func (d *Demo) URL() string { return "http://" + d.ln.Addr().String() }

// Close stops the service.
func (d *Demo) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return d.srv.Shutdown(ctx)
}
