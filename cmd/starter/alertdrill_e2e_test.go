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
