package natsevents_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/natsevents/natstest"
)

// testTimeout bounds every call to the server, so a broken test fails
// instead of hanging.
const testTimeout = 10 * time.Second

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// MustClient returns an initialized client of the server at url, closed
// when the test ends.
func MustClient(t *testing.T, cfg natsevents.Config) *natsevents.Client {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	c := natsevents.New(cfg)
	t.Cleanup(c.Close)
	if err := c.Init(testContext(t)); err != nil {
		t.Fatalf("init: %v", err)
	}
	return c
}

func MustPublish(t *testing.T, c *natsevents.Client, subject, msgID string) {
	t.Helper()
	if err := c.Publish(testContext(t), subject, msgID, []byte(`{"id":"`+msgID+`"}`)); err != nil {
		t.Fatalf("publish %s: %v", msgID, err)
	}
}

// MustConsume reads without Follow and returns what fn saw.
func MustConsume(t *testing.T, c *natsevents.Client, opts natsevents.ConsumeOptions) []natsevents.Message {
	t.Helper()
	var got []natsevents.Message
	err := c.Consume(testContext(t), opts, func(m natsevents.Message) error {
		got = append(got, m)
		return nil
	})
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	return got
}

func msgIDs(msgs []natsevents.Message) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.MsgID
	}
	return ids
}

