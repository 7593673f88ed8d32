package restoredrill_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shipshape-dev/shipshape/activities/restoredrill"
	"github.com/shipshape-dev/shipshape/activities/tasktest"
	"github.com/shipshape-dev/shipshape/integrations/awsrds/rdstest"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
)

// TestDrillAWSRDSPointInTime drills RDS point-in-time restores with the
// real RDS client against rdstest, a protocol-level fake (not AWS) whose
// restored instances are served by a real PostgreSQL: a duration ago
// restores that very point (RestoreDBInstanceToPointInTime with
// RestoreTime; RPO 0 from it), latest restores the latest restorable
// time (UseLatestRestorableTime; RPO from it), and teardown deletes the
// instance. A point outside the window, or an instance without
// point-in-time recovery, is refused naming the window or the cause.
func TestDrillAWSRDSPointInTime(t *testing.T) {
	pg := cloudSource(t, "dbadmin")
	fake := rdstest.Start(t, "127.0.0.1", pg.Port)
	fake.OnPassword = pgtest.PasswordSetter(pg.URL("postgres"))
	now := time.Now().UTC().Truncate(time.Second)
	earliest, latest := now.Add(-3*24*time.Hour), now.Add(-5*time.Minute)
	fake.AddSource(rdstest.Source{ID: "prod", User: "dbadmin", RetentionDays: 3, Earliest: earliest, Latest: latest})
	fake.AddSource(rdstest.Source{ID: "nopitr", User: "dbadmin"})
	target := map[string]any{"kind": "aws-rds", "instance": "prod", "region": "eu-west-1", "sslmode": "disable"}
	drill := func(t *testing.T, rp string, tgt map[string]any) *drillSteps {
		d := newDrill(t, map[string]any{"database": "app", "target": tgt, "recoveryPoint": rp,
			"assertions": []any{map[string]any{"name": "accounts", "sql": "SELECT count(*) FROM pgbench_accounts", "expect": "100000"}}})
		d.cfg.RDSPoll = 5 * time.Millisecond
		return d
	}

	t.Run("duration ago", func(t *testing.T) {
		d := drill(t, "36h", target)
		d.must(restoredrill.Select, &d.step.Backup)
		b := d.step.Backup
		if age := now.Sub(b.Point); age < 36*time.Hour-time.Minute || age > 36*time.Hour+time.Minute || !b.Finished.Equal(b.Point) || !strings.HasPrefix(b.ID, "prod@") {
			t.Fatalf("backup %+v", b)
		}
		d.must(restoredrill.Provision, &d.step.Target)
		d.must(restoredrill.Provision, &d.step.Target) // retried: the same instance
		if got := fake.Instances(); len(got) != 1 {
			t.Fatalf("instances %v", got)
		}
		id := strings.Split(fake.Instances()[0], ":")[0]
		if at, isLatest, ok := fake.RestoredPoint(id); !ok || isLatest || !at.Equal(b.Point) {
			t.Fatalf("restored to %s (latest %v, point-in-time %v), want %s", at, isLatest, ok, b.Point)
		}
		d.restoreAndVerify()
		if got := fake.Instances(); len(got) != 0 {
			t.Fatalf("left: %v", got)
		}
	})

	t.Run("latest", func(t *testing.T) {
		d := drill(t, "latest", target)
		d.must(restoredrill.Select, &d.step.Backup)
		if b := d.step.Backup; !b.Point.IsZero() || !b.Finished.Equal(latest) {
			t.Fatalf("backup %+v", b)
		}
		d.must(restoredrill.Provision, &d.step.Target)
		id := strings.Split(fake.Instances()[0], ":")[0]
		if _, isLatest, ok := fake.RestoredPoint(id); !ok || !isLatest {
			t.Fatal("not restored to the latest restorable time")
		}
		d.restoreAndVerify()
	})

	t.Run("random", func(t *testing.T) {
		d := drill(t, "random", target)
		d.must(restoredrill.Select, &d.step.Backup)
		if b := d.step.Backup; b.Point.Before(earliest) || b.Point.After(latest) || !b.Finished.Equal(b.Point) {
			t.Fatalf("random point %+v outside %s..%s", b, earliest, latest)
		}
	})

	t.Run("outside the window", func(t *testing.T) {
		d := drill(t, "96h", target)
		err := d.do(restoredrill.Select, &d.step.Backup)
		tasktest.MustKind(t, err, tasktest.Invalid, "outside the retention window", "point-in-time restore window of prod runs from "+earliest.Format(time.RFC3339)+" to "+latest.Format(time.RFC3339))
	})

	t.Run("not enabled", func(t *testing.T) {
		d := drill(t, "latest", map[string]any{"kind": "aws-rds", "instance": "nopitr", "region": "eu-west-1"})
		err := d.do(restoredrill.Select, &d.step.Backup)
		tasktest.MustKind(t, err, tasktest.Invalid, "recoveryPoint", "point-in-time recovery is not enabled")
	})

	t.Run("validation", func(t *testing.T) {
		problems := restoredrill.Decl.Check(map[string]any{"database": "app", "recoveryPoint": "latest",
			"target": map[string]any{"kind": "aws-rds", "instance": "prod", "snapshot": "rds:x"}})
		if len(problems) != 1 || problems[0].Param != "recoveryPoint" || !strings.Contains(problems[0].Msg, "target.snapshot") {
			t.Fatalf("problems %+v", problems)
		}
	})
}
