package restoredrill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/internal/tail"
	"github.com/shipshape-dev/shipshape/plan"
)

// The rehearsal's activities: the catalog read before and after, and one
// rehearsal step.
const (
	Schema   = "restore-drill.schema"
	Rehearse = "restore-drill.rehearse"
)

// rehearseChange is the workflow.GetVersion change ID of the rehearsal:
// histories recorded before it replay without it.
const rehearseChange = "restore-drill.rehearse"

// defaultStepTimeout bounds a rehearsal step that gives no timeout.
const defaultStepTimeout = 10 * time.Minute

// lockSampleEvery is how often a running step's locks are sampled.
const lockSampleEvery = 100 * time.Millisecond

// stepNameRE is what a rehearsal step's name may be: one segment of a
// metric's name.
var stepNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// reservedEnv are the variables the drill sets for a step, which the
// plan's env may not set.
var reservedEnv = []string{"DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE"}

// checkRehearse checks the rehearse param's steps.
func checkRehearse(p task.Params, add func(param, format string, args ...any)) {
	seen := map[string]bool{}
	for i, st := range p.Objects("rehearse") {
		at := fmt.Sprintf("rehearse[%d]", i)
		name := st.String("name")
		switch {
		case !stepNameRE.MatchString(name):
			add(at+".name", "%q: a step's name is a metric name's segment: lower-case letters, digits, - and _", name)
		case seen[name]:
			add(at+".name", "%q names two steps", name)
		}
		seen[name] = true
		run, sql := st.Strings("run"), st.String("sql")
		down, up := st.Strings("down"), st.Strings("up")
		switch {
		case len(run) > 0 && sql != "":
			add(at, "give run (a command) or sql (an assertion), not both")
		case len(run) == 0 && sql == "":
			add(at, "give run (a command, as an argv list) or sql (an assertion with expect)")
		case sql != "":
			if _, err := parseExpect(st.String("expect")); err != nil {
				add(at+".expect", "%v", err)
			}
			if len(down)+len(up) > 0 {
				add(at, "down and up are for a command step")
			}
		case (len(down) > 0) != (len(up) > 0):
			add(at, "reversibility needs both down and up")
		}
		if t := st.String("timeout"); t != "" && st.Duration("timeout") <= 0 {
			add(at+".timeout", "%q is not a positive duration", t)
		}
		for k := range st.StringMap("env") {
			if slices.Contains(reservedEnv, k) {
				add(at+".env."+k, "the drill sets %s to the scratch database", k)
			}
		}
	}
}

// stepTimeout is a rehearsal step's timeout.
func stepTimeout(st task.Params) time.Duration {
	if t := st.Duration("timeout"); t > 0 {
		return t
	}
	return defaultStepTimeout
}

// SchemaStep is the input of the schema activity: After false reads the
// catalog before the rehearsal, true reads it after and compares.
type SchemaStep struct {
	Step  Step `json:"step"`
	After bool `json:"after"`
}

// RehearseStep is the input of the rehearse activity: the drill and the
// index of the step in its rehearse list. It names the target only: the
// activity finds the target's password in the drill directory.
type RehearseStep struct {
	Step  Step `json:"step"`
	Index int  `json:"index"`
}

// StepResult is what one rehearsal step reports.
type StepResult struct {
	Result
	// Failed says the step did not pass (its command exited non-zero or
	// timed out, or its assertion did not hold); Message says why.
	Failed bool `json:"failed,omitempty"`
	// Exit is the command's exit code (-1: it did not exit by itself).
	Exit int `json:"exit"`
	// Duration is in seconds; LockMax is the longest time, in seconds,
	// a table that existed before was held ACCESS EXCLUSIVE.
	Duration float64 `json:"duration"`
	LockMax  float64 `json:"lockMax"`
	// LockTable is the table held longest.
	LockTable string `json:"lockTable,omitempty"`
}

func (d *Drill) catalogFile(id string) string {
	return filepath.Join(d.drillDir(id), "catalog-before.json")
}

