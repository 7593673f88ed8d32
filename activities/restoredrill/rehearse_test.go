package restoredrill_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/internal/testenv"
	"github.com/shipshape-dev/shipshape/plan"
)

// realDrill runs the drill's Workflow with its real step activities,
// against real PostgreSQL, in Temporal's workflow test environment.
type realDrill struct {
	env     *testsuite.TestWorkflowEnvironment
	sink    *eventSink
	scratch string
	secrets string
}

func newRealDrill(t *testing.T) *realDrill {
	d := &realDrill{sink: &eventSink{inflight: map[string]int{}}, scratch: t.TempDir(), secrets: t.TempDir()}
	var suite testsuite.WorkflowTestSuite
	logger := slog.New(slog.DiscardHandler)
	suite.SetLogger(tlog.NewStructuredLogger(logger))
	d.env = suite.NewTestWorkflowEnvironment()
	d.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "run-1/task/dr/" + t.Name(), TaskQueue: "shipshape"})
	d.env.SetTestTimeout(3 * time.Minute)
	d.env.SetWorkerOptions(worker.Options{MaxHeartbeatThrottleInterval: 50 * time.Millisecond, DeadlockDetectionTimeout: time.Minute})
	types := []task.Type{restoredrill.New(restoredrill.Config{Logger: logger, ScratchDir: d.scratch, SecretsDir: d.secrets}).Type()}
	taskrun.Register(d.env, types, taskrun.Options{Logger: logger})
	d.env.RegisterActivityWithOptions(d.sink.publish, activity.RegisterOptions{Name: taskrun.PublishEventsName})
	return d
}

func (d *realDrill) run(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	d.env.ExecuteWorkflow(restoredrill.Workflow, task.Input{
		RunID: "run-1", Plan: "dr", Phase: "dr", Task: "drill", Uses: restoredrill.Name,
		Params: tasktest.WithDefaults(t, plan.Catalog{restoredrill.Name: restoredrill.Decl}, restoredrill.Name, with),
	})
	var out task.Output
	err := d.env.GetWorkflowError()
	if err == nil {
		err = d.env.GetWorkflowResult(&out)
	} else if o, ok := taskrun.OutputOf(err); ok {
		out = o
	}
	if left, _ := filepath.Glob(filepath.Join(d.scratch, "*")); len(left) != 0 {
		t.Errorf("the drill left %v in its scratch directory", left)
	}
	return out, err
}

// finished is the drill.finished event's data.
func (d *realDrill) finished(t *testing.T) restoredrill.EventData {
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

func table(out task.Output, title string) *plan.Table {
	for i := range out.Tables {
		if strings.HasPrefix(out.Tables[i].Title, title) {
			return &out.Tables[i]
		}
	}
	return nil
}

// needPsql skips t where psql is not installed (fails it under CI).
func needPsql(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		testenv.Missing(t, "psql", "apt-get install postgresql-client")
	}
}

