package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/shipshape-dev/shipshape/events"
)

// progressEventInterval bounds how often one task publishes task.progress
// events; heartbeats themselves are throttled by the SDK. A task that
// reports once a second on a ticker reports a hair early now and then: the
// slack keeps those reports.
const (
	progressEventInterval = time.Second
	progressEventSlack    = 100 * time.Millisecond
)

// progress reports a long task's progress: as the heartbeat details (which
// `starter run` shows as a progress bar) and as a task.progress event.
// Progress events are best effort: published from the activity with IDs
// unique to the attempt, and a failure to publish one is logged, never
// fatal, so a slow or absent NATS cannot slow a task down.
type progress struct {
	a    *Activities
	in   TaskInput
	seq  int
	last time.Time
}

func (a *Activities) progress(in TaskInput) *progress { return &progress{a: a, in: in} }

// report heartbeats p and, at most once per progressEventInterval,
// publishes it.
func (r *progress) report(ctx context.Context, p Progress) {
	activity.RecordHeartbeat(ctx, p)
	if r.a.Events == nil || time.Since(r.last) < progressEventInterval-progressEventSlack {
		return
	}
	r.last = time.Now()
	r.seq++
	info := activity.GetInfo(ctx)
	data := events.TaskData{
		Phase: r.in.Phase, Task: r.in.Task, Uses: r.in.Uses, Status: "running",
		Attempt: int(info.Attempt), Metrics: p.Metrics, Message: p.Message,
	}
	if p.Done >= 0 && p.Done <= 1 {
		done := p.Done
		data.Done = &done
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return
	}
	e := events.Event{
		SpecVersion: events.SpecVersion,
		// Unique per attempt and report: <phase workflow>/<run>/<task>/<attempt>/progress/<n>.
		ID: fmt.Sprintf("%s/%s/%s/%d/progress/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID,
			info.ActivityID, info.Attempt, r.seq),
		Source:          "/shipshape/runs/" + r.in.RunID,
		Type:            events.TaskProgress,
		Subject:         r.in.Phase + "/" + r.in.Task,
		Time:            time.Now().UTC(),
		DataContentType: events.ContentType,
		RunID:           r.in.RunID,
		Plan:            r.in.Plan,
		Sequence:        int64(r.seq),
		Data:            raw,
	}
	body, err := json.Marshal(e)
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.a.Events.Publish(pctx, e.NATSSubject(), e.ID, body); err != nil {
		r.a.logger().Debug("progress event not published", "task", r.in.Phase+"/"+r.in.Task, "error", err)
	}
}

// every reports now() every interval, until the returned stop is called
// (stop waits for a report under way).
func (r *progress) every(ctx context.Context, interval time.Duration, now func() Progress) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				r.report(ctx, now())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
