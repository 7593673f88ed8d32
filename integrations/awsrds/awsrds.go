// Package awsrds restores Amazon RDS for PostgreSQL snapshots, or an
// instance as it was at a point in time, into scratch DB instances for
// restore drills, and deletes them.
package awsrds

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// TagKey tags the instances drills make; its value is the drill's tag.
const TagKey = "shipshape-drill"

// Client is RDS in one region.
type Client struct {
	rds *rds.Client
	// MinDelay and MaxDelay bound the waiters' polling (RDS's own
	// defaults, 30 s and 120 s, when zero).
	MinDelay, MaxDelay time.Duration
}

// New returns a client for region with the AWS SDK's default
// configuration and credentials chain (the endpoint may be overridden
// with AWS_ENDPOINT_URL_RDS).
func New(ctx context.Context, region string) (*Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return &Client{rds: rds.NewFromConfig(cfg)}, nil
}

// Snapshot is an available DB snapshot.
type Snapshot struct {
	ID       string
	Instance string
	Created  time.Time
}

// Snapshots returns the available snapshots of instance (automated and
// manual), newest first.
func (c *Client) Snapshots(ctx context.Context, instance string) ([]Snapshot, error) {
	var out []Snapshot
	p := rds.NewDescribeDBSnapshotsPaginator(c.rds, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(instance)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe snapshots of %s: %w", instance, err)
		}
		for _, s := range page.DBSnapshots {
			if aws.ToString(s.Status) == "available" && s.SnapshotCreateTime != nil {
				out = append(out, Snapshot{ID: aws.ToString(s.DBSnapshotIdentifier), Instance: aws.ToString(s.DBInstanceIdentifier), Created: *s.SnapshotCreateTime})
			}
		}
	}
	slices.SortFunc(out, func(a, b Snapshot) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// NewestSnapshot returns the newest available snapshot of instance
// (automated or manual), or the one named id.
func (c *Client) NewestSnapshot(ctx context.Context, instance, id string) (Snapshot, error) {
	in := &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(instance)}
	if id != "" {
		in = &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)}
	}
	var best Snapshot
	p := rds.NewDescribeDBSnapshotsPaginator(c.rds, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Snapshot{}, fmt.Errorf("describe snapshots of %s: %w", instance, err)
		}
		for _, s := range page.DBSnapshots {
			if aws.ToString(s.Status) != "available" || s.SnapshotCreateTime == nil {
				continue
			}
			if s.SnapshotCreateTime.After(best.Created) {
				best = Snapshot{ID: aws.ToString(s.DBSnapshotIdentifier), Instance: aws.ToString(s.DBInstanceIdentifier), Created: *s.SnapshotCreateTime}
			}
		}
	}
	if best.ID == "" {
		if id != "" {
			return Snapshot{}, fmt.Errorf("snapshot %s is not available", id)
		}
		return Snapshot{}, fmt.Errorf("instance %s has no available snapshot", instance)
	}
	return best, nil
}

// Instance is a DB instance.
type Instance struct {
	ID, Status, User, Host string
	Port                   int
	// PasswordPending: a new master password is not applied yet.
	PasswordPending bool
}

// RestoreOptions shape a scratch instance.
type RestoreOptions struct {
	Class          string
	SubnetGroup    string
	SecurityGroups []string
	// Tag is the drill's tag (TagKey's value).
	Tag string
}

// Restore starts restoring snapshot into a new instance id. An instance
// id that exists already (a retried restore) is not an error.
func (c *Client) Restore(ctx context.Context, snapshot, id string, o RestoreOptions) error {
	in := &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String(id), DBSnapshotIdentifier: aws.String(snapshot),
		PubliclyAccessible: aws.Bool(false), MultiAZ: aws.Bool(false), DeletionProtection: aws.Bool(false),
		Tags: []types.Tag{{Key: aws.String(TagKey), Value: aws.String(o.Tag)}},
	}
	if o.Class != "" {
		in.DBInstanceClass = aws.String(o.Class)
	}
	if o.SubnetGroup != "" {
		in.DBSubnetGroupName = aws.String(o.SubnetGroup)
	}
	in.VpcSecurityGroupIds = o.SecurityGroups
	_, err := c.rds.RestoreDBInstanceFromDBSnapshot(ctx, in)
	var exists *types.DBInstanceAlreadyExistsFault
	if errors.As(err, &exists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore %s into %s: %w", snapshot, id, err)
	}
	return nil
}

