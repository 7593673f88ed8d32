package restoredrill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/shipshape-dev/shipshape/activities/task"
	"github.com/shipshape-dev/shipshape/activities/taskrun"
	"github.com/shipshape-dev/shipshape/events"
	"github.com/shipshape-dev/shipshape/integrations/secretstore"
	"github.com/shipshape-dev/shipshape/integrations/secretstore/local"
)

// Ready is the activity that files the scratch target's password in the
// worker's local secret store, for the validation window (keepFor).
const Ready = "restore-drill.ready"

// keepForChange is the workflow.GetVersion change ID of the validation
// window: histories recorded before it replay without it.
const keepForChange = "restore-drill.keep-for"

// maxKeepFor bounds the validation window: AWS Backup's restore testing
// keeps a restored resource for at most 7 days too.
const maxKeepFor = 7 * 24 * time.Hour

// keepFor is the keepFor param: the validation window, 0 for none.
func keepFor(p task.Params) time.Duration {
	d, err := time.ParseDuration(p.String("keepFor"))
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// checkKeepFor checks the keepFor param.
func checkKeepFor(p task.Params, add func(param, format string, args ...any)) {
	s := p.String("keepFor")
	if s == "" {
		return
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		add("keepFor", "%q: want a duration such as 30m or 24h", s)
	case d <= 0:
		add("keepFor", "must be more than 0 (leave it out for no validation window)")
	case d > maxKeepFor:
		add("keepFor", "%s is more than 7 days (168h), the longest a scratch database is kept", s)
	}
}

// checkWindowFits checks, before anything is made, that the workflow's
// execution timeout leaves room for the task's timeout, the window and
// the teardown after it: the server ending the workflow mid-window would
// leave the scratch database behind. The engine grants the window through
// the declaration's Linger; this guards a workflow started without it.
func checkWindowFits(ctx workflow.Context, in task.Input, window time.Duration) error {
	exec := workflow.GetInfo(ctx).WorkflowExecutionTimeout
	if exec <= 0 {
		return nil
	}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = taskrun.DefaultTimeout
	}
	if need := timeout + window + teardownOptions.ScheduleToCloseTimeout; need > exec {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"keepFor: %s does not fit: the task's timeout (%s), the window and teardown's grace (%s) need %s, but this task may run %s",
			window, timeout, teardownOptions.ScheduleToCloseTimeout, need, exec), task.ErrInvalidParams, nil)
	}
	return nil
}

// Connection is how outside checks reach the scratch database during the
// validation window: everything but the password, which PasswordRef
// names.
type Connection struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	SSLMode  string `json:"sslmode,omitempty"`
	// PasswordRef is the secret reference of the password
	// (local://shipshape-drill-…, the worker's local secret store: read it
	// with `starter secrets get`), deleted at teardown. Empty for a url
	// target, whose password is the plan's own.
	PasswordRef string `json:"passwordRef,omitempty"`
}

// secretName is the name of drill id's password in the local store.
func secretName(id string) string { return rdsInstanceID(id) }

func (d *Drill) secretStore() (*local.Store, error) {
	dir := d.secretsDir
	if dir == "" {
		dir = local.DefaultDir()
	}
	return local.Open(dir)
}

// Ready files the scratch target's password in the worker's local secret
// store under the drill's name and returns the target's connection, with
// the password's reference. It is idempotent (the store's token is the
// drill's).
func (d *Drill) Ready(ctx context.Context, s Step) (Connection, error) {
	c := Connection{Host: s.Target.Host, Port: s.Target.Port, Database: s.Target.Database, User: s.Target.User, SSLMode: "disable"}
	if cloudTarget(s.Target.Kind) {
		c.SSLMode = s.Task.Params.Object("target").String("sslmode")
	}
	if s.Target.Kind == TargetURL {
		c.SSLMode = ""
		return c, nil
	}
	pw, err := os.ReadFile(filepath.Join(d.drillDir(s.ID), "password"))
	if err != nil {
		return Connection{}, fmt.Errorf("the target's password is gone: %w", err)
	}
	store, err := d.secretStore()
	if err != nil {
		return Connection{}, err
	}
	name := secretName(s.ID)
	if _, err := store.Put(ctx, name, "drill", pw, secretstore.Current); err != nil {
		return Connection{}, fmt.Errorf("file the scratch password: %w", err)
	}
	c.PasswordRef = "local://" + name
	d.logger.Info("drill target kept for outside checks", "drill", s.ID, "password", c.PasswordRef)
	return c, nil
}

// forgetPassword deletes the password Ready filed, if the drill has a
// window (other drills leave the store alone).
func (d *Drill) forgetPassword(ctx context.Context, s Step) error {
	if s.Task.Params.String("keepFor") == "" {
		return nil
	}
	store, err := d.secretStore()
	if err != nil {
		return err
	}
	return store.Delete(ctx, secretName(s.ID))
}

// keep holds the verified scratch database for the validation window: it
// files the password, publishes drill.ready with the connection (the
// password by reference), and waits on a durable timer — a worker
// restart resumes the wait, it does not restart it. Cancellation ends the
// window early; teardown follows either way.
func (d *drill) keep(ctx workflow.Context, window time.Duration, pub *taskrun.Lane, subject string, data EventData) (string, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         taskrun.RetryPolicy(d.in.Retry),
	})
	var conn Connection
	if err := workflow.ExecuteActivity(actx, Ready, d.step).Get(ctx, &conn); err != nil {
		return "ready", err
	}
	start := workflow.Now(ctx)
	until := start.Add(window).UTC()
	data.Connection, data.KeepFor, data.Until = &conn, window.Seconds(), &until
	data.Verified, data.Mismatches = true, int(d.out.Metrics["drill.verify.mismatches"])
	if rto, ok := d.out.Metrics["drill.rto"]; ok {
		data.RTO = &rto
	}
	if rpo, ok := d.out.Metrics["drill.rpo"]; ok {
		data.RPO = &rpo
	}
	pub.Emit(ctx, events.DrillReady, subject, data)
	where := fmt.Sprintf("%s:%d/%s as %s", conn.Host, conn.Port, conn.Database, conn.User)
	if conn.PasswordRef != "" {
		where += ", password " + conn.PasswordRef
	}
	d.note(fmt.Sprintf("kept up for outside checks until %s: %s", until.Format(time.RFC3339), where))
	err := workflow.NewTimer(ctx, window).Get(ctx, nil)
	d.out.Metrics["drill.kept"] = workflow.Now(ctx).Sub(start).Seconds()
	if err != nil {
		var canceled *temporal.CanceledError
		if errors.As(err, &canceled) || ctx.Err() != nil {
			d.note("validation window cut short: the run was cancelled")
			return "", nil
		}
		return "ready", err
	}
	return "", nil
}
