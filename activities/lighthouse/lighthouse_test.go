package lighthouse_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipshape-dev/shipshape/activities/lighthouse"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/internal/testenv"
)

func run(t *testing.T, artifactDir string, with map[string]any) (task.Output, error) {
	t.Helper()
	r := tasktest.Runner{Types: []task.Type{lighthouse.New(nil).Type()}, ArtifactDir: artifactDir}
	return r.Run(t, lighthouse.Name, with)
}

func TestReadResult(t *testing.T) {
	out, err := run(t, "", map[string]any{"result": "testdata/result.json"})
	tasktest.MustKind(t, err, tasktest.None)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"lighthouse.performance": 1, "lighthouse.accessibility": 1, "lighthouse.best_practices": 0.96, "lighthouse.seo": 1,
		"lighthouse.lcp": 0.7593782, "lighthouse.fcp": 0.6466891, "lighthouse.tbt": 0, "lighthouse.speed_index": 0.6466891, "lighthouse.cls": 0,
	}, 1e-9)
	for _, w := range []string{"Lighthouse 12.8.2: https://shop.example.com/", "mobile, throttling simulate", "Best Practices: 96", "largest-contentful-paint: 759ms"} {
		if !strings.Contains(out.Output, w) {
			t.Errorf("output does not mention %q:\n%s", w, out.Output)
		}
	}
}

func TestReadResultErrors(t *testing.T) {
	_, err := run(t, "", map[string]any{"result": "testdata/no-paint.json"})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "Lighthouse could not audit https://shop.example.com/: NO_FCP")
	if out := tasktest.OutputOf(t, task.Output{}, err); !strings.Contains(out.Output, "warning: The page loaded too slowly") {
		t.Errorf("output:\n%s", out.Output)
	}

	notLHR := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(notLHR, []byte(`{"status":"ok"}`), 0o644)
	_, err = run(t, "", map[string]any{"result": notLHR})
	tasktest.MustKind(t, err, tasktest.Invalid, "not a Lighthouse JSON result")

	_, err = run(t, "", map[string]any{"result": filepath.Join(t.TempDir(), "nope.json")})
	tasktest.MustKind(t, err, tasktest.Invalid, "result:")

	_, err = run(t, "", map[string]any{})
	tasktest.MustKind(t, err, tasktest.Invalid, "give url")
}

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := run(t, "", map[string]any{"url": "http://127.0.0.1:1/"})
	tasktest.MustKind(t, err, "non-retryable TaskFailed", "Lighthouse is not installed on this worker", "npm install -g lighthouse@12")
}

// TestAuditLocalPage runs Lighthouse for real, in headless Chromium,
// against a page the test serves.
func TestAuditLocalPage(t *testing.T) {
	if _, err := exec.LookPath("lighthouse"); err != nil {
		testenv.Missing(t, "lighthouse", lighthouse.Install)
	}
	if _, err := exec.LookPath("chromium"); err != nil && os.Getenv("CHROME_PATH") == "" {
		testenv.Missing(t, "chromium", "apt-get install chromium")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>` +
			`<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="description" content="A small shop">` +
			`</head><body><h1>Shop</h1><p>Everything must go.</p></body></html>`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	out, err := run(t, dir, map[string]any{"url": srv.URL + "/", "preset": "desktop", "categories": []any{"performance", "seo"}})
	tasktest.MustKind(t, err, tasktest.None)
	t.Logf("output:\n%s", out.Output)
	for _, m := range []string{"lighthouse.performance", "lighthouse.seo"} {
		if v, ok := out.Metrics[m]; !ok || v < 0.5 || v > 1 {
			t.Errorf("%s = %v (reported %v), want a high score as a ratio", m, v, ok)
		}
	}
	if _, ok := out.Metrics["lighthouse.accessibility"]; ok {
		t.Error("accessibility was not asked for")
	}
	if v := out.Metrics["lighthouse.lcp"]; v <= 0 || v > 30 {
		t.Errorf("lighthouse.lcp = %v s", v)
	}
	if !strings.Contains(out.Output, "desktop") {
		t.Errorf("output does not say desktop:\n%s", out.Output)
	}
	if len(out.Artifacts) == 0 || out.Artifacts[0].MediaType != "text/html" {
		t.Fatalf("artifacts %+v, want the HTML report first", out.Artifacts)
	}
	// Artifact paths are relative to the run's artifact directory, as
	// reports and `starter evidence` read them.
	if filepath.IsAbs(out.Artifacts[0].Path) {
		t.Errorf("artifact path %s is absolute", out.Artifacts[0].Path)
	}
	html, err := os.ReadFile(filepath.Join(dir, out.Artifacts[0].Path))
	if err != nil || !strings.Contains(string(html), "Lighthouse") {
		t.Errorf("HTML report: %v", err)
	}
}

// TestRedirectOutsideAllowedHosts: a page that redirects Chromium to a
// host the plan does not allow fails the task.
func TestRedirectOutsideAllowedHosts(t *testing.T) {
	if _, err := exec.LookPath("lighthouse"); err != nil {
		testenv.Missing(t, "lighthouse", lighthouse.Install)
	}
	if _, err := exec.LookPath("chromium"); err != nil && os.Getenv("CHROME_PATH") == "" {
		testenv.Missing(t, "chromium", "apt-get install chromium")
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == strings.TrimPrefix(srv.URL, "http://") && r.URL.Path == "/" {
			http.Redirect(w, r, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/landed", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><title>Elsewhere</title></head><body><p>elsewhere</p></body></html>`))
	}))
	defer srv.Close()
	r := tasktest.Runner{Types: []task.Type{lighthouse.New(nil).Type()}, AllowedHosts: []string{"127.0.0.1"}}
	_, err := r.Run(t, lighthouse.Name, map[string]any{"url": srv.URL + "/", "categories": []any{"seo"}})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "Lighthouse was redirected to http://localhost:", "not in the task's allowed hosts")
}
