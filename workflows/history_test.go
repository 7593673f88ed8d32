//go:build integration

package workflows_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/shipshape-dev/shipshape/activities/all"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/internal/devenv"
	"github.com/shipshape-dev/shipshape/internal/host"
	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/runs"
	"github.com/shipshape-dev/shipshape/workflows"
)

var record = flag.Bool("record", false, "re-record the histories under testdata/histories")

// devCluster starts a Temporal dev server, NATS and a worker with the real
// activities, plus extra activities for the test.
func devCluster(t *testing.T, extra func(w interface {
	RegisterActivityWithOptions(any, activity.RegisterOptions)
})) client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := devenv.FindTemporalCLI()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	tmp, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{CLI: cli})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tmp.Stop)
	ns, err := devenv.StartNATS(devenv.NATSOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	ev := natsevents.New(natsevents.Config{URL: ns.ClientURL()})
	if err := ev.Init(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ev.Close)
	c, err := client.Dial(client.Options{HostPort: tmp.Address()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := host.NewWorker(c, all.Types(all.Config{Events: ev}), taskrun.Options{Events: ev}, host.WorkerOptions{})
	if extra != nil {
		extra(w)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c
}

func history(t *testing.T, c client.Client, id string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), id, "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	return h
}

// TestRecordHistories runs the quickstart example on a real dev server and,
// with -record (make replay-record), keeps the histories of the run and of
// each phase workflow for TestReplay.
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("run with -record (make replay-record) to re-record histories")
	}
	demo, err := devenv.StartDemo("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer demo.Close()
	c := devCluster(t, nil)
	profile, _ := filepath.Abs("../examples/data/coverage.out")
	p, err := plan.Load("../examples/plans/quickstart.yaml", all.Catalog(), map[string]string{"baseURL": demo.URL(), "coverage": profile})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := runs.Start(ctx, c, p, runs.StartOptions{RunID: "quickstart-replay", AutoApprove: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runs.Result(ctx, c, id); err != nil {
		t.Fatal(err)
	}
	ids := []string{id}
	for _, ph := range p.Spec.Phases {
		if len(ph.Tasks) > 0 {
			ids = append(ids, workflows.PhaseWorkflowID(id, ph.Name))
		}
	}
	old, _ := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	for _, wid := range ids {
		file := historyFile(wid)
		data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(history(t, c, wid))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "histories", file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHistorySize runs plans of 1,000 tasks on a real dev server and
// reports how many history events each workflow needs per task: Temporal
// refuses a history past 51,200 events (and warns at 10,240).
func TestHistorySize(t *testing.T) {
	noop := func(ctx context.Context, in task.Input) (task.Output, error) {
		return task.Output{Metrics: map[string]float64{"ok": 1}}, nil
	}
	c := devCluster(t, func(w interface {
		RegisterActivityWithOptions(any, activity.RegisterOptions)
	}) {
		w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: "noop"})
	})
	for _, shape := range []struct{ phases, tasks int }{{1, 1000}, {10, 100}} {
		t.Run(fmt.Sprintf("%dx%d", shape.phases, shape.tasks), func(t *testing.T) {
			p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Metadata: plan.Metadata{Name: "history-size"},
				Spec: plan.Spec{Scoring: plan.Scoring{Pass: 90, Warning: 75}, Concurrency: 20}}
			for i := range shape.phases {
				ph := plan.Phase{Name: fmt.Sprintf("p%d", i)}
				for j := range shape.tasks {
					ph.Tasks = append(ph.Tasks, plan.Task{Name: fmt.Sprintf("t%d", j), Uses: "noop", Timeout: plan.Duration(time.Minute),
						Gates: []plan.Gate{{Metric: "ok", Pass: plan.Threshold{Op: "==", Value: 1, Text: "== 1"}, Weight: 1}}})
				}
				p.Spec.Phases = append(p.Spec.Phases, ph)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			start := time.Now()
			id, err := runs.Start(ctx, c, p, runs.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := runs.Result(ctx, c, id)
			if err != nil {
				t.Fatal(err)
			}
			if res.Result != plan.StatusPass || res.Score != 100 {
				t.Fatalf("result %s score %v", res.Result, res.Score)
			}
			parent := len(history(t, c, id).Events)
			largest := 0
			for _, ph := range p.Spec.Phases {
				largest = max(largest, len(history(t, c, workflows.PhaseWorkflowID(id, ph.Name)).Events))
			}
			perTask := float64(largest) / float64(shape.tasks)
			t.Logf("%d phases × %d tasks in %s: run history %d events; largest phase history %d events (%.1f per task)",
				shape.phases, shape.tasks, time.Since(start).Round(time.Millisecond), parent, largest, perTask)
			if largest > 10240 || parent > 10240 {
				t.Errorf("a history passed Temporal's warning limit of 10,240 events")
			}
		})
	}
}
