package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/history"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/report"
	"github.com/shipshape-dev/shipshape/runs"
)

//go:embed serve.html
var servePage []byte

// serveCmd serves a read-only web page of recent runs (from Temporal's
// visibility), updated live from the event stream (server-sent events),
// each linking to its HTML report.
func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c conn
	c.register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	limit := fs.Int("limit", 50, "runs listed")
	historyDir := historyDirFlag(fs)
	stateDir := fs.String("state-dir", ".shipshape", "the history defaults to STATE-DIR/history")
	pos, err := parseArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return err
	}
	logger := newLogger(stderr, c.logLevel)
	cl, err := c.dial(ctx, logger)
	if err != nil {
		return err
	}
	defer cl.Close()
	c.nats.ReadOnly = true
	c.nats.Logger = logger
	nc := natsevents.New(c.nats)
	if err := nc.Init(ctx); err != nil {
		return err
	}
	defer nc.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: (&runsSite{client: cl, opts: c.statusOptions(), events: nc, limit: *limit, logger: logger,
		history: historyStore(*historyDir, *stateDir)}).routes(),
		ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "serving runs at http://%s/ (read-only; Ctrl-C stops)\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// eventSource is what the page's live updates read.
type eventSource interface {
	Consume(ctx context.Context, o natsevents.ConsumeOptions, fn func(natsevents.Message) error) error
}

// runsSite is the read-only web page: GET only.
type runsSite struct {
	client client.Client
	opts   []runs.Option
	events eventSource
	limit  int
	logger *slog.Logger
	// history is the run history: trends, and the comparison with the
	// previous run in a finished run's report.
	history *history.Store
}

func (s *runsSite) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
		w.Write(servePage)
	})
	mux.HandleFunc("GET /api/runs", s.list)
	mux.HandleFunc("GET /runs/{id}", s.report)
	mux.HandleFunc("GET /plans/{plan}/trend", s.trend)
	mux.HandleFunc("GET /events", s.stream)
	return mux
}

func (s *runsSite) list(w http.ResponseWriter, r *http.Request) {
	list, err := runs.List(r.Context(), s.client, s.limit, s.opts...)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

// report renders a run's HTML report as it stands (live while it runs).
func (s *runsSite) report(w http.ResponseWriter, r *http.Request) {
	live, err := runs.Status(r.Context(), s.client, r.PathValue("id"), s.opts...)
	if errors.Is(err, runs.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if live.Closed && s.history != nil && s.history.Has(live.Result.Plan, live.Result.RunID) {
		if err := attachHistory(s.history, &live.Result); err != nil {
			s.logger.Warn("history", "run", r.PathValue("id"), "error", err)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := report.HTMLWith(w, &live.Result, report.HTMLOptions{}); err != nil {
		s.logger.Warn("report", "run", r.PathValue("id"), "error", err)
	}
}

// trend renders a plan's trend over its last runs in the history.
func (s *runsSite) trend(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("plan")
	list, err := s.history.List(name, trendRuns)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if len(list) == 0 {
		http.Error(w, fmt.Sprintf("no runs of plan %s in the run history", name), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if err := report.TrendHTML(w, name, plan.NewTrend(list)); err != nil {
		s.logger.Warn("trend", "plan", name, "error", err)
	}
}

// stream sends the events published from now on as server-sent events,
// with a comment every 15 s so proxies keep the connection open.
func (s *runsSite) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	var mu sync.Mutex
	write := func(format string, args ...any) error {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	}
	if write(": connected\n\n") != nil {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if write(": ping\n\n") != nil {
					cancel()
					return
				}
			}
		}
	}()
	err := s.events.Consume(ctx, natsevents.ConsumeOptions{FilterSubject: events.SubjectAll, DeliverNew: true, Follow: true},
		func(m natsevents.Message) error {
			var e events.Event
			if json.Unmarshal(m.Data, &e) != nil {
				return nil
			}
			return write("id: %d\ndata: %s\n\n", m.Sequence, m.Data)
		})
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("event stream", "error", err)
	}
}
