package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/natsevents/natstest"
	"github.com/shipshape-dev/shipshape/notify/notifytest"
)

// webhook stands in for a Slack incoming webhook: it records the bodies
// it accepts and answers with the statuses queued in fail first.
type webhook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	fail   []int
}

func newWebhook(t *testing.T, fail ...int) *webhook {
	w := &webhook{fail: fail}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		if len(w.fail) > 0 {
			code := w.fail[0]
			w.fail = w.fail[1:]
			http.Error(rw, "no_service", code)
			return
		}
		w.bodies = append(w.bodies, string(body))
		_, _ = io.WriteString(rw, "ok")
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhook) received() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bodies...)
}

// publish publishes events as the worker does: subject, ID as Nats-Msg-Id.
func publish(t *testing.T, c *natsevents.Client, evs ...events.Event) {
	t.Helper()
	for _, e := range evs {
		body, _ := json.Marshal(e)
		if err := c.Publish(context.Background(), e.NATSSubject(), e.ID, body); err != nil {
			t.Fatal(err)
		}
	}
}

// withLabels returns the demo run under another ID with other labels.
func withLabels(id string, labels map[string]string) []events.Event {
	var out []events.Event
	for _, e := range notifytest.DemoRun() {
		e.RunID = id
		e.ID = strings.Replace(e.ID, "dr-drill-20261125-061500-q1w2", id, 1)
		if e.Type == events.RunStarted {
			var d events.RunData
			_ = json.Unmarshal(e.Data, &d)
			d.Labels = labels
			e.Data, _ = json.Marshal(d)
		}
		out = append(out, e)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestNotifierEndToEnd runs the notifier against a real NATS server with
// JetStream and local HTTP servers standing in for Slack webhooks: the
// platform team's run goes to its webhook with the exact JSON of the
// golden files (a 503 on the way retried), another team's run to the
// default webhook; an event published twice under two message IDs is
// posted once; a message the webhook rejects is a dead letter, counted
// on /metrics; after a restart the durable consumer resumes where it
// stopped, posting nothing twice.
func TestNotifierEndToEnd(t *testing.T) {
	srv := natstest.MustStart(t)
	client := natsevents.New(natsevents.Config{URL: srv.URL()})
	if err := client.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	platform := newWebhook(t, http.StatusServiceUnavailable)
	other := newWebhook(t, http.StatusBadRequest) // rejects the first message for good
	t.Setenv("SLACK_PLATFORM", platform.URL+"/services/T0/B0/secret")
	config := filepath.Join(t.TempDir(), "notifier.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`routes:
  - name: platform
    match: {team: platform}
    webhookEnv: SLACK_PLATFORM
default:
  name: everyone
  webhook: %s
`, other.URL)), 0o600)
	metrics := freeAddr(t)

	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var logs bytes.Buffer
		go func() {
			done <- Main(ctx, []string{"--nats-url", srv.URL(), "--config", config, "--metrics-addr", metrics, "--backoff", "10ms"}, &syncWriter{w: &logs})
		}()
		// The consumer exists once the notifier is ready; it starts at new messages.
		waitFor(t, "the notifier's consumer", func() bool {
			select {
			case err := <-done:
				t.Fatalf("notifier stopped: %v\n%s", err, logs.String())
			default:
			}
			return consumerExists(srv.URL())
		})
		return func() {
			cancel()
			if err := <-done; err != nil && err != context.Canceled && !strings.Contains(err.Error(), "context canceled") {
				t.Errorf("notifier: %v", err)
			}
		}
	}
	stop := start()

	demo := notifytest.DemoRun()
	publish(t, client, demo...)
	dup := demo[8] // run.finished again, as a relay might after a long outage
	body, _ := json.Marshal(dup)
	if err := client.Publish(context.Background(), dup.NATSSubject(), dup.ID+"-relayed", body); err != nil {
		t.Fatal(err)
	}
	publish(t, client, withLabels("api-20261125-070000-zz99", map[string]string{"team": "payments"})...)

	waitFor(t, "7 messages on the platform webhook", func() bool { return len(platform.received()) >= 7 })
	waitFor(t, "6 messages on the default webhook", func() bool { return len(other.received()) >= 6 })
	time.Sleep(300 * time.Millisecond) // anything more would be a duplicate
	got := platform.received()
	if len(got) != 7 {
		t.Fatalf("platform webhook got %d messages, want 7", len(got))
	}
	i := 0
	for _, ev := range demo {
		want, err := os.ReadFile(notifytest.Golden("../../notify", ev))
		if os.IsNotExist(err) {
			continue // no message for this event
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, []byte(got[i]), "", "  "); err != nil {
			t.Fatal(err)
		}
		if indented.String()+"\n" != string(want) {
			t.Errorf("message %d for %s differs from its golden file:\n%s", i, ev.Type.Short(), indented.String())
		}
		i++
	}
	if n := len(other.received()); n != 6 {
		t.Errorf("default webhook got %d messages, want 6 (7 less the one it rejected)", n)
	}
	if !strings.Contains(other.received()[0], "Phase *backup* finished") {
		t.Errorf("the default webhook's first message should be the second one:\n%s", other.received()[0])
	}
	m := scrape(t, metrics)
	for _, want := range []string{
		`shipshape_notifier_messages_total{outcome="dead-letter",route="everyone"} 1`,
		`shipshape_notifier_messages_total{outcome="posted",route="platform"} 7`,
		`shipshape_notifier_messages_total{outcome="failure",route="everyone"} 1`,
		`shipshape_notifier_messages_total{outcome="duplicate",route=""} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, m)
		}
	}
	stop()

	// While it is down, a new run finishes; on restart only that is posted.
	late := withLabels("dr-drill-20261126-061500-aa11", map[string]string{"team": "platform"})
	publish(t, client, late[0], late[8])
	stop = start()
	defer stop()
	waitFor(t, "the late run's 2 messages", func() bool { return len(platform.received()) >= 9 })
	time.Sleep(300 * time.Millisecond)
	if n := len(platform.received()); n != 9 {
		t.Errorf("after restart the platform webhook has %d messages, want 9", n)
	}
}

func consumerExists(url string) bool {
	nc, err := nats.Connect(url)
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = js.Consumer(ctx, "SHIPSHAPE", "shipshape-notifier")
	return err == nil
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
