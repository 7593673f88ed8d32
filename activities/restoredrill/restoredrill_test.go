package restoredrill_test

import (
	"context"
	"fmt"
	"github.com/jackc/pgx/v5"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/backup"
	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/awsrds/rdstest"
	"github.com/shipshape-dev/shipshape/integrations/azurepg"
	"github.com/shipshape-dev/shipshape/integrations/azurepg/armtest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/azuritetest"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/file"
	"github.com/shipshape-dev/shipshape/integrations/blobstore/s3test"
	"github.com/shipshape-dev/shipshape/integrations/postgres"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
	"github.com/shipshape-dev/shipshape/plan"
)

// drillSteps runs the restore drill's step activities, one by one, in
// Temporal's activity test environment, as the drill's Workflow does.
type drillSteps struct {
	t *testing.T
	// cfg configures the drill each step runs with.
	cfg  restoredrill.Config
	step restoredrill.Step
}

func newDrill(t *testing.T, with map[string]any) *drillSteps {
	cfg := restoredrill.Config{Logger: slog.New(slog.DiscardHandler), ScratchDir: t.TempDir()}
	return &drillSteps{t: t, cfg: cfg, step: restoredrill.Step{
		ID: "run-1/task/dr/" + t.Name(),
		Task: task.Input{RunID: "run-1", Plan: "dr", Phase: "dr", Task: "drill", Uses: restoredrill.Name,
			Params: tasktest.WithDefaults(t, plan.Catalog{restoredrill.Name: restoredrill.Decl}, restoredrill.Name, with)},
	}}
}

// do runs step name and decodes its result into out.
func (d *drillSteps) do(name string, out any) error {
	d.t.Helper()
	r := &tasktest.Runner{Types: []task.Type{restoredrill.New(d.cfg).Type()}}
	return r.Step(d.t, name, d.step, out)
}

func (d *drillSteps) must(name string, out any) {
	d.t.Helper()
	if err := d.do(name, out); err != nil {
		d.t.Fatalf("%s: %v", name, err)
	}
}

// untilRestored runs select, provision, fetch and restore.
func (d *drillSteps) untilRestored() (fetch, restore restoredrill.Result) {
	d.t.Helper()
	d.must(restoredrill.Select, &d.step.Backup)
	d.must(restoredrill.Provision, &d.step.Target)
	d.must(restoredrill.Fetch, &fetch)
	d.must(restoredrill.Restore, &restore)
	return fetch, restore
}

// targetURL is the URL of a local target, password included.
func (d *drillSteps) targetURL() string {
	pw, err := os.ReadFile(filepath.Join(d.cfg.ScratchDir, "shipshape-drill-"+drillDirSuffix(d), "password"))
	if err != nil {
		d.t.Fatal(err)
	}
	return "postgres://" + d.step.Target.User + ":" + string(pw) + "@127.0.0.1:" + strconv.Itoa(d.step.Target.Port) + "/" + d.step.Target.Database + "?sslmode=disable"
}

// downloadedHalf leaves the first half of backup in the drill's partial
// download, as a fetch cut short would, and returns its length.
func (d *drillSteps) downloadedHalf(backup []byte) int {
	d.t.Helper()
	half := len(backup) / 2
	dir := filepath.Join(d.cfg.ScratchDir, "shipshape-drill-"+drillDirSuffix(d))
	if err := os.WriteFile(filepath.Join(dir, "download.part"), backup[:half], 0o600); err != nil {
		d.t.Fatal(err)
	}
	return half
}

func drillDirSuffix(d *drillSteps) string {
	m, _ := filepath.Glob(filepath.Join(d.cfg.ScratchDir, "shipshape-drill-*"))
	if len(m) != 1 {
		d.t.Fatalf("drill directories: %v", m)
	}
	return strings.TrimPrefix(filepath.Base(m[0]), "shipshape-drill-")
}

// runBackup runs a backup task, to make the backups drills restore.
func runBackup(t *testing.T, with map[string]any) (task.Output, error) {
	t.Helper()
	return tasktest.Run(t, backup.New(slog.New(slog.DiscardHandler), nil).Type(), with)
}

