package taskrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/natsevents/natstest"
)

// The worker wires a natsevents.Client into Activities.Events.
var _ taskrun.EventPublisher = (*natsevents.Client)(nil)

// mustEvent builds the event a workflow would emit: its ID is
// <workflowID>/<temporalRunID>/<sequence>.
func mustEvent(t *testing.T, workflowID string, seq int64, typ events.Type, data any) events.Event {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{
		SpecVersion:     events.SpecVersion,
		ID:              workflowID + "/0190a1b2-run/" + strconv.FormatInt(seq, 10),
		Source:          "/shipshape/runs/readiness-api-release-42",
		Type:            typ,
		Subject:         workflowID,
		Time:            time.Date(2026, 6, 1, 12, 0, int(seq), 0, time.UTC),
		DataContentType: events.ContentType,
		RunID:           "readiness-api-release-42",
		Plan:            "api-release",
		Sequence:        seq,
		Data:            raw,
	}
}

func mustBatch(t *testing.T) []events.Event {
	const run = "readiness-api-release-42"
	done := 1.0
	latency := 0.182
	return []events.Event{
		mustEvent(t, run, 1, events.RunStarted, events.RunData{Plan: "api-release", RunID: run, Phases: 2, Tasks: 3}),
		mustEvent(t, run, 2, events.PhaseStarted, events.PhaseData{Phase: "smoke", Status: "running"}),
		mustEvent(t, run, 3, events.TaskProgress, events.TaskData{Phase: "smoke", Task: "health", Uses: "http-check", Status: "running", Done: &done}),
		mustEvent(t, run, 4, events.TaskFinished, events.TaskData{
			Phase: "smoke", Task: "health", Uses: "http-check", Status: "pass", Attempt: 1,
			Metrics: map[string]float64{"latency_p95": latency}, Duration: 3.5,
		}),
		mustEvent(t, run, 5, events.GateEvaluated, events.GateData{
			Phase: "smoke", Task: "health", Metric: "latency_p95", Value: &latency, Pass: "< 300ms", Status: "pass", Weight: 1, Key: true,
		}),
	}
}

// mustStream starts NATS and returns a client on it.
func mustStream(t *testing.T) *natsevents.Client {
	t.Helper()
	srv := natstest.MustStart(t)
	client := natsevents.New(natsevents.Config{URL: srv.URL()})
	t.Cleanup(client.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Init(ctx); err != nil {
		t.Fatal(err)
	}
	return client
}

func mustPublishEvents(t *testing.T, pub taskrun.EventPublisher, batch []events.Event) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	taskrun.RegisterActivities(env, nil, taskrun.Options{Events: pub})
	if _, err := env.ExecuteActivity(taskrun.PublishEventsName, taskrun.PublishEventsInput{Events: batch}); err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
}