// Schema reads the scratch database's catalog: before the rehearsal it
// keeps it in the drill directory; after, it counts what the rehearsal
// changed and checks the migrated schema.
func (d *Drill) Schema(ctx context.Context, in SchemaStep) (Result, error) {
	dst, err := d.targetSource(in.Step)
	if err != nil {
		return Result{}, err
	}
	conn, err := dst.Connect(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	cat, err := postgres.ReadCatalog(ctx, conn)
	if err != nil {
		return Result{}, err
	}
	if !in.After {
		b, _ := json.Marshal(cat)
		if err := os.WriteFile(d.catalogFile(in.Step.ID), b, 0o600); err != nil {
			return Result{}, err
		}
		return Result{Message: fmt.Sprintf("schema before the rehearsal: %d tables, %d indexes, %d constraints", len(cat.Tables), len(cat.Indexes), len(cat.Constraints))}, nil
	}
	b, err := os.ReadFile(d.catalogFile(in.Step.ID))
	if err != nil {
		return Result{}, fmt.Errorf("the catalog read before the rehearsal is gone: %w", err)
	}
	var before postgres.Catalog
	if err := json.Unmarshal(b, &before); err != nil {
		return Result{}, fmt.Errorf("the catalog read before the rehearsal: %w", err)
	}
	diff := postgres.Diff(before, cat)
	probs, err := postgres.CheckSchema(ctx, conn)
	if err != nil {
		return Result{}, err
	}
	res := Result{Metrics: map[string]float64{
		"rehearse.tables_added":        float64(len(diff.TablesAdded)),
		"rehearse.tables_dropped":      float64(len(diff.TablesDropped)),
		"rehearse.tables_altered":      float64(len(diff.TablesAlter)),
		"rehearse.columns_added":       float64(len(diff.ColumnsAdded)),
		"rehearse.columns_dropped":     float64(len(diff.ColumnsDropped)),
		"rehearse.columns_altered":     float64(len(diff.ColumnsAlter)),
		"rehearse.indexes_added":       float64(len(diff.IndexesAdded)),
		"rehearse.indexes_dropped":     float64(len(diff.IndexesDropped)),
		"rehearse.indexes_altered":     float64(len(diff.IndexesAlter)),
		"rehearse.constraints_added":   float64(len(diff.ConstraintsAdded)),
		"rehearse.constraints_dropped": float64(len(diff.ConstraintsDropped)),
		"rehearse.constraints_altered": float64(len(diff.ConstraintsAlter)),
		"schema.fk_without_index":      float64(len(probs.FKWithoutIndex)),
		"schema.tables_without_pk":     float64(len(probs.TablesWithoutPK)),
		"schema.invalid_indexes":       float64(len(probs.InvalidIndexes)),
	}}
	changes := plan.Table{Title: "Schema changes of the rehearsal", Columns: []string{"change", "objects"}}
	for _, c := range []struct {
		what string
		list []string
	}{
		{"tables added", diff.TablesAdded}, {"tables dropped", diff.TablesDropped}, {"tables altered", diff.TablesAlter},
		{"columns added", diff.ColumnsAdded}, {"columns dropped", diff.ColumnsDropped}, {"columns altered", diff.ColumnsAlter},
		{"indexes added", diff.IndexesAdded}, {"indexes dropped", diff.IndexesDropped}, {"indexes altered", diff.IndexesAlter},
		{"constraints added", diff.ConstraintsAdded}, {"constraints dropped", diff.ConstraintsDropped}, {"constraints altered", diff.ConstraintsAlter},
		{"foreign keys without an index", probs.FKWithoutIndex}, {"tables without a primary key", probs.TablesWithoutPK},
		{"invalid indexes", probs.InvalidIndexes},
	} {
		if len(c.list) > 0 {
			changes.Rows = append(changes.Rows, []string{c.what, listSome(c.list, 20)})
		}
	}
	if len(changes.Rows) > 0 {
		res.Tables = []plan.Table{changes}
	}
	res.Message = fmt.Sprintf("schema after the rehearsal: %d tables added, %d dropped, %d altered; %d columns added, %d dropped, %d altered; %d indexes added, %d dropped, %d altered; "+
		"%d constraints added, %d dropped, %d altered; %d foreign keys without an index, %d tables without a primary key, %d invalid indexes",
		len(diff.TablesAdded), len(diff.TablesDropped), len(diff.TablesAlter), len(diff.ColumnsAdded), len(diff.ColumnsDropped), len(diff.ColumnsAlter),
		len(diff.IndexesAdded), len(diff.IndexesDropped), len(diff.IndexesAlter), len(diff.ConstraintsAdded), len(diff.ConstraintsDropped), len(diff.ConstraintsAlter),
		len(probs.FKWithoutIndex), len(probs.TablesWithoutPK), len(probs.InvalidIndexes))
	return res, nil
}

func listSome(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" and %d more", len(s)-n)
}

