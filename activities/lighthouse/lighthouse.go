// Package lighthouse is the lighthouse task type: Lighthouse (from npm)
// audits a page in headless Chromium, or an existing Lighthouse JSON
// result is read, and its category scores and lab Core Web Vitals become
// metrics; the HTML report it writes is kept as an artifact.
package lighthouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/plan"
)

// Name is the name of the lighthouse task type.
const Name = "lighthouse"

// Version is the Lighthouse major version the task type is written and
// tested against.
const Version = "12"

// Install says how to install Lighthouse, for messages and docs.
const Install = "npm install -g lighthouse@12 (Node.js 18.16 or later)"

// Decl declares the lighthouse task type.
var Decl = plan.TaskType{
	Name: Name,
	Summary: "Audits a page with Lighthouse " + Version + " in headless Chromium, or reads an existing Lighthouse JSON result, and reports the category scores (ratios 0–1, so `>= 90%` reads naturally) and the lab Core Web Vitals. " +
		"The HTML report is kept as an artifact. The worker needs Lighthouse from npm (`" + "npm install -g lighthouse@12" + "`) and Chromium or Chrome (`CHROME_PATH` names it when it is not on PATH). " +
		"The page's host must be allowed by the plan ([Load safety](#load-safety)).",
	Params: []plan.Param{
		{Name: "url", Type: plan.TypeString, Safety: plan.SafetyHost, Doc: "Absolute http:// or https:// URL of the page to audit; or result."},
		{Name: "result", Type: plan.TypeString, Safety: plan.SafetyFile, Doc: "An existing Lighthouse JSON result (`lighthouse --output=json`) to read instead of running Lighthouse."},
		{Name: "preset", Type: plan.TypeString, Default: "mobile", Enum: []string{"mobile", "desktop"}, Doc: "Form factor, screen and throttling profile."},
		{Name: "throttling", Type: plan.TypeString, Default: "simulate", Enum: []string{"simulate", "devtools", "none"}, Doc: "`simulate`: load at full speed and model a slow network and CPU (Lighthouse's default); `devtools`: throttle for real in the browser; `none`: no throttling."},
		{Name: "categories", Type: plan.TypeStringList, Enum: []string{"performance", "accessibility", "best-practices", "seo"}, Doc: "The categories audited; unset: all four."},
		{Name: "allow", Type: plan.TypeStringList, Safety: plan.SafetyAllowHosts, Doc: "Hosts this task may audit, on top of `spec.allowedHosts`, written the same way."},
	},
	Metrics: []plan.Metric{
		{Name: "lighthouse.performance", Unit: plan.UnitRatio, Doc: "Performance score, 0–1."},
		{Name: "lighthouse.accessibility", Unit: plan.UnitRatio, Doc: "Accessibility score, 0–1."},
		{Name: "lighthouse.best_practices", Unit: plan.UnitRatio, Doc: "Best-practices score, 0–1."},
		{Name: "lighthouse.seo", Unit: plan.UnitRatio, Doc: "SEO score, 0–1."},
		{Name: "lighthouse.lcp", Unit: plan.UnitSeconds, Doc: "Largest Contentful Paint (lab)."},
		{Name: "lighthouse.fcp", Unit: plan.UnitSeconds, Doc: "First Contentful Paint (lab)."},
		{Name: "lighthouse.tbt", Unit: plan.UnitSeconds, Doc: "Total Blocking Time (lab)."},
		{Name: "lighthouse.speed_index", Unit: plan.UnitSeconds, Doc: "Speed Index (lab)."},
		{Name: "lighthouse.cls", Unit: plan.UnitCount, Doc: "Cumulative Layout Shift (lab), unitless."},
	},
	Timeout:   5 * time.Minute,
	Heartbeat: 30 * time.Second,
	Check:     check,
}

// check: exactly one of url and result.
func check(with map[string]any) []plan.ParamProblem {
	_, hasURL := with["url"]
	_, hasResult := with["result"]
	switch {
	case hasURL && hasResult:
		return []plan.ParamProblem{{Msg: "give url (run Lighthouse) or result (read its JSON), not both"}}
	case !hasURL && !hasResult:
		return []plan.ParamProblem{{Msg: "give url (run Lighthouse against it) or result (an existing Lighthouse JSON result)"}}
	}
	return nil
}

