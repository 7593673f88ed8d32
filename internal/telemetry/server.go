package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
)

// HealthChecker asks Temporal's frontend whether it serves; the Temporal
// client is one.
type HealthChecker interface {
	CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// Readiness is what /readyz reports: ready once the worker has started
// polling and while Temporal answers.
type Readiness struct {
	started  atomic.Bool
	temporal atomic.Pointer[HealthChecker]
}

// SetTemporal sets the connection /readyz checks.
func (r *Readiness) SetTemporal(c HealthChecker) { r.temporal.Store(&c) }

// SetStarted marks the worker as polling (or, false, as stopping).
func (r *Readiness) SetStarted(v bool) { r.started.Store(v) }

func (r *Readiness) check(ctx context.Context) error {
	if !r.started.Load() {
		return errors.New("worker not started")
	}
	c := r.temporal.Load()
	if c == nil {
		return errors.New("no temporal connection")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := (*c).CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	return nil
}

// Handler serves /metrics from gatherer, /healthz (the process answers)
// and /readyz (ready.check).
func Handler(gatherer prometheus.Gatherer, ready *Readiness, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn), ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready.check(r.Context()); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// Server is the metrics and health endpoint.
type Server struct {
	srv *http.Server
	lis net.Listener
}

// Listen binds addr (":9090"); Serve must follow.
func Listen(addr string, h http.Handler) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	return &Server{lis: lis, srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the server, letting a scrape in flight finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
