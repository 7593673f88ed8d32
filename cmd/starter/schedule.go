package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shipshape-dev/shipshape/plan"
	"github.com/shipshape-dev/shipshape/runs"
)

const scheduleUsage = `want: starter schedule create NAME --plan FILE [--cron EXPR]... [--every D] [--timezone TZ] [--jitter D] [--paused] [--set vars.x=v]...
      starter schedule list|describe NAME|trigger NAME|pause NAME|unpause NAME|delete NAME [--json] [--note TEXT]`

// scheduleCmd manages Temporal Schedules that start readiness runs: the
// quarterly restore drill, the monthly secret rotation.
func scheduleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{scheduleUsage}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return scheduleCreate(ctx, rest, stdout, stderr)
	case "list":
		var asJSON *bool
		return connected(ctx, "schedule list", rest, stderr, func(fs *flag.FlagSet) {
			asJSON = fs.Bool("json", false, "print JSON")
		}, 0, "no arguments", func(ctx context.Context, c *runsConn, _ []string) error {
			list, err := runs.ListSchedules(ctx, c.Client, c.opts...)
			if err != nil {
				return err
			}
			if *asJSON {
				if list == nil {
					list = []runs.ScheduleInfo{}
				}
				return json.NewEncoder(stdout).Encode(list)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPLAN\tWHEN\tSTATE\tNEXT")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Plan, when(s), state(s), next(s))
			}
			return tw.Flush()
		})
	case "describe":
		var asJSON *bool
		return connected(ctx, "schedule describe", rest, stderr, func(fs *flag.FlagSet) {
			asJSON = fs.Bool("json", false, "print JSON")
		}, 1, "one schedule NAME", func(ctx context.Context, c *runsConn, pos []string) error {
			s, err := runs.DescribeSchedule(ctx, c.Client, pos[0], c.opts...)
			if err != nil {
				return err
			}
			if *asJSON {
				return json.NewEncoder(stdout).Encode(s)
			}
			fmt.Fprintf(stdout, "schedule %s: plan %s, %s, %s\n", s.Name, s.Plan, when(*s), state(*s))
			fmt.Fprintf(stdout, "runs started: %d, skipped while one ran: %d\n", s.Runs, s.Skipped)
			for _, t := range s.Next {
				fmt.Fprintf(stdout, "next: %s\n", t.UTC().Format(time.RFC3339))
			}
			for _, r := range s.Recent {
				fmt.Fprintf(stdout, "started %s at %s (scheduled %s)\n", r.RunID, r.Started.UTC().Format(time.RFC3339), r.Scheduled.UTC().Format(time.RFC3339))
			}
			for _, id := range s.Running {
				fmt.Fprintf(stdout, "running: %s\n", id)
			}
			return nil
		})
	case "trigger", "pause", "unpause", "delete":
		var note *string
		return connected(ctx, "schedule "+sub, rest, stderr, func(fs *flag.FlagSet) {
			if sub == "pause" || sub == "unpause" {
				note = fs.String("note", "", "why (shown by describe)")
			}
		}, 1, "one schedule NAME", func(ctx context.Context, c *runsConn, pos []string) error {
			var err error
			switch sub {
			case "trigger":
				err = runs.TriggerSchedule(ctx, c.Client, pos[0], c.opts...)
			case "pause", "unpause":
				err = runs.PauseSchedule(ctx, c.Client, pos[0], sub == "pause", *note, c.opts...)
			case "delete":
				err = runs.DeleteSchedule(ctx, c.Client, pos[0], c.opts...)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "schedule %s: %s\n", pos[0], map[string]string{
				"trigger": "run started (unless one it started still runs)", "pause": "paused", "unpause": "resumed", "delete": "deleted",
			}[sub])
			return nil
		})
	}
	return usageError{scheduleUsage}
}

func scheduleCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		planFile, timezone, note *string
		every, jitter            *time.Duration
		paused                   *bool
		crons, sets              multiFlag
	)
	return connected(ctx, "schedule create", args, stderr, func(fs *flag.FlagSet) {
		planFile = fs.String("plan", "", "the plan file (required)")
		fs.Var(&crons, "cron", "a cron expression, five fields (repeatable); overrides the plan's spec.schedule")
		every = fs.Duration("every", 0, "start a run at this interval; overrides the plan's spec.schedule")
		timezone = fs.String("timezone", "", "IANA time zone of the cron expressions (default: the plan's, else UTC)")
		jitter = fs.Duration("jitter", 0, "delay each start by a random time up to this")
		paused = fs.Bool("paused", false, "create the schedule paused")
		note = fs.String("note", "", "a note kept with the schedule")
		fs.Var(&sets, "set", "override a plan var: --set vars.NAME=VALUE (repeatable)")
	}, 1, "one schedule NAME", func(ctx context.Context, c *runsConn, pos []string) error {
		if *planFile == "" {
			return usageError{"schedule create: --plan FILE is required"}
		}
		p, err := loadPlan(*planFile, sets)
		if err != nil {
			return err
		}
		if err := relativeGatesRefused(p); err != nil {
			return err
		}
		spec := runs.ScheduleSpec{Paused: *paused, Note: *note}
		if p.Spec.Schedule != nil {
			spec.Schedule = *p.Spec.Schedule
		}
		if len(crons) > 0 || *every > 0 {
			spec.Cron, spec.Every = nil, 0
			for _, expr := range crons {
				if err := plan.CheckCron(expr); err != nil {
					return usageError{"--cron: " + err.Error()}
				}
				spec.Cron = append(spec.Cron, expr)
			}
			spec.Every = plan.Duration(*every)
		}
		if *timezone != "" {
			if _, err := time.LoadLocation(*timezone); err != nil {
				return usageError{fmt.Sprintf("--timezone %q: %v", *timezone, err)}
			}
			spec.Timezone = *timezone
		}
		if *jitter > 0 {
			spec.Jitter = plan.Duration(*jitter)
		}
		if spec.IsZero() {
			return usageError{fmt.Sprintf("schedule create: %s has no spec.schedule: give --cron or --every", *planFile)}
		}
		if err := runs.CreateSchedule(ctx, c.Client, pos[0], p, spec); err != nil {
			return err
		}
		info := runs.ScheduleInfo{Cron: spec.Cron, Every: spec.Every.Std(), Timezone: spec.Timezone, Paused: spec.Paused}
		fmt.Fprintf(stdout, "schedule %s created: plan %s, %s, %s\n", pos[0], p.Metadata.Name, when(info), state(info))
		return nil
	})
}

func when(s runs.ScheduleInfo) string {
	var parts []string
	for _, c := range s.Cron {
		parts = append(parts, "cron "+c)
	}
	if s.Every > 0 {
		parts = append(parts, "every "+s.Every.String())
	}
	if len(parts) == 0 {
		parts = append(parts, "calendar")
	}
	w := strings.Join(parts, " + ")
	if s.Timezone != "" {
		w += " (" + s.Timezone + ")"
	}
	return w
}

func state(s runs.ScheduleInfo) string {
	if s.Paused {
		if s.Note != "" {
			return "paused: " + s.Note
		}
		return "paused"
	}
	return "active"
}

func next(s runs.ScheduleInfo) string {
	if len(s.Next) == 0 || s.Paused {
		return "—"
	}
	return s.Next[0].UTC().Format(time.RFC3339)
}

// relativeGatesRefused refuses a plan with relative thresholds on a
// schedule: their baselines are looked up by `starter run` before a run
// starts, and a Temporal Schedule starts runs with none, which would skip
// those gates every time.
func relativeGatesRefused(p *plan.Plan) error {
	var errs plan.Errors
	for i, ph := range p.Spec.Phases {
		for j, t := range ph.Tasks {
			for k, g := range t.Gates {
				if g.Relative() {
					errs = append(errs, plan.FieldError{File: p.Source, Line: g.Pos.Line, Column: g.Pos.Column,
						Path: fmt.Sprintf("phases[%d].tasks[%d].gates[%d]", i, j, k),
						Msg:  "a relative threshold cannot run on a schedule: starter run looks its baseline up before a run starts, a schedule starts runs without one (and the gate would be skipped every time); run the plan with starter run from a scheduled CI job instead"})
				}
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