// Activities runs lighthouse tasks.
type Activities struct {
	logger *slog.Logger
}

// New returns the lighthouse activities; a nil logger means the default.
func New(logger *slog.Logger) *Activities {
	if logger == nil {
		logger = slog.Default()
	}
	return &Activities{logger: logger}
}

// Type is the lighthouse task type, run by a.
func (a *Activities) Type() task.Type { return task.Type{Decl: Decl, Run: a.Lighthouse} }

// Lighthouse runs Lighthouse against the task's url, or reads its result
// file, and reports the scores and vitals.
func (a *Activities) Lighthouse(ctx context.Context, in task.Input) (task.Output, error) {
	p := in.Params
	for _, problem := range check(p) {
		return task.Output{}, task.InvalidParams("%s", problem.Msg)
	}
	var (
		raw       []byte
		artifacts []plan.Artifact
		source    string
	)
	if file := p.String("result"); file != "" {
		b, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return task.Output{}, task.InvalidParams("result: %v", err)
		}
		if err != nil {
			return task.Output{}, fmt.Errorf("read result: %w", err)
		}
		raw, source = b, file
	} else {
		var err error
		raw, artifacts, err = a.run(ctx, in)
		if err != nil {
			return task.Output{}, err
		}
		source = p.String("url")
	}
	res, err := Parse(raw)
	if err != nil {
		if p.String("result") != "" {
			return task.Output{}, task.InvalidParams("result %s: %v", source, err)
		}
		return task.Output{}, fmt.Errorf("lighthouse result: %w", err)
	}
	out := task.Output{Metrics: res.Metrics, Artifacts: artifacts, Output: res.Summary()}
	a.logger.InfoContext(ctx, "lighthouse", slog.String("task", in.Task), slog.String("url", res.FinalURL),
		slog.Any("metrics", res.Metrics))
	if p.String("url") != "" && len(in.AllowedHosts) > 0 && res.FinalURL != "" {
		// Chromium follows redirects on its own: the page it ended on
		// must be one the plan allows too.
		final, err := url.Parse(res.FinalURL)
		if err != nil || !plan.URLAllowed(final, in.AllowedHosts) {
			return task.Output{}, task.CheckFailed(out, "Lighthouse was redirected to %s, whose host is not in the task's allowed hosts (spec.allowedHosts and allow)", res.FinalURL)
		}
	}
	if res.RuntimeError != "" {
		return task.Output{}, task.CheckFailed(out, "Lighthouse could not audit %s: %s", res.RequestedURL, res.RuntimeError)
	}
	if len(res.Metrics) == 0 {
		return task.Output{}, task.CheckFailed(out, "the Lighthouse result for %s holds no category score nor metric", source)
	}
	return out, nil
}

// chromeFlags run Chromium headless, without a sandbox (workers often run
// as root in containers) and without the background traffic that would
// disturb the measurement.
var chromeFlags = []string{
	"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
	"--disable-background-networking", "--disable-background-timer-throttling",
	"--disable-backgrounding-occluded-windows", "--disable-renderer-backgrounding",
	"--disable-component-update", "--disable-default-apps", "--disable-sync", "--disable-extensions",
	"--no-first-run", "--no-default-browser-check", "--mute-audio", "--metrics-recording-only",
}

