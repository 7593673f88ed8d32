package rollbackdrill_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/rollbackdrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/appservice"
	"github.com/shipshape-dev/shipshape/integrations/appservice/armtest"
	"github.com/shipshape-dev/shipshape/plan"
)

const gap = 300 * time.Millisecond

func drillType(cfg rollbackdrill.Config) task.Type { return rollbackdrill.New(cfg).Type() }

// endpoints are the with of a drill of svc, besides its triggers.
func endpoints(svc *service, expected string) map[string]any {
	return map[string]any{
		"expectedVersion": expected,
		"version":         map[string]any{"url": svc.URL + "/version", "jsonField": "build.version"},
		"health":          map[string]any{"url": svc.URL + "/healthz", "bodyContains": `"ok"`},
		"timeout":         "20s",
		"pollInterval":    "50ms",
		"probeRate":       "20/s",
	}
}

// webhook is a trigger calling svc's admin endpoint, its token read from
// the worker's environment.
func webhook(t *testing.T, svc *service, to string) map[string]any {
	t.Setenv("ROLLBACK_TEST_AUTH", "Bearer "+adminToken)
	return map[string]any{"webhook": map[string]any{
		"url":            svc.URL + "/admin/switch?to=" + to,
		"headers":        map[string]any{"X-Drill": "rollback"},
		"headersFromEnv": map[string]any{"Authorization": "ROLLBACK_TEST_AUTH"},
	}}
}

// mustSwitched checks the metrics of a phase that switched the service
// through its gap: healthy, no sooner than the gap, down for a while
// (the poller met the gap), probe requests sent, errors among them (how
// many depends on how the requests fell across the gap: not asserted).
func mustSwitched(t *testing.T, m map[string]float64, phase string) {
	t.Helper()
	if m[phase+".healthy"] != 1 {
		t.Errorf("%s.healthy = %v, want 1", phase, m[phase+".healthy"])
	}
	if d := m[phase+".duration"]; d < gap.Seconds() || d > 15 {
		t.Errorf("%s.duration = %v, want at least the service's %s gap", phase, d, gap)
	}
	if u := m[phase+".unhealthy_time"]; u <= 0 || u > m[phase+".duration"] {
		t.Errorf("%s.unhealthy_time = %v, want some (the service answered 503 while switching), at most the duration %v", phase, u, m[phase+".duration"])
	}
	if m[phase+".trigger.duration"] <= 0 {
		t.Errorf("%s.trigger.duration = %v", phase, m[phase+".trigger.duration"])
	}
	req, errs, ratio := m[phase+".probe.requests"], m[phase+".probe.errors"], m[phase+".probe.error_ratio"]
	if req < 1 || errs > req || ratio < 0 || ratio > 1 {
		t.Errorf("%s probe: %v requests, %v errors, ratio %v", phase, req, errs, ratio)
	}
}

// TestRollbackProbeCountsErrors: the light probe load meets the switch's
// 503 gap, long enough here (1.5 s at 20 requests a second) that it must
// see errors, and they are counted: the metric is a measurement, not a
// figure the drill could leave at 0.
func TestRollbackProbeCountsErrors(t *testing.T) {
	svc := startService(t, "v2", 1500*time.Millisecond)
	with := endpoints(svc, "v1")
	with["trigger"] = webhook(t, svc, "v1")
	with["probeURL"] = svc.URL + "/"
	r := &tasktest.Runner{Types: []task.Type{drillType(rollbackdrill.Config{})}}
	out, err := r.Run(t, rollbackdrill.Name, with)
	if err != nil {
		t.Fatal(err)
	}
	m := out.Metrics
	req, errs := m["rollback.probe.requests"], m["rollback.probe.errors"]
	if errs < 5 || errs > req || m["rollback.probe.error_ratio"] != errs/req {
		t.Errorf("probe: %v requests, %v errors, ratio %v: want at least 5 errors during the 1.5 s gap", req, errs, m["rollback.probe.error_ratio"])
	}
	if m["rollback.unhealthy_time"] < 1.4 {
		t.Errorf("unhealthy for %v s, want the 1.5 s gap", m["rollback.unhealthy_time"])
	}
}