func psql(sql string) []any {
	return []any{"psql", "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql}
}

// TestDrillRehearsesAMigration restores a backup, then rehearses a
// migration on the copy: a column added to an existing table under an
// ACCESS EXCLUSIVE lock held about a second, a new table with an
// unindexed foreign key, a reversible index, and assertions. The steps
// get the scratch database, never the source (though the worker's own
// environment names it), and the copy is torn down.
func TestDrillRehearsesAMigration(t *testing.T) {
	needPsql(t)
	c, src, storeDir := seededBackup(t, "custom")
	t.Setenv("DATABASE_URL", src)
	t.Setenv("PGPORT", strconv.Itoa(c.Port))
	d := newRealDrill(t)
	out, err := d.run(t, map[string]any{"storage": storeDir, "source": src, "rehearse": []any{
		map[string]any{"name": "env", "run": []any{"sh", "-c",
			`test -n "$DATABASE_URL" && test "$DATABASE_URL" != "$SRC" && test "$PGPORT" != "$SRCPORT" && test "$PGDATABASE" = app && test -n "$PGPASSWORD" && test "$EXTRA" = yes`},
			"env": map[string]any{"SRC": src, "SRCPORT": strconv.Itoa(c.Port), "EXTRA": "yes"}},
		map[string]any{"name": "add-note", "run": psql(`BEGIN; ALTER TABLE pgbench_accounts ADD COLUMN note text; SELECT pg_sleep(1); COMMIT;`)},
		map[string]any{"name": "notes", "run": psql(`CREATE TABLE notes (id int, account int REFERENCES pgbench_accounts (aid)); ALTER TABLE pgbench_tellers ALTER COLUMN filler TYPE varchar(100)`)},
		map[string]any{"name": "index", "run": psql(`CREATE INDEX docs_created ON docs (created)`),
			"down": psql(`DROP INDEX docs_created`), "up": psql(`CREATE INDEX docs_created ON docs (created)`)},
		map[string]any{"name": "no-notes", "sql": "SELECT count(*) FROM notes", "expect": "0"},
	}})
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, out.Output)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"drill.verify.mismatches":   0,
		"rehearse.env.exit":         0,
		"rehearse.add-note.exit":    0,
		"rehearse.notes.exit":       0,
		"rehearse.index.exit":       0,
		"rehearse.index.reversible": 1,
		"rehearse.index.down.exit":  0,
		"rehearse.no-notes.exit":    0,
		"rehearse.no-notes.value":   0,
		"rehearse.failed":           0,
		"rehearse.tables_added":     1,
		"rehearse.tables_dropped":   0,
		"rehearse.tables_altered":   3, // pgbench_accounts, pgbench_tellers, docs
		// Each step's own change: the note column; the notes table, its
		// two columns and foreign key, and a column altered; the index
		// (dropped and made again by down and up, so one added).
		"rehearse.env.schema_changes":      0,
		"rehearse.add-note.schema_changes": 1,
		"rehearse.notes.schema_changes":    5,
		"rehearse.index.schema_changes":    1,
		"rehearse.indexes_altered":         0,
		"rehearse.constraints_altered":     0,
		"rehearse.columns_added":           3, // note, notes.id, notes.account
		"rehearse.columns_dropped":         0,
		"rehearse.columns_altered":         1,
		"rehearse.indexes_added":           1,
		"rehearse.indexes_dropped":         0,
		"rehearse.constraints_added":       1,
		"rehearse.constraints_dropped":     0,
		"schema.fk_without_index":          1,
		"schema.tables_without_pk":         2, // pgbench_history, notes
		"schema.invalid_indexes":           0,
	}, 0)
	if l := out.Metrics["rehearse.add-note.lock_max"]; l < 0.8 || l > 3 {
		t.Errorf("the ALTER TABLE's lock: %v s, want about 1", l)
	}
	if out.Metrics["rehearse.lock_max"] != out.Metrics["rehearse.add-note.lock_max"] || out.Metrics["rehearse.notes.lock_max"] > 0.5 {
		t.Errorf("locks %v", out.Metrics)
	}
	if out.Metrics["rehearse.add-note.duration"] < 1 {
		t.Errorf("add-note took %v s", out.Metrics["rehearse.add-note.duration"])
	}
	if !strings.Contains(out.Output, "schema: +1 column") || !strings.Contains(out.Output, "schema: +1 table, +2 columns, ~1 column, +1 constraint") {
		t.Errorf("the steps' schema changes are not in the output:\n%s", out.Output)
	}
	if !strings.Contains(out.Output, "public.pgbench_accounts held ACCESS EXCLUSIVE") {
		t.Errorf("output:\n%s", out.Output)
	}
	if tb := table(out, "Rehearsal"); tb == nil || len(tb.Rows) != 5 || tb.Rows[4][4] != "pass" {
		t.Errorf("rehearsal table %+v", tb)
	}
	if tb := table(out, "Schema changes"); tb == nil || !strings.Contains(tb.Rows[0][1], "public.notes") {
		t.Errorf("schema table %+v", tb)
	}
	if data := d.finished(t); data.Status != "pass" || !data.TornDown {
		t.Errorf("drill.finished %+v", data)
	}
}

// TestDrillRehearsalStopsAtAHangingStep: a step outliving its timeout is
// stopped, fails the drill as a check, the steps after it do not run,
// the report shows how far the rehearsal got, and the copy is torn down.
func TestDrillRehearsalStopsAtAHangingStep(t *testing.T) {
	needPsql(t)
	_, src, storeDir := seededBackup(t, "custom")
	d := newRealDrill(t)
	started := time.Now()
	out, err := d.run(t, map[string]any{"storage": storeDir, "source": src, "rehearse": []any{
		map[string]any{"name": "first", "run": psql(`CREATE TABLE first (id int PRIMARY KEY)`)},
		map[string]any{"name": "broken", "run": psql(`SELECT no_such_column FROM pgbench_accounts`)},
		map[string]any{"name": "never", "run": []any{"true"}},
	}})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "rehearse: 2 of 3 steps failed", "broken: run (psql) exited with code")
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"rehearse.first.exit": 0, "rehearse.failed": 2, "rehearse.tables_added": 1,
	}, 0, "rehearse.never.exit")
	if out.Metrics["rehearse.broken.exit"] == 0 {
		t.Errorf("broken's exit: %v", out.Metrics)
	}
	tb := table(out, "Rehearsal")
	if tb == nil || tb.Rows[0][4] != "pass" || tb.Rows[1][4] != "fail" || tb.Rows[2][4] != "not run" {
		t.Fatalf("rehearsal table %+v", tb)
	}

	d = newRealDrill(t)
	started = time.Now()
	out, err = d.run(t, map[string]any{"storage": storeDir, "source": src, "rehearse": []any{
		map[string]any{"name": "hangs", "run": []any{"sleep", "600"}, "timeout": "2s"},
	}})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "did not finish within the step's timeout (2s)")
	if out.Metrics["rehearse.hangs.exit"] != 128+15 || time.Since(started) > time.Minute {
		t.Errorf("hanging step: %v after %s", out.Metrics, time.Since(started))
	}
	if data := d.finished(t); data.Status != "fail" || data.Step != "rehearse" || !data.TornDown {
		t.Errorf("drill.finished %+v", data)
	}
}