// seededBackup backs up a seeded database into a directory store.
func seededBackup(t *testing.T, format string) (c *postgres.Cluster, src, storeDir string) {
	c = pgtest.Start(t, "test/drill-source")
	src = pgtest.CreateDB(t, c, "app")
	pgtest.Seed(t, src, 1)
	storeDir = t.TempDir()
	if _, err := runBackup(t, map[string]any{"source": src, "storage": storeDir, "format": format, "jobs": map[string]int{"custom": 1, "directory": 2}[format]}); err != nil {
		t.Fatal(err)
	}
	return c, src, storeDir
}

// TestDrillLocalTarget restores a real backup (both formats) on a local
// scratch cluster, verifies every table against the manifest, runs the
// assertions, marks the backup verified and tears the cluster down.
func TestDrillLocalTarget(t *testing.T) {
	for _, c := range []struct {
		format string
		jobs   int
	}{{"custom", 1}, {"custom", 2}, {"directory", 2}} {
		format := c.format
		t.Run(fmt.Sprintf("%s-jobs-%d", c.format, c.jobs), func(t *testing.T) {
			_, _, storeDir := seededBackup(t, format)
			d := newDrill(t, map[string]any{"storage": storeDir, "database": "app", "jobs": c.jobs, "assertions": []any{
				map[string]any{"name": "accounts", "sql": "SELECT count(*) FROM pgbench_accounts", "expect": "100000"},
				map[string]any{"name": "documents", "sql": "SELECT count(*) FROM docs WHERE body ? 'tags'", "expect": ">= 500"},
			}})
			fetch, restore := d.untilRestored()
			if fetch.Metrics["drill.bytes"] <= 0 || restore.Metrics["drill.restore.duration"] <= 0 {
				t.Fatalf("fetch %v, restore %v", fetch, restore)
			}
			if d.step.Target.Kind != "local" || d.step.Target.Port == 0 || d.step.Backup.Database != "app" {
				t.Fatalf("step %+v", d.step)
			}
			// One job streams the custom format from the compressed
			// backup: no unpacked copy on disk.
			streamed := c.jobs == 1
			_, err := os.Stat(filepath.Join(d.cfg.ScratchDir, "shipshape-drill-"+drillDirSuffix(d), "dump"))
			if streamed != strings.Contains(restore.Message, "streamed from the backup") || streamed != os.IsNotExist(err) {
				t.Fatalf("restore %q; unpacked dump: %v", restore.Message, err)
			}
			var v restoredrill.Result
			d.must(restoredrill.Verify, &v)
			if !v.Verified || v.Metrics["drill.verify.mismatches"] != 0 || v.Metrics["drill.assertions.failed"] != 0 || v.Metrics["drill.tables"] != 5 {
				t.Fatalf("verify %+v", v)
			}
			store, _ := file.New(storeDir)
			list, _ := pgbackup.List(context.Background(), store, "app")
			if len(list) != 1 || list[0].Verified == nil || list[0].Verified.Drill != d.step.ID {
				t.Fatalf("the backup is not marked verified: %+v", list[0])
			}
			clusters, _ := postgres.Leftovers(d.cfg.ScratchDir, restoredrill.Tag(d.step.ID))
			if len(clusters) != 1 || !clusters[0].Running {
				t.Fatalf("scratch clusters before teardown: %+v", clusters)
			}
			d.must(restoredrill.Teardown, nil)
			d.must(restoredrill.Teardown, nil) // idempotent
			if left, _ := postgres.Leftovers(d.cfg.ScratchDir, ""); len(left) != 0 {
				t.Fatalf("left after teardown: %+v", left)
			}
			if m, _ := filepath.Glob(filepath.Join(d.cfg.ScratchDir, "*")); len(m) != 0 {
				t.Fatalf("scratch directory not empty: %v", m)
			}
		})
	}
}

