package awsrds_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/shipshape-dev/shipshape/integrations/awsrds"
	"github.com/shipshape-dev/shipshape/integrations/awsrds/rdstest"
	"github.com/shipshape-dev/shipshape/integrations/postgres/pgtest"
)

// TestRestoreAgainstProtocolFake drives a scratch instance through its
// life with the real aws-sdk-go-v2 RDS client against rdstest, a
// protocol-level fake (not AWS) whose instances' endpoint is a real
// PostgreSQL: newest snapshot, restore (retried: no second instance),
// wait, new master password (it opens the database), delete, wait.
func TestRestoreAgainstProtocolFake(t *testing.T) {
	pg := pgtest.Start(t, "test/rds")
	pgtest.Exec(t, pg.URL("postgres"), `CREATE ROLE dbadmin LOGIN PASSWORD 'unknown-to-the-drill'`)
	now := time.Now()
	fake := rdstest.Start(t, "127.0.0.1", pg.Port,
		rdstest.Snapshot{ID: "rds:prod-2026-11-28", Instance: "prod", Status: "available", User: "dbadmin", Created: now.Add(-48 * time.Hour)},
		rdstest.Snapshot{ID: "rds:prod-2026-11-29", Instance: "prod", Status: "available", User: "dbadmin", Created: now.Add(-24 * time.Hour)},
		rdstest.Snapshot{ID: "rds:prod-2026-11-30", Instance: "prod", Status: "creating", User: "dbadmin", Created: now},
	)
	fake.OnPassword = pgtest.PasswordSetter(pg.URL("postgres"))
	ctx := context.Background()
	c, err := awsrds.New(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	c.MinDelay, c.MaxDelay = 5*time.Millisecond, 20*time.Millisecond

	snap, err := c.NewestSnapshot(ctx, "prod", "")
	if err != nil || snap.ID != "rds:prod-2026-11-29" {
		t.Fatalf("newest available snapshot: %+v %v", snap, err)
	}
	if _, err := c.NewestSnapshot(ctx, "prod", "rds:prod-2026-11-30"); err == nil {
		t.Fatal("a snapshot still being created was chosen")
	}
	opts := awsrds.RestoreOptions{Class: "db.t3.micro", Tag: "restore-drill:run-1"}
	for range 2 {
		if err := c.Restore(ctx, snap.ID, "shipshape-drill-abc", opts); err != nil {
			t.Fatal(err)
		}
	}
	if got := fake.Instances(); len(got) != 1 || got[0] != "shipshape-drill-abc:creating" {
		t.Fatalf("instances %v", got)
	}
	if err := c.Restore(ctx, "rds:nope", "shipshape-drill-x", opts); err == nil || !strings.Contains(err.Error(), "DBSnapshotNotFound") {
		t.Fatalf("restore of a missing snapshot: %v", err)
	}
	inst, err := c.WaitAvailable(ctx, "shipshape-drill-abc", time.Minute)
	if err != nil || inst.Status != "available" || inst.Port != pg.Port || inst.User != "dbadmin" {
		t.Fatalf("available: %+v %v", inst, err)
	}
	if err := c.SetPassword(ctx, "shipshape-drill-abc", "drill-password-1"); err != nil {
		t.Fatal(err)
	}
	if inst, err = c.WaitAvailable(ctx, "shipshape-drill-abc", time.Minute); err != nil || inst.PasswordPending {
		t.Fatalf("after the password: %+v %v", inst, err)
	}
	pgtest.Exec(t, strings.Replace(pg.URL("postgres"), pg.Superuser+":"+pg.Password, "dbadmin:drill-password-1", 1), "SELECT 1")
	if tagged, err := c.Tagged(ctx); err != nil || tagged["shipshape-drill-abc"] != "restore-drill:run-1" {
		t.Fatalf("tagged %v %v", tagged, err)
	}
	for range 2 { // idempotent
		if _, err := c.Delete(ctx, "shipshape-drill-abc", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := fake.Instances(); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}

// Deleting an instance still being restored waits for it, then deletes.
func TestDeleteWhileCreating(t *testing.T) {
	fake := rdstest.Start(t, "127.0.0.1", 5432, rdstest.Snapshot{ID: "s1", Instance: "prod", Status: "available", User: "u", Created: time.Now()})
	ctx := context.Background()
	c, err := awsrds.New(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	c.MinDelay, c.MaxDelay = 5*time.Millisecond, 20*time.Millisecond
	if err := c.Restore(ctx, "s1", "shipshape-drill-y", awsrds.RestoreOptions{Tag: "t"}); err != nil {
		t.Fatal(err)
	}
	if deleted, err := c.Delete(ctx, "shipshape-drill-y", time.Minute); err != nil || !deleted {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if got := fake.Instances(); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}

// TestPointInTimeRestoreAgainstProtocolFake restores an instance as it
// was at a point in time with the real aws-sdk-go-v2 RDS client against
// rdstest, a protocol-level fake (not AWS): the window read from
// DescribeDBInstances and DescribeDBInstanceAutomatedBackups, a time
// inside it, the latest restorable time, a retried restore (no second
// instance), a time outside the window (InvalidRestoreFault), and a
// source without point-in-time recovery (PointInTimeRestoreNotEnabled).
func TestPointInTimeRestoreAgainstProtocolFake(t *testing.T) {
	fake := rdstest.Start(t, "127.0.0.1", 5432)
	now := time.Now().UTC().Truncate(time.Second)
	fake.AddSource(rdstest.Source{ID: "prod", User: "dbadmin", RetentionDays: 7, Earliest: now.Add(-7 * 24 * time.Hour), Latest: now.Add(-5 * time.Minute)})
	fake.AddSource(rdstest.Source{ID: "nobackups", User: "dbadmin"})
	ctx := context.Background()
	c, err := awsrds.New(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	c.MinDelay, c.MaxDelay = 5*time.Millisecond, 20*time.Millisecond

	w, err := c.RestoreWindow(ctx, "prod")
	if err != nil || !w.Earliest.Equal(now.Add(-7*24*time.Hour)) || !w.Latest.Equal(now.Add(-5*time.Minute)) {
		t.Fatalf("window %+v %v", w, err)
	}
	if _, err := c.RestoreWindow(ctx, "nobackups"); !errors.Is(err, awsrds.ErrPointInTimeNotEnabled) {
		t.Fatalf("window of an instance without PITR: %v", err)
	}
	opts := awsrds.RestoreOptions{Class: "db.t3.micro", Tag: "restore-drill:run-1"}
	point := now.Add(-36 * time.Hour)
	for range 2 { // retried: the same instance
		if err := c.RestoreToPoint(ctx, "prod", "shipshape-drill-pitr", point, opts); err != nil {
			t.Fatal(err)
		}
	}
	if at, latest, ok := fake.RestoredPoint("shipshape-drill-pitr"); !ok || latest || !at.Equal(point) {
		t.Fatalf("restored to %s (latest %v, %v)", at, latest, ok)
	}
	if err := c.RestoreToPoint(ctx, "prod", "shipshape-drill-latest", time.Time{}, opts); err != nil {
		t.Fatal(err)
	}
	if _, latest, ok := fake.RestoredPoint("shipshape-drill-latest"); !ok || !latest {
		t.Fatal("not restored to the latest restorable time")
	}
	err = c.RestoreToPoint(ctx, "prod", "shipshape-drill-old", now.Add(-8*24*time.Hour), opts)
	if !errors.Is(err, awsrds.ErrInvalidRestore) || !strings.Contains(err.Error(), "outside the restorable window") {
		t.Fatalf("restore outside the window: %v", err)
	}
	if err := c.RestoreToPoint(ctx, "nobackups", "shipshape-drill-x", time.Time{}, opts); !errors.Is(err, awsrds.ErrPointInTimeNotEnabled) {
		t.Fatalf("restore without PITR: %v", err)
	}
	if err := c.RestoreToPoint(ctx, "nope", "shipshape-drill-y", time.Time{}, opts); err == nil || !strings.Contains(err.Error(), "DBInstanceNotFound") {
		t.Fatalf("restore of an unknown instance: %v", err)
	}
	inst, err := c.WaitAvailable(ctx, "shipshape-drill-pitr", time.Minute)
	if err != nil || inst.User != "dbadmin" {
		t.Fatalf("available: %+v %v", inst, err)
	}
	if tagged, err := c.Tagged(ctx); err != nil || tagged["shipshape-drill-pitr"] != "restore-drill:run-1" || len(tagged) != 2 {
		t.Fatalf("tagged %v %v", tagged, err)
	}
	for _, id := range []string{"shipshape-drill-pitr", "shipshape-drill-latest"} {
		if deleted, err := c.Delete(ctx, id, time.Minute); err != nil || !deleted {
			t.Fatalf("delete %s: %v %v", id, deleted, err)
		}
	}
	if got := fake.Instances(); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
}

// TestFakeRestoreToPointParameters checks that rdstest, the
// protocol-level fake, refuses what RDS refuses of
// RestoreDBInstanceToPointInTime, sent with the real SDK client: both
// RestoreTime and UseLatestRestorableTime, neither, no source, and a
// target that exists.
func TestFakeRestoreToPointParameters(t *testing.T) {
	fake := rdstest.Start(t, "127.0.0.1", 5432)
	now := time.Now().UTC()
	fake.AddSource(rdstest.Source{ID: "prod", User: "u", RetentionDays: 1, Earliest: now.Add(-24 * time.Hour), Latest: now})
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	c := rds.NewFromConfig(cfg)
	for _, tc := range []struct {
		name string
		in   rds.RestoreDBInstanceToPointInTimeInput
		want string
	}{
		{"both", rds.RestoreDBInstanceToPointInTimeInput{SourceDBInstanceIdentifier: aws.String("prod"), TargetDBInstanceIdentifier: aws.String("t1"),
			RestoreTime: aws.Time(now.Add(-time.Hour)), UseLatestRestorableTime: aws.Bool(true)}, "InvalidParameterCombination"},
		{"neither", rds.RestoreDBInstanceToPointInTimeInput{SourceDBInstanceIdentifier: aws.String("prod"), TargetDBInstanceIdentifier: aws.String("t1")}, "InvalidParameterCombination"},
		{"no source", rds.RestoreDBInstanceToPointInTimeInput{TargetDBInstanceIdentifier: aws.String("t1"), UseLatestRestorableTime: aws.Bool(true)}, "InvalidParameterCombination"},
		{"bad target", rds.RestoreDBInstanceToPointInTimeInput{SourceDBInstanceIdentifier: aws.String("prod"), TargetDBInstanceIdentifier: aws.String("t--1"), UseLatestRestorableTime: aws.Bool(true)}, "InvalidParameterValue"},
		{"target is the source", rds.RestoreDBInstanceToPointInTimeInput{SourceDBInstanceIdentifier: aws.String("prod"), TargetDBInstanceIdentifier: aws.String("prod"), UseLatestRestorableTime: aws.Bool(true)}, "DBInstanceAlreadyExists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.RestoreDBInstanceToPointInTime(ctx, &tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
	if got := fake.Instances(); len(got) != 0 {
		t.Fatalf("instances %v", got)
	}
}