// TestRollbackArgvThenWebhook rolls a local service from v2 back to v1
// with a command (it writes the version the service switches to), then
// forward again with a webhook: both timed through the service's
// unhealthy gap, with the timeline, the series and progress reported.
func TestRollbackArgvThenWebhook(t *testing.T) {
	svc := startService(t, "v2", gap)
	with := endpoints(svc, "v1")
	with["trigger"] = map[string]any{
		"argv": []any{"/bin/sh", "-c", `printf '%s' "$SHIPSHAPE_IDEMPOTENCY_KEY" > "$KEY_FILE"; printf '%s' "$ROLL_TO" > "$VERSION_FILE"`},
		"env":  map[string]any{"ROLL_TO": "v1", "VERSION_FILE": svc.file, "KEY_FILE": t.TempDir() + "/key"},
	}
	keyFile := with["trigger"].(map[string]any)["env"].(map[string]any)["KEY_FILE"].(string)
	with["rollForward"] = webhook(t, svc, "v2")
	with["rollForwardVersion"] = "v2"
	r := &tasktest.Runner{Types: []task.Type{drillType(rollbackdrill.Config{})}}
	out, err := r.Run(t, rollbackdrill.Name, with)
	if err != nil {
		t.Fatal(err)
	}
	mustSwitched(t, out.Metrics, "rollback")
	mustSwitched(t, out.Metrics, "rollforward")
	if got := svc.Switches(); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("switches %v, want v1 then v2", got)
	}
	// Each switch carries its idempotency key: run/phase/task/switch.
	if key, _ := os.ReadFile(keyFile); string(key) != "test-run/phase/task/rollback" {
		t.Errorf("the command's %s = %q", rollbackdrill.IdempotencyEnv, key)
	}
	svc.mu.Lock()
	keys := slices.Clone(svc.keys)
	svc.mu.Unlock()
	if !slices.Equal(keys, []string{"test-run/phase/task/rollforward"}) {
		t.Errorf("the webhook's %s: %q", rollbackdrill.IdempotencyHeader, keys)
	}
	if len(out.Tables) != 2 || out.Tables[0].Kind != plan.TableSummary || len(out.Tables[0].Rows) != 2 {
		t.Fatalf("tables %+v", out.Tables)
	}
	if row := out.Tables[0].Rows[0]; row[1] != "argv /bin/sh" || !strings.Contains(row[2], "version v2, healthy") || row[4] != "yes" {
		t.Errorf("summary row %v", row)
	}
	var timeline []string
	for _, row := range out.Tables[1].Rows {
		timeline = append(timeline, row[0]+": "+row[2])
	}
	text := strings.Join(timeline, "\n")
	for _, want := range []string{"rollback: rollback trigger started (argv /bin/sh)", "rollback: trigger done", "unhealthy (status 503)", "rollback: healthy on version v1",
		"rollforward: rollforward trigger started (webhook POST " + svc.URL + "/admin/switch)", "rollforward: healthy on version v2"} {
		if !strings.Contains(text, want) {
			t.Errorf("timeline lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, adminToken) || strings.Contains(out.Output, "to=v2") {
		t.Errorf("the webhook's query or token is in the report:\n%s\n%s", text, out.Output)
	}
	if len(out.Series) != 2 || out.Series[0].Lines[1].Name != "on version v1" || out.Series[0].Lines[0].Values[len(out.Series[0].X)-1] != 1 {
		t.Errorf("series %+v", out.Series)
	}
	var progress bool
	for _, h := range r.Heartbeats() {
		progress = progress || strings.HasPrefix(h.Message, "rollback to v1: ")
	}
	if !progress {
		t.Errorf("no progress reported while polling: %+v", r.Heartbeats())
	}
}

// TestRollbackWebhookRegexVersion rolls back with a webhook, reading the
// version from a text page by regular expression, the version endpoint
// alone standing for health, and no probe load.
func TestRollbackWebhookRegexVersion(t *testing.T) {
	svc := startService(t, "v2", gap)
	out, err := tasktest.Run(t, drillType(rollbackdrill.Config{}), map[string]any{
		"trigger":         webhook(t, svc, "v1"),
		"expectedVersion": "v1",
		"version":         map[string]any{"url": svc.URL + "/about", "regex": `build (v\d+)`},
		"pollInterval":    "50ms",
		"probeRate":       "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	mustMetrics := map[string]float64{"rollback.healthy": 1, "rollback.probe.requests": 0, "rollback.probe.errors": 0, "rollback.probe.error_ratio": 0}
	tasktest.MustMetrics(t, out.Metrics, mustMetrics, 0, "rollforward.duration", "rollforward.healthy")
	if out.Metrics["rollback.duration"] < gap.Seconds() || out.Metrics["rollback.unhealthy_time"] <= 0 {
		t.Errorf("metrics %v", out.Metrics)
	}
}

// TestRollbackAzureSlotSwap rolls an App Service app back by swapping
// its staging slot (holding v1) with production (v2), and forward by
// swapping again, with the real armappservice client against armtest, a
// protocol-level fake of the ARM slot swap API (not Azure), whose swaps
// switch the local service.
func TestRollbackAzureSlotSwap(t *testing.T) {
	svc := startService(t, "v2", gap)
	fake := armtest.Start(t)
	fake.AddApp("rg-web", "shop", "westeurope", map[string]string{"production": "v2", "staging": "v1"})
	fake.OnSwap = func(_, production string) { svc.switchTo(production) }
	var subscriptions []string
	cfg := rollbackdrill.Config{AppService: func(sub string) (*appservice.Client, error) {
		subscriptions = append(subscriptions, sub)
		c, err := appservice.New(sub, armtest.Credential(), fake.ClientOptions())
		if c != nil {
			c.PollFrequency = 10 * time.Millisecond
		}
		return c, err
	}}
	swap := map[string]any{"azureSlotSwap": map[string]any{
		"app":  "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Web/sites/shop",
		"slot": "staging",
	}}
	with := endpoints(svc, "v1")
	with["trigger"] = swap
	with["rollForward"] = swap
	with["rollForwardVersion"] = "v2"
	out, err := tasktest.Run(t, drillType(cfg), with)
	if err != nil {
		t.Fatal(err)
	}
	mustSwitched(t, out.Metrics, "rollback")
	mustSwitched(t, out.Metrics, "rollforward")
	if got := fake.Swaps(); len(got) != 2 || got[0] != "shop:production<->staging" {
		t.Errorf("swaps %v", got)
	}
	if fake.Slot("rg-web", "shop", "production") != "v2" || !slices.Equal(subscriptions, []string{"sub-1", "sub-1"}) {
		t.Errorf("production %s, subscriptions %v", fake.Slot("rg-web", "shop", "production"), subscriptions)
	}

	// An app Azure does not know is bad input naming the parameter; a
	// swap that fails is the trigger failing.
	with["trigger"] = map[string]any{"azureSlotSwap": map[string]any{
		"app": "/subscriptions/sub-1/resourceGroups/rg-web/providers/Microsoft.Web/sites/gone", "slot": "staging",
	}}
	_, err = tasktest.Run(t, drillType(cfg), with)
	tasktest.MustKind(t, err, tasktest.Invalid, "trigger.azureSlotSwap", "404 ResourceNotFound")
	with["trigger"] = swap
	fake.FailNextSwap("rg-web", "shop", "SwapWarmupFailed")
	out, err = tasktest.Run(t, drillType(cfg), with)
	tasktest.MustKind(t, err, tasktest.CheckFailed, "rollback trigger (azure-slot-swap of shop: staging with production) failed", "SwapWarmupFailed")
	out = tasktest.OutputOf(t, out, err)
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"rollback.healthy": 0}, 0, "rollforward.duration")
}

// TestRollbackBadInput: a version never reached times out with healthy
// 0; a failing trigger is an error naming it (and nothing rolls
// forward); a trigger outliving the timeout is stopped; parameters that
// cannot work are refused.
func TestRollbackBadInput(t *testing.T) {
	svc := startService(t, "v2", gap)
	typ := drillType(rollbackdrill.Config{})
	run := func(edit func(with map[string]any)) (task.Output, error) {
		with := endpoints(svc, "v1")
		with["trigger"] = map[string]any{"webhook": map[string]any{"url": svc.URL + "/admin/noop"}}
		with["timeout"] = "1s"
		edit(with)
		return tasktest.Run(t, typ, with)
	}

	t.Run("version never reached", func(t *testing.T) {
		// The trigger succeeds but changes nothing: the roll-forward
		// finds the service where it would take it, and fires nothing.
		out, err := run(func(with map[string]any) {
			with["rollForward"] = webhook(t, svc, "v2")
			with["rollForwardVersion"] = "v2"
		})
		tasktest.MustKind(t, err, tasktest.CheckFailed, `rollback: the service did not report version "v1" and healthy within the timeout, 1s`, "last seen: version v2, healthy")
		out = tasktest.OutputOf(t, out, err)
		m := out.Metrics
		if m["rollback.healthy"] != 0 || m["rollback.duration"] < 1 || m["rollback.probe.requests"] < 1 {
			t.Errorf("metrics %v", m)
		}
		tasktest.MustMetrics(t, m, nil, 0, "rollforward.healthy", "rollforward.duration")
		if rows := out.Tables[1].Rows; rows[len(rows)-1][2] != "rollforward not needed: version v2, healthy (status 200)" {
			t.Errorf("timeline %v", rows)
		}
		if got := svc.Switches(); len(got) != 0 {
			t.Errorf("switches %v, want none", got)
		}
	})
	t.Run("argv fails", func(t *testing.T) {
		out, err := run(func(with map[string]any) {
			with["trigger"] = map[string]any{"argv": []any{"/bin/sh", "-c", "echo 'no previous revision' >&2; exit 3"}}
			with["rollForward"] = webhook(t, svc, "v2")
			with["rollForwardVersion"] = "v2"
		})
		tasktest.MustKind(t, err, tasktest.CheckFailed, "rollback trigger (argv /bin/sh) failed: exit status 3: no previous revision")
		tasktest.MustMetrics(t, tasktest.OutputOf(t, out, err).Metrics, map[string]float64{"rollback.healthy": 0}, 0, "rollforward.healthy")
	})
	t.Run("webhook secret missing", func(t *testing.T) {
		_, err := run(func(with map[string]any) {
			with["trigger"] = map[string]any{"webhook": map[string]any{
				"url": svc.URL + "/admin/switch?to=v1", "headersFromEnv": map[string]any{"Authorization": "ROLLBACK_TEST_UNSET"},
			}}
		})
		tasktest.MustKind(t, err, tasktest.CheckFailed, "trigger.webhook.headersFromEnv.Authorization: the environment variable ROLLBACK_TEST_UNSET is empty")
	})
	t.Run("webhook fails", func(t *testing.T) {
		_, err := run(func(with map[string]any) {
			with["trigger"] = map[string]any{"webhook": map[string]any{"url": svc.URL + "/admin/switch?to=v1"}} // no token
		})
		tasktest.MustKind(t, err, tasktest.CheckFailed, "rollback trigger (webhook POST "+svc.URL+"/admin/switch) failed: status 403 Forbidden: forbidden")
	})
	t.Run("trigger outlives the timeout", func(t *testing.T) {
		start := time.Now()
		_, err := run(func(with map[string]any) {
			with["trigger"] = map[string]any{"argv": []any{"sleep", "60"}}
			with["timeout"] = "500ms"
		})
		tasktest.MustKind(t, err, tasktest.CheckFailed, "rollback: the trigger (argv sleep) was still running after the timeout, 500ms")
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("took %s: the command was not stopped", took)
		}
	})
	t.Run("roll-forward fails", func(t *testing.T) {
		back := startService(t, "v2", gap)
		out, err := tasktest.Run(t, typ, map[string]any{
			"trigger":            webhook(t, back, "v1"),
			"rollForward":        map[string]any{"argv": []any{"/bin/sh", "-c", "echo 'deploy locked' >&2; exit 1"}},
			"rollForwardVersion": "v2",
			"expectedVersion":    "v1",
			"version":            map[string]any{"url": back.URL + "/version", "jsonField": "build.version"},
			"pollInterval":       "50ms",
		})
		tasktest.MustKind(t, err, tasktest.CheckFailed, "rollforward trigger (argv /bin/sh) failed: exit status 1: deploy locked")
		m := tasktest.OutputOf(t, out, err).Metrics
		tasktest.MustMetrics(t, m, map[string]float64{"rollback.healthy": 1, "rollforward.healthy": 0}, 0)
	})
	t.Run("already on the expected version", func(t *testing.T) {
		_, err := run(func(with map[string]any) { with["expectedVersion"] = "v2" })
		tasktest.MustKind(t, err, tasktest.CheckFailed, `the service reported version "v2" and was healthy before the trigger: nothing to measure`)
	})
	for name, c := range map[string]struct {
		edit func(with map[string]any)
		want string
	}{
		"program missing": {func(w map[string]any) { w["trigger"] = map[string]any{"argv": []any{"no-such-rollback-tool"}} }, "trigger.argv: start no-such-rollback-tool"},
		"probe too fast":  {func(w map[string]any) { w["probeRate"] = "500/s" }, "probeRate 500/s is above 50/s"},
		"slow requests":   {func(w map[string]any) { w["requestTimeout"] = "1m" }, "requestTimeout 1m0s is above 10s"},
		"bad regex":       {func(w map[string]any) { w["version"] = map[string]any{"url": svc.URL + "/about", "regex": "("} }, "version.regex"},
		"bad json path": {func(w map[string]any) {
			w["version"] = map[string]any{"url": svc.URL + "/version", "jsonField": "a..b"}
		}, "version.jsonField"},
		"bad app id": {func(w map[string]any) {
			w["trigger"] = map[string]any{"azureSlotSwap": map[string]any{"app": "shop", "slot": "staging"}}
		}, "trigger.azureSlotSwap.app"},
		"same versions": {func(w map[string]any) {
			w["rollForward"], w["rollForwardVersion"] = webhook(t, svc, "v2"), "v1"
		}, "rollForwardVersion"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(c.edit)
			tasktest.MustKind(t, err, tasktest.Invalid, c.want)
		})
	}
}

