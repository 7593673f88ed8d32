package alertdrill_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/shipshape-dev/shipshape/activities/alertdrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/integrations/alertmanager"
	"github.com/shipshape-dev/shipshape/integrations/alertmanager/amtest"
	"github.com/shipshape-dev/shipshape/integrations/natsevents"
	"github.com/shipshape-dev/shipshape/integrations/natsevents/natstest"
	"github.com/shipshape-dev/shipshape/plan"
)

const runID = "drills-20261203-120000-abcd"

// drillID is the shipshape_drill label of the drill runDrill runs.
const drillID = runID + "/alerting/page"

// params are a drill's parameters as the plan fills them in, against am.
func params(am *amtest.Server, extra map[string]any) task.Params {
	p := task.Params{
		"alertmanager": am.URL, "alertname": "ShipshapeAlertDrill", "severity": "critical",
		"labels": map[string]any{"team": "platform"}, "webhook": am.WebhookURL,
		"allowedResponders": []any{"oncall"}, "ackVia": []any{"silence"},
		"ackTimeout": "1h", "interval": "1s", "silenceOnAck": true,
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// runDrill runs the drill's Workflow in Temporal's test environment with
// its real activities: timers skip ahead, the activities reach the real
// Alertmanager (and NATS, when stream is set). cancelAfter, when not
// zero, cancels the run after that much workflow time.
func runDrill(t *testing.T, p task.Params, stream alertdrill.Stream, cancelAfter time.Duration) (task.Output, error) {
	return runDrillWith(t, p, alertdrill.Config{Stream: stream}, cancelAfter)
}

func runDrillWith(t *testing.T, p task.Params, cfg alertdrill.Config, cancelAfter time.Duration) (task.Output, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: runID + "/task/alerting/page", TaskQueue: "shipshape"})
	types := []task.Type{alertdrill.New(cfg).Type()}
	taskrun.Register(env, types, taskrun.Options{})
	if cancelAfter > 0 {
		env.RegisterDelayedCallback(env.CancelWorkflow, cancelAfter)
	}
	env.ExecuteWorkflow(alertdrill.Workflow, task.Input{RunID: runID, Plan: "drills", Phase: "alerting", Task: "page",
		Uses: alertdrill.Name, Params: p, Timeout: 2 * time.Hour})
	var out task.Output
	err := env.GetWorkflowError()
	if err == nil {
		err = env.GetWorkflowResult(&out)
	} else if o, ok := taskrun.OutputOf(err); ok {
		out = o
	}
	t.Logf("output:\n%s", out.Output)
	return out, err
}

// silence makes a silence of the drill's alert in Alertmanager, as a
// responder would.
func silence(t *testing.T, am *amtest.Server, by string) string {
	isEqual := true
	id, err := alertmanager.New(alertmanager.Config{URL: am.URL}).CreateSilence(context.Background(), alertmanager.Silence{
		Matchers:  []alertmanager.Matcher{{Name: "shipshape_drill", Value: drillID, IsEqual: &isEqual}, {Name: "alertname", Value: "Shipshape.*", IsRegex: true}},
		StartsAt:  time.Now().UTC(),
		EndsAt:    time.Now().UTC().Add(time.Hour),
		CreatedBy: by,
		Comment:   "ack",
	})
	if err != nil {
		t.Errorf("silence by %s: %v", by, err)
	}
	return id
}

// firing says whether a notification is the drill's alert firing.
func firing(body []byte) bool {
	var n struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(body, &n) == nil && n.Status == "firing" && strings.Contains(string(body), drillID)
}