// Rehearse runs one rehearsal step against the scratch database: a
// command (then, when it has them, its down and up commands) with the
// scratch database's URL in its environment, sampling the locks it
// takes; or a SQL assertion. A command that fails or outlives its
// timeout is a failed step, not an error: errors are for what stops the
// step from running at all.
func (d *Drill) Rehearse(ctx context.Context, in RehearseStep) (StepResult, error) {
	steps := in.Step.Task.Params.Objects("rehearse")
	if in.Index < 0 || in.Index >= len(steps) {
		return StepResult{}, task.InvalidParams("rehearse: no step %d", in.Index)
	}
	st := steps[in.Index]
	name := st.String("name")
	dst, err := d.targetSource(in.Step)
	if err != nil {
		return StepResult{}, err
	}
	started := time.Now()
	var res StepResult
	if sql := st.String("sql"); sql != "" {
		res, err = d.rehearseSQL(ctx, dst, st)
	} else {
		res, err = d.rehearseCommands(ctx, in, dst, st)
	}
	if err != nil {
		return StepResult{}, err
	}
	res.Duration = time.Since(started).Seconds()
	if res.Metrics == nil {
		res.Metrics = map[string]float64{}
	}
	res.Metrics["rehearse."+name+".duration"] = res.Duration
	res.Metrics["rehearse."+name+".exit"] = float64(res.Exit)
	res.Message = "rehearse " + name + ": " + res.Message
	return res, nil
}