// TestRollbackHostNotAllowed: a URL off the task's allow-list is refused
// before anything is triggered.
func TestRollbackHostNotAllowed(t *testing.T) {
	svc := startService(t, "v2", gap)
	r := &tasktest.Runner{Types: []task.Type{drillType(rollbackdrill.Config{})}, AllowedHosts: []string{"127.0.0.1"}}
	with := endpoints(svc, "v1")
	with["trigger"] = webhook(t, svc, "v1")
	with["probeURL"] = "http://localhost:1/"
	_, err := r.Run(t, rollbackdrill.Name, with)
	tasktest.MustKind(t, err, tasktest.Invalid, `probeURL: host "localhost:1" is not allowed`)
}

// TestCheckParams: what the declarations alone cannot say.
func TestCheckParams(t *testing.T) {
	hook := map[string]any{"url": "http://127.0.0.1/x"}
	cases := map[string]struct {
		with map[string]any
		want []string
	}{
		"two triggers":            {map[string]any{"trigger": map[string]any{"argv": []any{"x"}, "webhook": hook}}, []string{"trigger"}},
		"none":                    {map[string]any{"trigger": map[string]any{}}, []string{"trigger"}},
		"env without argv":        {map[string]any{"trigger": map[string]any{"webhook": hook, "env": map[string]any{"A": "b"}}}, []string{"trigger"}},
		"forward without version": {map[string]any{"trigger": map[string]any{"webhook": hook}, "rollForward": map[string]any{"webhook": hook}}, []string{"rollForwardVersion"}},
		"version without forward": {map[string]any{"trigger": map[string]any{"webhook": hook}, "rollForwardVersion": "v2"}, []string{"rollForwardVersion"}},
		"json and regex":          {map[string]any{"trigger": map[string]any{"webhook": hook}, "version": map[string]any{"jsonField": "v", "regex": "v"}}, []string{"version"}},
		"fine":                    {map[string]any{"trigger": map[string]any{"argv": []any{"x"}, "env": map[string]any{}}}, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, p := range rollbackdrill.Decl.Check(c.with) {
				got = append(got, p.Param)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("problems at %v, want %v", got, c.want)
			}
		})
	}
}