// ErrPointInTimeNotEnabled is the error of a point-in-time restore of an
// instance that keeps no automated backups (backup retention 0).
var ErrPointInTimeNotEnabled = errors.New("point-in-time recovery is not enabled")

// ErrInvalidRestore is the error of a point-in-time restore RDS refused
// as a restore: a time outside the instance's restore window.
var ErrInvalidRestore = errors.New("invalid restore")

// Window is an instance's point-in-time restore window: any instant from
// Earliest to Latest can be restored.
type Window struct {
	Earliest, Latest time.Time
}

// RestoreWindow returns instance's point-in-time restore window: its
// LatestRestorableTime (DescribeDBInstances) and the earliest time its
// automated backups can restore (DescribeDBInstanceAutomatedBackups).
func (c *Client) RestoreWindow(ctx context.Context, instance string) (Window, error) {
	out, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(instance)})
	if err != nil {
		return Window{}, fmt.Errorf("describe %s: %w", instance, err)
	}
	if len(out.DBInstances) == 0 {
		return Window{}, fmt.Errorf("describe %s: no such instance", instance)
	}
	d := out.DBInstances[0]
	if aws.ToInt32(d.BackupRetentionPeriod) == 0 {
		return Window{}, fmt.Errorf("instance %s: %w (its backup retention period is 0 days)", instance, ErrPointInTimeNotEnabled)
	}
	if d.LatestRestorableTime == nil {
		return Window{}, fmt.Errorf("instance %s has no latest restorable time yet (no automated backup taken)", instance)
	}
	w := Window{Latest: d.LatestRestorableTime.UTC()}
	p := rds.NewDescribeDBInstanceAutomatedBackupsPaginator(c.rds, &rds.DescribeDBInstanceAutomatedBackupsInput{DBInstanceIdentifier: aws.String(instance)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Window{}, fmt.Errorf("describe the automated backups of %s: %w", instance, err)
		}
		for _, b := range page.DBInstanceAutomatedBackups {
			if b.RestoreWindow == nil || b.RestoreWindow.EarliestTime == nil {
				continue
			}
			if e := b.RestoreWindow.EarliestTime.UTC(); w.Earliest.IsZero() || e.Before(w.Earliest) {
				w.Earliest = e
			}
		}
	}
	if w.Earliest.IsZero() {
		return Window{}, fmt.Errorf("instance %s: no automated backup gives its earliest restorable time", instance)
	}
	return w, nil
}

// RestoreToPoint starts restoring source as it was at point (zero: its
// latest restorable time) into a new instance id, tagged as Restore's.
// An instance id that exists already (a retried restore) is not an error.
func (c *Client) RestoreToPoint(ctx context.Context, source, id string, point time.Time, o RestoreOptions) error {
	in := &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String(source), TargetDBInstanceIdentifier: aws.String(id),
		PubliclyAccessible: aws.Bool(false), MultiAZ: aws.Bool(false), DeletionProtection: aws.Bool(false),
		Tags: []types.Tag{{Key: aws.String(TagKey), Value: aws.String(o.Tag)}},
	}
	what := "latest restorable time"
	if point.IsZero() {
		in.UseLatestRestorableTime = aws.Bool(true)
	} else {
		in.RestoreTime = aws.Time(point.UTC())
		what = point.UTC().Format(time.RFC3339)
	}
	if o.Class != "" {
		in.DBInstanceClass = aws.String(o.Class)
	}
	if o.SubnetGroup != "" {
		in.DBSubnetGroupName = aws.String(o.SubnetGroup)
	}
	in.VpcSecurityGroupIds = o.SecurityGroups
	_, err := c.rds.RestoreDBInstanceToPointInTime(ctx, in)
	var exists *types.DBInstanceAlreadyExistsFault
	var notEnabled *types.PointInTimeRestoreNotEnabledFault
	var invalid *types.InvalidRestoreFault
	switch {
	case errors.As(err, &exists):
		return nil
	case errors.As(err, &notEnabled):
		return fmt.Errorf("restore %s at %s into %s: %w: %s", source, what, id, ErrPointInTimeNotEnabled, notEnabled.ErrorMessage())
	case errors.As(err, &invalid):
		return fmt.Errorf("restore %s at %s into %s: %w: %s", source, what, id, ErrInvalidRestore, invalid.ErrorMessage())
	case err != nil:
		return fmt.Errorf("restore %s at %s into %s: %w", source, what, id, err)
	}
	return nil
}

