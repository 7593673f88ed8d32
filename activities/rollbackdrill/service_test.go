package rollbackdrill_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// service is a small HTTP service in two versions, v1 and v2, each its
// own in-process server, behind a front that sends every request to the
// active one, as a load balancer in front of two deployments does. A
// switch makes the front answer 503 for a gap (at least gap long, and
// until it has answered a reading of a version endpoint, /version or
// /about, with 503: the drill's poller reads it, the probe load does
// not, so the drill sees the gap whatever the machine's load), then
// serve the new version. A switch is started by:
//   - POST /admin/switch?to=VERSION (a webhook), with the bearer token
//     adminToken;
//   - writing VERSION to the file watchFile (a command);
//   - calling switchTo (an App Service slot swap's OnSwap).
type service struct {
	URL  string
	gap  time.Duration
	file string

	mu       sync.Mutex
	backends map[string]*httputil.ReverseProxy
	active   string
	next     string
	until    time.Time
	gapSeen  bool
	lastFile string
	switches []string
	keys     []string // Idempotency-Key of each webhook switch
}

const adminToken = "admin-secret"

func startService(t *testing.T, active string, gap time.Duration) *service {
	t.Helper()
	s := &service{gap: gap, active: active, backends: map[string]*httputil.ReverseProxy{}}
	for _, v := range []string{"v1", "v2"} {
		b := httptest.NewServer(versionHandler(v))
		t.Cleanup(b.Close)
		u, _ := url.Parse(b.URL)
		s.backends[v] = httputil.NewSingleHostReverseProxy(u)
	}
	front := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(front.Close)
	s.URL = front.URL
	s.file = t.TempDir() + "/wanted-version"
	return s
}

// versionHandler is one version of the service.
func versionHandler(version string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"app": "shop", "build": map[string]any{"version": version, "commit": "abc123"}})
	})
	mux.HandleFunc("GET /about", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "shop build %s (commit abc123)\n", version)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"status": "ok"}`)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", version)
	})
	return mux
}

// switchTo starts a switch to version.
func (s *service) switchTo(version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.startSwitch(version)
}

func (s *service) startSwitch(version string) {
	if _, ok := s.backends[version]; !ok || version == s.active {
		return
	}
	s.next, s.until, s.gapSeen = version, time.Now().Add(s.gap), false
	s.switches = append(s.switches, version)
}

// Switches lists the switches started, by version.
func (s *service) Switches() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.switches...)
}

func (s *service) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/admin/switch" {
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+adminToken {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		to := r.URL.Query().Get("to")
		s.mu.Lock()
		s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
		_, ok := s.backends[to]
		s.startSwitch(to)
		s.mu.Unlock()
		if !ok {
			http.Error(w, "no version "+to, http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if r.URL.Path == "/admin/noop" {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	s.mu.Lock()
	if data, err := os.ReadFile(s.file); err == nil {
		if wanted := strings.TrimSpace(string(data)); wanted != s.lastFile {
			s.lastFile = wanted
			s.startSwitch(wanted)
		}
	}
	if s.next != "" {
		if time.Now().Before(s.until) || !s.gapSeen {
			if r.URL.Path == "/version" || r.URL.Path == "/about" {
				s.gapSeen = true
			}
			s.mu.Unlock()
			http.Error(w, "switching", http.StatusServiceUnavailable)
			return
		}
		s.active, s.next = s.next, ""
	}
	backend := s.backends[s.active]
	s.mu.Unlock()
	backend.ServeHTTP(w, r)
}
