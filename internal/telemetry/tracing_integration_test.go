//go:build integration

package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/client"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/natsevents/natstest"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/internal/telemetry"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/runs"
)

const tracedPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: traced}
spec:
  vars: {url: "http://127.0.0.1:1"}
  phases:
    - name: smoke
      tasks:
        - name: health
          uses: http-check
          with: {url: "${vars.url}", expectStatus: 200}
          gates: [{metric: http.latency, pass: "< 5s"}]
`

// TestRunIsOneTrace runs a plan on an in-process worker whose client has
// the tracing interceptor, with spans kept in memory: the start, the run,
// its phase, the task and the event batches are spans of one trace; every
// event carries that trace in traceparent; the task's log lines carry its
// trace ID.
func TestRunIsOneTrace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	temporal, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(temporal.Stop)
	natsSrv := natstest.MustStart(t)
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(service.Close)

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracing, err := telemetry.TracingInterceptor(tp)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(telemetry.TraceLogHandler(slog.NewJSONHandler(logs, nil)))

	stream := natsevents.New(natsevents.Config{URL: natsSrv.URL(), Logger: logger})
	t.Cleanup(stream.Close)
	if err := stream.Init(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := host.TemporalConfig{Address: temporal.Address(), Namespace: "default"}
	cl, err := cfg.Dial(ctx, logger, func(o *client.Options) { o.Interceptors = append(o.Interceptors, tracing) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	w := host.NewWorker(cl, all.Types(all.Config{Logger: logger, Events: stream}), taskrun.Options{Logger: logger, Events: stream}, host.WorkerOptions{StopTimeout: time.Second})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	p, err := plan.Parse("traced.yaml", []byte(tracedPlan), all.Catalog(), map[string]string{"url": service.URL})
	if err != nil {
		t.Fatal(err)
	}
	runID, err := runs.Start(ctx, cl, p, runs.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.GetWorkflow(ctx, runID, "").Get(ctx, nil); err != nil {
		t.Fatalf("run: %v", err)
	}

	byName := map[string]tracetest.SpanStub{}
	traceIDs := map[string]bool{}
	for _, s := range spans.GetSpans() {
		byName[s.Name] = s
		traceIDs[s.SpanContext.TraceID().String()] = true
	}
	for _, name := range []string{"StartWorkflow:Readiness", "RunWorkflow:Readiness", "RunWorkflow:ReadinessPhase", "RunActivity:http-check", "RunActivity:PublishEvents"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no span %s; spans: %v", name, keys(byName))
		}
	}
	if len(traceIDs) != 1 {
		t.Fatalf("spans in %d traces, want one: %v", len(traceIDs), traceIDs)
	}
	traceID := byName["StartWorkflow:Readiness"].SpanContext.TraceID().String()

	var got []events.Event
	err = stream.Consume(ctx, natsevents.ConsumeOptions{FilterSubject: "shipshape.run.traced.>"}, func(m natsevents.Message) error {
		var e events.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			return err
		}
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no events")
	}
	for _, e := range got {
		parts := strings.Split(e.TraceParent, "-")
		if len(parts) != 4 || parts[0] != "00" || parts[1] != traceID {
			t.Errorf("event %s (%s): traceparent %q, want trace %s", e.ID, e.Type, e.TraceParent, traceID)
		}
	}

	var sawTaskLog bool
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "http check" {
			continue
		}
		sawTaskLog = true
		if rec["trace_id"] != traceID {
			t.Errorf("task log %s: trace_id %v, want %s", strings.TrimSpace(line), rec["trace_id"], traceID)
		}
	}
	if !sawTaskLog {
		t.Errorf("no http check log line:\n%s", logs.String())
	}
}

func keys(m map[string]tracetest.SpanStub) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