// TestPlanValidation: what a plan gets wrong is refused before anything
// runs, at the parameter: two triggers at once, a webhook or endpoint
// off the allow-list, a roll-forward without its version, a probe above
// the plan's rate limit.
func TestPlanValidation(t *testing.T) {
	catalog := plan.NewCatalog(rollbackdrill.Decl)
	doc := func(with string) []byte {
		return []byte(`apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: drill}
spec:
  allowedHosts: [127.0.0.1]
  limits: {maxRate: 10/s}
  phases:
    - name: p
      tasks:
        - name: t
          uses: rollback-drill
          with:
            expectedVersion: v1
            version: {url: "http://127.0.0.1:8080/version"}
` + with)
	}
	if _, err := plan.Parse("ok.yaml", doc("            trigger: {argv: [./rollback.sh], env: {A: b}}\n"), catalog, nil); err != nil {
		t.Fatalf("a valid plan is refused: %v", err)
	}
	for name, c := range map[string]struct{ with, want string }{
		"two triggers":     {"            trigger: {argv: [x], webhook: {url: \"http://127.0.0.1/x\"}}\n", "trigger: want exactly one of argv, webhook and azureSlotSwap"},
		"webhook off list": {"            trigger: {webhook: {url: \"https://deploy.example.com/rollback\"}}\n", `trigger.webhook.url: host "deploy.example.com" is not allowed`},
		"forward alone":    {"            trigger: {argv: [x]}\n            rollForward: {argv: [y]}\n", "rollForwardVersion: required with rollForward"},
		"probe too fast":   {"            trigger: {argv: [x]}\n            probeRate: 20/s\n", "above spec.limits.maxRate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := plan.Parse("bad.yaml", doc(c.with), catalog, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestRollbackCancelled: a drill cancelled while its trigger command runs
// stops it (its whole process group) and returns at once.
func TestRollbackCancelled(t *testing.T) {
	svc := startService(t, "v2", gap)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pidFile := t.TempDir() + "/pid"
	r := &tasktest.Runner{Types: []task.Type{drillType(rollbackdrill.Config{})}, Ctx: ctx}
	with := endpoints(svc, "v1")
	// The script starts a child that would outlive it, and notes its pid.
	with["trigger"] = map[string]any{"argv": []any{"/bin/sh", "-c", `sleep 60 & echo $! > "$PID_FILE"; wait`}, "env": map[string]any{"PID_FILE": pidFile}}
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err := r.Run(t, rollbackdrill.Name, with)
	if err == nil {
		t.Fatal("a cancelled drill returned no error")
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("took %s after the cancellation", took)
	}
	data, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the trigger's child %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