// TestRehearsalReachesOnlyTheCopy: a step that connects the default way
// (libpq's environment, as migration tools do) reaches the scratch copy,
// never the source, though the worker's own environment names the
// source; a migration that fails halfway shows how far it got, leaves the
// source untouched, and its output, echoing the scratch database's URL
// and password, reaches the report with the password removed.
func TestRehearsalReachesOnlyTheCopy(t *testing.T) {
	needPsql(t)
	c, src, storeDir := seededBackup(t, "custom")
	// After the backup: a table only the source has.
	pgtest.Exec(t, src, "CREATE TABLE only_in_source (id int PRIMARY KEY)")
	t.Setenv("DATABASE_URL", src)
	t.Setenv("PGPORT", strconv.Itoa(c.Port))
	d := newRealDrill(t)
	out, err := d.run(t, map[string]any{"storage": storeDir, "source": src, "rehearse": []any{
		map[string]any{"name": "probe", "sql": "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_source'", "expect": "0"},
		map[string]any{"name": "probe-env", "run": []any{"sh", "-c",
			`test "$(psql -XAtc "SELECT to_regclass('only_in_source') IS NULL")" = t`}},
		map[string]any{"name": "half", "run": []any{"sh", "-c",
			`psql -X -q -c "ALTER TABLE pgbench_accounts ADD COLUMN half int" && echo "step 2 failed on $DATABASE_URL with PGPASSWORD=$PGPASSWORD" && exit 3`}},
	}})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "rehearse: 1 of 3 steps failed", "half: run (sh) exited with code 3")
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"rehearse.probe.exit": 0, "rehearse.probe-env.exit": 0, "rehearse.half.exit": 3, "rehearse.failed": 1, "rehearse.columns_added": 1,
	}, 0)
	// The copy's password is removed from what the step printed: the URL
	// and the variable show xxxxx.
	text := out.Output + err.Error()
	for _, tb := range out.Tables {
		for _, row := range tb.Rows {
			text += strings.Join(row, " ")
		}
	}
	if !strings.Contains(text, "PGPASSWORD=xxxxx") {
		t.Errorf("the step's output is not in the report with its password removed:\n%s", text)
	}
	for _, m := range regexp.MustCompile(`postgres(?:ql)?://[^:/@\s]+:([^@\s]+)@`).FindAllStringSubmatch(text, -1) {
		if m[1] != "xxxxx" {
			t.Errorf("a database password in the report: %q", m[0])
		}
	}
	// The source is untouched: the half-applied migration ran on the copy.
	got, perr := exec.Command("psql", src, "-XAtc", "SELECT count(*) FROM information_schema.columns WHERE table_name = 'pgbench_accounts' AND column_name = 'half'").CombinedOutput()
	if perr != nil || strings.TrimSpace(string(got)) != "0" {
		t.Errorf("the source has the rehearsed column: %s %v", got, perr)
	}
	if data := d.finished(t); data.Status != "fail" || data.Step != "rehearse" || !data.TornDown {
		t.Errorf("drill.finished %+v", data)
	}
}

