package restoredrill

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/integrations/awsrds"
	"github.com/shipshape-dev/shipshape/internal/pgbackup"
)

// rdsWait bounds each wait for an RDS instance (restores of large
// snapshots take a while); the task's timeout bounds the drill.
const rdsWait = 2 * time.Hour

// rdsInstanceID is the scratch instance's identifier: derived from the
// drill, so a retried or resumed step finds the instance an earlier
// attempt made.
func rdsInstanceID(drill string) string {
	sum := sha256.Sum256([]byte(drill))
	return "shipshape-drill-" + hex.EncodeToString(sum[:8])
}

func (d *Drill) rdsClient(ctx context.Context, s Step) (*awsrds.Client, error) {
	c, err := awsrds.New(ctx, s.Task.Params.Object("target").String("region"))
	if err != nil {
		return nil, err
	}
	if d.rdsPoll > 0 {
		c.MinDelay, c.MaxDelay = d.rdsPoll, 4*d.rdsPoll
	}
	return c, nil
}

// selectRDSSnapshot picks the newest available snapshot of the target's
// instance, or the one named.
func (d *Drill) selectRDSSnapshot(ctx context.Context, s Step) (Backup, error) {
	t := s.Task.Params.Object("target")
	c, err := d.rdsClient(ctx, s)
	if err != nil {
		return Backup{}, err
	}
	rp, err := parseRecoveryPoint(s.Task.Params.String("recoveryPoint"), time.Now())
	if err != nil {
		return Backup{}, task.InvalidParams("recoveryPoint: %v", err)
	}
	var snap awsrds.Snapshot
	var point time.Time
	if rp.latest || t.String("snapshot") != "" {
		snap, err = c.NewestSnapshot(ctx, t.String("instance"), t.String("snapshot"))
	} else {
		var snaps []awsrds.Snapshot
		if snaps, err = c.Snapshots(ctx, t.String("instance")); err != nil {
			return Backup{}, err
		}
		ends := make([]time.Time, len(snaps))
		for i, sn := range snaps {
			ends[i] = sn.Created
		}
		var i int
		if i, point, err = rp.choose(ends, time.Now(), "available snapshots of "+t.String("instance")); err == nil {
			snap = snaps[i]
		}
	}
	if err != nil {
		return Backup{}, temporal.NewNonRetryableApplicationError(err.Error(), task.ErrInvalidParams, nil)
	}
	db := Database(s.Task.Params)
	return Backup{ID: snap.ID, Database: db, Format: "rds-snapshot", Finished: snap.Created,
		Source: pgbackup.Source{Host: snap.Instance, Database: db}, Point: point}, nil
}

// provisionRDS restores the snapshot into the drill's instance (a
// retried restore finds the instance), waits for it, and gives its
// master user a new random password, kept in the drill directory.
func (d *Drill) provisionRDS(ctx context.Context, s Step) (Target, error) {
	t := s.Task.Params.Object("target")
	c, err := d.rdsClient(ctx, s)
	if err != nil {
		return Target{}, err
	}
	dir, err := d.makeDrillDir(s.ID)
	if err != nil {
		return Target{}, err
	}
	id := rdsInstanceID(s.ID)
	var phase atomic.Value
	phase.Store("restoring snapshot " + s.Backup.ID + " into " + id)
	defer d.progress(s.Task).Every(ctx, 10*time.Second, func() task.Progress { return task.Progress{Done: -1, Message: phase.Load().(string)} })()
	started := time.Now()
	if err := c.Restore(ctx, s.Backup.ID, id, awsrds.RestoreOptions{Class: t.String("instanceClass"),
		SubnetGroup: t.String("subnetGroup"), SecurityGroups: t.Strings("securityGroups"), Tag: Tag(s.ID)}); err != nil {
		return Target{}, err
	}
	if _, err := c.WaitAvailable(ctx, id, rdsWait); err != nil {
		return Target{}, err
	}
	restored := time.Since(started)
	phase.Store("setting a new master password on " + id)
	pw, err := newPassword()
	if err != nil {
		return Target{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), pw, 0o600); err != nil {
		return Target{}, err
	}
	if err := c.SetPassword(ctx, id, string(pw)); err != nil {
		return Target{}, err
	}
	inst, err := c.WaitAvailable(ctx, id, rdsWait)
	if err != nil {
		return Target{}, err
	}
	d.logger.Info("drill target provisioned", "drill", s.ID, "instance", id, "snapshot", s.Backup.ID, "restore", restored)
	return Target{Kind: TargetAWSRDS, Host: inst.Host, Port: cmp.Or(t.Int("port"), inst.Port), User: inst.User, Database: s.Backup.Database,
		Dir: id, Restored: restored.Seconds()}, nil
}

// teardownRDS deletes the drill's instance, without a final snapshot,
// and waits until it is gone; one that is gone already is fine.
func (d *Drill) teardownRDS(ctx context.Context, s Step) (string, error) {
	c, err := d.rdsClient(ctx, s)
	if err != nil {
		return "", err
	}
	id := rdsInstanceID(s.ID)
	defer d.progress(s.Task).Every(ctx, 10*time.Second, func() task.Progress { return task.Progress{Done: -1, Message: "deleting " + id} })()
	deleted, err := c.Delete(ctx, id, rdsWait)
	if err != nil {
		return "", err
	}
	if !deleted {
		return "torn down: no RDS instance " + id, nil
	}
	d.logger.Info("drill target torn down", "drill", s.ID, "instance", id)
	return fmt.Sprintf("torn down: RDS instance %s deleted", id), nil
}
