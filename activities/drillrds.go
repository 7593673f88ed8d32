package activities

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

	"github.com/shipshape-dev/shipshape/activities/pgbackup"
	"github.com/shipshape-dev/shipshape/integrations/awsrds"
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

func (a *Activities) rdsClient(ctx context.Context, s DrillStep) (*awsrds.Client, error) {
	c, err := awsrds.New(ctx, s.Task.Params.Object("target").String("region"))
	if err != nil {
		return nil, err
	}
	if a.RDSPoll > 0 {
		c.MinDelay, c.MaxDelay = a.RDSPoll, 4*a.RDSPoll
	}
	return c, nil
}

// selectRDSSnapshot picks the newest available snapshot of the target's
// instance, or the one named.
func (a *Activities) selectRDSSnapshot(ctx context.Context, s DrillStep) (DrillBackup, error) {
	t := s.Task.Params.Object("target")
	c, err := a.rdsClient(ctx, s)
	if err != nil {
		return DrillBackup{}, err
	}
	snap, err := c.NewestSnapshot(ctx, t.String("instance"), t.String("snapshot"))
	if err != nil {
		return DrillBackup{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidParams, nil)
	}
	db := DrillDatabase(s.Task.Params)
	return DrillBackup{ID: snap.ID, Database: db, Format: "rds-snapshot", Finished: snap.Created,
		Source: pgbackup.Source{Host: snap.Instance, Database: db}}, nil
}

// provisionRDS restores the snapshot into the drill's instance (a
// retried restore finds the instance), waits for it, and gives its
// master user a new random password, kept in the drill directory.
func (a *Activities) provisionRDS(ctx context.Context, s DrillStep) (DrillTarget, error) {
	t := s.Task.Params.Object("target")
	c, err := a.rdsClient(ctx, s)
	if err != nil {
		return DrillTarget{}, err
	}
	dir, err := a.makeDrillDir(s.ID)
	if err != nil {
		return DrillTarget{}, err
	}
	id := rdsInstanceID(s.ID)
	var phase atomic.Value
	phase.Store("restoring snapshot " + s.Backup.ID + " into " + id)
	defer a.progress(s.Task).Every(ctx, 10*time.Second, func() Progress { return Progress{Done: -1, Message: phase.Load().(string)} })()
	started := time.Now()
	if err := c.Restore(ctx, s.Backup.ID, id, awsrds.RestoreOptions{Class: t.String("instanceClass"),
		SubnetGroup: t.String("subnetGroup"), SecurityGroups: t.Strings("securityGroups"), Tag: DrillTag(s.ID)}); err != nil {
		return DrillTarget{}, err
	}
	if _, err := c.WaitAvailable(ctx, id, rdsWait); err != nil {
		return DrillTarget{}, err
	}
	restored := time.Since(started)
	phase.Store("setting a new master password on " + id)
	pw, err := generate(32, defaultAlphabet)
	if err != nil {
		return DrillTarget{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), pw, 0o600); err != nil {
		return DrillTarget{}, err
	}
	if err := c.SetPassword(ctx, id, string(pw)); err != nil {
		return DrillTarget{}, err
	}
	inst, err := c.WaitAvailable(ctx, id, rdsWait)
	if err != nil {
		return DrillTarget{}, err
	}
	a.logger().Info("drill target provisioned", "drill", s.ID, "instance", id, "snapshot", s.Backup.ID, "restore", restored)
	return DrillTarget{Kind: TargetAWSRDS, Host: inst.Host, Port: cmp.Or(t.Int("port"), inst.Port), User: inst.User, Database: s.Backup.Database,
		Dir: id, Restored: restored.Seconds()}, nil
}

// teardownRDS deletes the drill's instance, without a final snapshot,
// and waits until it is gone; one that is gone already is fine.
func (a *Activities) teardownRDS(ctx context.Context, s DrillStep) (string, error) {
	c, err := a.rdsClient(ctx, s)
	if err != nil {
		return "", err
	}
	id := rdsInstanceID(s.ID)
	defer a.progress(s.Task).Every(ctx, 10*time.Second, func() Progress { return Progress{Done: -1, Message: "deleting " + id} })()
	deleted, err := c.Delete(ctx, id, rdsWait)
	if err != nil {
		return "", err
	}
	if !deleted {
		return "torn down: no RDS instance " + id, nil
	}
	a.logger().Info("drill target torn down", "drill", s.ID, "instance", id)
	return fmt.Sprintf("torn down: RDS instance %s deleted", id), nil
}