func (d *Drill) rehearseSQL(ctx context.Context, dst postgres.Source, st task.Params) (StepResult, error) {
	want, err := parseExpect(st.String("expect"))
	if err != nil {
		return StepResult{}, task.InvalidParams("rehearse %q: expect: %v", st.String("name"), err)
	}
	conn, err := dst.Connect(ctx)
	if err != nil {
		return StepResult{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	qctx, cancel := context.WithTimeout(ctx, stepTimeout(st))
	defer cancel()
	var v float64
	if err := conn.QueryRow(qctx, st.String("sql")).Scan(&v); err != nil {
		if ctx.Err() != nil {
			return StepResult{}, ctx.Err()
		}
		return StepResult{Failed: true, Exit: 1, Result: Result{Message: "error: " + dst.Redact(err).Error()}}, nil
	}
	value := strconv.FormatFloat(v, 'f', -1, 64)
	res := StepResult{Result: Result{Metrics: map[string]float64{"rehearse." + st.String("name") + ".value": v}}}
	if !want.Holds(v) {
		res.Failed, res.Exit, res.Message = true, 1, fmt.Sprintf("%s, expected %s", value, want)
	} else {
		res.Message = fmt.Sprintf("%s (expected %s): holds", value, want)
	}
	return res, nil
}

// rehearseCommands runs a step's command, and its down and up commands
// when it has them: the migration must reverse and apply again.
func (d *Drill) rehearseCommands(ctx context.Context, in RehearseStep, dst postgres.Source, st task.Params) (StepResult, error) {
	name := st.String("name")
	env, err := d.stepEnv(in.Step, dst, st)
	if err != nil {
		return StepResult{}, err
	}
	existing := d.tablesBefore(in.Step.ID)
	// The schema change this step made: the catalog before it and after.
	before, err := readCatalog(ctx, dst)
	if err != nil {
		return StepResult{}, err
	}
	deadline := time.Now().Add(stepTimeout(st))
	type part struct {
		what string
		argv []string
	}
	parts := []part{{"run", st.Strings("run")}}
	if down, up := st.Strings("down"), st.Strings("up"); len(down) > 0 && len(up) > 0 {
		parts = append(parts, part{"down", down}, part{"up", up})
	}
	res := StepResult{Result: Result{Metrics: map[string]float64{}}}
	prog := d.progress(in.Step.Task)
	var notes []string
	for _, part := range parts {
		pctx, cancel := context.WithDeadline(ctx, deadline)
		stop := prog.Every(ctx, 5*time.Second, func() task.Progress {
			return task.Progress{Done: -1, Message: fmt.Sprintf("rehearse %s: %s running", name, part.what)}
		})
		r, err := d.runSampled(pctx, dst, existing, env, part.argv)
		stop()
		cancel()
		if err != nil {
			return StepResult{}, err
		}
		if ctx.Err() != nil {
			return StepResult{}, fmt.Errorf("rehearse %s stopped: %w", name, ctx.Err())
		}
		if r.lockMax > res.LockMax {
			res.LockMax, res.LockTable = r.lockMax, r.lockTable
		}
		res.Exit = r.exit
		out := dst.RedactString(strings.TrimSpace(r.output))
		switch {
		case r.timedOut:
			res.Failed = true
			notes = append(notes, fmt.Sprintf("%s (%s) did not finish within the step's timeout (%s), stopped%s", part.what, r.argv0, stepTimeout(st), lastLine(out)))
		case r.exit != 0:
			res.Failed = true
			notes = append(notes, fmt.Sprintf("%s (%s) exited with code %d%s", part.what, r.argv0, r.exit, lastLine(out)))
		default:
			notes = append(notes, fmt.Sprintf("%s (%s) exited 0 in %s", part.what, r.argv0, r.took.Round(time.Millisecond)))
		}
		if len(parts) > 1 {
			res.Metrics["rehearse."+name+"."+part.what+".exit"] = float64(r.exit)
		}
		if res.Failed {
			break
		}
	}
	if len(parts) > 1 {
		res.Metrics["rehearse."+name+".reversible"] = boolMetric(!res.Failed)
	}
	res.Metrics["rehearse."+name+".lock_max"] = res.LockMax
	if after, err := readCatalog(ctx, dst); err == nil {
		diff := postgres.Diff(before, after)
		res.Metrics["rehearse."+name+".schema_changes"] = float64(diff.Count())
		notes = append(notes, "schema: "+diff.Summary())
	} else {
		notes = append(notes, "schema after the step not read: "+dst.Redact(err).Error())
	}
	res.Message = strings.Join(notes, "; ")
	if res.LockTable != "" {
		res.Message += fmt.Sprintf("; %s held ACCESS EXCLUSIVE for %.1f s", res.LockTable, res.LockMax)
	}
	return res, nil
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func lastLine(out string) string {
	if out == "" {
		return ""
	}
	lines := strings.Split(out, "\n")
	return ": " + lines[len(lines)-1]
}

// stepEnv is a step's environment: the worker's, without anything that
// points libpq or a migration tool elsewhere (the source database among
// others: DATABASE_URL, PG*), then the scratch database's, then the
// plan's.
func (d *Drill) stepEnv(s Step, dst postgres.Source, st task.Params) ([]string, error) {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || strings.HasPrefix(k, "PG") {
			continue
		}
		env = append(env, kv)
	}
	// No password file: the scratch database's password is PGPASSWORD.
	env = append(env, "PGPASSFILE="+filepath.Join(d.drillDir(s.ID), "no-pgpass"))
	env = append(env, dst.ClientEnv()...)
	extra := st.StringMap("env")
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, task.InvalidParams("rehearse %q: env: %q is not a valid variable name", st.String("name"), k)
		}
		if slices.Contains(reservedEnv, k) {
			return nil, task.InvalidParams("rehearse %q: env: the drill sets %s to the scratch database", st.String("name"), k)
		}
		env = append(env, k+"="+extra[k])
	}
	return env, nil
}