// chromeNames are the programs tried for Chromium when CHROME_PATH is unset.
var chromeNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// run runs Lighthouse for in's url and returns its JSON result, and the
// HTML report as an artifact when the run has an artifact directory.
func (a *Activities) run(ctx context.Context, in task.Input) ([]byte, []plan.Artifact, error) {
	p := in.Params
	lh, err := exec.LookPath("lighthouse")
	if err != nil {
		return nil, nil, task.Failed(task.Output{}, true, "Lighthouse is not installed on this worker (no lighthouse on PATH): install it with %s", Install)
	}
	chrome := os.Getenv("CHROME_PATH")
	if chrome == "" {
		for _, name := range chromeNames {
			if path, err := exec.LookPath(name); err == nil {
				chrome = path
				break
			}
		}
	}
	if chrome == "" {
		return nil, nil, task.Failed(task.Output{}, true, "no Chromium or Chrome on this worker for Lighthouse: install chromium, or set CHROME_PATH to the browser")
	}

	dir, keep := "", in.ArtifactDir != ""
	if keep {
		dir = in.ArtifactFolder()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, fmt.Errorf("artifact dir: %w", err)
		}
	} else {
		tmp, err := os.MkdirTemp("", "lighthouse-")
		if err != nil {
			return nil, nil, fmt.Errorf("scratch dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	// Chrome's profile lives in its own scratch directory, gone after.
	profile, err := os.MkdirTemp("", "lighthouse-chrome-")
	if err != nil {
		return nil, nil, fmt.Errorf("chrome profile dir: %w", err)
	}
	defer os.RemoveAll(profile)

	categories := p.Strings("categories")
	if len(categories) == 0 {
		categories = []string{"performance", "accessibility", "best-practices", "seo"}
	}
	args := []string{p.String("url"),
		"--output=json", "--output=html", "--output-path=" + filepath.Join(dir, "lighthouse"),
		"--chrome-flags=" + strings.Join(append(slices.Clone(chromeFlags), "--user-data-dir="+profile), " "),
		"--only-categories=" + strings.Join(categories, ","),
		"--throttling-method=" + map[string]string{"simulate": "simulate", "devtools": "devtools", "none": "provided"}[p.String("throttling")],
		"--quiet",
	}
	if p.String("preset") == "desktop" {
		args = append(args, "--preset=desktop")
	}
	cmd := exec.CommandContext(ctx, lh, args...)
	cmd.Env = append(os.Environ(), "CHROME_PATH="+chrome)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Lighthouse closes Chrome on SIGINT; a process group that lingers
	// is killed.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr

	started := time.Now()
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				task.Report(ctx, task.Progress{Done: -1, Message: fmt.Sprintf("auditing %s (%s)", p.String("url"), time.Since(started).Round(time.Second))})
			}
		}
	}()
	a.logger.InfoContext(ctx, "lighthouse started", slog.String("url", p.String("url")), slog.String("lighthouse", lh), slog.String("chrome", chrome))
	err = cmd.Run()
	close(done)
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // what Lighthouse left behind
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	raw, readErr := os.ReadFile(filepath.Join(dir, "lighthouse.report.json"))
	if err != nil && readErr != nil {
		return nil, nil, fmt.Errorf("lighthouse %s: %v: %s", p.String("url"), err, tail(stderr.String(), 2000))
	}
	if readErr != nil {
		return nil, nil, fmt.Errorf("lighthouse wrote no JSON result: %w: %s", readErr, tail(stderr.String(), 2000))
	}
	var artifacts []plan.Artifact
	if keep {
		if _, err := os.Stat(filepath.Join(dir, "lighthouse.report.html")); err == nil {
			artifacts = append(artifacts, plan.Artifact{Name: "Lighthouse report", Path: in.ArtifactPath("lighthouse.report.html"), MediaType: "text/html"})
		}
		artifacts = append(artifacts, plan.Artifact{Name: "Lighthouse result (JSON)", Path: in.ArtifactPath("lighthouse.report.json"), MediaType: "application/json"})
	}
	return raw, artifacts, nil
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + strings.ToValidUTF8(s[len(s)-n:], "")
	}
	return s
}

// Result is what the task reads from a Lighthouse JSON result.
type Result struct {
	LighthouseVersion string
	RequestedURL      string
	FinalURL          string
	FormFactor        string
	Throttling        string
	// RuntimeError is Lighthouse's own failure (the page did not load,
	// no paint, …); empty when the audit ran.
	RuntimeError string
	Warnings     []string
	// Metrics are the scores and vitals found, in base units.
	Metrics map[string]float64
	// titles maps a category's metric to its title, for the summary.
	titles map[string]string
}

// categoryMetrics maps Lighthouse category IDs to metric names.
var categoryMetrics = []struct{ id, metric string }{
	{"performance", "lighthouse.performance"},
	{"accessibility", "lighthouse.accessibility"},
	{"best-practices", "lighthouse.best_practices"},
	{"seo", "lighthouse.seo"},
}

