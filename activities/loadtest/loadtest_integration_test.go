//go:build integration

package loadtest_test

// Load tests that take seconds each and measure time: behind the
// integration tag, so the fast unit loop stays fast.

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestLoadTestLatencyPercentiles: against a server whose delay is known
// (one request in ten takes 200ms, the others 20ms), the percentiles fall
// where the delays put them.
func TestLoadTestLatencyPercentiles(t *testing.T) {
	srv := startLoadTarget(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		delay := 20 * time.Millisecond
		if n%10 == 0 {
			delay = 200 * time.Millisecond
		}
		time.Sleep(delay)
		_, _ = w.Write([]byte("ok"))
	})
	out, err := runTask(t, map[string]any{
		"targets": targets(srv.URL), "rate": "50/s", "duration": "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.Metrics
	// Lower bounds are exact (a response cannot beat its delay); upper
	// bounds leave room for a loaded machine.
	within(t, "http.latency.p50", m["http.latency.p50"], 0.020+0.030, 0.030)
	within(t, "http.latency.p95", m["http.latency.p95"], 0.200+0.075, 0.075)
	within(t, "http.latency.max", m["http.latency.max"], 0.200+0.075, 0.075)
	within(t, "http.latency.mean", m["http.latency.mean"], 0.038+0.030, 0.030)
}

// TestLoadTestErrorRate: against a server that fails one request in four,
// the error rate is a quarter, and the errors are listed by kind.
func TestLoadTestErrorRate(t *testing.T) {
	srv := startLoadTarget(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n%4 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	out, err := runTask(t, map[string]any{
		"targets": targets(srv.URL), "rate": "100/s", "duration": "2s",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.Metrics
	requests := float64(srv.requests.Load())
	want := float64(int(requests) / 4)
	tasktest.MustMetrics(t, m, map[string]float64{
		"http.requests":     requests,
		"http.errors.count": want,
		"http.status.500":   want,
		"http.status.200":   requests - want,
		"http.errors.rate":  want / requests,
	}, 0)
	errs := tableOf(t, out, "Errors")
	if len(errs.Rows) != 1 || errs.Rows[0][0] != "status 500 Internal Server Error" || errs.Rows[0][1] != strconv.Itoa(int(want)) {
		t.Errorf("errors table %v", errs.Rows)
	}
}

// TestLoadTestStages: a ramp from 0 to 100/s over 2s, then down to 0 over
// 1s, sends the area under the ramp, fewer in its first second than in
// its second.
func TestLoadTestStages(t *testing.T) {
	srv := startLoadTarget(t, nil)
	out, err := runTask(t, map[string]any{
		"targets": targets(srv.URL),
		"stages": []any{
			map[string]any{"duration": "2s", "target": "100/s"},
			map[string]any{"duration": "1s", "target": "0"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// 100 requests up the ramp, 50 down it.
	within(t, "http.requests", out.Metrics["http.requests"], 149, 3)
	within(t, "http.rps", out.Metrics["http.rps"], 50, 1)
	rows := tableOf(t, out, "Per second").Rows
	if len(rows) != 3 {
		t.Fatalf("per-second rows %v, want 3", rows)
	}
	first, _ := strconv.ParseFloat(rows[0][1], 64)
	second, _ := strconv.ParseFloat(rows[1][1], 64)
	if first >= second || second < 50 {
		t.Errorf("the ramp does not rise: %v then %v requests/s", first, second)
	}
}

// TestLoadTestClosedModel: users never have more than one request each in
// flight, and go as fast as the server answers.
func TestLoadTestClosedModel(t *testing.T) {
	srv := startLoadTarget(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	})
	out, err := runTask(t, map[string]any{
		"targets": targets(srv.URL), "users": 4, "duration": "1s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if peak := srv.peak.Load(); peak > 4 {
		t.Errorf("server saw %d requests at once, want at most 4 users", peak)
	}
	// 4 users at 10ms a request: at most 400/s; well over 100 even on a
	// loaded machine.
	if rps := out.Metrics["http.rps"]; rps < 100 || rps > 410 {
		t.Errorf("http.rps = %v, want 100 to 400", rps)
	}
}

// TestLoadTestAbortOnFail: a gate with abortOnFail stops the test once it
// fails, long before its duration, and the metrics so far are reported.
func TestLoadTestAbortOnFail(t *testing.T) {
	srv := startLoadTarget(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	gate, err := plan.ParseThreshold("< 1%", plan.UnitRatio)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := (&loadRun{abortOn: []plan.Gate{{Metric: "http.errors.rate", Pass: gate, AbortOnFail: true}}}).run(t,
		map[string]any{"targets": targets(srv.URL), "rate": "50/s", "duration": "30s"})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the test took %s: abortOnFail did not stop it", took)
	}
	if !strings.Contains(out.Output, "stopped early: gate http.errors.rate < 1% failed") {
		t.Errorf("output does not say why it stopped:\n%s", out.Output)
	}
	if n := out.Metrics["http.requests"]; n < 20 || n > 500 {
		t.Errorf("http.requests = %v, want the requests of a few seconds", n)
	}
	within(t, "http.errors.rate", out.Metrics["http.errors.rate"], 0.5, 0.05)
}

// TestLoadTestProgress: every second the test reports the elapsed time,
// the requests so far, the current rate and p95: as task.progress events
// (at most one a second) and as heartbeat details (which the SDK sends at
// most once per throttle interval, so a short test sees the first).
func TestLoadTestProgress(t *testing.T) {
	srv := startLoadTarget(t, nil)
	stream := &fakeEventStream{}
	run := &loadRun{events: stream}
	if _, err := run.run(t, map[string]any{
		"targets": targets(srv.URL), "rate": "50/s", "duration": "3s",
	}); err != nil {
		t.Fatal(err)
	}
	if len(run.heartbeats) == 0 || !strings.Contains(run.heartbeats[0].Message, "requests") {
		t.Errorf("heartbeats %+v, want progress", run.heartbeats)
	}
	progress := stream.progress(t)
	if len(progress) < 2 || len(progress) > 4 {
		t.Fatalf("%d progress events for a 3s test, want one a second: %+v", len(progress), progress)
	}
	last := progress[len(progress)-1]
	if last.Metrics["http.requests"] < 50 || last.Metrics["http.rps"] < 30 || last.Metrics["http.latency.p95"] <= 0 || last.Metrics["elapsed"] < 1.5 {
		t.Errorf("last progress %+v lacks live numbers", last)
	}
	if !strings.Contains(last.Message, "of 3s ·") || !strings.Contains(last.Message, "requests") || !strings.Contains(last.Message, "p95") {
		t.Errorf("progress message %q", last.Message)
	}
	for i := 1; i < len(progress); i++ {
		if *progress[i].Done <= *progress[i-1].Done || progress[i].Metrics["http.requests"] <= progress[i-1].Metrics["http.requests"] {
			t.Errorf("progress does not advance: %+v then %+v", progress[i-1], progress[i])
		}
	}
}

// fakeEventStream is an in-memory EventPublisher: it keeps what the
// activity publishes.
type fakeEventStream struct {
	mu     sync.Mutex
	events []events.Event
}

func (s *fakeEventStream) Publish(_ context.Context, _, _ string, data []byte) error {
	var e events.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return nil
}

// progress returns the data of the task.progress events published.
func (s *fakeEventStream) progress(t *testing.T) []events.TaskData {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []events.TaskData
	for _, e := range s.events {
		if e.Type != events.TaskProgress {
			continue
		}
		var d events.TaskData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestLoadTestCancel: cancelling the activity stops the attack within a
// second: no request starts after that, and the activity returns.
func TestLoadTestCancel(t *testing.T) {
	srv := startLoadTarget(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		select { // a slow server: requests are in flight when the test is cancelled
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	go func() {
		time.Sleep(1500 * time.Millisecond)
		cancelledAt = time.Now()
		cancel()
	}()
	_, err := (&loadRun{ctx: ctx}).run(t, map[string]any{
		"targets": targets(srv.URL), "rate": "100/s", "duration": "30s",
	})
	returned := time.Now()
	if err == nil {
		t.Fatal("a cancelled load test returned no error")
	}
	if took := returned.Sub(cancelledAt); took > 2*time.Second {
		t.Errorf("returned %s after the cancellation", took)
	}
	time.Sleep(500 * time.Millisecond)
	if late := srv.arrivedAfter(cancelledAt.Add(time.Second)); late > 0 {
		t.Errorf("%d requests arrived more than a second after the cancellation", late)
	}
	if srv.requests.Load() < 50 {
		t.Errorf("only %d requests before the cancellation", srv.requests.Load())
	}
}
