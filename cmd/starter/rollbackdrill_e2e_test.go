//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
)

// rollbackService is a small service in two versions, each its own
// server, behind a front that sends requests to the active one. A switch
// (to the version a command wrote to its file, or to v2 on POST
// /admin/roll-forward) makes the front answer 503 for at least gap and
// until a reading of /version (the drill's poller reads it, its probe
// load does not) has met the 503, then serve the new version: every
// drill of it sees the gap, whatever the load.
type rollbackService struct {
	URL, file string
	gap       time.Duration

	mu       sync.Mutex
	backends map[string]*httputil.ReverseProxy
	active   string
	next     string
	until    time.Time
	gapSeen  bool
	lastFile string
	switches []string
}

func startRollbackService(t *testing.T, gap time.Duration) *rollbackService {
	t.Helper()
	s := &rollbackService{gap: gap, active: "v2", file: filepath.Join(t.TempDir(), "wanted-version"), backends: map[string]*httputil.ReverseProxy{}}
	for _, v := range []string{"v1", "v2"} {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]string{"version": v})
		})
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
		b := httptest.NewServer(mux)
		t.Cleanup(b.Close)
		u, _ := url.Parse(b.URL)
		s.backends[v] = httputil.NewSingleHostReverseProxy(u)
	}
	front := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(front.Close)
	s.URL = front.URL
	return s
}

func (s *rollbackService) startSwitch(v string) {
	if _, ok := s.backends[v]; ok && v != s.active {
		s.next, s.until, s.gapSeen = v, time.Now().Add(s.gap), false
		s.switches = append(s.switches, v)
	}
}

func (s *rollbackService) Switches() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.switches)
}

func (s *rollbackService) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if r.URL.Path == "/admin/roll-forward" && r.Method == http.MethodPost {
		s.startSwitch("v2")
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if data, err := os.ReadFile(s.file); err == nil && strings.TrimSpace(string(data)) != s.lastFile {
		s.lastFile = strings.TrimSpace(string(data))
		s.startSwitch(s.lastFile)
	}
	if s.next != "" {
		if time.Now().Before(s.until) || !s.gapSeen {
			s.gapSeen = s.gapSeen || r.URL.Path == "/version"
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

// TestRollbackDrillExampleDev runs the rollback-drill example with
// `starter run --dev` against a local service in two versions: a command
// rolls it back from v2 to v1, a webhook forward again, each through a
// one-second unhealthy gap, and the run passes; then a rollback to a
// version the service never reaches times out and fails the run on its
// key gate, with an error that says so. The assertions are on what
// happened (versions reached, the gap seen, the switches made), not on
// how the probe's requests fell across the gap.
func TestRollbackDrillExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const gap = time.Second
	svc := startRollbackService(t, gap)
	script := filepath.Join(t.TempDir(), "rollback.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$ROLL_TO\" > '"+svc.file+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := func(out string, extra ...string) []string {
		a := []string{"run", "--dev", "--state-dir", t.TempDir(), "--report-dir", out,
			"--set", "vars.rollbackCommand=" + script,
			"--set", "vars.versionURL=" + svc.URL + "/version", "--set", "vars.healthURL=" + svc.URL + "/healthz",
			"--set", "vars.rollForwardURL=" + svc.URL + "/admin/roll-forward"}
		return append(append(a, extra...), "examples/plans/rollback-drill.yaml")
	}

	out := t.TempDir()
	res := starter(t, ctx, args(out)...)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	tr := r.Task("rollback", "previous-version")
	if r.Result != plan.StatusPass || tr == nil || tr.Status != plan.StatusPass {
		t.Fatalf("result %s, task %+v: want pass", r.Result, tr)
	}
	m := tr.Metrics
	for _, phase := range []string{"rollback", "rollforward"} {
		if m[phase+".healthy"] != 1 || m[phase+".duration"] < gap.Seconds() || m[phase+".unhealthy_time"] <= 0 {
			t.Errorf("%s: healthy %v, duration %v, unhealthy %v: want healthy after the %s gap, unhealthy a while",
				phase, m[phase+".healthy"], m[phase+".duration"], m[phase+".unhealthy_time"], gap)
		}
		if req, errs := m[phase+".probe.requests"], m[phase+".probe.errors"]; req < 1 || errs > req {
			t.Errorf("%s probe: %v requests, %v errors", phase, req, errs)
		}
	}
	if got := svc.Switches(); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("switches %v, want v1 then v2", got)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Rollback timeline", "healthy on version v1", "healthy on version v2", "status 503"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// A version the service never reaches: the drill times out, the key
	// gate fails, and the service, never switched, is not rolled forward.
	out = t.TempDir()
	res = starter(t, ctx, args(out, "--set", "vars.previousVersion=v9", "--set", "vars.timeout=3s")...)
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1 (fail)", res.code)
	}
	r = readReport(t, out)
	tr = r.Task("rollback", "previous-version")
	if r.Result != plan.StatusFail || tr == nil {
		t.Fatalf("result %s, task %+v: want fail", r.Result, tr)
	}
	if want := `the service did not report version "v9" and healthy within the timeout, 3s`; !strings.Contains(tr.Error, want) {
		t.Errorf("task error %q lacks %q", tr.Error, want)
	}
	if tr.Metrics["rollback.healthy"] != 0 {
		t.Errorf("metrics %v", tr.Metrics)
	}
	for _, g := range tr.Gates {
		if g.Metric == "rollback.healthy" && g.Status != plan.StatusFail {
			t.Errorf("gate %s: %s, want fail", g.Metric, g.Status)
		}
	}
	if got := svc.Switches(); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("switches %v: the failed drill switched the service", got)
	}
}
