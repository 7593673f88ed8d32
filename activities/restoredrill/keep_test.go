package restoredrill_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
)

// ready is the drill.ready event's data, and the types of every event.
func (d *drillEnv) ready(t *testing.T) (restoredrill.EventData, []string, string) {
	t.Helper()
	var data restoredrill.EventData
	var types []string
	raw := ""
	for _, e := range d.sink.all() {
		types = append(types, e.Type.Short())
		if e.Type == events.DrillReady {
			raw = string(e.Data)
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
		}
	}
	return data, types, raw
}

// The window ends: teardown runs when its timer fires, not before, and
// the task's result (metrics included) comes after it.
func TestRestoreDrillKeepsTheTargetForItsWindow(t *testing.T) {
	d := newDrillEnv(t)
	d.with = map[string]any{"keepFor": "10m"}
	out, err := d.run(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.callList(); got != "select,provision,fetch,restore,verify,ready,teardown" {
		t.Fatalf("steps %s", got)
	}
	if kept := d.times["teardown"].Sub(d.times["ready"]); kept < 10*time.Minute {
		t.Fatalf("torn down %s after ready, before the window's end", kept)
	}
	if out.Metrics["drill.kept"] != 600 || out.Metrics["drill.rpo"] != 7200 {
		t.Fatalf("metrics %v", out.Metrics)
	}
	if _, ok := out.Metrics["drill.rto"]; !ok {
		t.Fatal("no drill.rto")
	}
	data, types, _ := d.ready(t)
	if strings.Join(types, ",") != "drill.started,drill.ready,drill.finished" {
		t.Fatalf("events %v", types)
	}
	c := data.Connection
	if c == nil || c.Host != "127.0.0.1" || c.Port != 5555 || c.Database != "app" || c.User != "postgres" ||
		!strings.HasPrefix(c.PasswordRef, "local://") || data.KeepFor != 600 || data.Until == nil || !data.Verified {
		t.Fatalf("drill.ready %+v %+v", data, c)
	}
	if !data.Until.Equal(d.times["ready"].Add(10 * time.Minute)) {
		t.Fatalf("until %s, ready at %s", data.Until, d.times["ready"])
	}
	if f := d.finished2(t); f.Status != "pass" || !f.TornDown || f.Connection != nil {
		t.Fatalf("drill.finished %+v", f)
	}
	if !strings.Contains(out.Output, "kept up for outside checks until") {
		t.Fatalf("output %q", out.Output)
	}
}

// Cancelled during the window: teardown runs at once, on a
// disconnected context, and the task is cancelled with what it measured.
func TestRestoreDrillCancelledDuringItsWindowTearsDown(t *testing.T) {
	d := newDrillEnv(t)
	d.with = map[string]any{"keepFor": "2h"}
	d.env.RegisterDelayedCallback(d.env.CancelWorkflow, 30*time.Minute)
	out, err := d.run(time.Hour)
	if !temporal.IsCanceledError(err) {
		t.Fatalf("err = %v", err)
	}
	if got := d.callList(); got != "select,provision,fetch,restore,verify,ready,teardown" {
		t.Fatalf("steps %s", got)
	}
	if at := d.times["teardown"].Sub(testStart); at < 30*time.Minute || at > 31*time.Minute {
		t.Fatalf("torn down %s after the start, not when cancelled", at)
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) && canceled.HasDetails() {
		if derr := canceled.Details(&out); derr != nil {
			t.Fatal(derr)
		}
	}
	if k := out.Metrics["drill.kept"]; k < 29*60 || k > 31*60 {
		t.Fatalf("drill.kept %v (metrics %v)", k, out.Metrics)
	}
	if f := d.finished2(t); !f.TornDown {
		t.Fatalf("drill.finished %+v", f)
	}
}

// The window outlasting the task's deadline (its timeout, no Linger) is
// refused before anything is made, naming keepFor.
func TestRestoreDrillWindowMustFitTheTask(t *testing.T) {
	d := newDrillEnv(t)
	d.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "run-1/task/dr/drill", TaskQueue: "shipshape", WorkflowExecutionTimeout: 90 * time.Minute})
	d.with = map[string]any{"keepFor": "2h"}
	_, err := d.run(time.Hour)
	if err == nil || !strings.Contains(err.Error(), "keepFor: 2h0m0s does not fit") {
		t.Fatalf("err = %v", err)
	}
	if got := d.callList(); got != "" {
		t.Fatalf("steps %s", got)
	}
}

