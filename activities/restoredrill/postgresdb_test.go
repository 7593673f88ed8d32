package restoredrill_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
)

// TestDrillOfThePostgresDatabase drills a backup of the database named
// postgres — the default database of many small deployments and of RDS.
// The scratch database is made again over a connection to another
// database: PostgreSQL cannot drop the database a session is in.
func TestDrillOfThePostgresDatabase(t *testing.T) {
	c := pgtest.Start(t, "test/drill-postgres")
	src := c.URL("postgres")
	pgtest.Seed(t, src, 2)
	storeDir := t.TempDir()
	if _, err := runBackup(t, map[string]any{"source": src, "storage": storeDir, "format": "custom", "jobs": 1}); err != nil {
		t.Fatal(err)
	}
	d := newDrill(t, map[string]any{"storage": storeDir, "source": src, "assertions": []any{
		map[string]any{"name": "accounts", "sql": "SELECT count(*) FROM pgbench_accounts", "expect": "200000"},
	}})
	d.untilRestored()
	if d.step.Backup.Database != "postgres" || d.step.Target.Database != "postgres" {
		t.Fatalf("step %+v", d.step)
	}
	var v restoredrill.Result
	d.must(restoredrill.Verify, &v)
	if !v.Verified || v.Metrics["drill.verify.mismatches"] != 0 || v.Metrics["drill.tables"] != 5 {
		t.Fatalf("verify %+v", v)
	}
	d.must(restoredrill.Teardown, nil)
}