// assertResolved checks the drill left nothing behind: Alertmanager
// holds no unresolved drill alert, no silence of the drill's own is
// active, and, when notified (the alert reached the receiver unsilenced),
// the receiver was told it resolved.
func assertResolved(t *testing.T, am *amtest.Server, notified bool) {
	t.Helper()
	c := alertmanager.New(alertmanager.Config{URL: am.URL})
	alerts, err := c.Alerts(context.Background(), `shipshape_drill="`+drillID+`"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if a.EndsAt.After(time.Now()) {
			t.Errorf("alert still firing after the drill: %+v", a)
		}
	}
	silences, err := c.Silences(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range silences {
		if s.CreatedBy == alertdrill.CreatedBy && s.State() != "expired" {
			t.Errorf("the drill's own silence %s is %s after the drill", s.ID, s.State())
		}
	}
	if notified {
		am.WaitReceived(t, 20*time.Second, `"status":"resolved"`, drillID)
	}
}

// slowTransport slows every request down, so that a drill in the test
// environment, whose timers skip ahead, lasts long enough in real time
// for Alertmanager to notify its receiver.
type slowTransport struct{ delay time.Duration }

func (s slowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(s.delay)
	return http.DefaultTransport.RoundTrip(r)
}

// TestAlertDrillSilenceAcknowledges runs a drill against a real
// Alertmanager whose webhook receiver, on getting the alert, makes two
// silences of it: one by a stranger, which is ignored, then one by the
// on-call, which acknowledges it.
func TestAlertDrillSilenceAcknowledges(t *testing.T) {
	am := amtest.MustStart(t)
	am.OnNotify(func(body []byte) {
		if firing(body) {
			silence(t, am, "mallory")
			time.Sleep(20 * time.Millisecond)
			silence(t, am, "oncall")
		}
	})
	start := time.Now()
	out, err := runDrill(t, params(am, nil), nil, 0)
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	m := out.Metrics
	if m["alert.delivered"] != 1 || m["alert.acknowledged"] != 1 || m["alert.refused"] != 1 {
		t.Errorf("metrics %v: want delivered, acknowledged, one refused", m)
	}
	if tta, ok := m["alert.tta"]; !ok || tta < 0.2 || tta > time.Since(start).Seconds() {
		t.Errorf("alert.tta %v (present %v): want the time from firing to the silence (group_wait 200ms at least)", tta, ok)
	}
	if !strings.Contains(out.Output, "acknowledged by oncall (silence ") || !strings.Contains(out.Output, "mallory (silence") {
		t.Errorf("output %q", out.Output)
	}
	if len(out.Tables) != 1 || out.Tables[0].Rows[0][3] != "oncall" || !strings.Contains(out.Tables[0].Rows[0][2], amtest.Receiver) {
		t.Errorf("tables %+v", out.Tables)
	}
	body := am.WaitReceived(t, 5*time.Second, `"status":"firing"`, drillID)
	for _, want := range []string{`"alertname":"ShipshapeAlertDrill"`, `"severity":"critical"`, `"team":"platform"`, "not an incident"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("notification lacks %s: %s", want, body)
		}
	}
	assertResolved(t, am, false) // silenced: no resolved notification
}

// TestAlertDrillTimesOut: nobody acknowledges; the drill fails its task
// with acknowledged 0 and no tta once ackTimeout passes, and resolves its
// alert.
func TestAlertDrillTimesOut(t *testing.T) {
	am := amtest.MustStart(t)
	slow := &http.Client{Transport: slowTransport{100 * time.Millisecond}}
	out, err := runDrillWith(t, params(am, map[string]any{"ackTimeout": "20s"}), alertdrill.Config{HTTPClient: slow}, 0)
	if err == nil || !strings.Contains(err.Error(), "not acknowledged within 20s") {
		t.Fatalf("drill error %v: want not acknowledged", err)
	}
	if e := taskrun.CauseMessage(err); !strings.Contains(e, "not acknowledged") {
		t.Errorf("cause %q", e)
	}
	if _, ok := out.Metrics["alert.tta"]; ok || out.Metrics["alert.acknowledged"] != 0 || out.Metrics["alert.delivered"] != 1 {
		t.Errorf("metrics %v: want delivered, acknowledged 0, no tta", out.Metrics)
	}
	assertResolved(t, am, true)
}

// TestAlertDrillCancelledResolves: a run cancelled mid-wait still
// resolves the alert.
func TestAlertDrillCancelledResolves(t *testing.T) {
	am := amtest.MustStart(t)
	slow := &http.Client{Transport: slowTransport{100 * time.Millisecond}}
	_, err := runDrillWith(t, params(am, nil), alertdrill.Config{HTTPClient: slow}, 10*time.Second)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "cancel") {
		t.Fatalf("drill error %v: want cancelled", err)
	}
	am.WaitReceived(t, 5*time.Second, `"status":"firing"`, drillID)
	assertResolved(t, am, true)
}

// TestAlertDrillNATSAck: acknowledgements published on
// shipshape.alerts.<run>.ack (a real embedded NATS with JetStream): the
// stranger's is ignored, the on-call's acknowledges, and the drill then
// silences its alert until it ends.
func TestAlertDrillNATSAck(t *testing.T) {
	am := amtest.MustStart(t)
	ns := natstest.MustStart(t)
	stream := natsevents.New(natsevents.Config{URL: ns.URL()})
	if err := stream.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stream.Close)
	// An acknowledgement from before the drill fired counts for nothing.
	publishAck(t, stream, alertdrill.AckMessage{Responder: "oncall"}, "old")
	am.OnNotify(func(body []byte) {
		if firing(body) {
			publishAck(t, stream, alertdrill.AckMessage{Responder: "mallory", Drill: drillID}, "m")
			publishAck(t, stream, alertdrill.AckMessage{Responder: "oncall", Drill: "some/other/drill"}, "o1")
			publishAck(t, stream, alertdrill.AckMessage{Responder: "oncall", Drill: drillID, Note: "on it"}, "o2")
		}
	})
	out, err := runDrill(t, params(am, map[string]any{"ackVia": []any{"nats"}}), stream, 0)
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	m := out.Metrics
	if m["alert.delivered"] != 1 || m["alert.acknowledged"] != 1 || m["alert.refused"] != 1 || m["alert.tta"] < 0.2 {
		t.Errorf("metrics %v: want delivered, acknowledged after group_wait, one refused", m)
	}
	for _, want := range []string{"acknowledged by oncall (NATS)", "mallory (nats) is not an allowed responder", "silenced the acknowledged alert", "1 silence(s) of the drill's own expired"} {
		if !strings.Contains(out.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, out.Output)
		}
	}
	assertResolved(t, am, false)
}

// TestAlertDrillDeliveredToHook: the real Alertmanager's webhook
// receiver posts to the worker's hook (Hook), which records the drill's
// alert on shipshape.alerts.<run>.delivered; a drill with delivery:
// stream counts it delivered from there, at the receiver named. A record
// of an earlier firing (another startsAt) counts for nothing.
func TestAlertDrillDeliveredToHook(t *testing.T) {
	ns := natstest.MustStart(t)
	stream := natsevents.New(natsevents.Config{URL: ns.URL()})
	if err := stream.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stream.Close)
	hook := httptest.NewServer(alertdrill.Hook(stream, slog.New(slog.DiscardHandler)))
	t.Cleanup(hook.Close)
	am := amtest.MustStartWith(t, hook.URL+"/hooks/alertmanager")
	stale, _ := json.Marshal(alertdrill.Delivery{Drill: drillID, Receiver: amtest.Receiver, Status: "firing", StartsAt: time.Now().Add(-time.Hour).UTC()})
	if err := stream.Publish(context.Background(), alertdrill.DeliveredSubject(runID), "stale", stale); err != nil {
		t.Fatal(err)
	}
	am.OnNotify(func(body []byte) {
		if firing(body) {
			silence(t, am, "oncall")
		}
	})
	out, err := runDrill(t, params(am, map[string]any{"delivery": "stream", "receiver": amtest.Receiver, "webhook": nil}), stream, 0)
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	if out.Metrics["alert.delivered"] != 1 || !strings.Contains(out.Output, "received by "+amtest.Receiver+" (Alertmanager webhook to the worker's hook)") {
		t.Errorf("metrics %v: want delivered through the hook\n%s", out.Metrics, out.Output)
	}

	// Without the hook's record, nothing is delivered.
	out, err = runDrill(t, params(amtest.MustStart(t), map[string]any{"delivery": "stream", "webhook": nil, "ackTimeout": "3s", "interval": "1s"}), stream, 0)
	if err == nil || out.Metrics["alert.delivered"] != 0 {
		t.Errorf("drill without a hook: %v, metrics %v: want not delivered", err, out.Metrics)
	}

	// The hook refuses what is not a notification, and GETs.
	resp, err := http.Post(hook.URL, "application/json", strings.NewReader("not json"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad body: %s, want 400", resp.Status)
	}
	resp, err = http.Get(hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %s, want 405", resp.Status)
	}
}

// TestAlertDrillNATSStrangerOnly: only a stranger acknowledges on NATS:
// the drill times out.
func TestAlertDrillNATSStrangerOnly(t *testing.T) {
	am := amtest.MustStart(t)
	ns := natstest.MustStart(t)
	stream := natsevents.New(natsevents.Config{URL: ns.URL()})
	if err := stream.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stream.Close)
	p := params(am, map[string]any{"ackVia": []any{"nats", "silence"}, "ackTimeout": "30s", "webhook": ""})
	// The test environment skips the timers between polls: hold the
	// polls back until the stranger's acknowledgement is in the stream.
	got := make(chan struct{})
	am.OnNotify(func(body []byte) {
		if firing(body) {
			publishAck(t, stream, alertdrill.AckMessage{Responder: "mallory"}, "m")
			close(got)
		}
	})
	_, err := runDrill(t, p, &gatedStream{Stream: stream, gate: got}, 0)
	if err == nil || !strings.Contains(err.Error(), "not acknowledged within 30s; ignored (not allowed responders): mallory (nats)") {
		t.Fatalf("drill error %v: want not acknowledged, mallory ignored", err)
	}
	assertResolved(t, am, false)
}

// TestAlertDrillUnreachable: an Alertmanager that does not answer fails
// the drill, naming the endpoint.
func TestAlertDrillUnreachable(t *testing.T) {
	am := &amtest.Server{URL: "http://127.0.0.1:1", WebhookURL: "http://127.0.0.1:1/received"}
	p := params(am, nil)
	_, err := runDrill(t, p, nil, 0)
	if err == nil || !strings.Contains(err.Error(), "fire: ") || !strings.Contains(err.Error(), "http://127.0.0.1:1/api/v2/silences") ||
		!strings.Contains(err.Error(), "alertmanager unreachable") {
		t.Fatalf("drill error %v: want fire failing, naming the endpoint", err)
	}
	t.Log(err)
}

func publishAck(t *testing.T, stream *natsevents.Client, ack alertdrill.AckMessage, id string) {
	data, _ := json.Marshal(ack)
	if err := stream.Publish(context.Background(), alertdrill.AckSubject(runID), runID+"/"+id, data); err != nil {
		t.Errorf("publish ack: %v", err)
	}
}

// gatedStream lets its first read through (the drill's, on firing), then
// holds every later one until gate closes.
type gatedStream struct {
	alertdrill.Stream
	gate  chan struct{}
	calls atomic.Int32
}

func (g *gatedStream) Consume(ctx context.Context, opts natsevents.ConsumeOptions, fn func(natsevents.Message) error) error {
	if g.calls.Add(1) > 1 {
		select {
		case <-g.gate:
		case <-time.After(30 * time.Second):
		}
	}
	return g.Stream.Consume(ctx, opts, fn)
}

// TestCheck: parameters that cannot work are refused before the run,
// naming the parameter.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		with  map[string]any
		param string
	}{
		{"unknown ackVia", map[string]any{"ackVia": []any{"pager"}}, "ackVia"},
		{"interval under a second", map[string]any{"interval": "500ms"}, "interval"},
		{"too many polls", map[string]any{"interval": "1s", "ackTimeout": "24h"}, "interval"},
		{"no timeout", map[string]any{"ackTimeout": "0s"}, "ackTimeout"},
		{"label set by the drill", map[string]any{"labels": map[string]any{"shipshape_drill": "x"}}, "labels.shipshape_drill"},
		{"bad label name", map[string]any{"labels": map[string]any{"team-name": "x"}}, "labels.team-name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			with := map[string]any{"alertmanager": "http://am:9093", "alertname": "Drill", "interval": "10s", "ackTimeout": "15m"}
			for k, v := range tc.with {
				with[k] = v
			}
			problems := alertdrill.Decl.Check(with)
			if len(problems) != 1 || problems[0].Param != tc.param {
				t.Errorf("problems %+v: want one on %s", problems, tc.param)
			}
		})
	}
	if p := alertdrill.Decl.Check(map[string]any{"alertmanager": "http://am:9093", "alertname": "Drill", "interval": "10s", "ackTimeout": "15m"}); len(p) != 0 {
		t.Errorf("defaults: %+v", p)
	}
}

// TestAckTimeoutWithinTimeout: a task timeout shorter than ackTimeout
// would cut the wait short: validation refuses it, naming both.
func TestAckTimeoutWithinTimeout(t *testing.T) {
	catalog := plan.Catalog{alertdrill.Name: alertdrill.Decl}
	doc := `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: t}
spec:
  allowedHosts: [am]
  phases:
    - name: p
      tasks:
        - name: drill
          uses: alert-drill
          timeout: 10m
          with: {alertmanager: "http://am:9093", alertname: Drill, ackTimeout: 30m, interval: 10s}
`
	_, err := plan.Parse("plan.yaml", []byte(doc), catalog, nil)
	if err == nil || !strings.Contains(err.Error(), "timeout") || !strings.Contains(err.Error(), "shorter than the 30m0s the task runs for (with.ackTimeout)") || !strings.Contains(err.Error(), "plan.yaml:11") {
		t.Fatalf("error %v: want timeout refused at plan.yaml:12, naming ackTimeout", err)
	}
	ok := strings.Replace(doc, "timeout: 10m", "timeout: 45m", 1)
	if _, err := plan.Parse("plan.yaml", []byte(ok), catalog, nil); err != nil {
		t.Fatalf("timeout above ackTimeout: %v", err)
	}
}

// TestAlertDrillBearerToken: an Alertmanager behind a proxy that wants a
// bearer token (a reverse proxy in front of the real one) is drilled with
// the token tokenEnv names; without it, the drill fails naming tokenEnv,
// and the token never shows in what the drill reports.
func TestAlertDrillBearerToken(t *testing.T) {
	am := amtest.MustStart(t)
	target, _ := url.Parse(am.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t0ken-value" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(guarded.Close)
	am.OnNotify(func(body []byte) {
		if firing(body) {
			silence(t, am, "oncall")
		}
	})
	p := params(am, map[string]any{"alertmanager": guarded.URL, "tokenEnv": "AM_TOKEN"})
	env := map[string]string{"AM_TOKEN": "t0ken-value"}
	out, err := runDrillWith(t, p, alertdrill.Config{Getenv: func(k string) string { return env[k] }}, 0)
	if err != nil || out.Metrics["alert.acknowledged"] != 1 {
		t.Fatalf("with the token: %v, %v", err, out.Metrics)
	}
	if strings.Contains(out.Output, "t0ken") {
		t.Errorf("the token shows in the output: %s", out.Output)
	}
	delete(env, "AM_TOKEN")
	_, err = runDrillWith(t, p, alertdrill.Config{Getenv: func(k string) string { return env[k] }}, 0)
	if err == nil || !strings.Contains(err.Error(), "tokenEnv: the environment variable AM_TOKEN is empty") {
		t.Fatalf("without the token: %v", err)
	}
}
