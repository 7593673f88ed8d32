//go:build integration

package metricwatch_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/metricwatch"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/internal/testenv"
)

// TestHistoryEventsPerSample measures, on a real Temporal dev server, the
// history events a watch costs per sample (the benchmark's estimate of a
// 7-day watch multiplies it): a 20-sample watch at 1s intervals, its
// sample activity stubbed.
//
//	SHIPSHAPE_TEMPORAL_CLI=$PWD/bin/temporal go test -tags integration -run HistoryEvents -v ./activities/metricwatch/
func TestHistoryEventsPerSample(t *testing.T) {
	cli := os.Getenv("SHIPSHAPE_TEMPORAL_CLI")
	if cli == "" {
		cli = "../../bin/temporal"
	}
	if _, err := os.Stat(cli); err != nil {
		testenv.Missing(t, "the temporal CLI", "make temporal, or SHIPSHAPE_TEMPORAL_CLI")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: cli, LogLevel: "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := srv.Client()
	w := worker.New(c, "mw-history", worker.Options{})
	taskrun.RegisterWorkflows(w, []task.Type{{Decl: metricwatch.Decl, Workflow: metricwatch.Workflow}})
	w.RegisterActivityWithOptions(func(_ context.Context, in metricwatch.SampleInput) (metricwatch.Sample, error) {
		return metricwatch.Sample{At: in.At, Value: 0.01}, nil
	}, activity.RegisterOptions{Name: metricwatch.SampleActivity})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	const samples = 20
	in := task.Input{RunID: "run", Plan: "p", Phase: "ph", Task: "watch", Uses: metricwatch.Name, Timeout: time.Hour,
		Params: tasktest.WithDefaults(t, task.Catalog([]task.Type{{Decl: metricwatch.Decl}}), metricwatch.Name,
			map[string]any{"url": "http://prometheus:9090", "query": "x", "mode": "watch", "interval": "1s", "duration": "19s"})}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "mw-history", TaskQueue: "mw-history"}, metricwatch.Name, in)
	if err != nil {
		t.Fatal(err)
	}
	var out task.Output
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out.Metrics[metricwatch.MetricSamples] != samples {
		t.Fatalf("metrics %v: want %d samples", out.Metrics, samples)
	}
	events, bytes := 0, 0
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events++
		bytes += e.Size()
	}
	t.Logf("%d samples: %d history events (%.1f a sample), %d bytes (%.0f a sample)", samples, events,
		float64(events)/samples, bytes, float64(bytes)/samples)
	if float64(events)/samples > 12 {
		t.Errorf("%.1f events a sample, want at most 12", float64(events)/samples)
	}
}

// TestWatchResumesOnAnotherWorker: a watch whose worker stops mid-watch
// resumes on another, which rebuilds it by replaying its history (a
// determinism check against a real server): the samples taken before are
// kept, none is taken twice, and the slots missed while no worker ran are
// not sampled after the fact.
func TestWatchResumesOnAnotherWorker(t *testing.T) {
	cli := os.Getenv("SHIPSHAPE_TEMPORAL_CLI")
	if cli == "" {
		cli = "../../bin/temporal"
	}
	if _, err := os.Stat(cli); err != nil {
		testenv.Missing(t, "the temporal CLI", "make temporal, or SHIPSHAPE_TEMPORAL_CLI")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: cli, LogLevel: "error",
		ClientOptions: &client.Options{Namespace: "default", Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := srv.Client()
	var mu sync.Mutex
	slots := map[int]int{}
	newWorker := func() worker.Worker {
		w := worker.New(c, "mw-resume", worker.Options{})
		taskrun.RegisterWorkflows(w, []task.Type{{Decl: metricwatch.Decl, Workflow: metricwatch.Workflow}})
		w.RegisterActivityWithOptions(func(_ context.Context, in metricwatch.SampleInput) (metricwatch.Sample, error) {
			mu.Lock()
			slots[in.Seq]++
			mu.Unlock()
			return metricwatch.Sample{At: in.At, Value: float64(in.Seq)}, nil
		}, activity.RegisterOptions{Name: metricwatch.SampleActivity})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	first := newWorker()
	in := task.Input{RunID: "run", Plan: "p", Phase: "ph", Task: "watch", Uses: metricwatch.Name, Timeout: time.Hour,
		Params: tasktest.WithDefaults(t, task.Catalog([]task.Type{{Decl: metricwatch.Decl}}), metricwatch.Name,
			map[string]any{"url": "http://prometheus:9090", "query": "x", "mode": "watch", "interval": "1s", "duration": "15s"})}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "mw-resume", TaskQueue: "mw-resume"}, metricwatch.Name, in)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5500 * time.Millisecond)
	first.Stop()
	// Workers of one process share a workflow cache: empty it, so the
	// second worker rebuilds the watch from its history, as another
	// process would.
	worker.PurgeStickyWorkflowCache()
	mu.Lock()
	before := len(slots)
	mu.Unlock()
	time.Sleep(3 * time.Second) // no worker: slots go by
	second := newWorker()
	defer second.Stop()
	var out task.Output
	if err := run.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for seq, n := range slots {
		if n != 1 {
			t.Errorf("slot %d sampled %d times", seq, n)
		}
	}
	got := out.Metrics[metricwatch.MetricSamples]
	if before < 4 || got != float64(len(slots)) || got >= 16 || got <= float64(before) || out.Metrics[metricwatch.MetricLast] != 16 {
		t.Errorf("%d samples before the stop, %v in the result, slots %v, last %v: want the first worker's kept, "+
			"the missed slots skipped and the watch run to its last slot (16)", before, got, slots, out.Metrics[metricwatch.MetricLast])
	}
	t.Logf("%d samples before the stop, %v in all (of 16 slots)", before, got)
}