// Describe returns instance id; found is false when it does not exist.
func (c *Client) Describe(ctx context.Context, id string) (inst Instance, found bool, err error) {
	out, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	var nf *types.DBInstanceNotFoundFault
	if errors.As(err, &nf) {
		return Instance{}, false, nil
	}
	if err != nil {
		return Instance{}, false, fmt.Errorf("describe %s: %w", id, err)
	}
	if len(out.DBInstances) == 0 {
		return Instance{}, false, nil
	}
	return instance(out.DBInstances[0]), true, nil
}

func instance(d types.DBInstance) Instance {
	i := Instance{ID: aws.ToString(d.DBInstanceIdentifier), Status: aws.ToString(d.DBInstanceStatus), User: aws.ToString(d.MasterUsername)}
	if e := d.Endpoint; e != nil {
		i.Host, i.Port = aws.ToString(e.Address), int(aws.ToInt32(e.Port))
	}
	i.PasswordPending = d.PendingModifiedValues != nil && d.PendingModifiedValues.MasterUserPassword != nil
	return i
}

// WaitAvailable waits until instance id is available with no new
// password pending, for at most max.
func (c *Client) WaitAvailable(ctx context.Context, id string, max time.Duration) (Instance, error) {
	w := rds.NewDBInstanceAvailableWaiter(c.rds, func(o *rds.DBInstanceAvailableWaiterOptions) {
		if c.MinDelay > 0 {
			o.MinDelay, o.MaxDelay = c.MinDelay, c.MaxDelay
		}
		next := o.Retryable
		o.Retryable = func(ctx context.Context, in *rds.DescribeDBInstancesInput, out *rds.DescribeDBInstancesOutput, err error) (bool, error) {
			retry, err := next(ctx, in, out, err)
			if !retry && err == nil && out != nil && len(out.DBInstances) > 0 && instance(out.DBInstances[0]).PasswordPending {
				return true, nil
			}
			return retry, err
		}
	})
	out, err := w.WaitForOutput(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, max)
	if err != nil {
		return Instance{}, fmt.Errorf("wait for %s to be available: %w", id, err)
	}
	return instance(out.DBInstances[0]), nil
}

// SetPassword gives instance id's master user a new password, applied
// at once.
func (c *Client) SetPassword(ctx context.Context, id, password string) error {
	_, err := c.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String(id),
		MasterUserPassword: aws.String(password), ApplyImmediately: aws.Bool(true)})
	if err != nil {
		return fmt.Errorf("set the master password of %s: %w", id, err)
	}
	return nil
}

// Delete deletes instance id without a final snapshot and waits until it
// is gone (at most max). An instance that is gone, or already being
// deleted, is not an error.
func (c *Client) Delete(ctx context.Context, id string, max time.Duration) (deleted bool, err error) {
	inst, found, err := c.Describe(ctx, id)
	if err != nil || !found {
		return false, err
	}
	if inst.Status != "deleting" {
		// RDS deletes only an available instance: one still being
		// restored or modified is waited for first.
		if inst.Status != "available" {
			if _, err := c.WaitAvailable(ctx, id, max); err != nil {
				return false, err
			}
		}
		_, err = c.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id),
			SkipFinalSnapshot: aws.Bool(true), DeleteAutomatedBackups: aws.Bool(true)})
		var nf *types.DBInstanceNotFoundFault
		var state *types.InvalidDBInstanceStateFault
		switch {
		case errors.As(err, &nf):
			return false, nil
		case errors.As(err, &state):
			// Being deleted, or busy: the waiter below tells.
		case err != nil:
			return false, fmt.Errorf("delete %s: %w", id, err)
		}
	}
	w := rds.NewDBInstanceDeletedWaiter(c.rds, func(o *rds.DBInstanceDeletedWaiterOptions) {
		if c.MinDelay > 0 {
			o.MinDelay, o.MaxDelay = c.MinDelay, c.MaxDelay
		}
	})
	if err := w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)}, max); err != nil {
		return true, fmt.Errorf("wait for %s to be deleted: %w", id, err)
	}
	return true, nil
}

// Tagged lists the instances drills made (TagKey present), with the tag.
func (c *Client) Tagged(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	p := rds.NewDescribeDBInstancesPaginator(c.rds, &rds.DescribeDBInstancesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances: %w", err)
		}
		for _, d := range page.DBInstances {
			if i := slices.IndexFunc(d.TagList, func(t types.Tag) bool { return aws.ToString(t.Key) == TagKey }); i >= 0 {
				out[aws.ToString(d.DBInstanceIdentifier)] = aws.ToString(d.TagList[i].Value)
			}
		}
	}
	return out, nil
}
