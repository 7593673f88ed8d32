//go:build integration

package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/integrations/blobstore/azuritetest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/s3test"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
	"github.com/shipshape-dev/shipshape/plan"
)

// drillSource starts a real PostgreSQL cluster with a seeded database
// "app" and points restore drills at a scratch directory of the test's.
func drillSource(t *testing.T) (c *postgres.Cluster, url, scratch string) {
	t.Helper()
	c = pgtest.Start(t, "e2e/drill-source")
	url = pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, url, 1)
	scratch = t.TempDir()
	t.Setenv("SHIPSHAPE_SCRATCH_DIR", scratch)
	return c, url, scratch
}

// mustBeClean fails t if a drill left anything in scratch.
func mustBeClean(t *testing.T, scratch string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(scratch, "*")); len(left) != 0 {
		t.Errorf("restore drills left %v in the scratch directory", left)
	}
}

// TestDRDrillOfThePostgresDatabase runs examples/plans/dr-drill.yaml on
// a cluster's own postgres database (pgbench -i -s 2 in it), the default
// database of many small deployments and of RDS: the drill must make the
// scratch database again without being connected to it.
func TestDRDrillOfThePostgresDatabase(t *testing.T) {
	c := pgtest.Start(t, "e2e/drill-postgres")
	src := c.URL("postgres")
	pgtest.Seed(t, src, 2)
	scratch := t.TempDir()
	t.Setenv("SHIPSHAPE_SCRATCH_DIR", scratch)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--set", "vars.sourceURL="+src,
		"--set", "vars.storage="+t.TempDir(), "--report-dir", out, "examples/plans/dr-drill.yaml")
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	r := readReport(t, out)
	drill := r.Task("drill", "restore")
	if drill == nil || drill.Status != plan.StatusPass || drill.Metrics["drill.rows"] < 200000 || drill.Metrics["drill.verify.mismatches"] != 0 {
		t.Fatalf("drill %+v", drill)
	}
	mustBeClean(t, scratch)
}

// TestDRDrillExampleDev runs examples/plans/dr-drill.yaml with --dev
// against a real seeded PostgreSQL: the backup and the drill pass, RTO
// and RPO are measured, every table verified, the backup is marked
// verified, the scratch cluster is gone and the source's password is
// nowhere in the output or the report.
func TestDRDrillExampleDev(t *testing.T) {
	for _, kind := range []string{"dir", "s3", "azblob"} {
		t.Run(kind, func(t *testing.T) { drillExample(t, kind) })
	}
}

// drillExample runs the example with its backups in a directory, an S3
// bucket (an in-process S3 server) or an Azure Blob container (Azurite):
// the dev worker gets the credentials from its environment.
func drillExample(t *testing.T, kind string) {
	c, src, scratch := drillSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	state, out, dir := t.TempDir(), t.TempDir(), t.TempDir()
	storage := dir
	switch kind {
	case "s3":
		storage = s3test.Start(t, "backups").URL("pg/")
	case "azblob":
		storage = azuritetest.Start(t, "backups").URL("pg/")
	}
	res := starter(t, ctx, "run", "--dev", "--state-dir", state, "--set", "vars.sourceURL="+src,
		"--set", "vars.storage="+storage, "--report-dir", out, "examples/plans/dr-drill.yaml")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
	if res.code != 0 {
		t.Fatalf("exit code %d, want 0 (pass)", res.code)
	}
	r := readReport(t, out)
	dump, drill := r.Task("backup", "dump"), r.Task("drill", "restore")
	if r.Result != plan.StatusPass || dump == nil || drill == nil || drill.Status != plan.StatusPass {
		t.Fatalf("result %s, drill %+v", r.Result, drill)
	}
	m := drill.Metrics
	if m["drill.verify.mismatches"] != 0 || m["drill.tables"] != 5 || m["drill.rows"] < 100000 || m["drill.rto"] <= 0 || m["drill.rpo"] <= 0 || m["drill.bytes"] != dump.Metrics["backup.size"] {
		t.Errorf("drill metrics %v (backup %v)", m, dump.Metrics)
	}
	if m["drill.rto"] < m["drill.restore.duration"] {
		t.Errorf("RTO %v shorter than the restore %v", m["drill.rto"], m["drill.restore.duration"])
	}
	store, err := pgbackup.Open(ctx, storage)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgbackup.List(ctx, store, "app")
	if err != nil || len(list) != 1 || list[0].Verified == nil {
		t.Fatalf("backups %+v, %v: want one, verified", list, err)
	}
	mustBeClean(t, scratch)
	for _, f := range []string{"report.json", "report.md", "report.html"} {
		b, _ := os.ReadFile(filepath.Join(out, f))
		if strings.Contains(string(b), c.Password) {
			t.Errorf("%s holds the source's password", f)
		}
	}
	if strings.Contains(res.stdout+res.stderr, c.Password) {
		t.Error("the starter printed the source's password")
	}
}

const drillOnlyPlan = `apiVersion: shipshape.dev/v1
kind: ReadinessPlan
metadata: {name: drill-only}
spec:
  phases:
    - name: drill
      tasks:
        - name: restore
          uses: restore-drill
          timeout: 5m
          with:
            storage: %q
            database: app
            assertions:
              - {name: slow check, sql: "SELECT 1 FROM pg_sleep(%d)", expect: "1"}
          gates:
            - {metric: drill.verify.mismatches, pass: "== 0", key: true}
`

