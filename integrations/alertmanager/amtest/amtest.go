// Package amtest runs a real Alertmanager (the prometheus-alertmanager
// binary) for tests: on loopback and a free port, clustering off, its
// storage in the test's temporary directory, every alert routed to a
// webhook receiver served by the test, stopped when the test ends. Tests
// only.
package amtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/internal/testenv"
)

// Receiver is the name of the webhook receiver every alert routes to.
const Receiver = "drill-webhook"

// Binary finds Alertmanager: $ALERTMANAGER, else prometheus-alertmanager
// (Debian's name) or alertmanager on PATH, else /usr/bin/prometheus-alertmanager.
func Binary() string {
	if b := os.Getenv("ALERTMANAGER"); b != "" {
		return b
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/prometheus-alertmanager"); err == nil {
		return "/usr/bin/prometheus-alertmanager"
	}
	return ""
}

// Server is a running Alertmanager and its webhook receiver.
type Server struct {
	// URL is Alertmanager's base URL.
	URL string
	// WebhookURL is where the receiver's record is read: a GET returns
	// every notification received, one JSON body a line.
	WebhookURL string

	mu       sync.Mutex
	received [][]byte
	onNotify func(body []byte)
}

// OnNotify sets a function called (in the receiver's handler) with each
// notification Alertmanager sends, after it is recorded.
func (s *Server) OnNotify(fn func(body []byte)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onNotify = fn
}

// Received returns the notifications received so far.
func (s *Server) Received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.received...)
}

// MustStart starts Alertmanager, or skips tb (fails it under CI=true)
// when the binary is missing.
func MustStart(tb testing.TB) *Server {
	tb.Helper()
	return MustStartWith(tb)
}

// MustStartWith is MustStart with more webhook URLs on the receiver,
// which Alertmanager notifies as it does the recording one.
func MustStartWith(tb testing.TB, webhooks ...string) *Server {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		testenv.Missing(tb, "Alertmanager (prometheus-alertmanager)", "apt-get install prometheus-alertmanager")
	}
	s := &Server{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			s.received = append(s.received, body)
			fn := s.onNotify
			s.mu.Unlock()
			if fn != nil {
				fn(body)
			}
		case http.MethodGet:
			var b bytes.Buffer
			for _, body := range s.Received() {
				b.Write(bytes.TrimSpace(body))
				b.WriteByte('\n')
			}
			_, _ = w.Write(b.Bytes())
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	tb.Cleanup(hook.Close)
	s.WebhookURL = hook.URL + "/received"

	dir := tb.TempDir()
	config := fmt.Sprintf(`route:
  receiver: %s
  group_by: [alertname, shipshape_drill]
  group_wait: 200ms
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: %s
    webhook_configs:
      - url: %s/hook
        send_resolved: true
`, Receiver, Receiver, hook.URL)
	for _, u := range webhooks {
		config += fmt.Sprintf("      - url: %s\n        send_resolved: true\n", u)
	}
	cfgFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	addr := freeAddr(tb)
	s.URL = "http://" + addr
	logFile, err := os.Create(filepath.Join(dir, "alertmanager.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		logFile.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logFile.Name())
			tb.Fatalf("alertmanager exited: %s", log)
		case <-ctx.Done():
			log, _ := os.ReadFile(logFile.Name())
			tb.Fatalf("alertmanager not ready within 30s: %s", log)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitReceived waits until a notification containing every one of want
// arrives, and returns it.
func (s *Server) WaitReceived(tb testing.TB, timeout time.Duration, want ...string) []byte {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, body := range s.Received() {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(string(body), w)
			}
			if ok {
				return body
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("no notification with %q within %s; received %d", want, timeout, len(s.Received()))
	return nil
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