// TestRehearsalFindsInvalidIndexesAndIrreversibleSteps: a CREATE INDEX
// CONCURRENTLY that fails leaves an invalid index, which the schema check
// counts; a step whose down fails is not reversible, fails, and stops the
// rehearsal.
func TestRehearsalFindsInvalidIndexesAndIrreversibleSteps(t *testing.T) {
	needPsql(t)
	_, src, storeDir := seededBackup(t, "custom")
	d := newRealDrill(t)
	out, err := d.run(t, map[string]any{"storage": storeDir, "source": src, "rehearse": []any{
		// bid repeats across accounts: the unique index fails and stays, invalid.
		map[string]any{"name": "unique-bid", "run": []any{"sh", "-c",
			`psql -X -q -c "CREATE UNIQUE INDEX CONCURRENTLY accounts_bid ON pgbench_accounts (bid)" 2>/dev/null; exit 0`}},
		map[string]any{"name": "irreversible", "run": psql(`CREATE TABLE ledger (id int PRIMARY KEY)`),
			"down": psql(`DROP TABLE ledger; SELECT 1/0`), "up": psql(`CREATE TABLE ledger (id int PRIMARY KEY)`)},
		map[string]any{"name": "after", "run": []any{"true"}},
	}})
	tasktest.MustKind(t, err, tasktest.CheckFailed, "irreversible: run (psql) exited 0", "down (psql) exited with code 1: ERROR:  division by zero")
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{
		"rehearse.unique-bid.exit": 0, "schema.invalid_indexes": 1, "rehearse.indexes_added": 2, // accounts_bid (invalid), ledger_pkey
		"rehearse.irreversible.reversible": 0, "rehearse.irreversible.exit": 1, "rehearse.failed": 2,
	}, 0, "rehearse.after.exit")
	if out.Metrics["rehearse.irreversible.down.exit"] == 0 {
		t.Errorf("down's exit: %v", out.Metrics)
	}
	if tb := table(out, "Schema changes"); tb == nil || !strings.Contains(fmt.Sprint(tb.Rows), "accounts_bid") {
		t.Errorf("schema table %+v: want the invalid index named", tb)
	}
}

// TestRehearsalThenValidationWindow: with keepFor, the copy is kept up
// for outside checks after the rehearsal, so the window shows the migrated
// schema: drill.ready comes after the rehearsal's steps, and teardown
// after the window.
func TestRehearsalThenValidationWindow(t *testing.T) {
	needPsql(t)
	_, src, storeDir := seededBackup(t, "custom")
	d := newRealDrill(t)
	out, err := d.run(t, map[string]any{"storage": storeDir, "source": src, "keepFor": "10m", "rehearse": []any{
		map[string]any{"name": "migrate", "run": psql(`ALTER TABLE pgbench_accounts ADD COLUMN tier int`)},
	}})
	if err != nil {
		t.Fatalf("drill: %v\n%s", err, out.Output)
	}
	tasktest.MustMetrics(t, out.Metrics, map[string]float64{"rehearse.migrate.exit": 0, "rehearse.columns_added": 1, "drill.kept": 600}, 0)
	var types []string
	for _, e := range d.sink.all() {
		types = append(types, e.Type.Short())
	}
	if strings.Join(types, ",") != "drill.started,drill.ready,drill.finished" {
		t.Errorf("events %v", types)
	}
	rehearsed, kept := strings.Index(out.Output, "rehearse migrate"), strings.Index(out.Output, "kept up for outside checks until")
	if rehearsed < 0 || kept < 0 || kept < rehearsed {
		t.Errorf("the window does not follow the rehearsal:\n%s", out.Output)
	}
	if data := d.finished(t); data.Status != "pass" || !data.TornDown {
		t.Errorf("drill.finished %+v", data)
	}
}

// TestRehearseParams: names fit metrics, a step runs or asserts, and the
// plan cannot point the scratch database's variables elsewhere.
func TestRehearseParams(t *testing.T) {
	for _, c := range []struct {
		step map[string]any
		want string
	}{
		{map[string]any{"name": "Migrate Up", "run": []any{"true"}}, "rehearse[0].name"},
		{map[string]any{"name": "m"}, "give run"},
		{map[string]any{"name": "m", "run": []any{"true"}, "sql": "select 1"}, "not both"},
		{map[string]any{"name": "m", "run": []any{"true"}, "down": []any{"true"}}, "both down and up"},
		{map[string]any{"name": "m", "sql": "select 1", "expect": "lots"}, "rehearse[0].expect"},
		{map[string]any{"name": "m", "run": []any{"true"}, "env": map[string]any{"DATABASE_URL": "postgres://prod/app"}}, "rehearse[0].env.DATABASE_URL"},
	} {
		var msgs []string
		for _, p := range restoredrill.Decl.Check(map[string]any{"storage": "/x", "database": "app", "rehearse": []any{c.step}}) {
			msgs = append(msgs, p.Param+": "+p.Msg)
		}
		if !strings.Contains(strings.Join(msgs, "\n"), c.want) {
			t.Errorf("%v: problems %q, want %q", c.step, msgs, c.want)
		}
	}
	if p := restoredrill.Decl.Check(map[string]any{"storage": "/x", "database": "app", "rehearse": []any{
		map[string]any{"name": "migrate-up", "run": []any{"make", "migrate-up"}, "down": []any{"make", "migrate-down"}, "up": []any{"make", "migrate-up"}, "timeout": "5m"},
		map[string]any{"name": "users", "sql": "select count(*) from users", "expect": ">= 1"},
	}}); len(p) != 0 {
		t.Errorf("problems %+v", p)
	}
}
