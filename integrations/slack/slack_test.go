package slack_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/slack"
)

// fakeWebhook stands in for a Slack incoming webhook: it records each
// body and answers with the next status in line (then 200 "ok").
type fakeWebhook struct {
	mu       sync.Mutex
	bodies   [][]byte
	at       []time.Time
	statuses []int
	headers  []map[string]string
}

func (f *fakeWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, body)
	f.at = append(f.at, time.Now())
	status := http.StatusOK
	var h map[string]string
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
		if len(f.headers) > 0 {
			h, f.headers = f.headers[0], f.headers[1:]
		}
	}
	for k, v := range h {
		w.Header().Set(k, v)
	}
	w.WriteHeader(status)
	if status == http.StatusOK {
		io.WriteString(w, "ok")
	} else {
		io.WriteString(w, "no_service")
	}
}

func (f *fakeWebhook) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func mustClient(tb testing.TB, logs io.Writer) *slack.Client {
	tb.Helper()
	return slack.New(slack.Config{
		MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
}

var msg = slack.Message{Text: "hi", Blocks: []slack.Block{{Type: "section", Text: &slack.Text{Type: "mrkdwn", Text: "*hi*"}}}}

func TestPostSendsTheExactJSON(t *testing.T) {
	fake := &fakeWebhook{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	n, err := mustClient(t, io.Discard).Post(context.Background(), srv.URL+"/services/T/B/x", msg)
	if err != nil || n != 1 {
		t.Fatalf("Post = %d, %v", n, err)
	}
	want := `{"text":"hi","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]}`
	if got := string(fake.bodies[0]); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestPostRetries429HonouringRetryAfter(t *testing.T) {
	fake := &fakeWebhook{
		statuses: []int{http.StatusTooManyRequests, http.StatusServiceUnavailable},
		headers:  []map[string]string{{"Retry-After": "1"}, nil},
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	n, err := mustClient(t, io.Discard).Post(context.Background(), srv.URL, msg)
	if err != nil || n != 3 {
		t.Fatalf("Post = %d attempts, %v; want 3, nil", n, err)
	}
	if gap := fake.at[1].Sub(fake.at[0]); gap < time.Second {
		t.Errorf("retried %s after a 429 with Retry-After: 1", gap)
	}
	if gap := fake.at[2].Sub(fake.at[1]); gap > 500*time.Millisecond {
		t.Errorf("retried a 503 after %s, want the short backoff", gap)
	}
	for i, b := range fake.bodies {
		if !bytes.Equal(b, fake.bodies[0]) {
			t.Errorf("attempt %d sent another body: %s", i+1, b)
		}
	}
}

func TestPostGivesUpAfterMaxAttemptsWithoutLeakingTheURL(t *testing.T) {
	fake := &fakeWebhook{statuses: []int{500, 502, 503, 504}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var logs bytes.Buffer
	secret := srv.URL + "/services/T000/B000/SECRETTOKEN"
	n, err := mustClient(t, &logs).Post(context.Background(), secret, msg)
	if !errors.Is(err, slack.ErrUnavailable) || n != 3 {
		t.Fatalf("Post = %d, %v; want 3, ErrUnavailable", n, err)
	}
	if fake.calls() != 3 {
		t.Errorf("%d calls, want 3", fake.calls())
	}
	if strings.Contains(err.Error(), "SECRETTOKEN") || strings.Contains(logs.String(), "SECRETTOKEN") {
		t.Errorf("the webhook URL leaked:\nerror: %v\nlogs: %s", err, &logs)
	}
}

func TestPostDoesNotRetryARejection(t *testing.T) {
	fake := &fakeWebhook{statuses: []int{http.StatusNotFound}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	n, err := mustClient(t, io.Discard).Post(context.Background(), srv.URL, msg)
	if !errors.Is(err, slack.ErrRejected) || n != 1 {
		t.Fatalf("Post = %d, %v; want 1, ErrRejected", n, err)
	}
}

func TestPostNetworkErrorDoesNotLeakTheURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/services/T/B/SECRETTOKEN"
	srv.Close() // connection refused from now on
	_, err := mustClient(t, io.Discard).Post(context.Background(), url, msg)
	if !errors.Is(err, slack.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "SECRETTOKEN") {
		t.Errorf("the webhook URL leaked: %v", err)
	}
}