// backupOnce takes one backup of src into a new directory store.
func backupOnce(t *testing.T, ctx context.Context, src string) (storage string, m *pgbackup.Manifest) {
	t.Helper()
	storage = t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--set", "vars.sourceURL="+src,
		"--set", "vars.storage="+storage, "examples/plans/dr-drill.yaml")
	if res.code != 0 {
		t.Fatalf("backup run: exit %d\n%s", res.code, res.stderr)
	}
	store, _ := file.New(storage)
	m, err := pgbackup.Find(ctx, store, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	return storage, m
}

// failedDrill runs a drill of the backups in storage, which must fail,
// and returns its task's result.
func failedDrill(t *testing.T, ctx context.Context, storage string) *plan.TaskResult {
	t.Helper()
	out := t.TempDir()
	res := starter(t, ctx, "run", "--dev", "--state-dir", t.TempDir(), "--report-dir", out, writePlan(t, fmt.Sprintf(drillOnlyPlan, storage, 0)))
	if res.code != 1 {
		t.Fatalf("exit %d, want 1 (fail)\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	rep := readReport(t, out)
	return rep.Task("drill", "restore")
}

// TestDRDrillFailsOnBadBackups: a backup whose bytes were altered fails
// the drill at the hash check; a manifest that no longer matches the
// data (one table's count edited) fails the verification gate. Both
// leave nothing behind.
func TestDRDrillFailsOnBadBackups(t *testing.T) {
	_, src, scratch := drillSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("hash mismatch", func(t *testing.T) {
		storage, m := backupOnce(t, ctx, src)
		path := filepath.Join(storage, filepath.FromSlash(m.Key))
		b, _ := os.ReadFile(path)
		b[len(b)/3] ^= 0x01
		_ = os.WriteFile(path, b, 0o600)
		tr := failedDrill(t, ctx, storage)
		if tr == nil || tr.Status == plan.StatusPass || !strings.Contains(tr.Error, "fetch: backup "+m.ID+" is corrupt") {
			t.Fatalf("task %+v", tr)
		}
		mustBeClean(t, scratch)
	})

	t.Run("count mismatch", func(t *testing.T) {
		storage, m := backupOnce(t, ctx, src)
		for i := range m.Tables {
			if m.Tables[i].Name == "pgbench_branches" {
				m.Tables[i].Rows++
			}
		}
		store, _ := file.New(storage)
		if err := pgbackup.Write(ctx, store, m); err != nil {
			t.Fatal(err)
		}
		tr := failedDrill(t, ctx, storage)
		if tr == nil || tr.Metrics["drill.verify.mismatches"] != 1 || len(tr.Gates) != 1 || tr.Gates[0].Status != plan.StatusFail ||
			!strings.Contains(tr.Error, `"pgbench_branches": 1 rows, backup had 2`) {
			t.Fatalf("task %+v", tr)
		}
		mustBeClean(t, scratch)
	})
}

// TestDRDrillWorkerKilledBeforeTeardown kills the worker (SIGKILL) while
// the drill verifies, after the restore, with its scratch cluster
// running. A new worker resumes the run: verification is retried on the
// same cluster, the drill passes, and teardown removes the cluster the
// dead worker made.
func TestDRDrillWorkerKilledBeforeTeardown(t *testing.T) {
	_, src, scratch := drillSource(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	storage, _ := backupOnce(t, ctx, src)
	c := startCluster(t)

	r := starter(t, ctx, append([]string{"run", "--detach"}, c.args(writePlan(t, fmt.Sprintf(drillOnlyPlan, storage, 15)))...)...)
	if r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}
	runID := strings.TrimSpace(r.stdout)
	// Wait until the restore is done and verification has begun.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, _ := filepath.Glob(filepath.Join(scratch, "shipshape-drill-*", "restore-started"))
		left, _ := postgres.Leftovers(scratch, "restore-drill:")
		if len(m) == 1 && len(left) == 1 {
			// pg_restore of this small database takes a second or two;
			// the slow assertion holds verification for 15 s after it.
			time.Sleep(8 * time.Second)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the drill did not reach its restore:\n%s", c.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	before, _ := postgres.Leftovers(scratch, "restore-drill:")
	_ = c.worker.Process.Signal(syscall.SIGKILL)
	_ = c.worker.Wait()
	if len(before) != 1 || !before[0].Running {
		t.Fatalf("scratch cluster when the worker died: %+v", before)
	}
	list := starter(t, ctx, append([]string{"drills", "list", "--json"}, c.args()...)...)
	var listed []map[string]any
	if err := json.Unmarshal([]byte(list.stdout), &listed); err != nil || len(listed) != 2 || listed[0]["state"] != "running" {
		t.Errorf("drills list while the drill is pending: %v %s %s", err, list.stdout, list.stderr)
	}
	c.startWorker(t)

	rep := starter(t, ctx, append([]string{"report", "--format", "json"}, c.args(runID)...)...)
	var res plan.RunResult
	if err := json.Unmarshal([]byte(rep.stdout), &res); err != nil {
		t.Fatalf("report: %v\n%s", err, rep.stderr)
	}
	tr := res.Task("drill", "restore")
	if res.Result != plan.StatusPass || tr == nil || tr.Metrics["drill.verify.mismatches"] != 0 {
		t.Fatalf("result %s, task %+v", res.Result, tr)
	}
	mustBeClean(t, scratch)
}
