package runs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/workflows"
)

// ErrNoSchedule means no Shipshape schedule has that name.
var ErrNoSchedule = errors.New("schedule not found")

// memoPlan is the memo key that marks a schedule as Shipshape's and
// names its plan.
const memoPlan = "shipshape-plan"

// ScheduleSpec is when a schedule starts runs.
type ScheduleSpec struct {
	plan.Schedule
	// Paused creates the schedule paused; Note says why.
	Paused bool
	Note   string
}

// ScheduleInfo describes a schedule.
type ScheduleInfo struct {
	Name     string        `json:"name"`
	Plan     string        `json:"plan"`
	Cron     []string      `json:"cron,omitempty"`
	Every    time.Duration `json:"every,omitempty"`
	Timezone string        `json:"timezone,omitempty"`
	Jitter   time.Duration `json:"jitter,omitempty"`
	Paused   bool          `json:"paused"`
	Note     string        `json:"note,omitempty"`
	// Next are the next start times.
	Next []time.Time `json:"next,omitempty"`
	// Recent are the latest runs it started, newest last.
	Recent []ScheduledRun `json:"recent,omitempty"`
	// Running are the runs it started that still run.
	Running []string `json:"running,omitempty"`
	// Runs and Skipped count the runs started and the starts skipped
	// because the previous run still ran (overlap policy skip).
	Runs    int `json:"runs"`
	Skipped int `json:"skipped"`
}

// ScheduledRun is one run a schedule started.
type ScheduledRun struct {
	RunID     string    `json:"runId"`
	Scheduled time.Time `json:"scheduled"`
	Started   time.Time `json:"started"`
}

// CreateSchedule makes a Temporal Schedule that starts runs of p, as
// `starter run` would, at the times spec names. A start while the last
// run still runs is skipped (the quarterly drill must not stack). The plan
// is stored with the schedule, encrypted like every payload: change the
// plan, then delete and create the schedule again.
func CreateSchedule(ctx context.Context, c client.Client, name string, p *plan.Plan, spec ScheduleSpec) error {
	if spec.IsZero() {
		return errors.New("a schedule needs cron expressions or an interval")
	}
	s := client.ScheduleSpec{CronExpressions: spec.Cron, TimeZoneName: spec.Timezone, Jitter: spec.Jitter.Std()}
	if spec.Every > 0 {
		s.Intervals = []client.ScheduleIntervalSpec{{Every: spec.Every.Std()}}
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      name,
		Spec:    s,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Paused:  spec.Paused,
		Note:    spec.Note,
		Memo:    map[string]any{memoPlan: p.Metadata.Name},
		Action: &client.ScheduleWorkflowAction{
			// Temporal appends the scheduled time: <plan>-<name>-<time>.
			ID:        p.Metadata.Name + "-" + name,
			Workflow:  workflows.ReadinessName,
			Args:      []any{workflows.ReadinessInput{Plan: *p}},
			TaskQueue: workflows.TaskQueue,
			Memo:      map[string]any{"plan": p.Metadata.Name, "source": p.Source, "schedule": name},
		},
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) || errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("schedule %q exists already: delete it first to change it", name)
	}
	if err != nil {
		return fmt.Errorf("create schedule %q: %w", name, err)
	}
	return nil
}

// ListSchedules lists Shipshape's schedules, by name.
func ListSchedules(ctx context.Context, c client.Client, opts ...Option) ([]ScheduleInfo, error) {
	o := newOptions(opts)
	iter, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []ScheduleInfo
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		planName, ok := o.memoString(e.Memo.GetFields()[memoPlan])
		if !ok || e.WorkflowType.Name != workflows.ReadinessName {
			continue // not Shipshape's
		}
		info := ScheduleInfo{Name: e.ID, Plan: planName, Paused: e.Paused, Note: e.Note, Next: e.NextActionTimes}
		info.setSpec(e.Spec)
		for _, a := range e.RecentActions {
			info.Recent = append(info.Recent, scheduledRun(a))
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DescribeSchedule describes one of Shipshape's schedules.
func DescribeSchedule(ctx context.Context, c client.Client, name string, opts ...Option) (*ScheduleInfo, error) {
	o := newOptions(opts)
	d, err := handle(ctx, c, name).Describe(ctx)
	if err != nil {
		return nil, scheduleErr(name, err)
	}
	planName, ok := o.memoString(d.Memo.GetFields()[memoPlan])
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a Shipshape schedule", ErrNoSchedule, name)
	}
	info := &ScheduleInfo{Name: name, Plan: planName, Next: d.Info.NextActionTimes,
		Runs: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap}
	info.setSpec(d.Schedule.Spec)
	if st := d.Schedule.State; st != nil {
		info.Paused, info.Note = st.Paused, st.Note
	}
	for _, a := range d.Info.RecentActions {
		info.Recent = append(info.Recent, scheduledRun(a))
	}
	for _, r := range d.Info.RunningWorkflows {
		info.Running = append(info.Running, r.WorkflowID)
	}
	return info, nil
}

// TriggerSchedule starts a run now, unless one it started still runs.
func TriggerSchedule(ctx context.Context, c client.Client, name string, opts ...Option) error {
	if _, err := DescribeSchedule(ctx, c, name, opts...); err != nil {
		return err
	}
	return scheduleErr(name, handle(ctx, c, name).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}))
}

// PauseSchedule stops (pause true) or resumes a schedule's starts.
func PauseSchedule(ctx context.Context, c client.Client, name string, pause bool, note string, opts ...Option) error {
	if _, err := DescribeSchedule(ctx, c, name, opts...); err != nil {
		return err
	}
	h := handle(ctx, c, name)
	if pause {
		return scheduleErr(name, h.Pause(ctx, client.SchedulePauseOptions{Note: note}))
	}
	return scheduleErr(name, h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note}))
}

// DeleteSchedule deletes a schedule; the runs it started are left alone.
func DeleteSchedule(ctx context.Context, c client.Client, name string, opts ...Option) error {
	if _, err := DescribeSchedule(ctx, c, name, opts...); err != nil {
		return err
	}
	return scheduleErr(name, handle(ctx, c, name).Delete(ctx))
}

func handle(ctx context.Context, c client.Client, name string) client.ScheduleHandle {
	return c.ScheduleClient().GetHandle(ctx, name)
}

func scheduleErr(name string, err error) error {
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return nil
	case errors.As(err, &notFound):
		return fmt.Errorf("%w: %q", ErrNoSchedule, name)
	}
	return fmt.Errorf("schedule %q: %w", name, err)
}

func (info *ScheduleInfo) setSpec(s *client.ScheduleSpec) {
	if s == nil {
		return
	}
	info.Timezone, info.Jitter = s.TimeZoneName, s.Jitter
	info.Cron = append(info.Cron, s.CronExpressions...)
	// The server turns cron expressions into calendar specs; describe
	// them back as they were written when it kept them.
	for _, iv := range s.Intervals {
		info.Every = iv.Every
	}
}

func scheduledRun(a client.ScheduleActionResult) ScheduledRun {
	r := ScheduledRun{Scheduled: a.ScheduleTime, Started: a.ActualTime}
	if a.StartWorkflowResult != nil {
		r.RunID = a.StartWorkflowResult.WorkflowID
	}
	return r
}

// memoString decodes a memo field written as a string.
func (o options) memoString(p *commonpb.Payload) (string, bool) {
	var s string
	if p == nil || o.dc.FromPayload(p, &s) != nil {
		return "", false
	}
	return s, true
}