// auditMetrics maps Lighthouse audit IDs to metric names and the factor
// from the audit's numericValue (milliseconds, or unitless) to base units.
var auditMetrics = []struct {
	id, metric string
	scale      float64
}{
	{"largest-contentful-paint", "lighthouse.lcp", 1e-3},
	{"first-contentful-paint", "lighthouse.fcp", 1e-3},
	{"total-blocking-time", "lighthouse.tbt", 1e-3},
	{"speed-index", "lighthouse.speed_index", 1e-3},
	{"cumulative-layout-shift", "lighthouse.cls", 1},
}

// Parse reads a Lighthouse JSON result (the LHR).
func Parse(raw []byte) (*Result, error) {
	var lhr struct {
		LighthouseVersion string `json:"lighthouseVersion"`
		RequestedURL      string `json:"requestedUrl"`
		FinalURL          string `json:"finalUrl"`
		FinalDisplayedURL string `json:"finalDisplayedUrl"`
		RuntimeError      *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"runtimeError"`
		RunWarnings    []string `json:"runWarnings"`
		ConfigSettings struct {
			FormFactor       string `json:"formFactor"`
			ThrottlingMethod string `json:"throttlingMethod"`
		} `json:"configSettings"`
		Categories map[string]struct {
			Title string   `json:"title"`
			Score *float64 `json:"score"`
		} `json:"categories"`
		Audits map[string]struct {
			NumericValue *float64 `json:"numericValue"`
		} `json:"audits"`
	}
	if err := json.Unmarshal(raw, &lhr); err != nil {
		return nil, fmt.Errorf("not a Lighthouse JSON result: %w", err)
	}
	if lhr.LighthouseVersion == "" || (lhr.Categories == nil && lhr.Audits == nil) {
		return nil, errors.New("not a Lighthouse JSON result: no lighthouseVersion, categories or audits")
	}
	r := &Result{
		LighthouseVersion: lhr.LighthouseVersion, RequestedURL: lhr.RequestedURL, FinalURL: lhr.FinalDisplayedURL,
		FormFactor: lhr.ConfigSettings.FormFactor, Throttling: lhr.ConfigSettings.ThrottlingMethod,
		Warnings: lhr.RunWarnings, Metrics: map[string]float64{}, titles: map[string]string{},
	}
	if r.FinalURL == "" {
		r.FinalURL = lhr.FinalURL
	}
	if e := lhr.RuntimeError; e != nil && e.Code != "" {
		r.RuntimeError = e.Code
		if e.Message != "" {
			r.RuntimeError += ": " + e.Message
		}
	}
	for _, c := range categoryMetrics {
		cat, ok := lhr.Categories[c.id]
		if !ok || cat.Score == nil {
			continue // not audited, or it errored (score null)
		}
		r.Metrics[c.metric] = *cat.Score
		r.titles[c.metric] = cat.Title
	}
	for _, m := range auditMetrics {
		if a, ok := lhr.Audits[m.id]; ok && a.NumericValue != nil && !math.IsNaN(*a.NumericValue) {
			r.Metrics[m.metric] = *a.NumericValue * m.scale
		}
	}
	return r, nil
}

// Summary is the task output: what was audited and what it scored.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Lighthouse %s: %s", r.LighthouseVersion, r.RequestedURL)
	if r.FinalURL != "" && r.FinalURL != r.RequestedURL {
		fmt.Fprintf(&b, " (final URL %s)", r.FinalURL)
	}
	if r.FormFactor != "" {
		fmt.Fprintf(&b, ", %s, throttling %s", r.FormFactor, r.Throttling)
	}
	for _, c := range categoryMetrics {
		if v, ok := r.Metrics[c.metric]; ok {
			fmt.Fprintf(&b, "\n%s: %.0f", r.titles[c.metric], v*100)
		}
	}
	for _, m := range auditMetrics {
		v, ok := r.Metrics[m.metric]
		if !ok {
			continue
		}
		if m.scale == 1 {
			fmt.Fprintf(&b, "\n%s: %.3f", m.id, v)
		} else {
			fmt.Fprintf(&b, "\n%s: %s", m.id, time.Duration(v*float64(time.Second)).Round(time.Millisecond))
		}
	}
	if r.RuntimeError != "" {
		fmt.Fprintf(&b, "\nruntime error: %s", r.RuntimeError)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "\nwarning: %s", w)
	}
	return b.String()
}
