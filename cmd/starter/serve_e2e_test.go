//go:build integration

package main_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shipshape-dev/shipshape/internal/browsertest"
)

// TestServeInBrowser opens `starter serve`'s runs page in headless
// Chromium: a finished run is listed and links to its report; a run
// started while the page is open appears without a reload (server-sent
// events from NATS); the report page shows the run.
func TestServeInBrowser(t *testing.T) {
	browser := browsertest.Chromium(t)
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	planFile := writePlan(t, `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: serve-check}
spec:
  phases:
    - name: check
      tasks:
        - name: echo
          uses: command
          with: {argv: ["sh", "-c", "sleep 2; echo ok"]}
          gates: [{metric: command.exit_code, pass: "== 0"}]
`)
	historyDir := t.TempDir()
	if r := starter(t, ctx, append([]string{"run", "--run-id", "serve-check-1", "--history-dir", historyDir}, c.args(planFile)...)...); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}

	serve := exec.CommandContext(ctx, starterBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--history-dir", historyDir}, c.args()...)...)
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Signal(os.Interrupt); serve.Wait() })
	base := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := regexp.MustCompile(`serving runs at (http://\S+/)`).FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatal("starter serve did not say where it serves")
	}
	go func() {
		for sc.Scan() { // keep the pipe drained
		}
	}()

	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(browser, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	wait := func(what, sel string) {
		t.Helper()
		if err := chromedp.Do(browser, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s (%s): %v", what, sel, err)
		}
	}
	if err := chromedp.Do(browser, chromedp.Navigate(base)); err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	wait("the finished run is listed", `tr[data-run="serve-check-1"]`)
	wait("the page follows the event stream", `#live.on`)
	if status := text(`tr[data-run="serve-check-1"] .status`); status != "completed" {
		t.Fatalf("status %q", status)
	}

	// A run started now shows up by itself.
	second := make(chan result, 1)
	go func() {
		second <- starter(t, ctx, append([]string{"run", "--run-id", "serve-check-2", "--history-dir", historyDir}, c.args(planFile)...)...)
	}()
	wait("the second run appears without a reload", `tr[data-run="serve-check-2"]`)
	if r := <-second; r.code != 0 {
		t.Fatalf("second run: exit %d\n%s", r.code, r.stderr)
	}
	wait("the second run shows completed", `tr[data-run="serve-check-2"] .status.completed`)
	if last := text("#last"); !strings.Contains(last, "serve-check-2") {
		t.Errorf("last event %q", last)
	}
	shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.ScreenshotDir(t), "serve.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// The plan's link opens its trend over the runs the history keeps.
	if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS(`tr[data-run="serve-check-2"] a.trend`)), chromedp.WaitVisible(chromedp.ID("trends"))); err != nil {
		t.Fatalf("trend page: %v", err)
	}
	runsShown, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("tr.trend-run").length`))
	if err != nil {
		t.Fatal(err)
	}
	charts, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.querySelectorAll("#trends svg.trend-chart polyline").length`))
	if err != nil {
		t.Fatal(err)
	}
	if runsShown != 2 || charts < 2 {
		t.Errorf("trend page: %d runs, %d charts drawn; want 2 runs, the score and command.exit_code charted\n%s", runsShown, charts, text("body"))
	}
	if err := chromedp.Do(browser, chromedp.Navigate(base)); err != nil {
		t.Fatal(err)
	}
	wait("the runs page again", `tr[data-run="serve-check-1"]`)

	// The run's link opens its report.
	if err := chromedp.Do(browser, chromedp.Click(chromedp.CSS(`tr[data-run="serve-check-1"] a`)), chromedp.WaitVisible(chromedp.ID("summary"))); err != nil {
		t.Fatalf("report page: %v", err)
	}
	title, err := chromedp.Run(browser, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if body := text("body"); !strings.Contains(title+body, "serve-check") || !strings.Contains(body, "echo") {
		t.Fatalf("report page: title %q\n%s", title, body)
	}
	// The second run's report compares it with the first.
	if err := chromedp.Do(browser, chromedp.Navigate(base+"runs/serve-check-2"), chromedp.WaitVisible(chromedp.ID("compared"))); err != nil {
		t.Fatalf("the second run's report has no comparison: %v", err)
	}
	if head := text("#compared-head"); !strings.Contains(head, "serve-check-1") {
		t.Errorf("compared: %q", head)
	}
}