func TestInitCreatesStream(t *testing.T) {
	tests := []struct {
		name string
		cfg  natsevents.StreamConfig
		want natsevents.StreamInfo
	}{
		{
			name: "defaults",
			want: natsevents.StreamInfo{
				Name: "SHIPSHAPE", Subjects: []string{"shipshape.>"}, Storage: "file",
				MaxAge: 30 * 24 * time.Hour, Duplicates: natsevents.DefaultDuplicates, Replicas: 1,
			},
		},
		{
			name: "configured",
			cfg: natsevents.StreamConfig{
				Name: "EVENTS", Subjects: []string{"shipshape.>", "audit.shipshape.>"}, Storage: "memory",
				MaxAge: 24 * time.Hour, Duplicates: 10 * time.Minute, MaxMsgs: 1000,
			},
			want: natsevents.StreamInfo{
				Name: "EVENTS", Subjects: []string{"shipshape.>", "audit.shipshape.>"}, Storage: "memory",
				MaxAge: 24 * time.Hour, Duplicates: 10 * time.Minute, Replicas: 1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := natstest.MustStart(t)
			c := MustClient(t, natsevents.Config{URL: srv.URL(), Stream: tt.cfg})
			got, err := c.Stream(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			got.Messages, got.FirstSeq, got.LastSeq = 0, 0, 0
			if !equalStreams(got, tt.want) {
				t.Errorf("stream:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalStreams(a, b natsevents.StreamInfo) bool {
	subjects := slices.Equal(a.Subjects, b.Subjects)
	a.Subjects, b.Subjects = nil, nil
	return subjects && a.Name == b.Name && a.Storage == b.Storage && a.MaxAge == b.MaxAge &&
		a.Duplicates == b.Duplicates && a.Replicas == b.Replicas
}

func TestInitUpdatesStream(t *testing.T) {
	srv := natstest.MustStart(t)
	MustClient(t, natsevents.Config{URL: srv.URL(), Stream: natsevents.StreamConfig{MaxAge: time.Hour * 24}})

	c := MustClient(t, natsevents.Config{URL: srv.URL(), Stream: natsevents.StreamConfig{MaxAge: time.Hour * 48}})
	got, err := c.Stream(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxAge != 48*time.Hour {
		t.Errorf("max age after update = %s, want 48h", got.MaxAge)
	}
}

func TestInitRejectsBadConfig(t *testing.T) {
	srv := natstest.MustStart(t)
	tests := map[string]natsevents.Config{
		"unknown storage":          {URL: srv.URL(), Stream: natsevents.StreamConfig{Storage: "disk"}},
		"dedup window over maxage": {URL: srv.URL(), Stream: natsevents.StreamConfig{MaxAge: time.Minute, Duplicates: time.Hour}},
		"two auth methods":         {URL: srv.URL(), User: "u", Password: "p", Token: "t"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			cfg.Logger = testLogger(t)
			c := natsevents.New(cfg)
			defer c.Close()
			err := c.Init(testContext(t))
			if err == nil {
				t.Fatal("init succeeded, want an error")
			}
			if errors.Is(err, natsevents.ErrUnavailable) {
				t.Errorf("init error %q matches ErrUnavailable, want a permanent error", err)
			}
		})
	}
}

func TestPublishDeduplicatesByMsgID(t *testing.T) {
	srv := natstest.MustStart(t)
	c := MustClient(t, natsevents.Config{URL: srv.URL()})

	MustPublish(t, c, "shipshape.run.demo.run.started", "wf/run/1")
	MustPublish(t, c, "shipshape.run.demo.run.started", "wf/run/1")
	MustPublish(t, c, "shipshape.run.demo.run.finished", "wf/run/2")

	got := MustConsume(t, c, natsevents.ConsumeOptions{})
	if want := []string{"wf/run/1", "wf/run/2"}; !slices.Equal(msgIDs(got), want) {
		t.Errorf("stored %q, want %q", msgIDs(got), want)
	}
}

// publishBatch is what the PublishEvents activity does: send in order,
// stop at the first error.
func publishBatch(ctx context.Context, c *natsevents.Client, ids []string) error {
	for _, id := range ids {
		if err := c.Publish(ctx, "shipshape.run.demo.task.progress", id, []byte(`{}`)); err != nil {
			return err
		}
	}
	return nil
}

func TestPublishSurvivesOutage(t *testing.T) {
	srv := natstest.MustStart(t)
	c := MustClient(t, natsevents.Config{URL: srv.URL()})

	var batch []string
	for i := range 10 {
		batch = append(batch, fmt.Sprintf("wf/run/%d", i+1))
	}
	// The first attempt stores half the batch, then NATS goes down.
	if err := publishBatch(testContext(t), c, batch[:5]); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := publishBatch(ctx, c, batch[5:])
	if !errors.Is(err, natsevents.ErrUnavailable) {
		t.Fatalf("publish while NATS is down: %v, want ErrUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("publish while NATS is down took %s, want it bounded by its context", elapsed)
	}

	srv.Restart()
	// Retries re-send the whole batch, as the activity's retry policy does,
	// until the client has reconnected.
	retryCtx := testContext(t)
	for {
		err := publishBatch(retryCtx, c, batch)
		if err == nil {
			break
		}
		if !errors.Is(err, natsevents.ErrUnavailable) {
			t.Fatalf("retry after restart: %v, want success or ErrUnavailable", err)
		}
		select {
		case <-retryCtx.Done():
			t.Fatalf("no successful retry after restart: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}

	got := MustConsume(t, c, natsevents.ConsumeOptions{})
	if !slices.Equal(msgIDs(got), batch) {
		t.Errorf("stream holds %q, want each of %q once, in order", msgIDs(got), batch)
	}
}

func TestInitWhileNATSDown(t *testing.T) {
	srv := natstest.MustStart(t)
	srv.Stop()

	c := natsevents.New(natsevents.Config{URL: srv.URL(), Logger: testLogger(t)})
	defer c.Close()
	start := time.Now()
	err := c.Init(testContext(t))
	if !errors.Is(err, natsevents.ErrUnavailable) {
		t.Fatalf("init while NATS is down: %v, want ErrUnavailable", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("init while NATS is down took %s", elapsed)
	}

	srv.Restart()
	// The client connects in the background; the first successful publish
	// creates the stream.
	ctx := testContext(t)
	for {
		err := c.Publish(ctx, "shipshape.run.demo.run.started", "wf/run/1", []byte(`{}`))
		if err == nil {
			break
		}
		if !errors.Is(err, natsevents.ErrUnavailable) {
			t.Fatalf("publish after NATS came up: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never published after NATS came up: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	info, err := c.Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "SHIPSHAPE" || info.Messages != 1 {
		t.Errorf("stream %s holds %d messages, want SHIPSHAPE with 1", info.Name, info.Messages)
	}
}

func TestPublishBeforeInit(t *testing.T) {
	c := natsevents.New(natsevents.Config{})
	err := c.Publish(context.Background(), "shipshape.run.demo.run.started", "id", nil)
	if err == nil || errors.Is(err, natsevents.ErrUnavailable) {
		t.Errorf("publish before init: %v, want a permanent error", err)
	}
}
