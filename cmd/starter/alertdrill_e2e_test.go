//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/alertmanager"
	"github.com/shipshape-dev/shipshape/integrations/alertmanager/amtest"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestAlertDrillExampleDev runs the alert-drill example with `starter run
// --dev` against a real Alertmanager whose webhook receiver, as an
// on-call would, acknowledges the drill's alert with a silence as soon
// as it arrives: the alert is delivered, acknowledged within the
// example's 5-minute gate, and resolved at the end.
func TestAlertDrillExampleDev(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	am := amtest.MustStart(t)
	client := alertmanager.New(alertmanager.Config{URL: am.URL})
	drills := ackBySilence(t, ctx, am, client)

	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t),
		"--set", "vars.alertmanager="+am.URL, "--set", "vars.webhook="+am.WebhookURL,
		"--report-dir", out, "examples/plans/alert-drill.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	tr := r.Task("alerting", "page-oncall")
	if r.Result != plan.StatusPass || tr == nil || tr.Status != plan.StatusPass {
		t.Fatalf("result %s, task %+v: want pass", r.Result, tr)
	}
	m := tr.Metrics
	if m["alert.delivered"] != 1 || m["alert.acknowledged"] != 1 || m["alert.tta"] <= 0 || m["alert.tta"] > 60 {
		t.Errorf("metrics %v", m)
	}
	var drill string
	select {
	case drill = <-drills:
	default:
		t.Fatal("the webhook got no firing alert")
	}
	if !strings.HasPrefix(drill, r.RunID+"/alerting/page-oncall") {
		t.Errorf("drill label %q, want the run's task", drill)
	}
	// Resolved: Alertmanager holds no firing drill alert any more.
	alerts, err := client.Alerts(ctx, `shipshape_drill="`+drill+`"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.EndsAt.After(time.Now()) {
			t.Errorf("alert still firing after the run: %+v", a)
		}
	}
}

// ackBySilence makes am's webhook receiver acknowledge every firing drill
// alert with a silence by "oncall", as an on-call would, and returns the
// drills' labels as they are acknowledged.
func ackBySilence(t *testing.T, ctx context.Context, am *amtest.Server, client *alertmanager.Client) <-chan string {
	t.Helper()
	drills := make(chan string, 4)
	am.OnNotify(func(body []byte) {
		var n struct {
			Status string `json:"status"`
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if json.Unmarshal(body, &n) != nil || n.Status != "firing" || len(n.Alerts) == 0 {
			return
		}
		drill := n.Alerts[0].Labels["shipshape_drill"]
		isEqual := true
		if _, err := client.CreateSilence(ctx, alertmanager.Silence{
			Matchers:  []alertmanager.Matcher{{Name: "shipshape_drill", Value: drill, IsEqual: &isEqual}},
			StartsAt:  time.Now().UTC(),
			EndsAt:    time.Now().UTC().Add(time.Hour),
			CreatedBy: "oncall",
			Comment:   "on it",
		}); err != nil {
			t.Errorf("silence: %v", err)
		}
		select {
		case drills <- drill:
		default:
		}
	})
	return drills
}

// TestAlertDrillDeliveredThroughWorkerHook: a real Alertmanager's webhook
// receiver posts to the worker's own receiver
// (/hooks/alert-drill/alertmanager on --metrics-addr), which records the
// notification on the event stream; a drill with `delivery: stream` counts
// its alert delivered from there, without any receiver log to read.
func TestAlertDrillDeliveredThroughWorkerHook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startCluster(t)
	base := c.serveWorker(t)
	am := amtest.MustStartWith(t, base+"/hooks/alert-drill/alertmanager")
	client := alertmanager.New(alertmanager.Config{URL: am.URL})
	ackBySilence(t, ctx, am, client)
	file := writePlan(t, hookDrillPlan)
	res := starter(t, ctx, append([]string{"run", "--run-id", "hook-drill-1", "--set", "vars.alertmanager=" + am.URL}, c.args(file)...)...)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s\nworker:\n%s", res.code, res.stdout, res.stderr, c.logs.String())
	}
	rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args("hook-drill-1")...)...)
	var r plan.RunResult
	if err := json.Unmarshal([]byte(rep.stdout), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, rep.stderr)
	}
	tr := r.Task("alerting", "page")
	if tr == nil || tr.Metrics["alert.delivered"] != 1 || !strings.Contains(tr.Output, "(Alertmanager webhook to the worker's hook)") {
		t.Fatalf("task %+v: want delivered through the worker's hook", tr)
	}
	if !strings.Contains(c.logs.String(), "/hooks/alert-drill/alertmanager") {
		t.Errorf("the worker does not log the receiver it serves:\n%s", c.logs.String())
	}
}

// hookDrillPlan drills with delivery: stream, its receiver named.
const hookDrillPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: hook-drill}
spec:
  vars: {alertmanager: ""}
  allowedHosts: [127.0.0.1]
  phases:
    - name: alerting
      tasks:
        - name: page
          uses: alert-drill
          timeout: 5m
          with:
            alertmanager: ${vars.alertmanager}
            delivery: stream
            receiver: drill-webhook
            allowedResponders: [oncall]
            ackTimeout: 2m
            interval: 1s
          gates:
            - {metric: alert.delivered, pass: "== 1", key: true}
            - {metric: alert.acknowledged, pass: "== 1"}
`

// TestAlertDrillHooksInDevMode: `starter run --dev --hooks-addr` serves
// the webhook receivers as a worker does, so a drill with delivery:
// stream works in dev mode against a real Alertmanager.
func TestAlertDrillHooksInDevMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hooks := freeAddr(t)
	am := amtest.MustStartWith(t, "http://"+hooks+"/hooks/alert-drill/alertmanager")
	ackBySilence(t, ctx, am, alertmanager.New(alertmanager.Config{URL: am.URL}))
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--demo-addr", freeAddr(t), "--hooks-addr", hooks,
		"--set", "vars.alertmanager="+am.URL, "--report-dir", out, writePlan(t, hookDrillPlan))
	if res.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	r := readReport(t, out)
	tr := r.Task("alerting", "page")
	if tr == nil || tr.Metrics["alert.delivered"] != 1 || !strings.Contains(tr.Output, "(Alertmanager webhook to the worker's hook)") {
		t.Fatalf("task %+v: want delivered through the dev worker's hook", tr)
	}
}