// TestDrillDetectsAlteredRestore changes the restored data before
// verification: one deleted row and one changed row are mismatches, a
// failing assertion is counted, and the backup is not marked verified.
func TestDrillDetectsAlteredRestore(t *testing.T) {
	_, _, storeDir := seededBackup(t, "custom")
	d := newDrill(t, map[string]any{"storage": storeDir, "database": "app", "assertions": []any{
		map[string]any{"name": "branches", "sql": "SELECT count(*) FROM pgbench_branches", "expect": "1"},
		map[string]any{"name": "broken", "sql": "SELECT count(*) FROM no_such_table", "expect": "0"},
	}})
	d.untilRestored()
	pgtest.Exec(t, d.targetURL(), `DELETE FROM docs WHERE id = 7`, `UPDATE pgbench_tellers SET tbalance = 1 WHERE tid = 3`)
	var v restoredrill.Result
	d.must(restoredrill.Verify, &v)
	if v.Verified || v.Metrics["drill.verify.mismatches"] != 2 || v.Metrics["drill.assertions.failed"] != 1 {
		t.Fatalf("verify %+v", v)
	}
	for _, want := range []string{`"docs": 499 rows, backup had 500`, `"pgbench_tellers": checksum differs`} {
		if !strings.Contains(v.Message, want) {
			t.Errorf("message lacks %q:\n%s", want, v.Message)
		}
	}
	store, _ := file.New(storeDir)
	if list, _ := pgbackup.List(context.Background(), store, "app"); list[0].Verified != nil {
		t.Fatal("an altered restore marked the backup verified")
	}
	d.must(restoredrill.Teardown, nil)
}

