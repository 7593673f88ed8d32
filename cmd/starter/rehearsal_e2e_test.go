//go:build integration

package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shipshape-dev/shipshape/internal/testenv"
	"github.com/shipshape-dev/shipshape/plan"
)

// TestMigrationRehearsalExample runs examples/plans/migration-rehearsal.yaml
// with --dev against a real seeded PostgreSQL: the backup restores, the
// example's migrations apply, revert and apply again on the scratch copy,
// the schema's changes and checks are measured, the gates pass, the copy
// is gone, and the source is neither migrated nor named in the report.
func TestMigrationRehearsalExample(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		testenv.Missing(t, "psql", "apt-get install postgresql-client")
	}
	c, src, scratch := drillSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--set", "vars.sourceURL="+src,
		"--set", "vars.storage="+t.TempDir(), "--report-dir", out, "examples/plans/migration-rehearsal.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	task := r.Task("rehearse", "migrate")
	if r.Result != plan.StatusPass || task == nil || task.Status != plan.StatusPass {
		t.Fatalf("result %s, task %+v", r.Result, task)
	}
	m := task.Metrics
	for name, want := range map[string]float64{
		"drill.verify.mismatches":        0,
		"rehearse.failed":                0,
		"rehearse.migrate-up.exit":       0,
		"rehearse.migrate-up.reversible": 1,
		"rehearse.all-applied.value":     3,
		"rehearse.tables_added":          2, // account_notes, schema_migrations
		"rehearse.tables_dropped":        0,
		"rehearse.columns_added":         8,
		"rehearse.constraints_added":     4,
		"rehearse.indexes_added":         5,
		"schema.fk_without_index":        0,
		"schema.tables_without_pk":       0,
		"schema.invalid_indexes":         0,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (reported: %v), want %v", name, got, ok, want)
		}
	}
	if m["rehearse.lock_max"] <= 0 {
		t.Errorf("rehearse.lock_max %v: the migrations lock pgbench_accounts", m["rehearse.lock_max"])
	}
	mustBeClean(t, scratch)
	conn, err := pgx.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename IN ('account_notes', 'schema_migrations')").Scan(&n); err != nil || n != 0 {
		t.Errorf("the source was migrated (%d tables, %v)", n, err)
	}
	for _, f := range []string{"report.json", "report.md", "report.html"} {
		b, _ := os.ReadFile(filepath.Join(out, f))
		if strings.Contains(string(b), c.Password) {
			t.Errorf("%s holds the source's password", f)
		}
	}
}