func mustReadStream(t *testing.T, client *natsevents.Client) []natsevents.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var msgs []natsevents.Message
	err := client.Consume(ctx, natsevents.ConsumeOptions{}, func(m natsevents.Message) error {
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestPublishEventsToJetStream(t *testing.T) {
	client := mustStream(t)
	batch := mustBatch(t)
	mustPublishEvents(t, client, batch)

	msgs := mustReadStream(t, client)
	if len(msgs) != len(batch) {
		t.Fatalf("stream holds %d messages, want %d", len(msgs), len(batch))
	}
	wantSubjects := []string{
		"shipshape.run.api-release.run.started",
		"shipshape.run.api-release.phase.started",
		"shipshape.run.api-release.task.progress",
		"shipshape.run.api-release.task.finished",
		"shipshape.run.api-release.gate.evaluated",
	}
	for i, m := range msgs {
		want := batch[i]
		if m.Subject != wantSubjects[i] {
			t.Errorf("message %d on %s, want %s", i, m.Subject, wantSubjects[i])
		}
		if m.MsgID != want.ID {
			t.Errorf("message %d has Nats-Msg-Id %q, want the event ID %q", i, m.MsgID, want.ID)
		}
		var got events.Event
		if err := json.Unmarshal(m.Data, &got); err != nil {
			t.Fatalf("message %d is not a CloudEvents JSON envelope: %v", i, err)
		}
		if got.SpecVersion != "1.0" || got.DataContentType != "application/json" {
			t.Errorf("message %d: specversion %q, datacontenttype %q", i, got.SpecVersion, got.DataContentType)
		}
		if got.ID != want.ID || got.Source != want.Source || got.Type != want.Type || got.Subject != want.Subject ||
			!got.Time.Equal(want.Time) || got.RunID != want.RunID || got.Plan != want.Plan || got.Sequence != want.Sequence {
			t.Errorf("message %d envelope:\n got %+v\nwant %+v", i, got, want)
		}
		if string(got.Data) != string(want.Data) {
			t.Errorf("message %d data %s, want %s", i, got.Data, want.Data)
		}
	}

	// Extensions are top-level attributes, as CloudEvents JSON requires.
	var envelope map[string]any
	if err := json.Unmarshal(msgs[0].Data, &envelope); err != nil {
		t.Fatal(err)
	}
	for _, attr := range []string{"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "runid", "plan", "sequence", "data"} {
		if _, ok := envelope[attr]; !ok {
			t.Errorf("envelope has no %q attribute: %s", attr, msgs[0].Data)
		}
	}
	// Data decodes into the struct events documents for its type.
	var finished events.Event
	if err := json.Unmarshal(msgs[3].Data, &finished); err != nil {
		t.Fatal(err)
	}
	var task events.TaskData
	if err := json.Unmarshal(finished.Data, &task); err != nil {
		t.Fatal(err)
	}
	if task.Task != "health" || task.Status != "pass" || task.Metrics["latency_p95"] != 0.182 || task.Duration != 3.5 {
		t.Errorf("task.finished data decoded to %+v", task)
	}
}

// A retried activity re-sends its whole batch, including the events an
// earlier attempt stored; the stream keeps each event once, in order.
func TestPublishEventsRetryDoesNotDuplicate(t *testing.T) {
	client := mustStream(t)
	a := client
	batch := mustBatch(t)

	mustPublishEvents(t, a, batch[:2]) // an attempt that failed half-way
	mustPublishEvents(t, a, batch)
	mustPublishEvents(t, a, batch) // and a retry after a lost result

	msgs := mustReadStream(t, client)
	var got, want []string
	for _, m := range msgs {
		got = append(got, m.MsgID)
	}
	for _, e := range batch {
		want = append(want, e.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("stream holds %q, want each event once, in order: %q", got, want)
	}
}

func TestPublishEventsWithoutStream(t *testing.T) {
	mustPublishEvents(t, nil, mustBatch(t))
}

// onePublisher hides PublishBatch, so PublishEvents sends one message at
// a time: the path every other publisher takes.
type onePublisher struct{ c *natsevents.Client }

func (p onePublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	return p.c.Publish(ctx, subject, msgID, data)
}

// A batch sent pipelined lands in the stream in order, and a re-sent batch
// (after a half-done attempt) adds nothing: the same promise as one message
// at a time.
func TestPublishBatchKeepsOrderAndDeduplicates(t *testing.T) {
	client := mustStream(t)
	var batch []events.Event
	for i := range 200 {
		batch = append(batch, mustEvent(t, "readiness-api-release-42", int64(i+1), events.TaskProgress, events.TaskData{Phase: "p", Task: "t", Status: "running"}))
	}
	ctx := context.Background()
	if err := taskrun.PublishEvents(ctx, client, taskrun.PublishEventsInput{Events: batch[:70]}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := taskrun.PublishEvents(ctx, client, taskrun.PublishEventsInput{Events: batch}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := mustReadStream(t, client)
	if len(msgs) != len(batch) {
		t.Fatalf("stream holds %d messages, want %d", len(msgs), len(batch))
	}
	for i, m := range msgs {
		if m.MsgID != batch[i].ID {
			t.Fatalf("message %d is %s, want %s: order lost", i, m.MsgID, batch[i].ID)
		}
	}
}

// BenchmarkPublishEvents sends batches of 200 events to an embedded
// JetStream: pipelined (PublishBatch) against one acknowledged message at
// a time. Reported per event.
// BenchmarkPublishEvents times batches of 200 events: as the worker
// publishes them (pipelined), one acknowledged message at a time (the
// earlier way), and the anchor the issue compares with: nats.go's own
// JetStream async publish of the same encoded events with the same IDs,
// every ack awaited.
func BenchmarkPublishEvents(b *testing.B) {
	for _, mode := range []string{"one-at-a-time", "pipelined", "bare-jetstream-async"} {
		b.Run(mode, func(b *testing.B) {
			srv := natstest.MustStart(b)
			client := natsevents.New(natsevents.Config{URL: srv.URL(), Logger: slog.New(slog.DiscardHandler)})
			defer client.Close()
			ctx := context.Background()
			if err := client.Init(ctx); err != nil {
				b.Fatal(err)
			}
			var pub taskrun.EventPublisher = client
			switch mode {
			case "one-at-a-time":
				pub = onePublisher{client}
			case "bare-jetstream-async":
				nc, err := nats.Connect(srv.URL())
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()
				js, err := jetstream.New(nc)
				if err != nil {
					b.Fatal(err)
				}
				pub = asyncPublisher{js}
			}
			const n = 200
			raw, _ := json.Marshal(events.TaskData{Phase: "p", Task: "t", Status: "running"})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batch := make([]events.Event, n)
				for j := range batch {
					batch[j] = events.Event{SpecVersion: events.SpecVersion, ID: fmt.Sprintf("bench/%d/%d", i, j), Type: events.TaskProgress,
						Source: "/shipshape/runs/bench", RunID: "bench", Plan: "bench", Sequence: int64(j + 1), Data: raw, DataContentType: events.ContentType}
				}
				if err := taskrun.PublishEvents(ctx, pub, taskrun.PublishEventsInput{Events: batch}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/event")
		})
	}
}

// asyncPublisher publishes a batch with nats.go's JetStream async
// publish and waits for every ack: the anchor of BenchmarkPublishEvents.
type asyncPublisher struct{ js jetstream.JetStream }

func (p asyncPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	return p.PublishBatch(ctx, []string{subject}, []string{msgID}, [][]byte{data})
}

func (p asyncPublisher) PublishBatch(ctx context.Context, subjects, msgIDs []string, data [][]byte) error {
	acks := make([]jetstream.PubAckFuture, len(subjects))
	for i := range subjects {
		f, err := p.js.PublishAsync(subjects[i], data[i], jetstream.WithMsgID(msgIDs[i]))
		if err != nil {
			return err
		}
		acks[i] = f
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