// TestDrillVerifiesOlderManifests: a manifest written before checksum
// methods were recorded (md5 sums, no "checksum" field) is verified with
// md5 and passes; the same manifest with one table's sum altered fails
// on that table.
func TestDrillVerifiesOlderManifests(t *testing.T) {
	_, src, storeDir := seededBackup(t, "custom")
	ctx := context.Background()
	store, _ := file.New(storeDir)
	m, err := pgbackup.Find(ctx, store, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	old, err := postgres.TableSums(ctx, conn, postgres.SumMD5) // the source has not changed since the backup
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Tables, m.Checksum = old, ""
	if err := pgbackup.Write(ctx, store, m); err != nil {
		t.Fatal(err)
	}
	d := newDrill(t, map[string]any{"storage": storeDir, "database": "app"})
	d.untilRestored()
	var v restoredrill.Result
	d.must(restoredrill.Verify, &v)
	if !v.Verified || v.Metrics["drill.verify.mismatches"] != 0 {
		t.Fatalf("an md5 manifest did not verify: %+v", v)
	}

	for i := range m.Tables {
		if m.Tables[i].Name == "pgbench_branches" {
			m.Tables[i].Checksum = "1"
		}
	}
	if err := pgbackup.Write(ctx, store, m); err != nil {
		t.Fatal(err)
	}
	var v2 restoredrill.Result
	d.must(restoredrill.Verify, &v2)
	if v2.Verified || v2.Metrics["drill.verify.mismatches"] != 1 || !strings.Contains(v2.Message, `"pgbench_branches": checksum differs`) {
		t.Fatalf("altered md5 manifest: %+v", v2)
	}
	d.must(restoredrill.Teardown, nil)
}

// TestDrillRefusesCorruptBackup flips one byte of a stored dump: the
// fetch fails, not retryable, naming both hashes.
func TestDrillRefusesCorruptBackup(t *testing.T) {
	_, _, storeDir := seededBackup(t, "custom")
	store, _ := file.New(storeDir)
	m, _ := pgbackup.Find(context.Background(), store, "app", "")
	path := filepath.Join(storeDir, filepath.FromSlash(m.Key))
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDrill(t, map[string]any{"storage": storeDir, "database": "app"})
	d.must(restoredrill.Select, &d.step.Backup)
	d.must(restoredrill.Provision, &d.step.Target)
	err := d.do(restoredrill.Fetch, nil)
	tasktest.MustKind(t, err, tasktest.Kind("non-retryable "+restoredrill.ErrBackupCorrupt), "is corrupt", m.SHA256)
	d.must(restoredrill.Teardown, nil)
}

// TestDrillFetchResumes leaves half a download behind, as a worker killed
// mid-fetch would: the next attempt downloads only the rest and the hash
// still checks out.
func TestDrillFetchResumes(t *testing.T) {
	_, _, storeDir := seededBackup(t, "custom")
	d := newDrill(t, map[string]any{"storage": storeDir, "database": "app", "target": map[string]any{"kind": "local"}})
	d.must(restoredrill.Select, &d.step.Backup)
	d.must(restoredrill.Provision, &d.step.Target)
	whole, _ := os.ReadFile(filepath.Join(storeDir, filepath.FromSlash(d.step.Backup.Key)))
	half := d.downloadedHalf(whole)
	var fetch restoredrill.Result
	d.must(restoredrill.Fetch, &fetch)
	if fetch.Metrics["drill.bytes"] != float64(len(whole)-half) || !strings.Contains(fetch.Message, "resumed at") {
		t.Fatalf("fetch %+v (whole %d)", fetch, len(whole))
	}
	d.must(restoredrill.Restore, nil)
	var v restoredrill.Result
	d.must(restoredrill.Verify, &v)
	if !v.Verified {
		t.Fatalf("verify %+v", v)
	}
	d.must(restoredrill.Teardown, nil)
}

// TestDrillURLTarget restores into a database given by URL: the source
// itself is refused, a non-empty database is refused without allowWipe
// and emptied with it.
func TestDrillURLTarget(t *testing.T) {
	c, src, storeDir := seededBackup(t, "custom")
	d := newDrill(t, map[string]any{"storage": storeDir, "database": "app", "target": map[string]any{"kind": "url", "url": src}})
	d.must(restoredrill.Select, &d.step.Backup)
	tasktest.MustKind(t, d.do(restoredrill.Provision, nil), tasktest.Invalid, "target.url", "is the backup's source")

	other := pgtest.CreateDB(t, c, "scratch")
	pgtest.Exec(t, other, `CREATE TABLE leftover (x int)`, `INSERT INTO leftover VALUES (1)`)
	d.step.Task.Params["target"] = map[string]any{"kind": "url", "url": other}
	tasktest.MustKind(t, d.do(restoredrill.Provision, nil), tasktest.Invalid, `database "scratch" is not empty`, "allowWipe")

	d.step.Task.Params["target"] = map[string]any{"kind": "url", "url": other, "allowWipe": true}
	d.must(restoredrill.Provision, &d.step.Target)
	d.must(restoredrill.Fetch, nil)
	d.must(restoredrill.Restore, nil)
	var v restoredrill.Result
	d.must(restoredrill.Verify, &v)
	if !v.Verified {
		t.Fatalf("verify %+v", v)
	}
	d.must(restoredrill.Teardown, nil)
}

// TestDrillCloudStorage backs up to an S3 bucket (an in-process S3
// server) and to an Azure Blob container (Azurite) with the real SDK
// clients, then drills each backup: a fetch that resumes from half a
// download (a ranged read), a restore and a verification that marks the
// backup verified in the bucket.
func TestDrillCloudStorage(t *testing.T) {
	for _, kind := range []string{"s3", "azblob"} {
		t.Run(kind, func(t *testing.T) {
			var storage string
			switch kind {
			case "s3":
				storage = s3test.Start(t, "backups").URL("pg/")
			case "azblob":
				storage = azuritetest.Start(t, "backups").URL("pg/")
			}
			c := pgtest.Start(t, "test/drill-source")
			src := pgtest.CreateDB(t, c, "app")
			pgtest.Seed(t, src, 1)
			for range 2 {
				if _, err := runBackup(t, map[string]any{"source": src, "storage": storage, "format": "directory", "jobs": 2, "keep": 1}); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			store, err := pgbackup.Open(ctx, storage)
			if err != nil {
				t.Fatal(err)
			}
			list, err := pgbackup.List(ctx, store, "app")
			if err != nil || len(list) != 1 {
				t.Fatalf("backups after keep: 1: %+v, %v", list, err)
			}

			d := newDrill(t, map[string]any{"storage": storage, "database": "app", "target": map[string]any{"kind": "local"}})
			d.must(restoredrill.Select, &d.step.Backup)
			d.must(restoredrill.Provision, &d.step.Target)
			r, err := store.Open(ctx, d.step.Backup.Key, 0)
			if err != nil {
				t.Fatal(err)
			}
			whole, _ := io.ReadAll(r)
			r.Close()
			half := d.downloadedHalf(whole)
			var fetch restoredrill.Result
			d.must(restoredrill.Fetch, &fetch)
			if fetch.Metrics["drill.bytes"] != float64(len(whole)-half) {
				t.Fatalf("fetch %+v (whole %d)", fetch, len(whole))
			}
			d.must(restoredrill.Restore, nil)
			var v restoredrill.Result
			d.must(restoredrill.Verify, &v)
			if !v.Verified || v.Metrics["drill.verify.mismatches"] != 0 {
				t.Fatalf("verify %+v", v)
			}
			d.must(restoredrill.Teardown, nil)
			list, _ = pgbackup.List(ctx, store, "app")
			if len(list) != 1 || list[0].Verified == nil {
				t.Fatalf("the backup is not marked verified in %s: %+v", kind, list)
			}
		})
	}
}

// TestDrillDockerTarget: without a Docker engine (as on this project's
// machines) the docker target is a clear, non-retried error that points
// to the local target, and teardown has nothing to do. Where an engine
// runs, the drill restores into a container and removes it.
func TestDrillDockerTarget(t *testing.T) {
	_, _, storeDir := seededBackup(t, "custom")
	d := newDrill(t, map[string]any{"storage": storeDir, "database": "app", "target": map[string]any{"kind": "docker"}})
	d.must(restoredrill.Select, &d.step.Backup)
	err := d.do(restoredrill.Provision, &d.step.Target)
	if err != nil {
		tasktest.MustKind(t, err, tasktest.Invalid, "kind docker", "no Docker engine", "kind local")
		d.must(restoredrill.Teardown, nil)
		t.Skipf("the docker target restores only where a Docker engine runs: %v", err)
	}
	defer d.must(restoredrill.Teardown, nil)
	d.must(restoredrill.Fetch, nil)
	d.must(restoredrill.Restore, nil)
	var v restoredrill.Result
	d.must(restoredrill.Verify, &v)
	if !v.Verified {
		t.Fatalf("verify %+v", v)
	}
}

// cloudSource is a real PostgreSQL standing in for a cloud backup's
// data: a seeded database app and a superuser admin, as a managed
// server's administrator.
func cloudSource(t *testing.T, admin string) *postgres.Cluster {
	pg := pgtest.Start(t, "test/cloud-restore")
	pgtest.Seed(t, pgtest.CreateDB(t, pg, "app"), 1)
	pgtest.Exec(t, pg.URL("postgres"), `CREATE ROLE `+admin+` LOGIN SUPERUSER PASSWORD 'the-source-password'`)
	return pg
}

// cloudDrill is a drill of the database app on target, asserting the
// seeded accounts are all there.
func cloudDrill(t *testing.T, target map[string]any) *drillSteps {
	return newDrill(t, map[string]any{"database": "app", "target": target,
		"assertions": []any{map[string]any{"name": "accounts", "sql": "SELECT count(*) FROM pgbench_accounts", "expect": "100000"}}})
}

// restoreAndVerify runs a provisioned cloud drill's fetch, restore and
// verification, then teardown twice (idempotent).
func (d *drillSteps) restoreAndVerify() (restore, verify restoredrill.Result) {
	d.t.Helper()
	d.must(restoredrill.Fetch, nil)
	d.must(restoredrill.Restore, &restore)
	d.must(restoredrill.Verify, &verify)
	if !verify.Verified || verify.Metrics["drill.assertions.failed"] != 0 || verify.Metrics["drill.rows"] < 100000 {
		d.t.Fatalf("verify %+v", verify)
	}
	d.must(restoredrill.Teardown, nil)
	d.must(restoredrill.Teardown, nil)
	return restore, verify
}

// TestDrillAWSRDSTarget drills an RDS snapshot with the real RDS client
// against rdstest, a protocol-level fake (not AWS) whose restored
// instances are served by a real PostgreSQL holding the snapshot's data:
// the newest available snapshot is restored into a scratch instance,
// its master password is reset (the drill connects with it), the tables
// are read and the assertions run, and teardown deletes the instance.
func TestDrillAWSRDSTarget(t *testing.T) {
	pg := cloudSource(t, "dbadmin")
	taken := time.Now().Add(-6 * time.Hour)
	fake := rdstest.Start(t, "127.0.0.1", pg.Port,
		rdstest.Snapshot{ID: "rds:prod-old", Instance: "prod", Status: "available", User: "dbadmin", Created: taken.Add(-24 * time.Hour)},
		rdstest.Snapshot{ID: "rds:prod-new", Instance: "prod", Status: "available", User: "dbadmin", Created: taken},
	)
	fake.OnPassword = pgtest.PasswordSetter(pg.URL("postgres"))
	d := cloudDrill(t, map[string]any{"kind": "aws-rds", "instance": "prod", "region": "eu-west-1", "sslmode": "disable"})
	d.cfg.RDSPoll = 5 * time.Millisecond
	d.must(restoredrill.Select, &d.step.Backup)
	if d.step.Backup.ID != "rds:prod-new" || !d.step.Backup.Finished.Equal(taken.UTC().Truncate(time.Second)) {
		t.Fatalf("backup %+v", d.step.Backup)
	}
	d.must(restoredrill.Provision, &d.step.Target)
	d.must(restoredrill.Provision, &d.step.Target) // retried: the same instance
	if got := fake.Instances(); len(got) != 1 || d.step.Target.Kind != "aws-rds" || d.step.Target.User != "dbadmin" {
		t.Fatalf("instances %v, target %+v", got, d.step.Target)
	}
	if restore, _ := d.restoreAndVerify(); restore.Metrics["drill.restore.duration"] <= 0 {
		t.Fatalf("restore %+v", restore)
	}
	if got := fake.Instances(); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}

// TestDrillAzureFlexibleTarget drills a point-in-time restore of an Azure
// flexible server with the real armpostgresqlflexibleservers client
// against armtest, a protocol-level fake of Azure Resource Manager (not
// Azure) whose restored servers are served by a real PostgreSQL.
func TestDrillAzureFlexibleTarget(t *testing.T) {
	pg := cloudSource(t, "pgadmin")
	fake := armtest.Start(t, "127.0.0.1")
	fake.AddServer("rg-prod", "prod-pg", "westeurope", "pgadmin", time.Now().Add(-7*24*time.Hour))
	fake.OnPassword = pgtest.PasswordSetter(pg.URL("postgres"))
	server := "/subscriptions/sub-1/resourceGroups/rg-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/prod-pg"
	d := cloudDrill(t, map[string]any{"kind": "azure-postgres-flexible", "server": server, "port": float64(pg.Port), "sslmode": "disable"})
	d.cfg.AzurePG = func(sub string) (*azurepg.Client, error) {
		return azurepg.New(sub, armtest.Credential(), fake.ClientOptions())
	}
	d.cfg.AzurePoll = 5 * time.Millisecond
	d.must(restoredrill.Select, &d.step.Backup)
	if age := time.Since(d.step.Backup.Finished); age < 9*time.Minute || age > 11*time.Minute {
		t.Fatalf("restore point %s ago", age)
	}
	d.must(restoredrill.Provision, &d.step.Target)
	d.must(restoredrill.Provision, &d.step.Target) // retried: the same server
	if got := fake.Servers(); len(got) != 2 || d.step.Target.User != "pgadmin" {
		t.Fatalf("servers %v, target %+v", got, d.step.Target)
	}
	d.restoreAndVerify()
	if got := fake.Servers(); len(got) != 1 || got[0] != "prod-pg:Ready" {
		t.Fatalf("servers after teardown: %v", got)
	}
}

// TestDrillAzureRecoveryPoint: recoveryPoint on an Azure flexible server
// target (the real ARM client against armtest, a protocol-level fake, not
// Azure) chooses a point within the server's restore window, from its
// earliest restore date to 10 minutes ago: a duration ago, a random
// point, or a timestamp; a timestamp before the window fails naming it.
func TestDrillAzureRecoveryPoint(t *testing.T) {
	fake := armtest.Start(t, "127.0.0.1")
	earliest := time.Now().Add(-3 * 24 * time.Hour)
	fake.AddServer("rg-prod", "prod-pg", "westeurope", "pgadmin", earliest)
	server := "/subscriptions/sub-1/resourceGroups/rg-prod/providers/Microsoft.DBforPostgreSQL/flexibleServers/prod-pg"
	sel := func(point string) (restoredrill.Backup, error) {
		d := newDrill(t, map[string]any{"database": "app", "recoveryPoint": point,
			"target": map[string]any{"kind": "azure-postgres-flexible", "server": server, "port": float64(5432), "sslmode": "disable"}})
		d.cfg.AzurePG = func(sub string) (*azurepg.Client, error) {
			return azurepg.New(sub, armtest.Credential(), fake.ClientOptions())
		}
		var b restoredrill.Backup
		err := d.do(restoredrill.Select, &b)
		return b, err
	}
	b, err := sel("2h")
	if err != nil {
		t.Fatal(err)
	}
	if ago := time.Since(b.Point); ago < 119*time.Minute || ago > 121*time.Minute || !b.Finished.Equal(b.Point) {
		t.Errorf("2h: point %s (%s ago), finished %s", b.Point, ago, b.Finished)
	}
	for range 5 {
		b, err := sel("random")
		if err != nil {
			t.Fatal(err)
		}
		if b.Point.Before(earliest.Add(-time.Second)) || time.Since(b.Point) < 9*time.Minute {
			t.Errorf("random: point %s outside the window %s … 10m ago", b.Point, earliest)
		}
	}
	at := time.Now().Add(-30 * time.Hour).UTC().Truncate(time.Second)
	if b, err := sel(at.Format(time.RFC3339)); err != nil || !b.Point.Equal(at) {
		t.Errorf("timestamp: %+v, %v", b, err)
	}
	_, err = sel(time.Now().Add(-10 * 24 * time.Hour).UTC().Format(time.RFC3339))
	tasktest.MustKind(t, err, tasktest.Invalid, "restore points of prod-pg")
}

// TestLeftoversOfADrillThatNeverResumes stops a drill with a validation
// window after it filed its password, as a run terminated during the
// window would: the cluster, the drill's directory and the secret are
// all listed as leftovers, and removing them leaves nothing.
func TestLeftoversOfADrillThatNeverResumes(t *testing.T) {
	_, _, storeDir := seededBackup(t, "custom")
	d := newDrill(t, map[string]any{"storage": storeDir, "database": "app", "keepFor": "1h"})
	d.cfg.SecretsDir = t.TempDir()
	d.untilRestored()
	var c restoredrill.Connection
	d.must(restoredrill.Ready, &c)
	if c.PasswordRef == "" {
		t.Fatalf("connection %+v", c)
	}
	ctx := context.Background()
	left, err := restoredrill.Leftovers(ctx, d.cfg.ScratchDir, d.cfg.SecretsDir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, l := range left {
		if l.Drill != d.step.ID {
			t.Errorf("leftover of drill %q, want %q", l.Drill, d.step.ID)
		}
		kinds[l.Kind] = l.Path
	}
	if len(left) != 3 || kinds["cluster"] == "" || kinds["directory"] == "" || kinds["secret"] != c.PasswordRef {
		t.Fatalf("leftovers %+v", left)
	}
	for _, l := range left {
		if err := l.Remove(ctx); err != nil {
			t.Fatalf("remove %s: %v", l.Kind, err)
		}
	}
	if again, err := restoredrill.Leftovers(ctx, d.cfg.ScratchDir, d.cfg.SecretsDir); err != nil || len(again) != 0 {
		t.Fatalf("left after removal: %+v, %v", again, err)
	}
	store, _ := local.Open(d.cfg.SecretsDir)
	if names, _ := store.Names(ctx); len(names) != 0 {
		t.Fatalf("secrets left: %v", names)
	}
}