// A drill whose checks fail has no window: it tears down at once.
func TestRestoreDrillNoWindowWhenVerificationFails(t *testing.T) {
	d := newDrillEnv(t)
	d.with = map[string]any{"keepFor": "2h"}
	d.verified = false
	if _, err := d.run(time.Hour); err == nil {
		t.Fatal("no error")
	}
	if got := d.callList(); got != "select,provision,fetch,restore,verify,teardown" {
		t.Fatalf("steps %s", got)
	}
}

// finished2 is the drill.finished event's data, whatever other events
// were published.
func (d *drillEnv) finished2(t *testing.T) restoredrill.EventData {
	t.Helper()
	for _, e := range d.sink.all() {
		if e.Type == events.DrillFinished {
			var data restoredrill.EventData
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
	t.Fatal("no drill.finished event")
	return restoredrill.EventData{}
}

func TestKeepForValidation(t *testing.T) {
	for _, tc := range []struct{ keepFor, want string }{
		{"10s", ""},
		{"168h", ""},
		{"169h", "more than 7 days"},
		{"0s", "must be more than 0"},
		{"-1m", "must be more than 0"},
	} {
		t.Run(tc.keepFor, func(t *testing.T) {
			with := map[string]any{"storage": "/x", "database": "app", "keepFor": tc.keepFor}
			var got []string
			for _, p := range restoredrill.Decl.Check(with) {
				if p.Param == "keepFor" {
					got = append(got, p.Msg)
				}
			}
			msg := strings.Join(got, "; ")
			if tc.want == "" && msg != "" || tc.want != "" && !strings.Contains(msg, tc.want) {
				t.Fatalf("problems %q, want %q", msg, tc.want)
			}
		})
	}
	if l := restoredrill.Decl.Linger(map[string]any{"keepFor": "36h"}); l != 36*time.Hour {
		t.Fatalf("linger %s", l)
	}
	if l := restoredrill.Decl.Linger(map[string]any{}); l != 0 {
		t.Fatalf("linger without keepFor %s", l)
	}
}

// TestDrillKeepsARealTargetForOutsideChecks restores a real backup on a
// local target with a validation window: while the window is open, an
// outside check connects with the drill.ready event's connection, the
// password read through its reference (the event never holds it); at the
// window's end the cluster and the secret are gone.
func TestDrillKeepsARealTargetForOutsideChecks(t *testing.T) {
	_, _, storeDir := seededBackup(t, "custom")
	d := newRealDrill(t)
	store, err := local.Open(d.secrets)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	d.sink.onEvent = func(e events.Event) {
		if e.Type != events.DrillReady {
			return
		}
		var data restoredrill.EventData
		if err := json.Unmarshal(e.Data, &data); err != nil || data.Connection == nil {
			t.Errorf("drill.ready %s: %v", e.Data, err)
			return
		}
		c := data.Connection
		name, ok := strings.CutPrefix(c.PasswordRef, "local://")
		if !ok {
			t.Errorf("password reference %q", c.PasswordRef)
			return
		}
		pw, _, err := store.Get(context.Background(), name, secretstore.Current)
		if err != nil {
			t.Errorf("resolve %s: %v", c.PasswordRef, err)
			return
		}
		if strings.Contains(string(e.Data), string(pw)) {
			t.Errorf("drill.ready holds the password: %s", e.Data)
		}
		url := fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=%s", c.User, pw, c.Host, c.Port, c.Database, c.SSLMode)
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Errorf("outside check: %v", err)
			return
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pgbench_branches").Scan(&n); err != nil || n == 0 {
			t.Errorf("outside check: %d rows, %v", n, err)
		}
		checked++
	}
	out, err := d.run(t, map[string]any{"storage": storeDir, "database": "app", "keepFor": "1h"})
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, out.Output)
	}
	if checked != 1 {
		t.Fatalf("outside checks run: %d", checked)
	}
	if out.Metrics["drill.kept"] != 3600 {
		t.Fatalf("drill.kept %v", out.Metrics["drill.kept"])
	}
	if names, _ := store.Names(context.Background()); len(names) != 0 {
		t.Fatalf("secrets left after teardown: %v", names)
	}
	if data := d.finished(t); data.Status != "pass" || !data.TornDown {
		t.Fatalf("drill.finished %+v", data)
	}
}