// tablesBefore are the tables the catalog read before the rehearsal
// found (nil when it is not there: every table counts).
func (d *Drill) tablesBefore(id string) map[string]bool {
	b, err := os.ReadFile(d.catalogFile(id))
	if err != nil {
		return nil
	}
	var c postgres.Catalog
	if json.Unmarshal(b, &c) != nil {
		return nil
	}
	m := map[string]bool{}
	for _, t := range c.Tables {
		m[t] = true
	}
	return m
}

type commandRun struct {
	argv0     string
	exit      int
	timedOut  bool
	took      time.Duration
	output    string
	lockMax   float64
	lockTable string
}

// runSampled runs argv in its own process group until it exits or ctx
// ends (then the group is stopped), sampling meanwhile, every
// lockSampleEvery, which tables are held ACCESS EXCLUSIVE.
func (d *Drill) runSampled(ctx context.Context, dst postgres.Source, existing map[string]bool, env, argv []string) (commandRun, error) {
	r := commandRun{argv0: argv[0]}
	sampler, err := dst.Connect(ctx)
	if err != nil {
		return r, err
	}
	defer sampler.Close(context.WithoutCancel(ctx))
	out := tail.New(40)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	started := time.Now()
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return r, task.InvalidParams("rehearse: start %s: %v", argv[0], err)
		}
		return r, fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	locks := newLockWatch(existing)
	wg.Go(func() {
		tick := time.NewTicker(lockSampleEvery)
		defer tick.Stop()
		for {
			locks.sample(ctx, sampler)
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	waitErr := cmd.Wait()
	close(done)
	wg.Wait()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	r.took = time.Since(started)
	r.output = out.String()
	r.exit = -1
	if cmd.ProcessState != nil {
		r.exit = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.exit = 128 + int(ws.Signal())
		}
	}
	r.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) && ctx.Err() == nil {
		return r, fmt.Errorf("wait for %s: %w", argv[0], waitErr)
	}
	r.lockMax, r.lockTable = locks.longest()
	return r, nil
}

// lockWatch follows the ACCESS EXCLUSIVE locks on tables that the
// samples see: a lock is held from the first sample that saw it to the
// last, plus one interval (the samples' resolution).
type lockWatch struct {
	existing map[string]bool
	first    map[lockKey]time.Time
	last     map[lockKey]time.Time
}

type lockKey struct {
	pid   int32
	table string
	xact  time.Time
}

func newLockWatch(existing map[string]bool) *lockWatch {
	return &lockWatch{existing: existing, first: map[lockKey]time.Time{}, last: map[lockKey]time.Time{}}
}

const lockQuery = `SELECT l.pid, n.nspname || '.' || c.relname, coalesce(a.xact_start, a.backend_start)
	FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.granted
	AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND c.relkind IN ('r', 'p') AND l.pid <> pg_backend_pid()`

func (w *lockWatch) sample(ctx context.Context, conn *pgx.Conn) {
	now := time.Now()
	rows, err := conn.Query(ctx, lockQuery)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var k lockKey
		if rows.Scan(&k.pid, &k.table, &k.xact) != nil {
			return
		}
		if w.existing != nil && !w.existing[k.table] {
			continue // made by the migration: nobody else waits on it
		}
		if _, ok := w.first[k]; !ok {
			w.first[k] = now
		}
		w.last[k] = now
	}
}

func (w *lockWatch) longest() (float64, string) {
	var held time.Duration
	table := ""
	for k, first := range w.first {
		if h := w.last[k].Sub(first) + lockSampleEvery; h > held || h == held && k.table < table {
			held, table = h, k.table
		}
	}
	return held.Seconds(), table
}

// readCatalog reads the catalog of the database dst names.
func readCatalog(ctx context.Context, dst postgres.Source) (postgres.Catalog, error) {
	conn, err := dst.Connect(ctx)
	if err != nil {
		return postgres.Catalog{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return postgres.ReadCatalog(ctx, conn)
}
