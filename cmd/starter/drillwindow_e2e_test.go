//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestDrillValidationWindow runs examples/plans/drill-validation-window.yaml
// on a cluster (Temporal, NATS, a worker process): once verified, the
// drill publishes drill.ready with the scratch database's connection and
// its password's reference, never the password; an outside check
// connects with them while the window is open; the worker is restarted
// during the window, and the durable timer still ends it: the copy is
// torn down, the secret deleted, and the task reports its metrics.
func TestDrillValidationWindow(t *testing.T) {
	_, src, scratch := drillSource(t)
	secrets := t.TempDir()
	t.Setenv("SHIPSHAPE_SECRETS_DIR", secrets) // the worker's local secret store
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := starter(t, ctx, append([]string{"run", "--detach", "--set", "vars.sourceURL=" + src, "--set", "vars.storage=" + t.TempDir(),
		"--set", "vars.window=20s"}, c.args("examples/plans/drill-validation-window.yaml")...)...)
	if r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}
	runID := strings.TrimSpace(r.stdout)

	var ready *events.Event
	for deadline := time.Now().Add(3 * time.Minute); ready == nil; time.Sleep(time.Second) {
		for _, e := range poll(t, c.natsURL(), runID) {
			if e.Type == events.DrillReady {
				ready = &e
			}
		}
		if ready == nil && time.Now().After(deadline) {
			t.Fatal("no drill.ready event")
		}
	}
	readyAt := time.Now()
	var data restoredrill.EventData
	if err := json.Unmarshal(ready.Data, &data); err != nil || data.Connection == nil || data.KeepFor != 20 || data.Until == nil {
		t.Fatalf("drill.ready %s: %v", ready.Data, err)
	}
	conn := data.Connection
	name, ok := strings.CutPrefix(conn.PasswordRef, "local://")
	if !ok {
		t.Fatalf("password reference %q", conn.PasswordRef)
	}
	store, err := local.Open(secrets)
	if err != nil {
		t.Fatal(err)
	}
	pw, _, err := store.Get(ctx, name, secretstore.Current)
	if err != nil {
		t.Fatalf("resolve %s: %v", conn.PasswordRef, err)
	}
	if strings.Contains(string(ready.Data), string(pw)) {
		t.Fatalf("drill.ready holds the password: %s", ready.Data)
	}
	// The outside check, while the window is open.
	db, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=%s", conn.User, pw, conn.Host, conn.Port, conn.Database, conn.SSLMode))
	if err != nil {
		t.Fatalf("outside check: %v", err)
	}
	var accounts int
	err = db.QueryRow(ctx, "SELECT count(*) FROM pgbench_accounts").Scan(&accounts)
	db.Close(ctx)
	if err != nil || accounts != 100000 {
		t.Fatalf("outside check: %d accounts, %v", accounts, err)
	}

	// A worker restart during the window neither ends nor restarts it.
	c.stopWorker()
	c.startWorker(t)

	rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(runID)...)...)
	var res plan.RunResult
	if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil {
		t.Fatalf("report: %v\n%s", err, rep.stderr)
	}
	drill := res.Task("drill", "restore")
	if res.Result != plan.StatusPass || drill == nil || drill.Status != plan.StatusPass {
		t.Fatalf("result %s, drill %+v", res.Result, drill)
	}
	if k := drill.Metrics["drill.kept"]; k < 20 || k > 120 {
		t.Errorf("drill.kept %v, want the 20 s window", k)
	}
	if took := time.Since(readyAt); took < 10*time.Second {
		t.Errorf("the run ended %s after drill.ready, before its window", took)
	}
	var finished restoredrill.EventData
	for _, e := range consume(t, c.natsURL(), runID) {
		if e.Type == events.DrillFinished {
			_ = json.Unmarshal(e.Data, &finished)
		}
		if strings.Contains(string(e.Data), string(pw)) {
			t.Errorf("event %s holds the scratch password", e.Type)
		}
	}
	if !finished.TornDown || finished.Status != "pass" {
		t.Errorf("drill.finished %+v", finished)
	}
	mustBeClean(t, scratch)
	if names, err := store.Names(ctx); err != nil || len(names) != 0 {
		t.Errorf("secrets left after teardown: %v %v", names, err)
	}
}
